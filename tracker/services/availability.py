"""Staff away (leave, sick, training) and back: who may be given work.

A case's first-contact deadline is a few working hours; a case sitting with someone on
leave misses it, and the buyer's promised callback (下次跟进) with it. While someone is away
intake gives them no buyer's new case, nobody can assign them one, the alerts for their
cases go to the supervisors, and marking them away can hand their open cases over: to the
colleague who works the buyer's other case, or, in a shop that assigns automatically, to a
colleague at work, else back to 未分配 for the team to claim. Leave can be booked ahead:
until its first day the person works as usual, and the hand-over happens as it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.clock import last_day_before
from tracker.domain import case_flow
from tracker.models import Case, User
from tracker.services import alerts, auto_assign
from tracker.services.audit import record_user_change
from tracker.services.cases import hand_over
from tracker.services.errors import FieldError
from tracker.services.staff_rights import FURTHEST_AHEAD, check_may_set
from tracker.services.transaction import transaction


@dataclass(frozen=True)
class Released:
    """What marking someone away did with their open cases."""

    to_unassigned: int
    reassigned: int  # to a colleague: the buyer's other agent, or by the shop's 自动分配


@dataclass(frozen=True)
class Leave:
    """A leave as the screen says it, in shop-time days, both inclusive."""

    first_day: date | None  # None: set before bookings existed (already started)
    last_day: date
    started: bool
    hands_over: bool  # booked ahead: the open cases go to colleagues when it starts

    def covers(self, day: date) -> bool:
        """``day`` (shop time) is one of the leave's days."""
        return (self.first_day or day) <= day <= self.last_day


# Longer than a season away is not leave but a leaver: deactivate the account instead.
LONGEST_AWAY = timedelta(days=92)


def back_at(last_day: date, tz: ZoneInfo) -> datetime:
    """The moment someone away through ``last_day`` (shop time) is back: the next midnight."""
    return datetime.combine(last_day + timedelta(days=1), time(), tzinfo=tz)


def leave(user: User, now: datetime, tz: ZoneInfo) -> Leave | None:
    """The leave ``user`` is on at ``now`` or has booked ahead (None: neither)."""
    if user.away_until is None or user.away_until <= now:
        return None
    started = user.is_away(now)
    return Leave(
        first_day=user.away_from.astimezone(tz).date() if user.away_from else None,
        last_day=last_day_before(user.away_until, tz),
        started=started,
        hands_over=user.away_hand_over and not started,
    )


def period_text(start: datetime | None, until: datetime | None) -> str | None:
    """A leave as the audit trail stores it: ISO start/back moments (``start`` may be
    unknown on leave set before bookings existed)."""
    if until is None:
        return None
    return f"{start.isoformat() if start else ''}/{until.isoformat()}"


def open_cases(session: Session, user: User) -> tuple[int, int]:
    """How many open cases ``user`` holds, and in how many shops: what marking them away
    may release (all of them: someone on leave works no shop)."""
    cases, shops = session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(Case.shop_id))).where(
            Case.owner_id == user.id, Case.status.in_(case_flow.OPEN)
        )
    ).one()
    return cases or 0, shops or 0


