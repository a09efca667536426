"""班次: an agent's own working periods, and who is on shift to take a new case.

A shop open 09:00–22:00 rarely has one person there all day: an early shift leaves at 15:00,
a late one starts then. 自动分配 that knows only leave gives a case opened at 20:00 to the
early agent, who sees it tomorrow; the late one, at work now, would have called tonight.
A shift is the shop's working-hours shape (periods on weekdays) set per agent, on the shop's
calendar of holidays and make-up days; an agent without one works the shop's hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tracker.domain.working_hours import (
    PolicyError,
    WorkingHours,
    describe_periods,
    describe_week,
)
from tracker.models import Shop, User
from tracker.services.audit import record_user_change
from tracker.services.errors import FieldError
from tracker.services.staff_rights import check_may_set
from tracker.services.transaction import transaction


def hours_of(user: User, shop: Shop, tz: ZoneInfo) -> WorkingHours:
    """When ``user`` works for ``shop``: their shift on the shop's calendar, else the shop's
    hours. A stored shift that no longer reads (never written so) falls back to the shop's."""
    shop_hours = WorkingHours.from_dict(shop.working_hours, tz)
    if not user.shift:
        return shop_hours
    try:
        own = WorkingHours.from_dict(user.shift, tz)
    except PolicyError:
        return shop_hours
    return WorkingHours(
        tz=tz,
        periods=own.periods,
        weekdays=own.weekdays,
        holidays=shop_hours.holidays,
        workdays=shop_hours.workdays,
    )


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
        record_user_change(
            session,
            user.id,
            now=now,
            actor_id=actor.id,
            field="shift",
            old=user.shift,
            new=shift,
        )
        user.shift = shift


def next_on_shift(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> datetime | None:
    """``now`` when ``user`` is on shift, else when their shift next starts (None: no
    working time within reach, a calendar of nothing but holidays)."""
    try:
        return hours_of(user, shop, tz).next_start(now)
    except PolicyError:
        return None


def off_shift(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> bool:
    """``user`` has a 班次 of their own and is not on it at ``now`` (someone on the shop's
    hours is never called off shift: the shop's deadlines run in those hours)."""
    return bool(user.shift) and next_on_shift(user, shop, now, tz) != now


@dataclass(frozen=True)
class Duty:
    """Whether someone is on shift at a moment, for 客服负荷."""

    on_shift: bool
    next_start: datetime | None  # when off shift: when it starts (None: not in reach)
    shift: str  # 周一至周五 09:00–15:00, or 按店铺工作时间


def duty(user: User, shop: Shop, now: datetime, tz: ZoneInfo) -> Duty:
    starts = next_on_shift(user, shop, now, tz)
    return Duty(starts == now, None if starts == now else starts, describe(user.shift))
