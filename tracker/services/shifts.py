"""班次: an agent's own working periods, and who is on shift to take a new case.

A shop open 09:00–22:00 rarely has one person there all day: an early shift leaves at 15:00,
a late one starts then. 自动分配 that knows only leave gives a case opened at 20:00 to the
early agent, who sees it tomorrow; the late one, at work now, would have called tonight.
A shift is the shop's working-hours shape (periods on weekdays) set per agent, on the shop's
calendar of holidays and make-up days; an agent without one works the shop's hours.

Weeks are not all alike: a sale's Saturday needs the early agent too, two agents swap a day.
A 调班 gives one day its own periods (or makes it a day off) on top of the week, for that
agent alone; everything that reads a shift reads it. A team that takes turns (轮班: the early
shift one week, the late one the next; 大小周, six days one week and five the next) gives a
shift several weeks, taking turns from a Monday, rather than a 调班 for every day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain.working_hours import (
    LONGEST_ROTATION,
    Periods,
    PolicyError,
    WorkingHours,
    check_periods,
    day_label,
    describe_periods,
    describe_week,
    periods_text,
    read_periods,
    rotation_week,
    stored_periods,
)
from tracker.models import ShiftDay, Shop, User
from tracker.models.accounts import agent_at_work
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
            hours = replace(
                shop_hours,
                periods=own.periods,
                weekdays=own.weekdays,
                rotation=own.rotation,
                rotation_from=own.rotation_from,
                dated={},
            )
    dated = _dated(user)
    return replace(hours, dated={**hours.dated, **dated}) if dated else hours


ROTATION_NAMES = {2: "两周轮换", 3: "三周轮换", 4: "四周轮换"}


def describe(shift: dict[str, Any] | None, today: date | None = None) -> str:
    """周一至周五 09:00–15:00, for lists and the audit trail; a rotation names each week
    and which one ``today`` is in (without ``today``, the Monday it counts from)."""
    if not shift:
        return "按店铺工作时间"
    rotation = shift.get("rotation")
    if not rotation:
        return _one_week(shift)
    weeks = [_one_week(shift)] + [_one_week(w) for w in rotation.get("weeks", [])]
    turns = "；".join(f"第{i}周 {w}" for i, w in enumerate(weeks, 1))
    name = ROTATION_NAMES.get(len(weeks), f"{len(weeks)}周轮换")
    try:
        since = date.fromisoformat(rotation.get("from", ""))
    except (TypeError, ValueError):
        return f"{name}：{turns}"
    if today is None:
        when = f"{since:%Y-%m-%d} 起第1周"
    else:
        when = f"本周第{rotation_week(since, today, len(weeks))}周"
    return f"{name}（{when}）：{turns}"


def _one_week(week: dict[str, Any]) -> str:
    """A stored week ({periods, weekdays}) → 周一至周五 09:00–15:00."""
    weekdays, periods = week.get("weekdays", []), week.get("periods", [])
    return f"{describe_week(weekdays)} {describe_periods(periods)}"


def set_shift(
    session: Session,
    user: User,
    periods: list[list[str]] | None,
    weekdays: list[int],
    *,
    rotation: Sequence[tuple[list[list[str]] | None, list[int]]] = (),
    this_week: int = 1,
    actor: User,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Give ``user`` a shift (``periods`` on ``weekdays``), or none (``periods`` None: the
    shop's hours), audited on the user. ``rotation`` are the weeks taking turns after the
    first (periods None: the first week's), and the current week is the ``this_week``-th of
    the turn: a team says 本周上晚班, not which Monday its rotation began."""
    with transaction(session):
        check_may_set(user, actor, field="periods", what="班次")
        shift: dict[str, Any] | None = None
        if periods is not None:
            shift = _checked_week(periods, weekdays, tz, number=1)
            if rotation:
                shift["rotation"] = _checked_rotation(
                    periods, rotation, this_week, now.astimezone(tz).date(), tz
                )
        elif rotation:
            raise FieldError("periods", "轮班要填第1周的上班时段。")
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
            today = now.astimezone(tz).date()
            said = f"{actor.display_name}把你的班次改为：{describe(shift, today)}"
            _tell(session, user, actor, said, now)


