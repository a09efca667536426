"""Per-process wiring built from the app's configuration: the scorer, a shop's settings,
its review source and the sealer of stored credentials. Web workers never load a scorer;
they build a source only for an action that needs the platform (posting a reply)."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, object_session

from tracker.channels import SmtpMailer, WebhookPoster
from tracker.clock import utcnow
from tracker.domain.triage import ScoreBands
from tracker.extensions import db
from tracker.models import Shop
from tracker.providers.aliyun import PROVIDERS
from tracker.providers.contract import ProviderError
from tracker.sealing import Sealer, derived_key
from tracker.sentiment import Scorer
from tracker.sentiment.store import ModelStore, load_scorer, model_description
from tracker.services import calibration, messaging, shop_models, source_credentials
from tracker.services.alerts import AlertSettings
from tracker.services.intake import IntakeSettings
from tracker.services.shop_settings import intake_settings
from tracker.services.source_credentials import ShopCredentials
from tracker.sources.contract import (
    Adapter,
    DecryptsContacts,
    ReviewSource,
    SendsMessages,
    SourceError,
    SourceOptions,
)

_scorers: dict[str, tuple[str, Scorer]] = {}
_bands: dict[str, tuple[str, ScoreBands, str | None]] = {}


def freeze_loaded() -> None:
    """What a process loaded before its first request or job (the app, the ORM's mappings,
    the libraries: some 200,000 objects) lives as long as it does. Frozen out of the garbage
    collector's way, a full collection scans only what the work made since: a web worker's
    slowest pages under load, and about 5 s of a 24 s import of 20,000 reviews, were those
    scans. Garbage left by the start is collected first, so none of it is kept."""
    gc.collect()
    gc.freeze()


def model_store(app: Flask) -> ModelStore:
    return ModelStore(Path(app.instance_path) / "models" / "sentiment")


def _follows_shops(app: Flask) -> bool:
    """With the default setting a shop's own active model scores it; a model named in the
    configuration scores every shop."""
    return app.config["TRACKER_SENTIMENT_MODEL"] in ("", "auto")


def scorer(app: Flask, shop: Shop | None = None) -> Scorer:
    """The model scoring ``shop`` (its own active one, else the installation's), loaded
    once per process and again after a new one is activated."""
    if shop is not None and _follows_shops(app):
        own = shop_models.load_active(_session_of(shop), shop.id)
        if own is not None:
            return own
    setting = app.config["TRACKER_SENTIMENT_MODEL"]
    store = model_store(app)
    key = f"{setting}|{store.current_version()}"
    cached = _scorers.get(app.instance_path)
    if cached is None or cached[0] != key:
        cached = (key, load_scorer(setting, store))
        _scorers[app.instance_path] = cached
    return cached[1]


def _session_of(shop: Shop) -> Session:
    """The session the shop was read in: asking through another one would open a second
    connection, which on SQLite waits for the first one's write lock."""
    return object_session(shop) or db.session


def score_bands(
    app: Flask, shop_id: int | None = None, *, session: Session | None = None
) -> ScoreBands:
    """The bands (待确认 and case-opening thresholds) of the model scoring the shop — its
    own model's, else the installation model's, read from the description alone —
    calibrated on the shop's good ratings that model scored where there are enough of
    them. The configured threshold, when set, replaces the case-opening one."""
    session = session or db.session
    bands, version = _scoring_model(app, session, shop_id)
    if shop_id is not None:
        calibrated = _calibrated(session, shop_id, version, bands)
        if calibrated is not None:
            return _override(app, calibrated)
    return _override(app, bands)


def _scoring_model(
    app: Flask, session: Session, shop_id: int | None
) -> tuple[ScoreBands, str | None]:
    """The bands and version of the model that scores the shop: its own active model's
    (set on the shop's held-back reviews), else the installation's."""
    own = (
        shop_models.active_row(session, shop_id)
        if shop_id is not None and _follows_shops(app)
        else None
    )
    if own is None:
        return _installed_bands(app)
    return _bands_of(own[2]["thresholds"]), own[1]


def _bands_of(thresholds: dict[str, float]) -> ScoreBands:
    """A model's stored thresholds as bands."""
    return ScoreBands(case=thresholds["case"], confirm=thresholds["confirm"])


def _installed_bands(app: Flask) -> tuple[ScoreBands, str | None]:
    """The installation model's bands and version, read once per process and model."""
    store = model_store(app)
    setting = app.config["TRACKER_SENTIMENT_MODEL"]
    key = f"{setting}|{store.current_version()}"
    cached = _bands.get(app.instance_path)
    if cached is None or cached[0] != key:
        description = model_description(setting, store)
        thresholds = description.get("thresholds") if description else None
        bands = _bands_of(thresholds) if isinstance(thresholds, dict) else ScoreBands()
        version = str(description["version"]) if description and "version" in description else None
        cached = (key, bands, version)
        _bands[app.instance_path] = cached
    return cached[1], cached[2]


def _calibrated(
    session: Session, shop_id: int, version: str | None, installed: ScoreBands
) -> ScoreBands | None:
    stored = session.scalar(sa.select(Shop.sentiment_calibration).where(Shop.id == shop_id))
    return calibration.bands_for(stored, version, installed)


def calibrated_bands(app: Flask, shop: Shop) -> ScoreBands | None:
    """The shop's calibrated bands when they are the ones in use: set for the model that
    scores the shop now."""
    bands, version = _scoring_model(app, _session_of(shop), shop.id)
    return calibration.bands_for(shop.sentiment_calibration, version, bands)


def scoring_model_version(app: Flask, shop: Shop) -> str | None:
    """The version of the model that scores the shop, as its scores are stored (None:
    snownlp's own)."""
    return _scoring_model(app, _session_of(shop), shop.id)[1]


def installed_model_version(app: Flask) -> str | None:
    """The version of the installation's model, as its scores are stored (None: snownlp)."""
    return _installed_bands(app)[1]


def bands_of_model(app: Flask, session: Session, shop_id: int, version: str | None) -> ScoreBands:
    """The bands of the model that gave a stored score: a score is read on its own model's
    scale (a shop's model may call 0.95 unsure where the general one calls it happy)."""
    if version is not None:
        thresholds = shop_models.thresholds_of(session, shop_id, version)
        model_bands = _installed_bands(app)[0] if thresholds is None else _bands_of(thresholds)
        calibrated = _calibrated(session, shop_id, version, model_bands)
        if calibrated is not None:
            return _override(app, calibrated)
        if thresholds is not None:
            return _override(app, model_bands)
    return score_bands(app)


def _override(app: Flask, bands: ScoreBands) -> ScoreBands:
    override = app.config["TRACKER_HIDDEN_NEGATIVE_THRESHOLD"]
    if override is None:
        return bands
    return ScoreBands(case=override, confirm=max(override, bands.confirm))


def settings(app: Flask, shop: Shop) -> IntakeSettings:
    return intake_settings(
        shop,
        timezone=app.config["TRACKER_TIMEZONE"],
        bands=score_bands(app, shop.id, session=_session_of(shop)),
    )


def sealer(app: Flask) -> Sealer:
    """Seals and opens stored platform credentials (tracker.sealing)."""
    keys = app.config["TRACKER_CREDENTIALS_KEY"] or derived_key(app.config["SECRET_KEY"])
    return Sealer(keys)


# A page action that calls the platform (post a reply, check a connection) holds a web
# worker: it gets one short try instead of the scheduler's patient retries.
INTERACTIVE_TIMEOUT = 10.0


def source_options(app: Flask, adapter: Adapter, *, interactive: bool = False) -> SourceOptions:
    url = app.config["TRACKER_SOURCE_URLS"].get(adapter.name)
    if interactive:
        timeout = min(INTERACTIVE_TIMEOUT, app.config["TRACKER_PULL_TIMEOUT"])
        return SourceOptions(clock=utcnow, url=url, timeout=timeout, retries=0)
    return SourceOptions(clock=utcnow, url=url, timeout=app.config["TRACKER_PULL_TIMEOUT"])


def shop_credentials(app: Flask, session: Session, shop: Shop) -> ShopCredentials | None:
    return source_credentials.for_shop(
        session, shop, sealer=sealer(app), env=app.config["TRACKER_SHOP_CREDENTIALS"]
    )


@dataclass(frozen=True)
class Connected:
    adapter: Adapter
    source: ReviewSource
    # the platform app the calls go through ("top:12345678"): one app key serves many
    # shops, and the platform's call limits are the app's
    app: str


def review_source(
    app: Flask, session: Session, shop: Shop, *, interactive: bool = False
) -> Connected | None:
    """The shop's platform client, or None where it has none (imports and pushes only).
    Raises SourceError when its credentials are there but unusable. ``interactive``: for
    a web request, which must fail fast."""
    found = shop_credentials(app, session, shop)
    if found is None:
        return None
    adapter = found.adapter
    options = source_options(app, adapter, interactive=interactive)
    app_key = found.values.get("app_key") or found.values.get("app_id") or f"shop-{shop.id}"
    return Connected(adapter, adapter.build(found.values, options), f"{adapter.name}:{app_key}")


def pulled_shops(app: Flask, session: Session, shops: list[Shop]) -> dict[int, str]:
    """Which of ``shops`` have a source to pull, without opening a credential or a client."""
    return source_credentials.configured(session, shops, app.config["TRACKER_SHOP_CREDENTIALS"])


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


def provider_options(app: Flask, name: str, *, interactive: bool = False) -> SourceOptions:
    url = app.config["TRACKER_PROVIDER_URLS"].get(name)
    if interactive:
        return SourceOptions(clock=utcnow, url=url, timeout=INTERACTIVE_TIMEOUT, retries=0)
    # no transport retries: the outbox retries, after looking whether the send went out
    return SourceOptions(
        clock=utcnow, url=url, timeout=app.config["TRACKER_PULL_TIMEOUT"], retries=0
    )


def provider(
    app: Flask, session: Session, shop: Shop, name: str, *, interactive: bool = False
) -> Any:
    """A client of the shop's message or call provider; ProviderError when it has none."""
    spec = PROVIDERS[name]
    values = messaging.account_values(session, shop.id, name, sealer=sealer(app))
    if values is None:
        raise ProviderError("not-configured", messaging.not_configured(name))
    return spec.build(values, provider_options(app, name, interactive=interactive))


def message_clients(app: Flask, session: Session) -> messaging.Clients:
    """For the outbox: the provider of each message, or the shop's platform for 平台短信."""

    def clients(shop: Shop, name: str) -> object:
        if name != messaging.PLATFORM:
            return provider(app, session, shop, name)
        connected = review_source(app, session, shop)
        if connected is None or not isinstance(connected.source, SendsMessages):
            raise ProviderError("not-connected", "本店没有连上支持平台短信的平台接口（数据源）")
        return connected.source

    return clients


def decrypting_source(app: Flask, session: Session, shop: Shop) -> DecryptsContacts:
    """The shop's platform client, for a decrypt the agent is waiting for."""
    connected = review_source(app, session, shop, interactive=True)
    if connected is None or not isinstance(connected.source, DecryptsContacts):
        raise SourceError("not-connected", "本店没有连上支持号码解密的平台接口（数据源）")
    return connected.source