def set_away(
    session: Session,
    user: User,
    last_day: date,
    *,
    first_day: date | None = None,
    release: bool,
    actor: User,
    now: datetime,
    tz: ZoneInfo,
) -> Released:
    """Mark ``user`` away from ``first_day`` (default today) through ``last_day`` (shop time,
    both inclusive). With ``release``, their open cases go to the colleague who works the
    buyer's other case, or to one at work where the shop assigns automatically, else back
    to 未分配 (audited per case, soonest deadline first): at once when the leave starts
    today, else when it starts (:func:`begin_booked_leave`)."""
    with transaction(session):
        check_may_set(user, actor)
        if not user.is_active:
            raise FieldError("last_day", f"{user.display_name} 的账号已停用。")
        today = now.astimezone(tz).date()
        first_day = first_day or today
        on_leave = user.is_away(now)
        if first_day < today and not on_leave:
            raise FieldError("first_day", f"第一天 {first_day:%m-%d} 已经过去，请选今天或以后。")
        if last_day < today:
            raise FieldError("last_day", f"最后一天 {last_day:%m-%d} 已经过去，请选今天或以后。")
        if last_day < first_day:
            raise FieldError(
                "last_day", f"最后一天 {last_day:%m-%d} 早于第一天 {first_day:%m-%d}。"
            )
        if first_day <= today:  # starts now, or goes on: a leave under way keeps its start
            start = user.away_from if on_leave and user.away_from else now
        else:
            start = datetime.combine(first_day, time(), tzinfo=tz)
            if start - now > FURTHEST_AHEAD:
                raise FieldError(
                    "first_day", f"最多提前 {FURTHEST_AHEAD.days} 天安排，请到时再设。"
                )
        until = back_at(last_day, tz)
        if until - max(start, now) > LONGEST_AWAY:
            raise FieldError(
                "last_day",
                f"最长可设 {LONGEST_AWAY.days} 天；更久不在的同事请由管理员停用账号。",
            )
        current = user.away_until is not None and user.away_until > now
        record_user_change(
            session,
            user.id,
            now=now,
            actor_id=actor.id,
            field="away",
            old=period_text(user.away_from, user.away_until) if current else None,
            new=period_text(start, until),
        )
        user.away_from, user.away_until = start, until
        if start > now:  # booked ahead: they work their cases until it starts
            user.away_hand_over = release
            return Released(0, 0)
        user.away_hand_over = False
        if not release:
            return Released(0, 0)
        return _hand_over_cases(session, user, last_day, actor_id=actor.id, now=now, tz=tz)


def _hand_over_cases(
    session: Session,
    user: User,
    last_day: date,
    *,
    actor_id: int | None,
    now: datetime,
    tz: ZoneInfo,
) -> Released:
    cases = session.scalars(
        sa.select(Case)
        .where(Case.owner_id == user.id, Case.status.in_(case_flow.OPEN))
        .order_by(Case.first_contact_due_at, Case.id)
    ).all()
    why = f"{user.display_name}不在岗至 {last_day:%m-%d}"
    reassigned = 0
    for case in cases:
        # a colleague takes it over where one works the buyer's other case (one buyer,
        # one agent: this loop's earlier hand-overs count), or where the shop assigns
        # automatically; else it waits in 未分配
        successor, automatic = auto_assign.owner_for(session, case, now, tz)
        how = "自动分配" if automatic else "同一买家"
        hand_over(
            session,
            case,
            successor.id if successor else None,
            actor_id=actor_id,
            now=now,
            old=user.display_name,
            new=(f"{successor.display_name}（{how}：{why}）" if successor else f"未分配（{why}）"),
        )
        if successor is not None:
            alerts.notify_handed_over(session, case, successor, away=user.display_name, now=now)
            reassigned += 1
    return Released(len(cases) - reassigned, reassigned)


def begin_booked_leave(session: Session, *, now: datetime, tz: ZoneInfo) -> int:
    """The scheduler's ``leave`` unit: hand over the open cases of everyone whose leave,
    booked ahead with the hand-over ticked, has started. Returns how many cases moved."""
    moved = 0
    with transaction(session):
        due = session.scalars(
            sa.select(User)
            .where(User.away_hand_over.is_(True), User.away_from <= now)
            .order_by(User.id)
            .with_for_update()
        ).all()
        for user in due:
            user.away_hand_over = False
            under_way = leave(user, now, tz)
            if under_way and under_way.started and user.is_active:
                released = _hand_over_cases(
                    session, user, under_way.last_day, actor_id=None, now=now, tz=tz
                )
                moved += released.reassigned + released.to_unassigned
    return moved


def set_back(session: Session, user: User, *, actor: User, now: datetime) -> None:
    """``user`` is back before the day set, or a leave booked ahead is called off (or the
    mark was a mistake)."""
    with transaction(session):
        check_may_set(user, actor)
        if user.away_until is None or user.away_until <= now:
            return
        record_user_change(
            session,
            user.id,
            now=now,
            actor_id=actor.id,
            field="away",
            old=period_text(user.away_from, user.away_until),
            new=None,
        )
        user.away_from = user.away_until = None
        user.away_hand_over = False
