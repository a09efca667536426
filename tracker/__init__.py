"""The tracker: negative-review recovery and after-sales case tracking."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from tracker import config as config_module
from tracker.database import timeout_options

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    test_config: Mapping[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    app = Flask(
        __name__,
        instance_path=instance_path or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(config_module.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config_module.from_environment(os.environ))
    if test_config is not None:
        app.config.update(test_config)
    _finish_config(app)

    from tracker.extensions import (
        CSP,
        bootstrap,
        cache,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
        talisman,
    )

    db.init_app(app)
    from tracker.text_index import in_models

    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        render_as_batch=True,
        include_name=in_models,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    production = app.config["TRACKER_ENV"] == "production"
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the reverse proxy (README "Production")
        strict_transport_security=production,
        session_cookie_secure=production,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
    )
    with app.app_context():
        from tracker.database import configure_engine

        configure_engine(db.engine, lock_timeout_ms=app.config["TRACKER_DB_LOCK_TIMEOUT_MS"])

    from tracker import cli, web

    web.init_app(app)
    cli.init_app(app)
    return app


def _finish_config(app: Flask) -> None:
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{Path(app.instance_path) / 'tracker.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(uri)
    if (
        app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        and not app.config["TRACKER_PGBOUNCER"]
    ):  # behind pgbouncer these settings are the database roles' own (README "Many shops")
        # PostgreSQL compiles a query to machine code (JIT) when its estimated cost is high,
        # and the board's search and counts are estimated high (a subquery per case) while
        # running in tens of milliseconds: compiling took 24 of a 90 ms board query.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        timeouts = timeout_options(
            statement_ms=app.config["TRACKER_DB_STATEMENT_TIMEOUT_MS"],
            lock_ms=app.config["TRACKER_DB_LOCK_TIMEOUT_MS"],
        )
        options["connect_args"] = {"options": f"-c jit=off {timeouts}"} | options.get(
            "connect_args", {}
        )
        # a worker waits at most this long for a pooled connection (then: the 503 page)
        options.setdefault("pool_timeout", 10)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    # Shop ids repeat from one database to the next: two trackers handed the same Redis
    # database would otherwise read each other's cached report figures.
    installation = hashlib.sha256(app.config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()
    for key in ("CACHE_KEY_PREFIX", "RATELIMIT_KEY_PREFIX"):
        if app.config.get(key) is None:
            app.config[key] = f"tracker:{installation[:12]}:"
    if app.config.get("CACHE_REDIS_URL") and app.config["CACHE_TYPE"] == "SimpleCache":
        app.config["CACHE_TYPE"] = "RedisCache"  # shared by every worker
    problems = config_module.validate(app.config)
    if problems:
        raise config_module.ConfigError(
            "The tracker cannot start with this configuration:\n- " + "\n- ".join(problems)
        )
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=app.config["TRACKER_REMEMBER_DAYS"])
    if app.config["TRACKER_ENV"] == "production":
        # Production is served over HTTPS: cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
