"""Fixtures: one migrated database per test run; each test inside a transaction that is
rolled back afterwards (SQLAlchemy's "join a session into an external transaction")."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from tests.databases import fresh_database
from tracker import create_app
from tracker.clock import utcnow
from tracker.domain.working_hours import WorkingHours
from tracker.extensions import cache, db
from tracker.models import Shop, User
from tracker.models.enums import Platform, Role
from tracker.services import recommendations

PASSWORD = "secret123"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
HOURS = WorkingHours(tz=ZoneInfo("Asia/Shanghai"))  # the default: 09:00-12:00, 13:30-22:00


def run_python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` in a new Python process at the project's root: what a process does as it
    starts or loads (freezing its objects, importing heavy libraries), which the test
    process did long ago."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def lately(hours: float = 0) -> datetime:
    """``hours`` after 10:00 yesterday, Beijing time, by the real clock. For data that code
    reading the real clock (a CLI command, a page, a job) must find recent — inside the
    buyers' 30-day revision window — whatever day the suite runs: NOW is fixed and ages out
    (reviews posted at NOW stopped opening cases on 2026-12-20)."""
    sh = ZoneInfo("Asia/Shanghai")
    yesterday = utcnow().astimezone(sh).date() - timedelta(days=1)
    return datetime.combine(yesterday, time(10), tzinfo=sh).astimezone(UTC) + timedelta(hours=hours)


def local_text(moment: datetime) -> str:
    """``moment`` as a platform's export writes it: Beijing time, 2026-11-22 10:00:00."""
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key-that-is-long-enough",
            "TRACKER_ENV": "development",
            "TRACKER_LOGIN_RATE_LIMIT": "10000 per minute",  # tests log in all the time
            "TRACKER_LOGIN_ADDRESS_RATE_LIMIT": "10000 per minute",
            "TRACKER_SENTIMENT_GENERAL_CORPUS": False,  # shop models train in a second
        },
        instance_path=str(instance),
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A test's database work runs in a transaction rolled back at its end, and it starts
    with empty caches (figures or a catalogue cached by an earlier test would belong to
    rolled-back data, and SQLite hands the same ids out again)."""
    with app.app_context():
        cache.clear()
        recommendations.forget_cached()
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        scoped = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        db.session = scoped  # type: ignore[assignment]
        try:
            yield scoped()
        finally:
            scoped.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_shop(session: Session) -> Callable[..., Shop]:
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> Shop:
        n = next(counter)
        values = {
            "code": f"shop{n}",
            "name": f"测试店铺{n}",
            "platform": Platform.TAOBAO,
            "created_at": NOW,
            "contact_policy": ANY_TIME,
        } | fields
        shop = Shop(**values)
        session.add(shop)
        session.commit()
        return shop

    return make


# Tests log attempts at the clock's time and in quick succession: a shop that may contact
# at any hour, as often as it likes. tests/domain/test_contact_policy.py and
# tests/services/test_contact_policy.py use the default policy.
ANY_TIME = {
    "day_starts": "00:00",
    "day_ends": "24:00",  # not 23:59: a test run in Beijing's last minute was refused
    "per_day": 50,
    "per_week": 50,
    "min_gap_minutes": 0,
}


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    """The one shop most tests need; a module wanting a fuller shop defines its own."""
    return make_shop()


@functools.cache
def _password_hash() -> str:
    """PASSWORD's hash, made by the model's own method: a scrypt hash costs a fifth of a
    second, and the suite makes well over a thousand users (logging in still checks it)."""
    probe = User()
    probe.set_password(PASSWORD)
    return probe.password_hash


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.AGENT, shops: list[Shop] | None = None, **fields: Any) -> User:
        n = next(counter)
        values = {
            "username": f"{role.value}{n}",
            "display_name": f"{role.label}{n}",
            "role": role,
            "created_at": NOW,
        } | fields
        user = User(**values, shops=list(shops or []))
        user.password_hash = _password_hash()  # as set_password makes it, once a process
        session.add(user)
        session.commit()
        return user

    return make


_TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, user: User, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post(
        "/login", data={"username": user.username, "password": password, "csrf_token": token}
    )


def as_new_request() -> None:
    """Tests share one app context: forget the last request's user and CSRF token, as the
    next request (from the same or another browser) would start without them."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def other_browser(client: FlaskClient) -> FlaskClient:
    """Another person at another browser, with no cookies of its own yet."""
    as_new_request()
    return client.application.test_client()


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], *, form_url: str | None = None
) -> Any:
    """POST like a browser: with the CSRF token from the page the form is on."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, form_url or url)})


def words(html: str) -> str:
    """A page's text as read on screen: the tags that only style it (a span that keeps a
    figure on one line) taken out."""
    return re.sub(r"<[^>]*>", "", html)


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def instance_dir(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


class DatabaseDown:
    """Every statement fails in the driver, as it would with the server gone."""

    HOOKS = ("do_execute", "do_execute_no_params", "do_executemany")

    def __init__(self, session: Session) -> None:
        self.engine = session.connection().engine
        self.error = self.engine.dialect.loaded_dbapi.OperationalError

    def refuse(self, *_args: object) -> None:
        raise self.error("database is down for the test")

    def __enter__(self) -> None:
        for hook in self.HOOKS:
            sa.event.listen(self.engine, hook, self.refuse)

    def __exit__(self, *_exc: object) -> None:
        for hook in self.HOOKS:
            sa.event.remove(self.engine, hook, self.refuse)
