from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tracker import create_app
from tracker.config import DEFAULT_SECRET_KEY, ConfigError, from_environment


def test_layers_defaults_then_instance_file_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.py").write_text(
        'TRACKER_TIMEZONE = "Asia/Urumqi"\nTRACKER_PAGE_SIZE = 20\nSECRET_KEY = "from-file"\n'
    )
    monkeypatch.setenv("TRACKER_PAGE_SIZE", "30")
    monkeypatch.delenv("TRACKER_TIMEZONE", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["TRACKER_TIMEZONE"] == "Asia/Urumqi"  # file beats default
    assert app.config["TRACKER_PAGE_SIZE"] == 30  # environment beats file
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_default_database_is_sqlite_in_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'tracker.db'}"


def test_postgres_urls_use_psycopg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/x")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/x"


def test_production_refuses_the_default_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY") as info:
        create_app(instance_path=str(tmp_path))
    assert DEFAULT_SECRET_KEY not in str(info.value)


def test_production_with_a_real_key_sets_secure_cookies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match="TRACKER_CREDENTIALS_KEY is not set"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("TRACKER_CREDENTIALS_KEY", "not-a-fernet-key")
    with pytest.raises(ConfigError, match="must be Fernet keys"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("TRACKER_CREDENTIALS_KEY", Fernet.generate_key().decode())
    with pytest.raises(ConfigError, match="TRACKER_PERSONAL_DATA_KEY is not set"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("TRACKER_PERSONAL_DATA_KEY", "short")
    with pytest.raises(ConfigError, match="TRACKER_PERSONAL_DATA_KEY must be Fernet keys"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("TRACKER_PERSONAL_DATA_KEY", Fernet.generate_key().decode())
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_bad_values_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="TRACKER_TIMEZONE='Mars/Olympus'"):
        create_app(instance_path=str(tmp_path))
    with pytest.raises(ConfigError, match="TRACKER_PAGE_SIZE"):
        from_environment({"TRACKER_PAGE_SIZE": "many"})
    with pytest.raises(ConfigError, match="TRACKER_SHOP_CREDENTIALS"):
        from_environment({"TRACKER_SHOP_CREDENTIALS": "{not json"})
    monkeypatch.setenv("TRACKER_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("TRACKER_CACHE_REDIS_URL", "memcached://127.0.0.1")
    with pytest.raises(ConfigError, match="TRACKER_CACHE_REDIS_URL='memcached"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.delenv("TRACKER_CACHE_REDIS_URL")
    monkeypatch.setenv("TRACKER_BROKER_URL", "sqs://queue")
    with pytest.raises(ConfigError, match="TRACKER_BROKER_URL='sqs://queue' is not a Celery"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("TRACKER_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("TRACKER_WORK_THREADS", "0")
    with pytest.raises(ConfigError, match="TRACKER_WORK_THREADS=0"):
        create_app(instance_path=str(tmp_path))


def test_postgresql_connections_run_without_jit(app) -> None:  # type: ignore[no-untyped-def]
    from tracker.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
            return
        assert connection.exec_driver_sql("SHOW jit").scalar() == "off"


def test_each_installation_keeps_its_own_keys_in_a_shared_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shop 1 of one tracker is not shop 1 of another: cached figures must not cross."""
    import redis

    from tracker.extensions import cache

    shared = "redis://127.0.0.1:6379/15"
    try:
        with redis.Redis.from_url(shared, socket_connect_timeout=1) as probe:
            probe.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379 (the CI machine has one)")
    monkeypatch.setenv("TRACKER_CACHE_REDIS_URL", shared)

    def tracker(database: str, **config: str):  # type: ignore[no-untyped-def]
        url = f"sqlite:///{tmp_path / database}"
        return create_app({"SQLALCHEMY_DATABASE_URI": url, **config}, str(tmp_path))

    apps = one, other, one_again, mine = (
        tracker("one.db"),
        tracker("other.db"),
        tracker("one.db"),
        tracker("x.db", CACHE_KEY_PREFIX="mine:"),
    )
    try:
        assert one.config["CACHE_KEY_PREFIX"].startswith("tracker:")
        assert one.config["CACHE_KEY_PREFIX"] != other.config["CACHE_KEY_PREFIX"]
        assert one.config["RATELIMIT_KEY_PREFIX"] == one.config["CACHE_KEY_PREFIX"]
        assert mine.config["CACHE_KEY_PREFIX"] == "mine:"
        with one.app_context():
            cache.set("figures:shop:1", "one's", timeout=60)
        with other.app_context():
            assert cache.get("figures:shop:1") is None
        with one_again.app_context():  # another worker of the same tracker
            assert cache.get("figures:shop:1") == "one's"
            cache.delete("figures:shop:1")
    finally:  # each app's Redis connection, closed here rather than by the collector
        for app in apps:
            app.extensions["cache"][cache]._write_client.close()


def dev_script() -> Any:
    import importlib.util

    from tracker import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location("dev_script", PROJECT_ROOT / "dev.py")
    dev = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(dev)  # type: ignore[union-attr]
    return dev


def test_the_run_command_sums_up_the_migrations_in_one_line() -> None:
    """A first `dev.py run` applies every revision; alembic logs each with its description
    over one to four lines, which pushed the demo's logins off the screen."""
    log = (
        "INFO  [alembic.runtime.migration] Context impl SQLiteImpl.\n"
        "INFO  [alembic.runtime.migration] Will assume transactional DDL.\n"
        "INFO  [alembic.runtime.migration] Running upgrade  -> 0001, initial schema\n"
        "INFO  [alembic.runtime.migration] Running upgrade 0001 -> 0002, intake\n"
        "INFO  [alembic.runtime.migration] Running upgrade 0002 -> 0003, Reviews waiting for a\n"
        "score: a partial index, so the scheduler's minutely look for them\n"
    )
    dev = dev_script()
    assert dev.migrated(log) == "applied 3 migrations (empty -> 0003); the schema is the newest"
    later = "INFO  [alembic.runtime.migration] Running upgrade 0052 -> 0053, a, b -> c\n"
    assert dev.migrated(later).startswith("applied 1 migration (0052 -> 0053);")
    assert dev.migrated(log.split("Running")[0]) == "the database schema is already the newest"


def test_the_run_command_points_links_at_its_own_port() -> None:
    dev = dev_script()
    env = {"TRACKER_PORT": "5055"}
    assert dev.listen_address(env) == ("127.0.0.1", "5055")
    assert env["TRACKER_BASE_URL"] == "http://127.0.0.1:5055"
    kept = {"TRACKER_BASE_URL": "https://tracker.example"}
    dev.listen_address(kept)
    assert kept["TRACKER_BASE_URL"] == "https://tracker.example"


def test_behind_pgbouncer_connections_carry_no_settings_of_their_own(tmp_path: Path) -> None:
    """pgbouncer (transaction pooling) refuses startup options and would hand one client's
    SET to the next: the settings then come from the database roles (README)."""
    url = "postgresql+psycopg://tracker@127.0.0.1:6432/tracker"
    direct = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path))
    assert "-c jit=off" in direct.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    pooled = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "TRACKER_PGBOUNCER": True}, instance_path=str(tmp_path)
    )
    assert "connect_args" not in pooled.config["SQLALCHEMY_ENGINE_OPTIONS"]
