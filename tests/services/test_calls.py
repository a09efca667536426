"""Click-to-call through an AXB privacy binding: the attempt is recorded under the contact
policy, the call record fills it in, the binding is released after the window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tests.aliyun_server import FakeAliyun
from tests.conftest import login
from tests.factories import open_case
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, ContactAttempt, ContactHandle, Shop, User
from tracker.models.enums import AttemptOutcome, Channel, HandleKind, Role
from tracker.providers.aliyun import AliyunPrivacyNumbers
from tracker.services import accounts, calls, contact_handles
from tracker.services.errors import FieldError
from tracker.sources.contract import SourceOptions

SH = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(tz=SH)
MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
CREDS = {"access_key_id": "LTAIlocal", "access_key_secret": "aliyun-secret", "pool_key": "FC100"}


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(contact_policy=None)


def axb(fake: FakeAliyun) -> AliyunPrivacyNumbers:
    return AliyunPrivacyNumbers(
        CREDS, SourceOptions(clock=lambda: datetime.now(UTC), url=fake.url, timeout=1.0, retries=0)
    )


def agent_with_phone(session: Session, shop: Shop, make_user: Callable[..., User]) -> User:
    agent = make_user(Role.AGENT, shops=[shop])
    accounts.set_agent_phone(session, agent, "139 0000 0000", actor=agent, now=MON_10)
    return agent


def claimed(session: Session, shop: Shop, agent: User, **kw: object) -> Case:
    case = open_case(session, shop, at=MON_10 - timedelta(hours=2), **kw)  # type: ignore[arg-type]
    case.owner_id = agent.id
    session.commit()
    return case


def test_a_call_binds_agent_and_buyer_and_the_record_fills_the_attempt(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent = agent_with_phone(session, shop, make_user)
    assert agent.phone_hint == "139****0000" and "13900000000" not in (agent.phone_sealed or "")
    case = claimed(session, shop, agent)
    handle = calls.place_call(
        session, case, actor=agent, now=MON_10, hours=HOURS, calls=axb(aliyun)
    )
    [bound] = aliyun.bindings.values()
    assert (bound["PhoneNoA"], bound["PhoneNoB"]) == ("13900000000", "13812345678")
    assert aliyun.problems == []
    assert handle.kind is HandleKind.BINDING and handle.hint == bound["SecretNo"]
    attempt = session.scalars(sa.select(ContactAttempt)).one()
    assert attempt.outcome is AttemptOutcome.CALL_PLACED and bound["OutId"] == f"a{attempt.id}"
    # not answered yet: the next try is on the agent's list, as after a missed call
    assert case.next_follow_up_at is not None
    assert case.next_follow_up_at >= MON_10 + timedelta(hours=2)
    record = {
        "sub_id": handle.provider_ref,
        "out_id": f"a{attempt.id}",
        "call_time": "2026-11-23 10:01:00",
        "start_time": "2026-11-23 10:01:08",
        "release_time": "2026-11-23 10:04:38",
    }
    assert calls.record_reports(session, shop.id, [record], now=MON_10, hours=HOURS) == 1
    assert calls.record_reports(session, shop.id, [record], now=MON_10, hours=HOURS) == 0  # seen
    session.refresh(attempt)
    session.refresh(case)
    assert attempt.outcome is AttemptOutcome.CALL_CONNECTED and attempt.duration_seconds == 210
    assert case.first_conversation_at == datetime(2026, 11, 23, 10, 1, 8, tzinfo=SH)
    assert case.next_follow_up_at is None  # answered: the next step is the agent's, as typed
    assert contact_handles.erase_lapsed(session, now=MON_10 + timedelta(hours=1)) == 0  # not X
    released = calls.release_ended(
        session, now=MON_10 + timedelta(minutes=1), calls_for=lambda _: axb(aliyun)
    )
    assert released == 1 and aliyun.unbound == [handle.provider_ref]


def test_what_the_buyer_said_on_the_call_is_written_on_the_call(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    """Logged by hand right after a privacy call, the buyer's answer is that call's result:
    not a second contact the policy would refuse (距上次联系不足 2 小时), and the call
    record that comes later adds its length and keeps the agent's follow-up."""
    from tracker.services import cases as case_service

    agent = agent_with_phone(session, shop, make_user)
    sold = MON_10 - timedelta(days=4)  # reviewed, and the cases opened, before the calls
    missed = open_case(session, shop, at=sold)
    talked = open_case(session, shop, at=sold, key="2", nick="乙", phone="13812345679")
    missed.owner_id = talked.owner_id = agent.id
    session.commit()

    def placed(case: Case) -> tuple[ContactAttempt, dict[str, str]]:
        handle = calls.place_call(
            session, case, actor=agent, now=MON_10, hours=HOURS, calls=axb(aliyun)
        )
        attempt = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.case_id == case.id)
        ).one()
        return attempt, {"sub_id": handle.provider_ref or "", "out_id": f"a{attempt.id}"}

    _, not_answered = placed(missed)
    kept = missed.next_follow_up_at
    call, answered = placed(talked)
    call_back = MON_10 + timedelta(days=1)
    logged = case_service.log_attempt(
        session,
        talked,
        case_service.AttemptDraft(
            channel=Channel.PHONE,
            attempted_at=MON_10 + timedelta(minutes=12),
            outcome=AttemptOutcome.CONSIDERING,
            notes="买家说明天再看看",
            next_attempt_at=call_back,
        ),
        actor=agent,
        now=MON_10 + timedelta(minutes=12),
        expected_version=None,
        hours=HOURS,
    )
    assert logged.id == call.id and talked.attempt_count == 1
    assert logged.outcome is AttemptOutcome.CONSIDERING and logged.attempted_at == MON_10
    assert logged.notes.endswith("买家说明天再看看") and logged.notes.startswith("隐私号外呼")
    assert talked.first_conversation_at == MON_10
    # a second result an hour and more later is a new contact, under the policy again
    with pytest.raises(FieldError, match="不足 2 小时"):
        case_service.log_attempt(
            session,
            talked,
            case_service.AttemptDraft(
                channel=Channel.PHONE,
                attempted_at=MON_10 + timedelta(minutes=75),
                outcome=AttemptOutcome.AGREED,
            ),
            actor=agent,
            now=MON_10 + timedelta(minutes=75),
            expected_version=None,
            hours=HOURS,
        )
    records = [
        not_answered | {"call_time": "2026-11-23 10:01:00"},
        answered | {"start_time": "2026-11-23 10:01:08", "release_time": "2026-11-23 10:04:38"},
    ]
    assert calls.record_reports(session, shop.id, records, now=MON_10, hours=HOURS) == 2
    assert calls.record_reports(session, shop.id, records, now=MON_10, hours=HOURS) == 0  # seen
    session.refresh(missed)
    session.refresh(talked)
    session.refresh(call)
    assert kept is not None and missed.next_follow_up_at == kept  # still to try again
    assert call.outcome is AttemptOutcome.CONSIDERING and call.duration_seconds == 210
    assert talked.next_follow_up_at == call_back  # what the agent typed
    assert talked.first_conversation_at == datetime(2026, 11, 23, 10, 1, 8, tzinfo=SH)


