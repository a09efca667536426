"""Staff away: who may mark whom, what it releases, and what work stops going their way
(intake's one-buyer-one-agent, assignment, the deadline alerts, the morning digest)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tests.factories import open_case
from tracker import jobs
from tracker.clock import utcnow
from tracker.models import AuditEvent, Case, Notification, Shop, User
from tracker.models.accounts import at_work
from tracker.models.enums import AlertEvent, CaseStatus, Role
from tracker.services import alerts, availability, cases
from tracker.services.errors import FieldError

SH = ZoneInfo("Asia/Shanghai")
TODAY = NOW.astimezone(SH).date()  # Friday 2026-11-20, 10:00 in Shanghai


@pytest.fixture
def team(session: Session, make_shop, make_user) -> tuple[Shop, User, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop()
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小王")
    other = make_user(Role.AGENT, shops=[shop], display_name="客服小李")
    return shop, boss, agent, other


def _owned(session: Session, shop: Shop, owner: User, key: str, nick: str = "买家甲") -> Case:
    case = open_case(session, shop, key=key, nick=nick, at=NOW - timedelta(days=3))
    case.owner_id = owner.id
    session.commit()
    return case


def test_away_through_a_day_ends_at_the_next_shop_midnight_and_can_release_the_cases(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, _ = team
    first = _owned(session, shop, agent, "1")
    second = _owned(session, shop, agent, "2", nick="买家乙")
    second.status, second.closed_at = CaseStatus.RECOVERED, NOW  # a closed case stays theirs
    session.commit()

    released = availability.set_away(
        session, agent, date(2026, 11, 22), release=True, actor=boss, now=NOW, tz=SH
    )
    assert released == availability.Released(1, 0)
    assert agent.away_until == datetime(2026, 11, 23, tzinfo=SH)
    assert availability.leave(agent, NOW, SH) == availability.Leave(
        first_day=TODAY, last_day=date(2026, 11, 22), started=True, hands_over=False
    )
    assert agent.is_away(NOW) and agent.is_away(datetime(2026, 11, 22, 23, 59, tzinfo=SH))
    assert not agent.is_away(datetime(2026, 11, 23, 0, 0, tzinfo=SH))  # back on Monday
    session.refresh(first)
    session.refresh(second)
    assert first.owner_id is None and second.owner_id == agent.id
    handed = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == first.id, AuditEvent.field == "owner")
    ).one()
    assert (handed.actor_id, handed.old_value, handed.new_value) == (
        boss.id,
        "客服小王",
        "未分配（客服小王不在岗至 11-22）",
    )
    marked = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.field == "away")
    ).one()
    assert marked.actor_id == boss.id and marked.new_value.startswith(f"{NOW.isoformat()}/")
    assert marked.new_value.endswith("/2026-11-23T00:00:00+08:00")

    availability.set_back(session, agent, actor=agent, now=NOW + timedelta(hours=2))
    assert agent.away_until is None and not agent.is_away(NOW)


def test_without_release_the_cases_stay_and_today_is_the_shortest_leave(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, _, agent, _ = team
    case = _owned(session, shop, agent, "1")
    assert availability.set_away(
        session, agent, TODAY, release=False, actor=agent, now=NOW, tz=SH
    ) == availability.Released(0, 0)
    session.refresh(case)
    assert case.owner_id == agent.id and agent.is_away(NOW)
    assert not agent.is_away(datetime(2026, 11, 21, tzinfo=SH))


@pytest.mark.parametrize(
    ("last_day", "message"),
    [
        (TODAY - timedelta(days=1), "已经过去"),
        (TODAY + timedelta(days=92), "最长可设 92 天"),
    ],
)
def test_a_day_in_the_past_or_too_far_ahead_is_refused_on_its_field(
    session: Session, team, last_day: date, message: str
) -> None:  # type: ignore[no-untyped-def]
    _, boss, agent, _ = team
    with pytest.raises(FieldError) as refused:
        availability.set_away(session, agent, last_day, release=True, actor=boss, now=NOW, tz=SH)
    assert refused.value.field == "last_day" and message in refused.value.message
    session.refresh(agent)
    assert agent.away_until is None  # nothing half-written
    assert availability.set_away(
        session, agent, TODAY + timedelta(days=91), release=False, actor=boss, now=NOW, tz=SH
    ) == availability.Released(0, 0)


def test_only_oneself_a_supervisor_of_the_agents_shop_or_an_admin_may_mark_someone(
    session: Session, team, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    _, boss, agent, other = team
    elsewhere = make_user(Role.SUPERVISOR, shops=[make_shop()])
    admin = make_user(Role.ADMIN)
    day = TODAY + timedelta(days=1)
    for actor, target in ((other, agent), (elsewhere, agent), (boss, admin)):
        with pytest.raises(FieldError, match="只能为自己"):
            availability.set_away(session, target, day, release=False, actor=actor, now=NOW, tz=SH)
        with pytest.raises(FieldError, match="只能为自己"):
            availability.set_back(session, target, actor=actor, now=NOW)
    for actor, target in ((agent, agent), (boss, agent), (admin, boss), (boss, boss)):
        availability.set_away(session, target, day, release=False, actor=actor, now=NOW, tz=SH)
        assert target.is_away(NOW)
    agent.is_active = False
    session.commit()
    with pytest.raises(FieldError, match="已停用"):
        availability.set_away(session, agent, day, release=False, actor=boss, now=NOW, tz=SH)


def test_nobody_can_assign_a_case_to_someone_away(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, other = team
    case = open_case(session, shop, at=NOW - timedelta(days=3))
    availability.set_away(session, agent, TODAY, release=False, actor=boss, now=NOW, tz=SH)
    with pytest.raises(FieldError) as refused:
        cases.assign(session, [case], agent, actor=boss, now=NOW)
    assert refused.value.field == "owner_id" and "客服小王 不在岗" in refused.value.message
    assert case.owner_id is None
    assert cases.assign(session, [case], other, actor=boss, now=NOW) == 1
    tomorrow = datetime(2026, 11, 21, 9, 0, tzinfo=SH)  # back: assignable again
    assert cases.assign(session, [case], agent, actor=boss, now=tomorrow) == 1


def test_the_alerts_for_an_away_agents_cases_go_to_the_supervisors(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, _ = team
    case = _owned(session, shop, agent, "1")
    case.first_contact_due_at = NOW + timedelta(minutes=20)
    case.first_attempt_at = None
    session.commit()
    availability.set_away(session, agent, TODAY, release=False, actor=agent, now=NOW, tz=SH)
    settings = alerts.AlertSettings()
    assert alerts.scan(session, now=NOW, settings=settings, tz_name="Asia/Shanghai") == 1
    note = session.scalars(sa.select(Notification)).one()
    assert (note.user_id, note.kind) == (boss.id, AlertEvent.FIRST_CONTACT_DUE_SOON.value)
    assert "负责人：客服小王（不在岗）" in note.body
    availability.set_back(session, agent, actor=agent, now=NOW + timedelta(minutes=1))
    alerts.scan(session, now=NOW + timedelta(minutes=2), settings=settings, tz_name="Asia/Shanghai")
    assert session.scalars(sa.select(Notification.user_id).order_by(Notification.id)).all() == [
        boss.id,
        agent.id,  # back: their own case's notice is theirs again
    ]


def test_the_morning_digest_names_who_is_away_and_what_they_still_hold(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, other = team
    _owned(session, shop, agent, "1")
    _owned(session, shop, agent, "2", nick="买家乙")
    availability.set_away(session, agent, TODAY, release=False, actor=boss, now=NOW, tz=SH)
    availability.set_away(session, other, TODAY, release=False, actor=boss, now=NOW, tz=SH)
    settings = alerts.AlertSettings(base_url="https://t.example")
    assert alerts.morning_digest(session, now=NOW, settings=settings, tz_name="Asia/Shanghai") == 1
    digest = session.scalars(sa.select(Notification).where(Notification.kind == "digest")).one()
    away = digest.body.split("不在岗：")[1].splitlines()[0]
    assert sorted(away.split("、")) == ["客服小李", "客服小王（手上 2 件进行中）"]
    assert "https://t.example/reports/agents" in digest.body


def test_in_a_shop_that_assigns_automatically_a_colleague_at_work_takes_the_cases_over(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, other = team
    first = _owned(session, shop, agent, "1")
    second = _owned(session, shop, agent, "2", nick="买家乙")
    shop.auto_assign = True
    session.commit()
    released = availability.set_away(
        session, agent, date(2026, 11, 22), release=True, actor=boss, now=NOW, tz=SH
    )
    assert released == availability.Released(0, 2)
    for case in (first, second):
        session.refresh(case)
        assert case.owner_id == other.id
        handed = session.scalars(
            sa.select(AuditEvent.new_value).where(
                AuditEvent.case_id == case.id, AuditEvent.actor_id == boss.id
            )
        ).one()
        assert handed == "客服小李（自动分配：客服小王不在岗至 11-22）"
    notes = session.scalars(sa.select(Notification.user_id).where(Notification.kind == "assigned"))
    assert list(notes) == [other.id, other.id]
    # the colleague away too: back to 未分配
    availability.set_away(session, other, TODAY, release=True, actor=boss, now=NOW, tz=SH)
    session.refresh(first)
    assert first.owner_id is None


def test_a_buyers_cases_go_to_one_colleague_the_one_who_works_the_buyer_if_anyone(
    session: Session, team, make_user
) -> None:  # type: ignore[no-untyped-def]
    """One buyer, one agent, when cases are handed over: a buyer's second case follows the
    first to whoever took it (not the next in the rotation), and a case whose buyer a
    colleague already works goes to them, whether the shop assigns automatically or not."""
    shop, boss, agent, other = team
    third = make_user(Role.AGENT, shops=[shop], display_name="客服小赵")
    first = _owned(session, shop, agent, "1", nick="老买家")
    second = _owned(session, shop, agent, "2", nick="老买家二")
    second.buyer_id = first.buyer_id  # the same buyer's second review
    known = _owned(session, shop, agent, "3", nick="熟客")
    theirs = _owned(session, shop, third, "4", nick="熟客二")
    theirs.buyer_id = known.buyer_id  # 客服小赵 already works this buyer
    session.commit()
    released = availability.set_away(
        session, agent, TODAY, release=True, actor=boss, now=NOW, tz=SH
    )
    for case in (first, second, known):
        session.refresh(case)
    assert (first.owner_id, second.owner_id, known.owner_id) == (None, None, third.id)
    assert released == availability.Released(2, 1)
    note = session.scalars(sa.select(Notification).where(Notification.case_id == known.id)).one()
    assert note.user_id == third.id and note.title == f"客服小王不在岗，案件 #{known.id} 转给你跟进"

    shop.auto_assign = True
    for case in (first, second):
        case.owner_id = other.id
    session.commit()
    availability.set_back(session, agent, actor=boss, now=NOW)
    availability.set_away(session, other, TODAY, release=True, actor=boss, now=NOW, tz=SH)
    session.refresh(first)
    session.refresh(second)
    # 客服小王 (back, with fewer open cases than 客服小赵) takes the first; the second follows
    assert first.owner_id == second.owner_id == agent.id
    trail = session.scalars(
        sa.select(AuditEvent.new_value)
        .where(AuditEvent.case_id.in_([first.id, second.id]), AuditEvent.actor_id == boss.id)
        .order_by(AuditEvent.id)
    ).all()
    assert trail[-2:] == [
        "客服小王（自动分配：客服小李不在岗至 11-20）",
        "客服小王（同一买家：客服小李不在岗至 11-20）",
    ]


# -- leave booked ahead ----------------------------------------------------------------------


def test_a_leave_booked_ahead_starts_at_midnight_of_its_first_day_and_not_before(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, _ = team
    case = _owned(session, shop, agent, "1")
    monday, wednesday = date(2026, 11, 23), date(2026, 11, 25)
    assert availability.set_away(
        session, agent, wednesday, first_day=monday, release=True, actor=boss, now=NOW, tz=SH
    ) == availability.Released(0, 0)
    assert agent.away_from == datetime(2026, 11, 23, tzinfo=SH)
    assert agent.away_until == datetime(2026, 11, 26, tzinfo=SH)
    assert availability.leave(agent, NOW, SH) == availability.Leave(monday, wednesday, False, True)
    # until then they work as usual: their cases stay, they can be given more
    session.refresh(case)
    assert case.owner_id == agent.id and not agent.is_away(NOW)
    assert agent.is_booked_away(NOW)
    fresh = open_case(session, shop, key="2", nick="买家乙", at=NOW)
    cases.assign(session, [fresh], agent, actor=boss, now=NOW)
    assert fresh.owner_id == agent.id
    working = sa.select(User.id).where(User.id == agent.id, at_work(NOW))
    assert session.scalars(working).all() == [agent.id]
    # nothing moves before the first day's midnight
    sunday_night = datetime(2026, 11, 22, 23, 59, tzinfo=SH)
    assert availability.begin_booked_leave(session, now=sunday_night, tz=SH) == 0
    assert not agent.is_away(sunday_night) and agent.away_hand_over

    monday_morning = datetime(2026, 11, 23, 0, 5, tzinfo=SH)
    assert agent.is_away(monday_morning)
    assert availability.begin_booked_leave(session, now=monday_morning, tz=SH) == 2
    session.refresh(case)
    session.refresh(fresh)
    assert case.owner_id is None and fresh.owner_id is None
    handed = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.field == "owner")
    ).one()
    # the system did it, at the start of the leave the supervisor booked
    assert handed.actor_id is None and handed.occurred_at == monday_morning
    assert handed.new_value == "未分配（客服小王不在岗至 11-25）"
    assert not agent.away_hand_over
    assert availability.begin_booked_leave(session, now=monday_morning, tz=SH) == 0  # once
    working = sa.select(User.id).where(User.id == agent.id, at_work(monday_morning))
    assert session.scalars(working).all() == []


def test_a_leave_booked_ahead_without_the_hand_over_keeps_the_cases_and_can_be_called_off(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, _ = team
    case = _owned(session, shop, agent, "1")
    availability.set_away(
        session,
        agent,
        date(2026, 11, 24),
        first_day=date(2026, 11, 23),
        release=False,
        actor=agent,
        now=NOW,
        tz=SH,
    )
    monday = datetime(2026, 11, 23, 9, tzinfo=SH)
    assert availability.begin_booked_leave(session, now=monday, tz=SH) == 0
    session.refresh(case)
    assert case.owner_id == agent.id and agent.is_away(monday)

    availability.set_away(  # booked again for December, then called off
        session,
        agent,
        date(2026, 12, 4),
        first_day=date(2026, 12, 1),
        release=True,
        actor=agent,
        now=monday,
        tz=SH,
    )
    assert agent.is_booked_away(monday) and not agent.is_away(monday)
    availability.set_back(session, agent, actor=boss, now=monday)
    assert agent.away_from is None and agent.away_until is None and not agent.away_hand_over
    assert availability.leave(agent, monday, SH) is None
    changes = session.execute(
        sa.select(AuditEvent.old_value, AuditEvent.new_value)
        .where(AuditEvent.entity_type == "user", AuditEvent.field == "away")
        .order_by(AuditEvent.id)
    ).all()
    assert [(old is None, new is None) for old, new in changes] == [
        (True, False),  # booked
        (False, False),  # replaced by December's (the first had started: it ends now)
        (False, True),  # called off
    ]
    assert changes[1].new_value.startswith("2026-12-01T00:00:00+08:00/")


def test_editing_a_leave_under_way_keeps_its_first_day(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    _, boss, agent, _ = team
    availability.set_away(
        session, agent, TODAY + timedelta(days=2), release=False, actor=boss, now=NOW, tz=SH
    )
    started = agent.away_from
    later = NOW + timedelta(days=1)  # Saturday: the form still shows Friday as the first day
    availability.set_away(
        session,
        agent,
        TODAY + timedelta(days=3),
        first_day=TODAY,
        release=False,
        actor=boss,
        now=later,
        tz=SH,
    )
    assert agent.away_from == started and agent.is_away(later)
    assert availability.leave(agent, later, SH).first_day == TODAY  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("first_day", "last_day", "field", "message"),
    [
        (TODAY - timedelta(days=1), TODAY + timedelta(days=1), "first_day", "已经过去"),
        (TODAY + timedelta(days=3), TODAY + timedelta(days=2), "last_day", "早于第一天"),
        (TODAY + timedelta(days=93), TODAY + timedelta(days=94), "first_day", "最多提前 92 天"),
        (TODAY + timedelta(days=10), TODAY + timedelta(days=110), "last_day", "最长可设 92 天"),
    ],
)
def test_a_booking_in_the_past_backwards_or_too_far_is_refused_on_its_field(
    session: Session, team, first_day: date, last_day: date, field: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    _, boss, agent, _ = team
    with pytest.raises(FieldError) as refused:
        availability.set_away(
            session,
            agent,
            last_day,
            first_day=first_day,
            release=True,
            actor=boss,
            now=NOW,
            tz=SH,
        )
    assert (refused.value.field, message in refused.value.message) == (field, True)
    session.refresh(agent)
    assert agent.away_until is None and agent.away_from is None


def test_the_morning_digest_names_who_is_away_today_and_whose_leave_starts_tomorrow(
    session: Session, team, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent, other = team
    later = make_user(Role.AGENT, shops=[shop], display_name="客服小张")
    _owned(session, shop, other, "1")
    availability.set_away(session, agent, TODAY, release=False, actor=agent, now=NOW, tz=SH)
    for who, first in ((other, 1), (later, 2)):
        availability.set_away(
            session, who, TODAY + timedelta(days=first + 2), first_day=TODAY + timedelta(days=first),
            release=False, actor=boss, now=NOW, tz=SH,
        )  # fmt: skip
    assert alerts._away_today(session, shop.id, NOW) == [("客服小王", 0)]
    settings = alerts.AlertSettings(base_url="https://t.example")
    assert alerts.morning_digest(session, now=NOW, settings=settings, tz_name="Asia/Shanghai") == 1
    digest = session.scalars(sa.select(Notification).where(Notification.kind == "digest")).one()
    assert "\n不在岗：客服小王\n" in digest.body
    assert "\n明天起不在岗：客服小李（至 11-23，手上 1 件进行中）\n" in digest.body
    assert "客服小张" not in digest.body  # the day after tomorrow: tomorrow's digest says it


def test_the_scheduler_hands_the_cases_over_when_a_booked_leave_starts(
    app, session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, _, agent, _ = team
    case = _owned(session, shop, agent, "1")
    now = utcnow()
    agent.away_from, agent.away_until = now - timedelta(minutes=3), now + timedelta(days=2)
    agent.away_hand_over = True  # booked last week, with the hand-over ticked
    session.commit()
    case_id, agent_id = case.id, agent.id
    jobs.run_now(app, "leave")  # ends the app context's session
    owner, handing = session.execute(
        sa.select(Case.owner_id, User.away_hand_over)
        .join(User, User.id == agent_id)
        .where(Case.id == case_id)
    ).one()
    assert owner is None and handing is False
