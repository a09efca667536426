"""Security basics: headers, login lockout and throttling, production cookie flags."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, PASSWORD, csrf_token, login
from tracker import PROJECT_ROOT
from tracker.models import User
from tracker.models.enums import Role
from tracker.services import accounts
from tracker.services.accounts import LoginFailure


def test_every_page_sends_a_strict_content_security_policy_and_no_framing(
    client: FlaskClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    for response in (client.get("/login"), client.get("/")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    login(client, make_user(Role.AGENT))
    html = client.get("/").get_data(as_text=True)
    assert "style=" not in html and "<script>" not in html  # nothing inline to allow


def _try(client: FlaskClient, username: str, password: str) -> str:
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    return response.get_data(as_text=True)


HERE, THERE = "203.0.113.7", "198.51.100.9"


def test_a_name_locks_after_five_wrong_passwords_from_that_address_only(
    session: Session, make_user
) -> None:  # type: ignore[no-untyped-def]
    user: User = make_user(Role.AGENT)

    def attempt(name: str, password: str, address: str = HERE, now=NOW):  # type: ignore[no-untyped-def]
        return accounts.authenticate(session, name, password, address=address, now=now)

    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        assert attempt(user.username, "wrong1") is LoginFailure.BAD_CREDENTIALS
    assert attempt(user.username, "wrong1") is LoginFailure.LOCKED
    # the right password does not open the lock from here, and says nothing more
    assert attempt(user.username, PASSWORD) is LoginFailure.LOCKED
    # the real user elsewhere is not locked out by someone guessing from here
    assert attempt(user.username, PASSWORD, address=THERE) == user
    later = NOW + accounts.LOCKOUT + timedelta(seconds=1)
    assert attempt(user.username, PASSWORD, now=later) == user
    # an unknown name gets exactly the same answers: names cannot be told apart
    answers = [attempt("nobody", "x") for _ in range(accounts.MAX_FAILED_LOGINS + 1)]
    assert answers == [LoginFailure.BAD_CREDENTIALS] * 4 + [LoginFailure.LOCKED] * 2


def test_an_admin_unlocks_and_a_password_reset_unlocks(session: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    user: User = make_user(Role.AGENT)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        accounts.authenticate(session, user.username, "wrong1", address=HERE, now=NOW)
    assert accounts.is_locked(session, user, now=NOW)
    assert accounts.unlock(session, user, actor_id=None, now=NOW) == 1
    assert accounts.authenticate(session, user.username, PASSWORD, address=HERE, now=NOW) == user
    for _ in range(accounts.MAX_FAILED_LOGINS):
        accounts.authenticate(session, user.username, "wrong1", address=HERE, now=NOW)
    accounts.reset_password(session, user, "newpass123", actor_id=None, now=NOW)
    assert not accounts.is_locked(session, user, now=NOW)
    assert (
        accounts.authenticate(session, user.username, "newpass123", address=HERE, now=NOW) == user
    )


def test_simultaneous_guesses_get_at_most_five_password_checks(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """30 wrong passwords at once, in real threads on their own connections: the count is
    one atomic statement, so at most MAX_FAILED_LOGINS of them reach the password check."""
    import threading

    import sqlalchemy as sa
    from sqlalchemy.orm import sessionmaker

    from tests.databases import fresh_database
    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import User as UserModel

    with fresh_database(tmp_path) as url:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path)
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            user = UserModel(username="target", display_name="甲", role=Role.AGENT, created_at=NOW)
            user.set_password(PASSWORD)
            stored = user.password_hash  # read before the commit expires it (a read would
            db.session.add(user)  # open a transaction, which on SQLite holds the write lock)
            db.session.commit()
            engine = db.engine
            checks = []
            real = accounts.check_password_hash

            def counted(pwhash: str, password: str) -> bool:
                if pwhash == stored:  # the dummy hash that evens out timing is not a check
                    checks.append(password)
                return real(pwhash, password)

            accounts.check_password_hash = counted
            try:
                Session_ = sessionmaker(bind=engine)
                start = threading.Barrier(30)
                answers = []

                def guess() -> None:
                    with Session_() as own:
                        start.wait()
                        answers.append(
                            accounts.authenticate(own, "target", "wrong", address=HERE, now=NOW)
                        )

                threads = [threading.Thread(target=guess) for _ in range(30)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            finally:
                accounts.check_password_hash = real
            assert len(answers) == 30 and len(checks) <= accounts.MAX_FAILED_LOGINS
            assert answers.count(LoginFailure.BAD_CREDENTIALS) <= accounts.MAX_FAILED_LOGINS - 1
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM login_failures")).scalar() == 1
            engine.dispose()


def test_the_login_page_says_when_an_account_is_locked(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.AGENT)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        _try(client, user.username, "wrong-password-1")
    assert "暂时锁定" in _try(client, user.username, PASSWORD)


def test_logins_from_one_address_are_throttled(
    app: Flask, client: FlaskClient, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "TRACKER_LOGIN_RATE_LIMIT", "3 per minute")
    user = make_user(Role.AGENT)
    for _ in range(3):
        assert "用户名或密码错误" in _try(client, user.username, "wrong-password-1")
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429 and "操作太频繁" in response.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # reading the page is not limited
    # a colleague behind the same office address still logs in
    colleague = make_user(Role.AGENT)
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": colleague.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


PRODUCTION_PROBE = """
import json, os
os.environ.update(TRACKER_ENV="production", SECRET_KEY="x" * 40, DATABASE_URL="sqlite://",
                  TRACKER_CREDENTIALS_KEY="yUzALCOdSdfnz3nnyEz9ZJz95ZCI3g_R-ZaxmVgFJ2E=",
                  TRACKER_PERSONAL_DATA_KEY="GqJ0m8Yc1m3dpQh0l5qO9j0kq2rB8f3tC1yE7nXWz0A=")
