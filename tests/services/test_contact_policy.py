"""The contact policy enforced on the server: refused attempts say why, a supervisor's
override is audited, a buyer's 勿扰 locks further contact, a buyer's own message never waits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import open_case
from tracker.domain.working_hours import WorkingHours
from tracker.models import AuditEvent, Case, ContactAttempt, Shop, User
from tracker.models.enums import AttemptOutcome, Channel, Role
from tracker.services import cases as svc
from tracker.services.errors import FieldError

SH = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(tz=SH)
MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(contact_policy=None)  # the default: 09:00–21:00, 2 a day, 2 h apart


def _try(
    session: Session,
    case: Case,
    who: User,
    at: datetime,
    outcome: AttemptOutcome = AttemptOutcome.NO_ANSWER,
    override: str = "",
) -> None:
    svc.log_attempt(
        session,
        case,
        svc.AttemptDraft(Channel.PHONE, at, outcome, override_reason=override),
        actor=who,
        now=at + timedelta(minutes=1),
        expected_version=None,
        hours=HOURS,
    )


def test_quiet_hours_caps_and_the_gap_refuse_an_attempt_saying_why(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, [shop])
    first = open_case(session, shop, key="1", nick="小鱼", at=MON_10 - timedelta(days=4))
    with pytest.raises(FieldError, match="09:00–21:00") as caught:
        _try(session, first, agent, MON_10.replace(hour=21, minute=30))
    assert "请主管填写原因" in caught.value.message
    _try(session, first, agent, MON_10)
    with pytest.raises(FieldError, match="不足 2 小时"):
        _try(session, first, agent, MON_10 + timedelta(hours=1))
    _try(session, first, agent, MON_10 + timedelta(hours=3))
    # the same buyer's other case shares the day's cap
    buyer_second = open_case(session, shop, key="2", nick="小鱼2", at=MON_10 - timedelta(days=4))
    buyer_second.buyer_id = first.buyer_id
    session.commit()
    with pytest.raises(FieldError, match="今天已联系 2 次"):
        _try(session, buyer_second, agent, MON_10 + timedelta(hours=6))
    # the buyer writing to us is never refused
    _try(session, buyer_second, agent, MON_10.replace(hour=22), AttemptOutcome.BUYER_REPLIED)


def test_a_supervisor_may_go_past_the_policy_with_a_reason_that_is_audited(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, boss = make_user(Role.AGENT, [shop]), make_user(Role.SUPERVISOR, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    late = MON_10.replace(hour=21, minute=30)
    with pytest.raises(FieldError, match="请主管填写原因"):
        _try(session, case, agent, late, override="买家约好晚上打")  # agents cannot
    with pytest.raises(FieldError, match="请填写越过联系规则的原因"):
        _try(session, case, boss, late)
    _try(session, case, boss, late, override="买家约好 21:30 来电")
    audit = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.field == "contact_policy_override")
    )
    assert audit.new_value == "买家约好 21:30 来电" and "09:00–21:00" in audit.old_value


def test_a_buyer_who_asks_to_stop_locks_further_contact(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    _try(session, case, agent, MON_10, AttemptOutcome.DO_NOT_CONTACT)
    assert case.buyer.do_not_contact_at == MON_10
    with pytest.raises(FieldError, match="勿扰"):
        _try(session, case, agent, MON_10 + timedelta(days=2))


def test_no_reason_goes_past_a_buyers_stop_and_their_own_message_is_still_logged(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """A supervisor's reason goes past quiet hours, the caps and the gap, not past 勿扰
    (the sender would drop a message queued so): the way back is lifting the stop."""
    agent, boss = make_user(Role.AGENT, [shop]), make_user(Role.SUPERVISOR, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    _try(session, case, agent, MON_10, AttemptOutcome.DO_NOT_CONTACT)
    later = MON_10 + timedelta(days=1)
    with pytest.raises(FieldError, match="2026-11-23 10:00 要求勿扰") as caught:
        _try(session, case, boss, later, override="买家约好今天回电")
    assert "先在本页写明原因解除勿扰" in caught.value.message
    with pytest.raises(FieldError, match="请主管解除勿扰"):
        _try(session, case, agent, later)
    _try(session, case, agent, later, AttemptOutcome.BUYER_REPLIED)  # they reached us
    _try(session, case, agent, MON_10 - timedelta(hours=1))  # 补记: a call before they asked
    assert case.attempt_count == 3
    assert (
        session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.field == "contact_policy_override"
            )
        )
        == 0
    )


def test_the_next_try_and_the_case_page_follow_the_policy(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.services import case_page

    agent = make_user(Role.AGENT, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    evening = MON_10.replace(hour=19)
    _try(session, case, agent, MON_10)
    _try(session, case, agent, evening)  # the day's second: the cap is reached
    detail = case_page.detail(
        session, case, viewer=agent, now=evening + timedelta(minutes=5), hours=HOURS
    )
    assert any("今天已联系 2 次" in r for r in detail.contact_refusals)
    tip = detail.next_try.at.astimezone(SH)
    assert tip.date() > evening.date() and 9 <= tip.hour < 21  # tomorrow, in the day
    _try(session, case, agent, tip, AttemptOutcome.DO_NOT_CONTACT)
    detail = case_page.detail(session, case, viewer=agent, now=tip, hours=HOURS)
    assert detail.next_try is None and detail.contact_refusals == []  # the stop says it all
    assert detail.stop_note is not None and "请主管解除勿扰" in detail.stop_note
    assert not (detail.can_see_numbers or detail.can_decrypt or detail.can_bind)


def test_the_case_pages_next_try_comes_before_the_buyers_window_ends(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """Tried twice today, the cap reached: the tip reads tomorrow; with the case's window
    ending tomorrow at 10:30 it reads tomorrow's first allowed moment, and why."""
    from tracker.services import case_page

    agent = make_user(Role.AGENT, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    evening = MON_10.replace(hour=19)
    _try(session, case, agent, MON_10)
    _try(session, case, agent, evening)
    now = evening + timedelta(minutes=5)
    plain = case_page.detail(session, case, viewer=agent, now=now, hours=HOURS).next_try
    tomorrow = (evening + timedelta(days=1)).replace(hour=10, minute=30)
    assert plain.at > tomorrow  # the part of the day not tried: past the window
    case.revision_window_ends_at = tomorrow
    session.commit()
    tip = case_page.detail(session, case, viewer=agent, now=now, hours=HOURS).next_try
    assert tip.at.astimezone(SH) == tomorrow.replace(hour=9, minute=0)
    assert tip.reason.startswith(f"赶在挽回期限（{tomorrow:%m-%d} 10:30）前")


def test_only_a_supervisor_lifts_a_buyers_stop_with_a_reason(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.services import buyer_flags

    agent, boss = make_user(Role.AGENT, [shop]), make_user(Role.SUPERVISOR, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    _try(session, case, agent, MON_10, AttemptOutcome.DO_NOT_CONTACT)
    with pytest.raises(FieldError, match="只有主管"):
        buyer_flags.lift_stop(session, case.buyer, "买家来电", actor=agent, now=MON_10)
    with pytest.raises(FieldError, match="请写明解除的原因"):
        buyer_flags.lift_stop(session, case.buyer, " ", actor=boss, now=MON_10)
    buyer_flags.lift_stop(session, case.buyer, "买家主动来电要求回电", actor=boss, now=MON_10)
    assert case.buyer.do_not_contact_at is None
    _try(session, case, agent, MON_10 + timedelta(days=1))  # contact allowed again
    lifted = session.scalar(
        sa.select(AuditEvent.new_value).where(
            AuditEvent.field == "do_not_contact_at", AuditEvent.new_value.like("解除%")
        )
    )
    assert lifted == "解除：买家主动来电要求回电"


def test_a_follow_up_the_policy_will_refuse_is_said_on_the_case_page_when_set(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """A 下次跟进 half an hour after a call, or a third call today, would be refused when it
    came due (the reminder would say call, the page would say not now). It stays allowed, a
    buyer may ask for it, but the page says so from the moment it is set, and when then."""
    from tracker.services import case_page

    agent = make_user(Role.AGENT, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))

    def held(now: datetime):  # type: ignore[no-untyped-def]
        return case_page.detail(session, case, viewer=agent, now=now, hours=HOURS).follow_up_held

    soon = MON_10 + timedelta(minutes=30)
    svc.log_attempt(
        session,
        case,
        svc.AttemptDraft(Channel.PHONE, MON_10, AttemptOutcome.CONSIDERING, next_attempt_at=soon),
        actor=agent,
        now=MON_10 + timedelta(minutes=1),
        expected_version=None,
        hours=HOURS,
    )
    said = held(MON_10 + timedelta(minutes=1))
    assert said is not None and said.refusals == ("距上次联系不足 2 小时",)
    assert said.earliest == MON_10 + timedelta(hours=2)
    assert held(soon + timedelta(minutes=1)) is None  # past: the page's own refusals say it
    case.next_follow_up_at = MON_10 + timedelta(hours=3)
    session.commit()
    assert held(MON_10 + timedelta(minutes=1)) is None  # outside the gap: nothing to say
    # the day's second call leaves the cap reached: this evening is refused, tomorrow 09:00
    _try(session, case, agent, MON_10 + timedelta(hours=3))
    case.next_follow_up_at = MON_10.replace(hour=19)
    session.commit()
    said = held(MON_10 + timedelta(hours=3, minutes=1))
    assert said is not None and said.refusals == ("这位买家今天已联系 2 次（每天最多 2 次）",)
    assert said.earliest == MON_10.replace(hour=9) + timedelta(days=1)
    # a buyer who asked not to be contacted has no "earliest"
    case.buyer.do_not_contact_at = MON_10 + timedelta(hours=4)
    session.commit()
    said = held(MON_10 + timedelta(hours=4, minutes=1))
    assert said is not None and said.earliest is None and "勿扰" in said.refusals[0]


def test_the_boards_read_of_held_follow_ups_agrees_with_the_case_pages(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """Many cases' follow-ups read at once (the board's lines) as one case's are read on its
    page: held within the gap, a passed one as of now, none once the buyer answers us, no
    "earliest" for a buyer who asked not to be contacted, none past the gap."""
    from tracker.services import contact_log, follow_ups

    agent = make_user(Role.AGENT, [shop])
    made = {}
    for key, name in enumerate(("gap", "passed", "answered", "do_not_contact", "later")):
        case = open_case(session, shop, key=str(key), nick=name, at=MON_10 - timedelta(days=4))
        _try(session, case, agent, MON_10)
        made[name] = case
    _try(
        session,
        made["answered"],
        agent,
        MON_10 + timedelta(minutes=10),
        AttemptOutcome.BUYER_REPLIED,
    )
    made["do_not_contact"].buyer.do_not_contact_at = MON_10 + timedelta(minutes=5)
    now = MON_10 + timedelta(minutes=20)
    planned = {"gap": 30, "passed": 15, "answered": 30, "do_not_contact": 30, "later": 180}
    for name, minutes in planned.items():
        made[name].next_follow_up_at = MON_10 + timedelta(minutes=minutes)
    session.commit()

    held = follow_ups.held_back_by_case(
        session, ((c.id, c.next_follow_up_at) for c in made.values()), now=now, tz=SH
    )
    assert set(held) == {made["gap"].id, made["passed"].id, made["do_not_contact"].id}
    assert held[made["gap"].id] == follow_ups.HeldBack(
        ("距上次联系不足 2 小时",), MON_10 + timedelta(hours=2)
    )
    assert held[made["passed"].id] == held[made["gap"].id]  # as of now, 10:20
    assert held[made["do_not_contact"].id].earliest is None
    for name, case in made.items():  # the case page's reading, one case at a time
        one = follow_ups.held_back(
            session,
            case,
            max(case.next_follow_up_at, now),
            policy=contact_log.policy_of(session, shop.id),
            contacted=contact_log.times_for_buyer(session, case.buyer_id),
            tz=SH,
        )
        assert one == held.get(case.id), name
    assert follow_ups.held_back_by_case(session, [], now=now, tz=SH) == {}


def _siblings(session: Session, shop: Shop) -> tuple[Case, Case]:
    """Two open cases of one buyer, neither claimed."""
    first = open_case(session, shop, key="1", nick="小鱼", at=MON_10 - timedelta(days=3))
    second = open_case(session, shop, key="2", nick="小鱼2", at=MON_10 - timedelta(days=2))
    second.buyer_id = first.buyer_id
    session.commit()
    session.refresh(second)
    return first, second


def test_one_contact_about_two_of_a_buyers_cases_is_logged_on_both_and_counted_once(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """一次联系一并处理: before, the same call logged on the second case was refused
    (距上次联系不足 2 小时) and its first-contact clock ran on though the buyer was reached."""
    from tracker.services import contact_log

    agent = make_user(Role.AGENT, [shop])
    first, second = _siblings(session, shop)
    with pytest.raises(FieldError, match="不足 2 小时"):  # the way it was: a second contact
        _try(session, first, agent, MON_10)
        _try(session, second, agent, MON_10 + timedelta(minutes=1))
    session.refresh(second)
    assert second.first_attempt_at is None
    svc.log_attempt(
        session,
        first,
        svc.AttemptDraft(Channel.PHONE, MON_10 + timedelta(hours=3), AttemptOutcome.CONSIDERING),
        actor=agent,
        now=MON_10 + timedelta(hours=3, minutes=1),
        expected_version=None,
        hours=HOURS,
        together=[second.id],
    )
    session.refresh(second)
    at = MON_10 + timedelta(hours=3)
    assert (second.first_attempt_at, second.first_conversation_at) == (at, at)
    assert second.owner_id == agent.id and second.attempt_count == 1
    assert second.status is first.status  # 考虑中: both wait for the buyer
    times = contact_log.times_for_buyer(session, first.buyer_id)
    assert sorted(times) == [MON_10, at]  # two contacts today, not three
    with pytest.raises(FieldError, match="今天已联系 2 次"):  # the cap sees two
        _try(session, first, agent, at + timedelta(hours=3))


def test_a_buyers_yes_to_one_review_is_not_made_their_promise_on_the_other(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """同意修改 on the call about one review went along to the buyer's other case as the
    same result: a promise they never made there, closed 承诺未兑现 when it did not come.
    Such a result asks what the buyer said of the other review; any other goes along."""
    agent = make_user(Role.AGENT, [shop])
    first, second = _siblings(session, shop)

    def log(outcome: AttemptOutcome, other: AttemptOutcome | None, at: datetime) -> None:
        svc.log_attempt(
            session,
            first,
            svc.AttemptDraft(Channel.PHONE, at, outcome),
            actor=agent,
            now=at,
            expected_version=None,
            hours=HOURS,
            together=[second.id],
            together_outcome=other,
        )

    for said in (AttemptOutcome.AGREED, AttemptOutcome.REFUSED):
        with pytest.raises(FieldError, match="是买家对这条评价的答复") as refused:
            log(said, None, MON_10)
        assert refused.value.field == "together_outcome"
        session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0
    log(AttemptOutcome.AGREED, AttemptOutcome.CONSIDERING, MON_10)
    session.refresh(first)
    session.refresh(second)
    assert first.promised_at == MON_10 and second.promised_at is None
    outcomes = session.scalars(
        sa.select(ContactAttempt.outcome).where(ContactAttempt.case_id == second.id)
    ).all()
    assert outcomes == [AttemptOutcome.CONSIDERING]
    assert second.first_conversation_at == MON_10  # reached all the same
    later = MON_10 + timedelta(hours=3)
    log(AttemptOutcome.NO_ANSWER, None, later)  # about the buyer, not a review: goes along
    assert session.scalars(
        sa.select(ContactAttempt.outcome)
        .where(ContactAttempt.case_id == second.id)
        .order_by(ContactAttempt.attempted_at)
    ).all() == [AttemptOutcome.CONSIDERING, AttemptOutcome.NO_ANSWER]


def test_a_contact_goes_along_only_to_the_same_buyers_open_cases_one_may_work(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, colleague = make_user(Role.AGENT, [shop]), make_user(Role.AGENT, [shop])
    first, second = _siblings(session, shop)
    stranger = open_case(session, shop, key="3", nick="路人", at=MON_10 - timedelta(days=1))
    session.commit()
    draft = svc.AttemptDraft(Channel.PHONE, MON_10, AttemptOutcome.NO_ANSWER)

    def log(together: list[int]) -> None:
        svc.log_attempt(
            session,
            first,
            draft,
            actor=agent,
            now=MON_10 + timedelta(minutes=1),
            expected_version=None,
            hours=HOURS,
            together=together,
        )

    for ids, why in (
        ([stranger.id], "不是这位买家"),
        ([first.id], "不是这位买家"),
        ([999], "不存在"),
    ):
        with pytest.raises(FieldError, match=why):
            log(ids)
    second.owner_id = colleague.id
    session.commit()
    with pytest.raises(svc.CaseConflict):  # a colleague's case stays theirs
        log([second.id])
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0


def test_a_privacy_calls_result_goes_along_at_the_calls_own_time(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """The result of a call placed from the case is written on that call (its own time):
    the buyer's other case gets the contact at that time too, one contact, not two."""
    from tests.factories import logged_attempt
    from tracker.services import contact_log

    agent = make_user(Role.AGENT, [shop])
    first, second = _siblings(session, shop)
    first.owner_id = agent.id
    placed = logged_attempt(session, first.id, agent.id, MON_10, outcome=AttemptOutcome.CALL_PLACED)
    first.attempt_count = 1
    session.commit()
    logged = svc.log_attempt(
        session,
        first,
        svc.AttemptDraft(Channel.PHONE, MON_10 + timedelta(minutes=20), AttemptOutcome.CONSIDERING),
        actor=agent,
        now=MON_10 + timedelta(minutes=20),
        expected_version=None,
        hours=HOURS,
        together=[second.id],
    )
    session.refresh(second)
    assert logged.id == placed.id and second.first_attempt_at == MON_10
    assert contact_log.times_for_buyer(session, first.buyer_id) == [MON_10]


def test_after_a_wrong_number_the_case_page_says_another_way_until_a_new_number_comes(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.domain.phone_numbers import parse_number
    from tracker.services import case_page, contact_handles

    agent = make_user(Role.AGENT, [shop])
    case = open_case(session, shop, at=MON_10 - timedelta(days=4))
    _try(session, case, agent, MON_10, AttemptOutcome.WRONG_NUMBER)
    now = MON_10 + timedelta(minutes=5)

    def tip_after(number: str | None):  # type: ignore[no-untyped-def]
        """The case page's tip once ``number`` came in from the platform."""
        if number is not None:
            contact_handles.remember(
                session,
                shop_id=shop.id,
                buyer_id=case.buyer_id,
                number=parse_number(number),
                source="top",
                now=now,
            )
            session.commit()
        return case_page.detail(session, case, viewer=agent, now=now, hours=HOURS).next_try

    tip = tip_after(None)
    assert tip.channel is not Channel.PHONE and tip.reason.startswith("上次号码错误：改用")
    assert tip_after("13812345678").channel is not Channel.PHONE  # the same one: not new
    tip = tip_after("13900001111")
    assert tip.channel is Channel.PHONE and tip.reason == "上次号码错误，已有新号码：用新号码再打"
