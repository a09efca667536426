"""A database stall fails a page fast with the 503 page instead of holding every worker;
jobs keep their own, longer limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD, csrf_token
from tests.databases import fresh_database
from tracker import create_app
from tracker.clock import utcnow
from tracker.database import use_job_timeouts
from tracker.extensions import db
from tracker.models import User
from tracker.models.enums import Role


@pytest.fixture
def quick_app(tmp_path: Path) -> Iterator[Flask]:
    with fresh_database(tmp_path) as url:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "TRACKER_DB_LOCK_TIMEOUT_MS": 500,
                "TRACKER_DB_STATEMENT_TIMEOUT_MS": 1000,
                "TRACKER_LOGIN_RATE_LIMIT": "1000 per minute",
            },
            instance_path=str(tmp_path),
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            user = User(username="kefu", display_name="客服", role=Role.ADMIN, created_at=utcnow())
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
            db.session.remove()
        yield app
        with app.app_context():
            db.engine.dispose()


def test_a_held_lock_answers_503_within_the_lock_timeout(quick_app: Flask) -> None:
    client = quick_app.test_client()
    token = csrf_token(client)
    with quick_app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        blocker = engine.connect()
        if postgres:  # another transaction holds the users table: every login read waits
            blocker.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        else:  # SQLite: another writer holds the database (BEGIN IMMEDIATE); a login writes
            blocker.exec_driver_sql("UPDATE users SET display_name = display_name")
        try:
            started = time.monotonic()
            answer = client.post(
                "/login", data={"username": "kefu", "password": PASSWORD, "csrf_token": token}
            )
            waited = time.monotonic() - started
        finally:
            blocker.rollback()
            blocker.close()
    assert answer.status_code == 503, answer.status_code
    assert "Retry-After" in answer.headers
    assert "数据库暂时无法响应" in answer.get_data(as_text=True)
    assert waited < 5, waited  # not gunicorn's 30 s, not forever
    # the lock gone, the same login goes through
    token = csrf_token(client)
    ok = client.post("/login", data={"username": "kefu", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302


def test_web_connections_have_short_limits_and_jobs_long_ones(quick_app: Flask) -> None:
    with quick_app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 500
            use_job_timeouts(engine, statement_ms=600_000, lock_ms=60_000)
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
            return
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "1s"
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "500ms"
        use_job_timeouts(engine, statement_ms=600_000, lock_ms=60_000)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "10min"
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "1min"
