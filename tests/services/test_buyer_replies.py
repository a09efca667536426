"""A buyer's SMS reply lands on the case whose message it answers, and its agent hears of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.aliyun_server import FakeAliyun
from tests.factories import open_case
from tests.services.test_messaging import HOURS, MON_10, SH, clients_for, template
from tracker.models import Case, ContactAttempt, Notification, Shop, User
from tracker.models.enums import AttemptOutcome, CaseOutcome, CaseStatus, Channel, Role
from tracker.services import buyer_replies, cases, messaging
from tracker.services.errors import FieldError


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(contact_policy=None)  # the default: 09:00–21:00, 2 a day, 2 h apart


def texted(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> tuple[User, Case]:
    """An agent's case whose buyer (reviewing days ago) got the shop's SMS at 10:01."""
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    case.owner_id = agent.id
    session.commit()
    messaging.queue(session, case, template(session, shop).id, actor=agent, now=MON_10, hours=HOURS)
    messaging.send_due(
        session, now=MON_10 + timedelta(minutes=1), clients=clients_for(aliyun), tz=SH
    )
    return agent, case


def reply(text: str, at_minutes: int, number: str = "13812345678") -> dict[str, str]:
    at = (MON_10 + timedelta(minutes=at_minutes)).astimezone(SH)
    return {
        "phone_number": number,
        "content": text,
        "send_time": f"{at:%Y-%m-%d %H:%M:%S}",
        "sign_name": "好店",
        "sequence_id": str(at_minutes),
    }


def test_a_reply_to_a_cases_message_is_written_on_the_case_and_told_to_its_agent(
    session: Session,
    shop: Shop,
    make_user: Callable[..., User],
    aliyun: FakeAliyun,
) -> None:
    agent, case = texted(session, shop, make_user, aliyun)
    now = MON_10 + timedelta(hours=1)
    pushed = [
        reply("收到的橙子还是有好几个坏的", 30),
        reply("在吗", 35, number="13900000001"),  # a number the shop never texted
    ]
    taken = buyer_replies.take_in(session, shop.id, pushed, now=now, hours=HOURS)
    assert (taken.on_cases, taken.unsubscribed) == (1, 0)
    again = buyer_replies.take_in(session, shop.id, pushed, now=now, hours=HOURS)
    assert again.on_cases == 0  # pushed twice, written once
    answer = session.scalars(
        sa.select(ContactAttempt).where(ContactAttempt.outcome == AttemptOutcome.BUYER_REPLIED)
    ).one()
    assert answer.case_id == case.id and answer.notes == "买家回复短信：收到的橙子还是有好几个坏的"
    assert answer.attempted_at == MON_10 + timedelta(minutes=30)
    session.refresh(case)
    # the buyer is waiting for an answer: due within the working hour; a conversation
    assert case.next_follow_up_at == MON_10 + timedelta(minutes=90)
    assert case.first_conversation_at == MON_10 + timedelta(minutes=30)
    assert case.status is CaseStatus.CONTACTING
    [notice] = session.scalars(sa.select(Notification)).all()
    assert notice.user_id == agent.id and notice.case_id == case.id
    assert "回复了短信" in notice.title and "坏的" in notice.body
    # the agent on leave (不在岗): the shop's supervisors hear of the next reply instead
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    agent.away_until = now + timedelta(days=3)
    session.commit()
    later = MON_10 + timedelta(hours=3)
    assert buyer_replies.take_in(session, shop.id, [reply("怎么还没人理", 170)], now=later, hours=HOURS).on_cases == 1  # fmt: skip
    told = session.scalars(sa.select(Notification).where(Notification.created_at == later)).all()
    assert [(n.user_id, n.case_id) for n in told] == [(boss.id, case.id)]


def test_an_opt_out_still_stops_campaigns_and_a_late_reply_answers_nothing(
    session: Session,
    shop: Shop,
    make_user: Callable[..., User],
    aliyun: FakeAliyun,
) -> None:
    _, case = texted(session, shop, make_user, aliyun)
    week_on = 8 * 24 * 60
    late = buyer_replies.take_in(
        session, shop.id, [reply("好的", week_on)], now=MON_10 + timedelta(days=9), hours=HOURS
    )
    assert late.on_cases == 0
    stop = buyer_replies.take_in(
        session, shop.id, [reply("TD", 10)], now=MON_10 + timedelta(hours=1), hours=HOURS
    )
    assert (stop.on_cases, stop.unsubscribed) == (1, 1)
    session.refresh(case)
    assert case.buyer.marketing_opt_out_at is not None


def test_the_agent_may_answer_a_reply_at_once_but_not_press_on(
    session: Session,
    shop: Shop,
    make_user: Callable[..., User],
    aliyun: FakeAliyun,
) -> None:
    """Our SMS at 10:01 would hold any call until 12:01; the buyer wrote at 10:30, so a
    call to answer them is no pestering. One answer: the next try waits again."""
    agent, case = texted(session, shop, make_user, aliyun)
    buyer_replies.take_in(
        session, shop.id, [reply("坏了好几个", 30)], now=MON_10 + timedelta(minutes=31), hours=HOURS
    )

    def call(minutes: int) -> None:
        at = MON_10 + timedelta(minutes=minutes)
        cases.log_attempt(
            session,
            case,
            cases.AttemptDraft(
                channel=Channel.PHONE, attempted_at=at, outcome=AttemptOutcome.CONSIDERING
            ),
            actor=agent,
            now=at,
            expected_version=None,
            hours=HOURS,
        )

    call(40)
    with pytest.raises(FieldError, match="不足 2 小时"):
        call(50)


def test_a_reply_after_the_case_closed_is_kept_and_told_but_sets_no_follow_up(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent, case = texted(session, shop, make_user, aliyun)
    cases.change_status(
        session,
        case,
        CaseStatus.UNRECOVERED,
        CaseOutcome.UNREACHABLE,
        actor=agent,
        now=MON_10 + timedelta(minutes=5),
        expected_version=None,
    )
    now = MON_10 + timedelta(hours=1)
    taken = buyer_replies.take_in(session, shop.id, [reply("还是坏的", 30)], now=now, hours=HOURS)
    session.refresh(case)
    assert taken.on_cases == 1 and case.status is CaseStatus.UNRECOVERED
    assert case.next_follow_up_at is None
    assert session.scalars(sa.select(Notification.case_id)).all() == [case.id]
