"""Per-process wiring for the CLI and the scheduler: the scorer, a shop's settings and its
review source, built from the app's configuration. Web workers never call this."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask

from tracker.channels import SmtpMailer, WebhookPoster
from tracker.clock import utcnow
from tracker.models import Shop
from tracker.models.enums import Platform
from tracker.sentiment import Scorer
from tracker.sentiment.store import ModelStore, load_scorer
from tracker.services.alerts import AlertSettings
from tracker.services.intake import IntakeSettings
from tracker.services.pulls import Fetch
from tracker.services.shop_settings import intake_settings
from tracker.sources import top

_scorers: dict[str, tuple[str, Scorer]] = {}


def model_store(app: Flask) -> ModelStore:
    return ModelStore(Path(app.instance_path) / "models" / "sentiment")


def scorer(app: Flask) -> Scorer:
    """The configured model, loaded once per process and again after a new one is activated."""
    setting = app.config["TRACKER_SENTIMENT_MODEL"]
    store = model_store(app)
    key = f"{setting}|{store.current_version()}"
    cached = _scorers.get(app.instance_path)
    if cached is None or cached[0] != key:
        cached = (key, load_scorer(setting, store))
        _scorers[app.instance_path] = cached
    return cached[1]


def settings(app: Flask, shop: Shop) -> IntakeSettings:
    return intake_settings(
        shop,
        timezone=app.config["TRACKER_TIMEZONE"],
        hidden_negative_threshold=app.config["TRACKER_HIDDEN_NEGATIVE_THRESHOLD"],
    )


def _credentials(app: Flask, shop: Shop) -> top.Credentials | None:
    if shop.platform not in (Platform.TAOBAO, Platform.TMALL):
        return None
    return top.Credentials.from_config(shop.code, app.config["TRACKER_SHOP_CREDENTIALS"])


def has_review_source(app: Flask, shop: Shop) -> bool:
    """Whether the shop is pulled, without building a client to find out."""
    return _credentials(app, shop) is not None


def _top_client(app: Flask, shop: Shop) -> top.TopClient | None:
    credentials = _credentials(app, shop)
    if credentials is None:
        return None
    return top.TopClient(
        credentials,
        url=app.config["TRACKER_TOP_URL"],
        clock=utcnow,
        timeout=app.config["TRACKER_PULL_TIMEOUT"],
    )


def review_source(app: Flask, shop: Shop) -> Fetch | None:
    """The shop's pull source, or None when it has none (imports and pushes only)."""
    client = _top_client(app, shop)
    if client is None:
        return None
    return lambda start, end: top.fetch_range(client, start, end)


def explanation_publisher(app: Flask, shop: Shop) -> Callable[[str, str], None] | None:
    """Posts a seller explanation through the platform, or None where staff copy it by hand."""
    client = _top_client(app, shop)
    return client.add_explanation if client is not None else None


def alert_settings(app: Flask) -> AlertSettings:
    config = app.config
    return AlertSettings(
        lead=timedelta(minutes=config["TRACKER_ALERT_LEAD_MINUTES"]),
        revision_lead=timedelta(hours=config["TRACKER_ALERT_REVISION_LEAD_HOURS"]),
        horizon=timedelta(hours=config["TRACKER_ALERT_HORIZON_HOURS"]),
        email=bool(config["TRACKER_SMTP_HOST"]),
        webhook_url=config["TRACKER_WEBHOOK_URL"] or None,
        base_url=config["TRACKER_BASE_URL"],
    )


def mailer(app: Flask) -> SmtpMailer | None:
    config = app.config
    if not config["TRACKER_SMTP_HOST"]:
        return None
    return SmtpMailer(
        host=config["TRACKER_SMTP_HOST"],
        port=int(config["TRACKER_SMTP_PORT"]),
        sender=config["TRACKER_MAIL_FROM"],
        user=config["TRACKER_SMTP_USER"],
        password=config["TRACKER_SMTP_PASSWORD"],
        security=config["TRACKER_SMTP_SECURITY"],
    )


def poster(app: Flask) -> WebhookPoster | None:
    return WebhookPoster() if app.config["TRACKER_WEBHOOK_URL"] else None
