"""Connecting a shop to its platform on the admin page: credentials sealed at rest and never
shown back, audited, checked with one call; case pages that never touch the network; the
WeChat bad-review push, verified, making the scheduler pull at once."""

from __future__ import annotations

import json

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import csrf_token, login
from tests.factories import open_case
from tests.fakes import KeywordScorer
from tests.platform_servers import FakeJd, FakeWechat, epoch, serve
from tracker import jobs, runtime
from tracker.clock import utcnow
from tracker.models import AuditEvent, PullRun, Review, Shop, SourceCredential
from tracker.models.enums import Platform, Role
from tracker.sources import wechat

SECRET = "jd-app-secret-9f8e7d"
TOKEN = "jd-access-token-1a2b3c"


@pytest.fixture
def admin(client: FlaskClient, make_user) -> FlaskClient:  # type: ignore[no-untyped-def]
    login(client, make_user(Role.ADMIN))
    return client


def save(client: FlaskClient, shop: Shop, **values: str):  # type: ignore[no-untyped-def]
    url = f"/admin/shops/{shop.id}/credentials"
    return client.post(url, data={"csrf_token": csrf_token(client, url), **values})


def test_credentials_are_sealed_never_shown_back_and_audited(
    admin: FlaskClient, session: Session, make_shop, app: Flask
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(platform=Platform.JD)
    missing = save(admin, shop, app_key="jdkey", app_secret=SECRET)
    assert missing.status_code == 200 and "请填写授权 Access Token" in missing.get_data(
        as_text=True
    )
    assert session.get(SourceCredential, shop.id) is None  # nothing half-saved

    answer = save(admin, shop, app_key="jdkey", app_secret=SECRET, access_token=TOKEN)
    assert answer.status_code == 302
    raw = session.execute(
        sa.text("SELECT sealed, hint FROM source_credentials WHERE shop_id = :id"), {"id": shop.id}
    ).one()
    assert SECRET not in raw.sealed and TOKEN not in raw.sealed and "jdkey" not in raw.sealed
    assert SECRET not in raw.hint and TOKEN not in raw.hint and "jdkey" in raw.hint
    page = admin.get(f"/admin/shops/{shop.id}/credentials").get_data(as_text=True)
    assert SECRET not in page and TOKEN not in page and "2b3c" in page  # last 4 signs only

    # a secret left blank keeps the stored one; a new value replaces it
    save(admin, shop, app_key="jdkey2", app_secret="", access_token="")
    found = runtime.shop_credentials(app, session, shop)
    assert found is not None and found.origin == "database"
    assert found.values == {"app_key": "jdkey2", "app_secret": SECRET, "access_token": TOKEN}
    form = admin.get(f"/admin/shops/{shop.id}/credentials").get_data(as_text=True)
    assert 'value="jdkey2"' in form  # the App Key is shown again to edit; secrets never
    audit = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "shop", AuditEvent.field == "credentials"
        )
    ).all()
    assert len(audit) == 2
    assert all(SECRET not in (a.new_value or "") + (a.old_value or "") for a in audit)


