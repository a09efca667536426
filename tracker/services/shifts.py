"""班次: an agent's own working periods, and who is on shift to take a new case.

A shop open 09:00–22:00 rarely has one person there all day: an early shift leaves at 15:00,
a late one starts then. 自动分配 that knows only leave gives a case opened at 20:00 to the
early agent, who sees it tomorrow; the late one, at work now, would have called tonight.
A shift is the shop's working-hours shape (periods on weekdays) set per agent, on the shop's
calendar of holidays and make-up days; an agent without one works the shop's hours.

Weeks are not all alike: a sale's Saturday needs the early agent too, two agents swap a day.
A 调班 gives one day its own periods (or makes it a day off) on top of the week, for that
agent alone; everything that reads a shift reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tracker.domain.working_hours import (
    Periods,
    PolicyError,
    WorkingHours,
    check_periods,
    day_label,
    describe_periods,
    describe_week,
    periods_text,
    read_periods,
    stored_periods,
)
from tracker.models import ShiftDay, Shop, User
from tracker.services import notices
from tracker.services.audit import record_user_change
from tracker.services.errors import FieldError
from tracker.services.staff_rights import FURTHEST_AHEAD, check_may_set
from tracker.services.transaction import retrying, transaction

# The audit field of a 调班 is this and the day's ISO date; its values are the periods as
# typed (09:00-18:00), ``off`` for a day off, none for the 班次 again.
SHIFT_DAY = "shift_day:"
DAY_OFF = "off"
SHIFT_NEWS = "shift"  # the kind of notice that tells an agent their hours changed


def day_set(user: User, day: date) -> ShiftDay | None:
    """``user``'s 调班 of ``day``, if that day has one."""
    return next((row for row in user.shift_days if row.day == day), None)


def _dated(user: User) -> dict[date, Periods]:
    """The user's 调班 days, each day's periods (a row that no longer reads is left out)."""
    dated = {}
    for row in user.shift_days:
        try:
            periods = read_periods(row.periods)
            check_periods(periods)
        except PolicyError:
            continue
        dated[row.day] = periods
    return dated


def hours_of(user: User, shop: Shop, tz: ZoneInfo) -> WorkingHours:
    """When ``user`` works for ``shop``: their shift on the shop's calendar, else the shop's
    hours, and their 调班 days above both. A stored shift that no longer reads (never
    written so) falls back to the shop's."""
    shop_hours = WorkingHours.from_dict(shop.working_hours, tz)
    hours = shop_hours
    if user.shift:
        try:
            own = WorkingHours.from_dict(user.shift, tz)
        except PolicyError:
            pass
        else:
            # their own periods, also on the shop's 特殊营业 days (a longer day is the late
            # shift's, not everyone's)
            hours = replace(shop_hours, periods=own.periods, weekdays=own.weekdays, dated={})
    dated = _dated(user)
    return replace(hours, dated={**hours.dated, **dated}) if dated else hours


def describe(shift: dict[str, Any] | None) -> str:
    """周一至周五 09:00–15:00, for lists and the audit trail."""
    if not shift:
        return "按店铺工作时间"
    week, periods = shift.get("weekdays", []), shift.get("periods", [])
    return f"{describe_week(week)} {describe_periods(periods)}"