def _checked_week(
    periods: list[list[str]], weekdays: list[int], tz: ZoneInfo, *, number: int
) -> dict[str, Any]:
    """One week of a shift as stored, or FieldError under that week's field (``periods``,
    ``weekdays``; ``periods_2`` for the second week of a rotation)."""
    try:
        full = WorkingHours.from_dict({"periods": periods, "weekdays": weekdays}, tz).to_dict()
    except PolicyError as exc:
        field = exc.about if number == 1 else f"{exc.about}_{number}"
        raise FieldError(field, str(exc) if number == 1 else f"第{number}周：{exc}") from exc
    return {"periods": full["periods"], "weekdays": full["weekdays"]}


def _checked_rotation(
    first: list[list[str]],
    rotation: Sequence[tuple[list[list[str]] | None, list[int]]],
    this_week: int,
    today: date,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """The weeks after the first as stored, counted from the Monday that makes this week
    the ``this_week``-th; FieldError names the week or the choice at fault."""
    length = len(rotation) + 1
    if length > LONGEST_ROTATION:
        raise FieldError("weeks", f"轮班最多 {LONGEST_ROTATION} 周一轮。")
    if not 1 <= this_week <= length:
        raise FieldError("this_week", f"{length} 周一轮，本周只能是第1至第{length}周。")
    weeks = [
        _checked_week(first if periods is None else periods, weekdays, tz, number=number)
        for number, (periods, weekdays) in enumerate(rotation, 2)
    ]
    monday = today - timedelta(days=today.weekday())
    since = monday - timedelta(weeks=this_week - 1)
    return {"from": since.isoformat(), "weeks": weeks}


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
class Unable:
    """Why someone cannot act on their cases at a moment, and when they are back (None:
    not within reach)."""

    why: str  # 不在岗 (leave), 休息 (off their 班次)
    back_at: datetime | None


def unable(user: User, shop: Shop, at: datetime, tz: ZoneInfo) -> Unable | None:
    """Whether ``user`` is on leave or off their 班次 at ``at`` (now, or a 下次跟进 to come):
    their alerts then go to the supervisors, who can hand the case on."""
    if user.is_away(at) and user.away_until is not None:  # (is_away says it is set)
        return Unable("不在岗", next_on_shift(user, shop, user.away_until, tz))
    if off_shift(user, shop, at, tz):
        return Unable("休息", next_on_shift(user, shop, at, tz))
    return None


def on_shift_now(session: Session, shop: Shop, now: datetime, tz: ZoneInfo) -> list[User]:
    """The shop's agents at work and on shift at ``now``, by name: whom an alert that went
    to the supervisors (its owner off) can be handed to."""
    agents = session.scalars(
        sa.select(User)
        .where(agent_at_work(shop.id, now))
        .options(selectinload(User.shift_days))
        .order_by(User.display_name, User.id)
    )
    return [agent for agent in agents if next_on_shift(agent, shop, now, tz) == now]


@dataclass(frozen=True)
class Duty:
    """Whether someone is on shift at a moment, for 客服负荷."""

    on_shift: bool
    next_start: datetime | None  # when off shift: when it starts (None: not in reach)
    shift: str  # 周一至周五 09:00–15:00, or 按店铺工作时间
    today: str | None = None  # today's 调班 (09:00–18:00, 休息), if today has one


def duty(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> Duty:
    starts, today = next_on_shift(user, shop, now, tz), now.astimezone(tz).date()
    row = day_set(user, today)
    changed = None if row is None else describe_day(row.periods)
    return Duty(
        starts == now, None if starts == now else starts, describe(user.shift, today), changed
    )
