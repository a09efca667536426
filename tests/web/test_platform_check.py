"""立即向平台核实 on the case page: the review asked for now, the case closed only on the
platform's word, nothing changed when the platform says nothing or fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import login, post_form, words
from tests.factories import open_case
from tests.top_server import FakeTop, serve
from tracker.clock import utcnow
from tracker.models import AuditEvent, Case, Shop, User
from tracker.models.enums import CaseOutcome, CaseStatus, Role

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def agent_case(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> Case:
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=utcnow() - timedelta(days=5))
    case.owner_id = agent.id
    session.commit()
    login(client, agent)
    return case


def _connect(client: FlaskClient, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> FakeTop:
    fake = FakeTop()
    creds = {
        shop.code: {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}
    }
    monkeypatch.setitem(client.application.config, "TRACKER_SHOP_CREDENTIALS", creds)
    return fake


def _as_listed(fake: FakeTop, case: Case, **rate: str) -> None:
    """The case's review as TOP lists it: posted when we stored it, under its 子订单."""
    created = case.review.first_posted_at.astimezone(SH).strftime("%Y-%m-%d %H:%M:%S")
    fake.add_rate(case.review.platform_key.split(":")[0], created, **rate)


def _check(client: FlaskClient, fake: FakeTop, case: Case, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"/cases/{case.id}"
    with serve(fake):
        monkeypatch.setitem(client.application.config, "TRACKER_SOURCE_URLS", {"top": fake.url})
        response = post_form(client, f"{url}/platform-check", {}, form_url=url)
    assert response.status_code == 302 and fake.problems == []
    return words(client.get(url).get_data(as_text=True))


def test_a_revision_on_the_platform_closes_the_case_at_once(
    client: FlaskClient, shop: Shop, agent_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _connect(client, shop, monkeypatch)
    page = client.get(f"/cases/{agent_case.id}").get_data(as_text=True)
    assert 'id="platform-check"' in page and "每小时自动核对" in page
    assert 'id="first-posted"' not in page  # one version: its time is the first
    _as_listed(fake, agent_case, result="good", content="补发的收到了，很好")
    shown = _check(client, fake, agent_case, monkeypatch)
    assert "平台已显示挽回，案件已自动结案" in shown
    # the revised review's time heads it; when the buyer first wrote stays beside it
    first = agent_case.review.first_posted_at.astimezone(SH).strftime("%Y-%m-%d %H:%M")
    assert f"首次评价 {first}" in shown
    assert agent_case.status is CaseStatus.RECOVERED
    assert agent_case.outcome is CaseOutcome.REVIEW_REVISED
    assert agent_case.review.text == "补发的收到了，很好"


def test_nothing_changes_when_the_platform_shows_the_same_or_nothing(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent_case: Case,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _connect(client, shop, monkeypatch)
    shown = _check(client, fake, agent_case, monkeypatch)
    assert "不会据此当作已删除" in shown
    assert "核对时没有找到这条评价：可能已被买家删除" in shown  # before anyone calls again
    assert "平台上已找不到这条评价" in words(client.get("/cases").get_data(as_text=True))
    only = client.get("/cases?view=list&unseen_on_platform=y").get_data(as_text=True)
    assert f'href="/cases/{agent_case.id}"' in only
    _as_listed(fake, agent_case, result="bad", content=agent_case.review.text)
    shown = _check(client, fake, agent_case, monkeypatch)
    assert "平台上的评价没有变化" in shown and "没有找到这条评价" not in shown
    only = client.get("/cases?view=list&unseen_on_platform=y").get_data(as_text=True)
    assert f'href="/cases/{agent_case.id}"' not in only
    fake.faults = ["api"]
    shown = _check(client, fake, agent_case, monkeypatch)
    assert "平台没有应答（27/invalid-sessionkey）" in shown
    assert agent_case.closed_at is None and not agent_case.review.revisions
    # the case's history says who asked, each time, and what the platform answered
    asked = session.execute(
        sa.select(AuditEvent.actor_id, AuditEvent.new_value)
        .where(AuditEvent.case_id == agent_case.id, AuditEvent.field == "platform_check")
        .order_by(AuditEvent.id)
    ).all()
    agent = agent_case.owner_id
    assert asked == [
        (agent, "not_listed"),
        (agent, "unchanged"),
        (agent, "平台没有应答（27/invalid-sessionkey）"),
    ]
    assert "客服1 · 向平台核实：平台未返回这条评价" in shown
    assert "向平台核实：评价没有变化" in shown


def test_a_shop_that_does_not_read_its_platform_has_no_button(
    client: FlaskClient, agent_case: Case
) -> None:
    url = f"/cases/{agent_case.id}"
    assert 'id="platform-check"' not in client.get(url).get_data(as_text=True)
    response = post_form(client, f"{url}/platform-check", {}, form_url=url)
    assert response.status_code == 302 and agent_case.closed_at is None
    assert "已接入平台接口的店铺" in words(client.get(url).get_data(as_text=True))


def test_the_check_needs_the_forms_token(
    client: FlaskClient, shop: Shop, agent_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _connect(client, shop, monkeypatch)
    _as_listed(fake, agent_case, result="good", content="好了")
    response = client.post(f"/cases/{agent_case.id}/platform-check", data={})
    assert response.status_code == 400 and agent_case.closed_at is None and not fake.requests