from tracker import create_app
app = create_app(instance_path=os.environ["PROBE_INSTANCE"])
client = app.test_client()
page = client.get("/login", base_url="https://tracker.example")
print(json.dumps({"hsts": page.headers.get("Strict-Transport-Security", ""),
                  "cookie": page.headers.get("Set-Cookie", "")}))
"""


def test_production_sets_secure_cookies_and_hsts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """In a process of its own: the security extensions are configured once per process."""
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PROBE_INSTANCE": str(tmp_path)},
        check=True,
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "max-age" in seen["hsts"]
    assert "Secure" in seen["cookie"] and "HttpOnly" in seen["cookie"]


def _login_remembered(client: FlaskClient, user: User) -> None:
    token = csrf_token(client)
    answer = client.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": token,
        },
    )
    assert answer.status_code == 302


def _copy(app: Flask, source: FlaskClient, names: tuple[str, ...]) -> FlaskClient:
    """Another browser holding copies of ``source``'s cookies (a stolen or synced copy)."""
    other = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        other.set_cookie(name, cookie.value)
    return other


def _fresh() -> None:
    """The test's app context outlives each request: forget the last request's signed-in
    user and CSRF token, as a real request would start without them."""
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def _signed_in(client: FlaskClient) -> bool:
    _fresh()
    return client.get("/").status_code == 200


@pytest.mark.parametrize("cookies", [("session",), ("remember_token",)])
def test_logout_voids_every_copy_of_the_session_and_remember_cookie(
    app: Flask, client: FlaskClient, make_user, cookies: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.AGENT)
    _login_remembered(client, user)
    assert _signed_in(_copy(app, client, cookies))  # a copy works before the logout
    copy = _copy(app, client, cookies)  # another copy, untouched until after it
    _fresh()
    token = csrf_token(client, "/notifications/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _signed_in(copy) and not _signed_in(client)


def test_a_password_reset_and_sign_out_everywhere_void_sessions(
    app: Flask, client: FlaskClient, session: Session, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.AGENT)
    _login_remembered(client, user)
    remembered = _copy(app, client, ("remember_token",))
    accounts.reset_password(session, user, "brandnew99", actor_id=None, now=NOW)
    assert not _signed_in(client) and not _signed_in(remembered)

    admin = app.test_client()
    admin_id = make_user(Role.ADMIN).id
    phone = app.test_client()
    _fresh()
    token = csrf_token(phone)
    answer = phone.post(
        "/login",
        data={
            "username": user.username,
            "password": "brandnew99",
            "remember": "y",
            "csrf_token": token,
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[-800:]
    assert _signed_in(phone)
    url = f"/admin/users/{user.id}"
    _fresh()
    login(admin, session.get(User, admin_id))  # type: ignore[arg-type]
    answer = admin.post(f"{url}/sign-out", data={"csrf_token": csrf_token(admin, url)})
    assert answer.status_code == 302
    assert not _signed_in(phone)


def test_remember_me_lasts_days_not_a_year(app: Flask) -> None:
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