def test_stored_credentials_win_over_the_environment_and_a_retired_key_is_named(
    app: Flask, session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tracker.services import source_credentials

    shop = make_shop(platform=Platform.JD)
    env = {shop.code: {"app_key": "env", "app_secret": "e", "access_token": "e"}}
    monkeypatch.setitem(app.config, "TRACKER_SHOP_CREDENTIALS", env)
    assert runtime.shop_credentials(app, session, shop).origin == "environment"  # type: ignore[union-attr]
    source_credentials.save(
        session,
        shop,
        {"app_key": "db", "app_secret": "d", "access_token": "d"},
        sealer=runtime.sealer(app),
        actor_id=None,
        now=utcnow(),
    )
    assert runtime.shop_credentials(app, session, shop).values["app_key"] == "db"  # type: ignore[union-attr]
    # the key rotated without resealing: the pull says so instead of using nothing
    from cryptography.fernet import Fernet

    from tracker.sources.contract import SourceError

    monkeypatch.setitem(app.config, "TRACKER_CREDENTIALS_KEY", Fernet.generate_key().decode())
    with pytest.raises(SourceError, match="无法解密"):
        runtime.shop_credentials(app, session, shop)


def test_check_connection_and_delete(
    admin: FlaskClient, session: Session, make_shop, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(platform=Platform.JD)
    fake = FakeJd()
    with serve(fake):
        monkeypatch.setitem(app.config, "TRACKER_SOURCE_URLS", {"jd": fake.url})
        save(admin, shop, app_key=fake.app_key, app_secret=fake.secret, access_token=fake.token)
        url = f"/admin/shops/{shop.id}/credentials"
        ok = admin.post(
            f"{url}/check", data={"csrf_token": csrf_token(admin, url)}, follow_redirects=True
        )
        assert "连接正常" in ok.get_data(as_text=True) and fake.problems == []
        save(admin, shop, app_key=fake.app_key, app_secret="wrong-secret", access_token="")
        refused = admin.post(
            f"{url}/check", data={"csrf_token": csrf_token(admin, url)}, follow_redirects=True
        )
        assert "连接失败" in refused.get_data(as_text=True)
    sources = admin.get("/admin/sources").get_data(as_text=True)
    assert "已接入京东开放平台" in sources
    admin.post(f"{url}/delete", data={"csrf_token": csrf_token(admin, url)})
    assert session.get(SourceCredential, shop.id) is None
    assert "未配置凭据" in admin.get("/admin/sources").get_data(as_text=True)


def test_a_platform_without_an_api_has_no_credentials_page(admin: FlaskClient, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(platform=Platform.DOUYIN)
    assert admin.get(f"/admin/shops/{shop.id}/credentials").status_code == 404
    assert "没有可接入的评价接口" in admin.get("/admin/sources").get_data(as_text=True)


def test_a_case_page_renders_with_the_network_unreachable(
    admin: FlaskClient, session: Session, make_shop, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(platform=Platform.JD)
    save(admin, shop, app_key="k", app_secret="s", access_token="t")
    case = open_case(session, shop, at=utcnow())

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page opened a network connection")

    monkeypatch.setattr(requests.Session, "request", no_network)
    page = admin.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert "发布" in page.get_data(as_text=True)  # it can post: decided without the network


def _signed(token: str) -> dict[str, str]:
    return {
        "signature": wechat.push_signature(token, "1704038400", "n1"),
        "timestamp": "1704038400",
        "nonce": "n1",
    }


def test_wechat_push_is_verified_and_makes_the_scheduler_pull(
    app: Flask, client: FlaskClient, session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tracker.services import source_credentials

    shop = make_shop(platform=Platform.WECHAT, code="wxshop")
    shop_id = shop.id
    fake = FakeWechat()
    source_credentials.save(
        session,
        shop,
        {"app_id": fake.app_id, "app_secret": fake.app_secret, "push_token": "ptok"},
        sealer=runtime.sealer(app),
        actor_id=None,
        now=utcnow(),
    )
    url = "/api/v1/platform-events/wxshop"
    assert client.get(url, query_string=_signed("wrong") | {"echostr": "e"}).status_code == 403
    hello = client.get(url, query_string=_signed("ptok") | {"echostr": "echo-123"})
    assert hello.status_code == 200 and hello.get_data(as_text=True) == "echo-123"
    assert hello.mimetype == "text/plain"  # never rendered as a page
    event = {"MsgType": "event", "Event": "wxa_comment_bad_score", "result": {"comment_id": "5"}}
    forged = client.post(
        url, query_string=_signed("wrong"), data=json.dumps(event), content_type="application/json"
    )
    assert forged.status_code == 403
    assert session.get(Shop, shop_id).pull_requested_at is None  # type: ignore[union-attr]
    answer = client.post(
        url, query_string=_signed("ptok"), data=json.dumps(event), content_type="application/json"
    )
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "success"
    assert session.get(Shop, shop_id).pull_requested_at is not None  # type: ignore[union-attr]

    fake.add("5", utcnow())
    with serve(fake):
        monkeypatch.setitem(app.config, "TRACKER_SOURCE_URLS", {"wechat": fake.url})
        monkeypatch.setattr(runtime, "scorer", lambda app, shop=None: KeywordScorer())
        jobs.dispatch_pulls(app, jobs.inline(app))
    assert session.get(Shop, shop_id).pull_requested_at is None  # type: ignore[union-attr]
    assert session.scalars(sa.select(Review.platform_key)).all() == ["wx:5"]
    assert session.scalars(sa.select(PullRun.source)).all() == ["wechat"]
    assert fake.problems == []


def test_flask_check_tries_each_shops_credentials(
    app: Flask, session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tracker.cli.ops import source_problems

    shop = make_shop(platform=Platform.JD, code="jdshop")
    fake = FakeJd()
    monkeypatch.setitem(
        app.config,
        "TRACKER_SHOP_CREDENTIALS",
        {"jdshop": {"app_key": fake.app_key, "app_secret": "wrong", "access_token": fake.token}},
    )
    with serve(fake), app.app_context():
        monkeypatch.setitem(app.config, "TRACKER_SOURCE_URLS", {"jd": fake.url})
        problems = source_problems()
        assert len(problems) == 1 and "shop jdshop" in problems[0] and "refused" in problems[0]
        app.config["TRACKER_SHOP_CREDENTIALS"]["jdshop"]["app_secret"] = fake.secret
        assert source_problems() == []
    assert shop.code == "jdshop"


def test_time_of_pushed_review_is_the_platforms() -> None:
    """WeChat dates are seconds since the epoch: read as UTC instants."""
    fake = FakeWechat()
    fake.add("1", epoch("2026-11-22 09:00:00"))
    record = wechat.parse_comment(fake.comments[0])
    assert record.posted_at == epoch("2026-11-22 09:00:00")


def test_rotating_the_key_reseals_every_credential(
    app: Flask, session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    from tracker.services import source_credentials

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "TRACKER_CREDENTIALS_KEY", old)
    shop = make_shop(platform=Platform.JD)
    values = {"app_key": "k", "app_secret": "s", "access_token": "t"}
    source_credentials.save(
        session, shop, values, sealer=runtime.sealer(app), actor_id=None, now=utcnow()
    )
    monkeypatch.setitem(app.config, "TRACKER_CREDENTIALS_KEY", f"{new},{old}")
    result = app.test_cli_runner().invoke(args=["rotate-credentials"])
    assert result.exit_code == 0 and "1 个店铺" in result.output
    monkeypatch.setitem(app.config, "TRACKER_CREDENTIALS_KEY", new)  # the old key retired
    assert runtime.shop_credentials(app, session, shop).values == values  # type: ignore[union-attr]