def set_shift(
    session: Session,
    user: User,
    periods: list[list[str]] | None,
    weekdays: list[int],
    *,
    actor: User,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Give ``user`` a shift (``periods`` on ``weekdays``), or none (``periods`` None: the
    shop's hours), audited on the user."""
    with transaction(session):
        check_may_set(user, actor, field="periods", what="班次")
        shift: dict[str, Any] | None = None
        if periods is not None:
            try:
                checked = WorkingHours.from_dict({"periods": periods, "weekdays": weekdays}, tz)
            except PolicyError as exc:
                raise FieldError(exc.about, str(exc)) from exc
            full = checked.to_dict()
            shift = {"periods": full["periods"], "weekdays": full["weekdays"]}
        changed = record_user_change(
            session,
            user.id,
            now=now,
            actor_id=actor.id,
            field="shift",
            old=user.shift,
            new=shift,
        )
        user.shift = shift
        if changed is not None:
            said = f"{actor.display_name}把你的班次改为：{describe(shift)}"
            _tell(session, user, actor, said, now)


def describe_day(periods: list[list[str]]) -> str:
    """A 调班 day's periods → 09:00–18:00, or 休息."""
    return describe_periods(periods) if periods else "休息"


def set_day(
    session: Session,
    user: User,
    day: date,
    periods: list[list[str]] | None,
    *,
    actor: User,
    now: datetime,
    tz: ZoneInfo,
) -> list[list[str]] | None:
    """Give ``user``'s ``day`` (shop time) its own ``periods`` ([]: a day off), or take its
    调班 away (None: the 班次 again), audited on the user as ``shift_day:<day>``; returns the
    day's periods as stored (None: the 班次 again). Two people setting the same day at once:
    the later one's try is made again over the first's row, so the last word stands and
    neither sees an error."""
    check_may_set(user, actor, field="day", what="调班")
    stored = checked_day(day, periods, now=now, tz=tz)
    today = now.astimezone(tz).date()
    retrying(
        session, lambda: write_day(session, user, day, stored, actor=actor, now=now, today=today)
    )
    return stored


def checked_day(
    day: date, periods: list[list[str]] | None, *, now: datetime, tz: ZoneInfo
) -> list[list[str]] | None:
    """``periods`` as a 调班 of ``day`` stores them, or FieldError: a day past, too far
    ahead, or periods that do not read."""
    today = now.astimezone(tz).date()
    if day < today:
        raise FieldError("day", "这一天已经过去，不能再调班。")
    if (day - today).days > FURTHEST_AHEAD.days:
        raise FieldError("day", f"最多提前 {FURTHEST_AHEAD.days} 天安排调班。")
    if periods is None:
        return None
    try:
        parsed = read_periods(periods)
        check_periods(parsed)
    except PolicyError as exc:
        raise FieldError("periods", str(exc)) from exc
    return stored_periods(parsed)


def write_day(
    session: Session,
    user: User,
    day: date,
    stored: list[list[str]] | None,
    *,
    actor: User,
    now: datetime,
    today: date,
    news: str | None = None,
) -> None:
    """Store ``day``'s 调班 (checked by :func:`checked_day`); the caller owns the
    transaction. Days already past are pruned on the way: the audit trail keeps what they
    were. ``news`` is what the agent is told, if not that ``actor`` changed their day."""
    for row in [r for r in user.shift_days if r.day < today]:
        user.shift_days.remove(row)
    row = day_set(user, day)
    changed = record_user_change(
        session,
        user.id,
        now=now,
        actor_id=actor.id,
        field=f"{SHIFT_DAY}{day.isoformat()}",
        old=None if row is None else _audit_text(row.periods),
        new=None if stored is None else _audit_text(stored),
    )
    if stored is None:
        if row is not None:
            user.shift_days.remove(row)
    elif row is None:
        user.shift_days.append(ShiftDay(day=day, periods=stored, set_by_id=actor.id, set_at=now))
    else:
        row.periods, row.set_by_id, row.set_at = stored, actor.id, now
    if changed is not None:
        that_day = "恢复按班次" if stored is None else describe_day(stored)
        said = news or f"{actor.display_name}给你调班"
        _tell(session, user, actor, f"{said}：{day_label(day)} {that_day}", now)


def _tell(session: Session, user: User, actor: User, title: str, now: datetime) -> None:
    """A person whose hours someone else changed hears of it (the bell, 通知): a Saturday
    made a working day is no use if its agent learns of it on Monday."""
    if actor.id != user.id:
        notices.tell(session, [user], kind=SHIFT_NEWS, title=title, body="", now=now)


def _audit_text(periods: list[list[str]]) -> str:
    return periods_text(periods) if periods else DAY_OFF


def upcoming_days(user: User, today: date) -> list[ShiftDay]:
    """``user``'s 调班 from ``today`` on, by day."""
    return [row for row in user.shift_days if row.day >= today]


def next_on_shift(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> datetime | None:
    """``now`` when ``user`` is on shift, else when their shift next starts (None: no
    working time within reach, a calendar of nothing but holidays)."""
    try:
        return hours_of(user, shop, tz).next_start(now)
    except PolicyError:
        return None


def has_own_hours(user: User, day: date) -> bool:
    """``user`` works hours of their own on ``day``: a 班次, or a 调班 that day."""
    return bool(user.shift) or day_set(user, day) is not None


def off_shift(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> bool:
    """``user`` works hours of their own today and is not on them at ``now`` (someone on
    the shop's hours is never called off shift: the shop's deadlines run in those hours)."""
    return (
        has_own_hours(user, now.astimezone(tz).date()) and next_on_shift(user, shop, now, tz) != now
    )


@dataclass(frozen=True)
class Duty:
    """Whether someone is on shift at a moment, for 客服负荷."""

    on_shift: bool
    next_start: datetime | None  # when off shift: when it starts (None: not in reach)
    shift: str  # 周一至周五 09:00–15:00, or 按店铺工作时间
    today: str | None = None  # today's 调班 (09:00–18:00, 休息), if today has one


def duty(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> Duty:
    starts = next_on_shift(user, shop, now, tz)
    row = day_set(user, now.astimezone(tz).date())
    changed = None if row is None else describe_day(row.periods)
    return Duty(starts == now, None if starts == now else starts, describe(user.shift), changed)
