"""Fixtures for the page tests: a small world of one shop, its case and every kind of user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import approved_template, open_case
from tracker.clock import utcnow
from tracker.models import (
    Campaign,
    CareRule,
    Case,
    ContactHandle,
    ImportJob,
    QuarantinedRecord,
    Script,
    ShiftRequest,
    Shop,
    User,
)
from tracker.models.enums import Reason, Role, ShiftRequestState


@dataclass
class World:
    shop: Shop
    case: Case
    users: dict[str, User | None]
    make_script: Callable[[], int]
    aside_id: int
    job_id: int
    template_id: int
    handle_id: int
    campaign_id: int
    rule_id: int
    request_id: int


@pytest.fixture
def world(session: Session, make_shop, make_user) -> World:  # type: ignore[no-untyped-def]
    shop, other = make_shop(), make_shop()
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1))

    def make_script() -> int:
        script = Script(
            shop_id=shop.id, title="开场", body="您好", reason=Reason.QUALITY, updated_at=utcnow()
        )
        session.add(script)
        session.commit()
        return script.id

    users = {
        "anonymous": None,
        "agent": make_user(Role.AGENT, shops=[shop]),
        "supervisor": make_user(Role.SUPERVISOR, shops=[shop]),
        "admin": make_user(Role.ADMIN),
        "other_agent": make_user(Role.AGENT, shops=[other]),
        "other_supervisor": make_user(Role.SUPERVISOR, shops=[other]),
    }
    aside = QuarantinedRecord(
        shop_id=shop.id,
        source="push",
        platform_key="x:buyer",
        payload='{"platform_key": "x:buyer", "buyer_nick": "甲", "rating": "bad", "text": "", '
        '"posted_at": "2099-01-01T00:00:00+00:00"}',
        error="posted_at 在未来",
        quarantined_at=utcnow(),
        last_tried_at=utcnow(),
    )
    session.add(aside)
    job = ImportJob(
        shop_id=shop.id,
        kind="reviews",
        filename="评价.csv",
        path="/nonexistent",
        mapping={},
        skip_bad_rows=False,
        status="done",
        problems=[],
        created_at=utcnow(),
    )
    session.add(job)
    template = approved_template(
        session, shop, "${name}您好，您的${product}我们已安排补发。", at=utcnow(), name="物流关怀"
    )
    session.commit()
    handle = session.scalar(sa.select(ContactHandle).where(ContactHandle.buyer_id == case.buyer_id))
    campaign = Campaign(
        shop_id=shop.id,
        name="唤醒",
        audience={},
        exclusions={},
        template_id=template.id,
        excluded={},
        created_by_id=users["admin"].id,  # type: ignore[union-attr]
        created_at=utcnow(),
    )
    session.add(campaign)
    rule = CareRule(
        shop_id=shop.id,
        kind="birthday",
        name="生日",
        template_id=template.id,
        created_by_id=users["admin"].id,  # type: ignore[union-attr]
        created_at=utcnow(),
    )
    session.add(rule)
    request = ShiftRequest(
        shop_id=shop.id,
        user=users["agent"],
        day=utcnow().date() + timedelta(days=3),
        periods=[],
        note="",
        state=ShiftRequestState.PENDING,
        created_at=utcnow(),
        answer="",
    )
    session.add(request)
    session.commit()
    return World(
        shop,
        case,
        users,
        make_script,
        aside.id,
        job.id,
        template.id,
        handle.id,
        campaign.id,
        rule.id,
        request.id,
    )


def url_for_rule(world: World, rule) -> str:  # type: ignore[no-untyped-def]
    values = {
        "case_id": world.case.id,
        "buyer_id": world.case.buyer_id,
        "review_id": world.case.review_id,
        "shop_id": world.shop.id,
        "shop_code": world.shop.code,
        "record_id": world.aside_id,
        "job_id": world.job_id,
        "user_id": world.users["agent"].id,  # type: ignore[union-attr]
        "name": "cases",
        "fmt": "csv",
        "filename": "app.css",
        "template_id": world.template_id,
        "handle_id": world.handle_id,
        "campaign_id": world.campaign_id,
        "rule_id": world.rule_id,
        "request_id": world.request_id,
        "provider": "aliyun-sms",
        "notification_id": 1,  # whoever's it is: another user's opens nothing
        "token": "not-the-token",
    }
    if "script_id" in rule.arguments - set(rule.defaults or {}):
        values["script_id"] = world.make_script()  # a fresh one: delete really deletes
    path = rule.rule
    for arg in rule.arguments - set(rule.defaults or {}):
        path = path.replace(f"<int:{arg}>", str(values[arg])).replace(
            f"<path:{arg}>", str(values[arg])
        )
        path = path.replace(f"<{arg}>", str(values[arg]))
    return path
