"""排班表: each agent's day as 自动分配 reads it — 班次 on the shop's calendar, 调班 above it,
leave on top — and the shop's days with nobody on shift."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tests.conftest import NOW
from tracker.domain.working_hours import WorkingHours
from tracker.models.enums import Role
from tracker.services import availability, roster, shifts

SH = ZoneInfo("Asia/Shanghai")
FRIDAY = date(2026, 11, 20)  # NOW's day in Shanghai


def test_the_plan_reads_shift_day_leave_and_holiday(session: Session, make_shop, make_user) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()  # 09:00–12:00, 13:30–22:00 daily
    shop.working_hours = WorkingHours(tz=SH, holidays=frozenset({date(2026, 11, 24)})).to_dict()
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    early = make_user(Role.AGENT, shops=[shop], display_name="甲")
    plain = make_user(Role.AGENT, shops=[shop], display_name="乙")
    make_user(Role.AGENT, shops=[make_shop()], display_name="别店的")
    shifts.set_shift(
        session, early, [["09:00", "15:00"]], [0, 1, 2, 3, 4], actor=boss, now=NOW, tz=SH
    )
    shifts.set_day(
        session, early, date(2026, 11, 21), [["10:00", "16:00"]], actor=boss, now=NOW, tz=SH
    )
    availability.set_away(
        session, plain, date(2026, 11, 23), first_day=date(2026, 11, 22), release=False,
        actor=boss, now=NOW, tz=SH,
    )  # fmt: skip
    staff = roster.agents_of(session, shop)  # the shop's agents by name: 乙 before 甲
    assert [u.display_name for u in staff] == ["乙", "甲"]
    staff.reverse()  # 甲 first, for reading
    days = {d.day: d for d in roster.plan(shop, staff, FRIDAY, now=NOW, tz=SH)}
    assert len(days) == roster.DAYS_SHOWN
    friday = days[FRIDAY]
    assert [c.hours for c in friday.cells] == [("09:00–15:00",), ("09:00–12:00", "13:30–22:00")]
    saturday = days[date(2026, 11, 21)]
    assert [(c.hours, c.changed, c.working) for c in saturday.cells] == [
        (("10:00–16:00",), True, True),  # 调班 on a weekend
        (("09:00–12:00", "13:30–22:00"), False, True),
    ]
    sunday = days[date(2026, 11, 22)]
    assert [(c.hours, c.away, c.working) for c in sunday.cells] == [
        (("休息",), False, False),
        (("不在岗",), True, False),  # the booked leave's first day
    ]
    assert (sunday.shop_open, sunday.working) == (True, 0)
    holiday = days[date(2026, 11, 24)]
    assert holiday.shop_open is False and [c.hours for c in holiday.cells] == [("休息",)] * 2
    assert days[date(2026, 11, 25)].working == 2
    # the digest's days short of cover: the Sunday (甲 off, 乙 away) all day, the Monday
    # after 甲's 15:00 (乙 still away), not the holiday
    short = roster.uncovered(session, shop, now=NOW, tz=SH)
    assert [(d.day, d.nobody_all_day, d.uncovered) for d in short] == [
        (date(2026, 11, 22), True, ("09:00–12:00", "13:30–22:00")),
        (date(2026, 11, 23), False, ("15:00–22:00",)),
    ]
    monday = days[date(2026, 11, 23)]
    assert [c.working for c in monday.cells] == [True, False]
    assert roster.uncovered(session, shop, now=NOW + timedelta(days=4), tz=SH) == []