def test_a_call_the_policy_refuses_binds_nothing(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent = agent_with_phone(session, shop, make_user)
    case = claimed(session, shop, agent)
    with pytest.raises(FieldError, match="休息时间"):
        calls.place_call(
            session, case, actor=agent, now=MON_10.replace(hour=22), hours=HOURS, calls=axb(aliyun)
        )
    assert aliyun.bindings == {} and session.scalars(sa.select(ContactAttempt)).all() == []
    virtual = claimed(session, shop, agent, key="2", nick="乙", phone="18400913965-7576")
    with pytest.raises(FieldError, match="虚拟号"):
        calls.place_call(session, virtual, actor=agent, now=MON_10, hours=HOURS, calls=axb(aliyun))
    nobody = make_user(Role.AGENT, shops=[shop])
    case.owner_id = nobody.id
    session.commit()
    with pytest.raises(FieldError, match="外呼手机号"):
        calls.place_call(session, case, actor=nobody, now=MON_10, hours=HOURS, calls=axb(aliyun))


def test_the_call_record_endpoint_needs_the_shops_token(
    app: Flask, session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent = agent_with_phone(session, shop, make_user)
    case = claimed(session, shop, agent)
    calls.place_call(session, case, actor=agent, now=MON_10, hours=HOURS, calls=axb(aliyun))
    attempt = session.scalars(sa.select(ContactAttempt)).one()
    client = app.test_client()
    record = [{"out_id": f"a{attempt.id}", "call_time": "2026-11-23 10:01:00", "start_time": ""}]
    assert client.post(f"/api/v1/call-records/{shop.id}/forged", json=record).status_code == 404
    token = calls.receipt_token(app.config["SECRET_KEY"], shop.id)
    answer = client.post(f"/api/v1/call-records/{shop.id}/{token}", json=record)
    assert answer.status_code == 200 and answer.get_json()["updated"] == 1
    session.refresh(attempt)
    assert attempt.outcome is AttemptOutcome.NO_ANSWER
    assert client.post(f"/api/v1/call-records/{shop.id}/{token}", data="x").status_code == 400
    handle = session.scalars(
        sa.select(ContactHandle).where(ContactHandle.kind == HandleKind.BINDING)
    ).one()
    assert handle.case_id == case.id


def test_the_case_page_offers_the_call_and_the_message_to_its_worker(
    app: Flask, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.runtime import sealer
    from tracker.services import messaging

    agent = agent_with_phone(session, shop, make_user)
    case = claimed(session, shop, agent)
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        messaging.save_account(
            session, shop, messaging.AXB, CREDS, sealer=sealer(app), actor=admin, now=MON_10
        )
    client = app.test_client()
    login(client, agent)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="privacy-call"' in html and "138****5678" in html and "13812345678" not in html
