"""排班表: who works when over the coming days, as a supervisor plans a sale's weekend.

Each agent's day is read the way 自动分配 reads it (their 班次 on the shop's calendar, a
调班 above it) and their leave on top, so the table shows what the system will do, not a
separate plan that could disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain.working_hours import Periods, WorkingHours, day_label, gaps, stored_periods
from tracker.models import Shop, User
from tracker.models.enums import Role
from tracker.services import availability, shifts

DAYS_SHOWN = 14  # two weeks: this one and the next, the span a team plans
EXPORTED_DAYS = 28  # four weeks: the month's roster a team posts in its group chat
WARNED_AHEAD = 7  # the morning digest names uncovered days of the coming week


@dataclass(frozen=True)
class Cell:
    """One agent on one day."""

    hours: tuple[str, ...]  # each period (09:00–12:00, 13:30–18:00), or 休息, or 不在岗
    working: bool  # on shift some time that day, and not on leave
    changed: bool  # a 调班 sets the day
    away: bool  # on leave that day
    asked: bool = False  # a 调班申请 of theirs for the day waits for an answer


@dataclass(frozen=True)
class Day:
    day: date
    shop_open: bool  # the shop's own hours have work that day (not a weekend or holiday)
    cells: list[Cell]  # one per agent, in the order given
    working: int  # how many agents work that day
    uncovered: tuple[str, ...]  # the shop's hours that day with nobody on shift (09:00–10:00)

    @property
    def nobody_all_day(self) -> bool:
        return self.shop_open and not self.working


def agents_of(session: Session, shop: Shop) -> list[User]:
    """The shop's active agents by name, each with their 调班 days read in the same go."""
    return list(
        session.scalars(
            sa.select(User)
            .where(User.shops.contains(shop), User.is_active.is_(True), User.role == Role.AGENT)
            .order_by(User.display_name)
            .options(selectinload(User.shift_days))
        )
    )


def uncovered(session: Session, shop: Shop, *, now: datetime, tz: ZoneInfo) -> list[Day]:
    """The days of the coming week (today on) when some of the shop's hours have none of
    its agents on shift: the new cases of those hours wait for someone to start. None for a
    shop without agents (its supervisors or admin work the cases: nothing to plan)."""
    staff = agents_of(session, shop)
    if not staff:
        return []
    days = plan(shop, staff, now.astimezone(tz).date(), now=now, tz=tz, days=WARNED_AHEAD)
    return [d for d in days if d.uncovered]


def plan(
    shop: Shop,
    staff: list[User],
    first_day: date,
    *,
    now: datetime,
    tz: ZoneInfo,
    days: int = DAYS_SHOWN,
    instead: dict[tuple[int, date], Periods] | None = None,
    asked: frozenset[tuple[int, date]] = frozenset(),
) -> list[Day]:
    """``days`` days from ``first_day``, each agent's hours on each; ``instead`` (user id and
    day → periods) shows days as a 调班 asked for would make them; ``asked`` (user id and
    day) marks the cells a request waits on."""
    instead = instead or {}
    shop_hours = WorkingHours.from_dict(shop.working_hours, tz)
    hours = [shifts.hours_of(user, shop, tz) for user in staff]
    leaves = [availability.leave(user, now, tz) for user in staff]
    shown: list[Day] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        cells = []
        worked = []
        for user, own, leave in zip(staff, hours, leaves, strict=True):
            away = leave is not None and leave.covers(day)
            shown_as = instead.get((user.id, day))
            periods = () if away else own.periods_on(day) if shown_as is None else shown_as
            worked.append(periods)
            cells.append(
                Cell(
                    hours=("不在岗",) if away else _spans(periods) or ("休息",),
                    working=bool(periods),
                    changed=shown_as is not None or shifts.day_set(user, day) is not None,
                    away=away,
                    asked=(user.id, day) in asked,
                )
            )
        shown.append(
            Day(
                day,
                shop_hours.is_working_day(day),
                cells,
                sum(c.working for c in cells),
                _spans(gaps(shop_hours.periods_on(day), worked)),
            )
        )
    return shown


def _spans(periods: Periods) -> tuple[str, ...]:
    """((09:00, 12:00),) → ("09:00–12:00",)."""
    return tuple("–".join(p) for p in stored_periods(periods))


def export_rows(staff: list[User], days: list[Day]) -> tuple[list[str], list[list[object]]]:
    """The plan as a sheet: a day a row, each agent's hours (调 marked, 不在岗 said), and the
    shop's hours nobody works. A request still waiting is left out: it is not the plan."""
    headers = ["日期", "上班人数", *(user.display_name for user in staff), "无人当班"]
    rows: list[list[object]] = [
        [
            day_label(d.day) + ("" if d.shop_open else "（店休）"),
            d.working,
            *("、".join(c.hours) + ("（调班）" if c.changed else "") for c in d.cells),
            "、".join(d.uncovered),
        ]
        for d in days
    ]
    return headers, rows
