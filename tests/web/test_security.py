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


def test_an_account_locks_after_five_wrong_passwords(session: Session, make_user) -> None:  # type: ignore[no-untyped-def]
    user: User = make_user(Role.AGENT)
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        assert accounts.authenticate(session, user.username, "wrong1", now=NOW) is (
            LoginFailure.BAD_CREDENTIALS
        )
    assert accounts.authenticate(session, user.username, "wrong1", now=NOW) is LoginFailure.LOCKED
    # the right password does not open a locked account, and says nothing more
    assert accounts.authenticate(session, user.username, PASSWORD, now=NOW) is LoginFailure.LOCKED
    later = NOW + accounts.LOCKOUT + timedelta(seconds=1)
    assert accounts.authenticate(session, user.username, PASSWORD, now=later) == user
    assert (user.failed_logins, user.locked_until) == (0, None)
    # an unknown name is refused exactly like a wrong password
    assert accounts.authenticate(session, "nobody", "x", now=NOW) is LoginFailure.BAD_CREDENTIALS


def test_the_login_page_says_when_an_account_is_locked(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.AGENT)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        _try(client, user.username, "wrong-password-1")
    assert "账号已暂时锁定" in _try(client, user.username, PASSWORD)


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


PRODUCTION_PROBE = """
import json, os
os.environ.update(TRACKER_ENV="production", SECRET_KEY="x" * 40, DATABASE_URL="sqlite://",
                  TRACKER_CREDENTIALS_KEY="yUzALCOdSdfnz3nnyEz9ZJz95ZCI3g_R-ZaxmVgFJ2E=")
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
