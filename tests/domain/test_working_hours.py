"""Deadline arithmetic across lunch breaks, nights, weekends, holidays and make-up days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.domain.working_hours import (
    MIDNIGHT,
    PolicyError,
    Week,
    WorkingHours,
    dated_text,
    gaps,
    parse_dated,
)

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


# Monday to Friday, 09:00-12:00 and 13:30-18:00; 2026-11-23 is a Monday.
OFFICE = WorkingHours(
    tz=SH, periods=((time(9), time(12)), (time(13, 30), time(18))), weekdays=frozenset(range(5))
)


def test_within_one_period() -> None:
    assert OFFICE.add(at(23, 9, 30), 2 * H) == at(23, 11, 30)


def test_across_the_lunch_break() -> None:
    assert OFFICE.add(at(23, 11), 2 * H) == at(23, 14, 30)


def test_starting_in_the_lunch_break_counts_from_the_afternoon() -> None:
    assert OFFICE.add(at(23, 12, 45), 1 * H) == at(23, 14, 30)


def test_across_the_night() -> None:
    assert OFFICE.add(at(23, 17), 2 * H) == at(24, 10)


def test_posted_at_night_counts_from_the_morning() -> None:
    assert OFFICE.add(at(23, 23, 50), 2 * H) == at(24, 11)
    assert OFFICE.add(at(24, 3), 2 * H) == at(24, 11)


def test_across_the_weekend() -> None:
    friday_evening = at(27, 17)  # Friday
    assert OFFICE.add(friday_evening, 2 * H) == at(30, 10)  # Monday
    assert OFFICE.add(at(28, 10), 4 * H) == at(30, 14, 30)  # posted on Saturday


def test_holidays_and_make_up_workdays() -> None:
    # National Day week 2026: Oct 1-7 off, Saturday Oct 10 worked instead (调休).
    policy = WorkingHours(
        tz=SH,
        periods=OFFICE.periods,
        weekdays=OFFICE.weekdays,
        holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
        workdays=frozenset({date(2026, 10, 10)}),
    )
    assert policy.add(at(30, 17, month=9), 2 * H) == at(8, 10, month=10)
    assert policy.add(at(9, 17, month=10), 2 * H) == at(10, 10, month=10)  # Saturday worked
    assert policy.is_working_day(date(2026, 10, 10))
    assert not policy.is_working_day(date(2026, 10, 5))


def test_exact_boundaries() -> None:
    assert OFFICE.add(at(23, 9), 3 * H) == at(23, 12)
    assert OFFICE.add(at(23, 12), timedelta(0)) == at(23, 13, 30)
    assert OFFICE.add(at(23, 18), 1 * H) == at(24, 10)


def test_result_is_aware_and_utc_input_works() -> None:
    utc_start = at(23, 9).astimezone(ZoneInfo("UTC"))
    result = OFFICE.add(utc_start, 1 * H)
    assert result == at(23, 10) and result.tzinfo is not None


def test_between_counts_only_working_time() -> None:
    assert OFFICE.between(at(23, 11), at(23, 14, 30)) == 2 * H
    assert OFFICE.between(at(27, 17), at(30, 10)) == 2 * H
    assert OFFICE.between(at(23, 10), at(23, 9)) == timedelta(0)
    start = at(23, 10, 17)
    for hours in (0.5, 3, 7.5, 20):
        assert OFFICE.between(start, OFFICE.add(start, hours * H)) == hours * H


def test_default_policy_is_every_day_with_a_lunch_break() -> None:
    default = WorkingHours(tz=SH)
    assert default.add(at(28, 21), 2 * H) == at(29, 10)  # Saturday night -> Sunday morning


def test_stored_form_round_trips_and_bad_values_are_named() -> None:
    policy = WorkingHours(tz=SH, weekdays=frozenset({0, 1}), holidays=frozenset({date(2026, 1, 1)}))
    assert WorkingHours.from_dict(policy.to_dict(), SH) == policy
    with pytest.raises(PolicyError, match="'25:00'"):
        WorkingHours.from_dict({"periods": [["09:00", "25:00"]]}, SH)
    with pytest.raises(PolicyError, match="结束早于开始"):
        WorkingHours(tz=SH, periods=((time(12), time(9)),))
    with pytest.raises(PolicyError, match="不能重叠"):
        WorkingHours(tz=SH, periods=((time(9), time(12)), (time(11), time(13))))
    with pytest.raises(PolicyError, match="'2026-13-01'"):
        WorkingHours.from_dict({"holidays": ["2026-13-01"]}, SH)
    with pytest.raises(PolicyError, match="工作日"):
        WorkingHours(tz=SH, weekdays=frozenset())


def test_a_policy_whose_working_days_are_all_holidays_is_refused() -> None:
    from datetime import date, timedelta

    start = datetime(2026, 11, 23, 10, tzinfo=SH)  # a Monday
    mondays = [(date(2026, 11, 23) + timedelta(weeks=n)).isoformat() for n in range(600)]
    hours = WorkingHours.from_dict(
        {"periods": [["09:00", "18:00"]], "weekdays": [0], "holidays": mondays}, SH
    )
    with pytest.raises(PolicyError, match="没有任何工作时间"):
        hours.check_reachable(start)
    WorkingHours(tz=SH).check_reachable(start)  # the default week is fine
    with pytest.raises(PolicyError, match="至少要有一个工作日"):
        WorkingHours.from_dict({"periods": [["09:00", "18:00"]], "weekdays": []}, SH)


# -- a day of its own (an agent's 调班) ---------------------------------------------------


def test_a_dated_day_works_its_own_periods_even_on_a_weekend() -> None:
    saturday = date(2026, 11, 28)
    hours = replace(OFFICE, dated={saturday: ((time(10), time(16)),)})
    assert hours.periods_on(saturday) == ((time(10), time(16)),)
    assert hours.next_start(at(27, 19)) == at(28, 10)  # Friday evening: Saturday 10:00
    assert hours.add(at(28, 15), 2 * H) == at(30, 10)  # an hour Saturday, an hour Monday
    assert hours.between(at(28, 0), at(29, 23)) == 6 * H


def test_a_dated_day_off_has_no_work_even_on_a_weekday_or_a_make_up_day() -> None:
    monday = date(2026, 11, 23)
    hours = replace(OFFICE, workdays=frozenset({monday}), dated={monday: ()})
    assert not hours.is_working_day(monday)
    assert hours.periods_on(monday) == ()
    assert hours.next_start(at(23, 10)) == at(24, 9)


def test_a_dated_day_is_checked_like_the_week() -> None:
    with pytest.raises(PolicyError, match="结束早于开始"):
        replace(OFFICE, dated={date(2026, 11, 28): ((time(16), time(10)),)})


# -- a shop's 特殊营业时间 --------------------------------------------------------------------


def test_special_days_are_typed_a_day_a_line_and_stored_with_the_hours() -> None:
    typed = "2026-11-11 09:00-24:00\n\n2026-12-31　09:00-12:00，13:00-17:00\n"
    dated = parse_dated(typed)
    assert dated == {
        "2026-11-11": [["09:00", "24:00"]],
        "2026-12-31": [["09:00", "12:00"], ["13:00", "17:00"]],
    }
    hours = WorkingHours.from_dict({**OFFICE.to_dict(), "dated": dated}, SH)
    stored = hours.to_dict()
    assert stored["dated"]["2026-12-31"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert WorkingHours.from_dict(stored, SH) == hours
    assert "dated" not in OFFICE.to_dict()  # settings without special days read as before
    assert dated_text(stored["dated"]).splitlines()[1] == "2026-12-31 09:00-12:00, 13:00-17:00"
    # 双11 (a Wednesday) until midnight: a case at 22:30 is due within the night, not tomorrow
    assert hours.add(at(11, 22, 30), H) == at(11, 23, 30)
    assert OFFICE.add(at(11, 22, 30), H) == at(12, 10)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-11-11", "第 1 行：请在日期后写上营业时段"),
        ("2026-11-11 09:00-24:00\n11-12 09:00-18:00", "第 2 行：'11-12' 不是日期"),
        ("2026-11-11 18:00-09:00", "第 1 行：时段 18:00-09:00 的结束早于开始"),
        ("2026-11-11 9点到12点", "第 1 行：每个时段写成 开始-结束"),
        ("2026-11-11 09:00-12:00\n2026-11-11 13:00-18:00", "第 2 行：2026-11-11 写了两次"),
        ("1900-01-01 09:00-12:00", "不在 2000–2100 年之间"),
    ],
)
def test_a_bad_special_day_is_refused_by_its_line(typed: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_dated(typed)
    assert message in str(refused.value) and refused.value.about == "dated"


# -- who covers the shop's hours ------------------------------------------------------------

SHOP_DAY = ((time(9), time(12)), (time(13, 30), time(22)))


@pytest.mark.parametrize(
    ("worked", "expected"),
    [
        ([], SHOP_DAY),  # nobody
        ([SHOP_DAY], ()),  # someone on the shop's hours
        ([((time(9), time(15)),), ((time(15), time(22)),)], ()),  # early and late meet
        (
            [((time(9), time(15)),), ((time(15, 30), time(22)),)],
            ((time(15), time(15, 30)),),  # half an hour between them
        ),
        ([((time(10), time(11)),), ((time(13, 30), time(18)),)], (
            (time(9), time(10)), (time(11), time(12)), (time(18), time(22)),
        )),
        ([((time(8), time(23)),)], ()),  # longer than the shop
    ],
)  # fmt: skip
def test_gaps_are_the_shops_hours_nobody_works(worked, expected) -> None:  # type: ignore[no-untyped-def]
    assert gaps(SHOP_DAY, worked) == expected


# 轮班: the early shift one week, the late one the next, from Monday 2026-11-23
EARLY_WEEK = ((time(9), time(18)),)
LATE_WEEK = Week(((time(13, 30), time(22)),), frozenset(range(6)))  # and Saturdays
TURNS = WorkingHours(
    tz=SH,
    periods=EARLY_WEEK,
    weekdays=frozenset(range(5)),
    rotation=(LATE_WEEK,),
    rotation_from=date(2026, 11, 23),
)


def test_a_rotation_takes_turns_week_by_week_and_counts_back_before_its_start() -> None:
    assert TURNS.periods_on(date(2026, 11, 23)) == EARLY_WEEK  # week 1
    assert TURNS.periods_on(date(2026, 11, 28)) == ()  # week 1 has no Saturday
    assert TURNS.periods_on(date(2026, 11, 30)) == LATE_WEEK.periods  # week 2
    assert TURNS.periods_on(date(2026, 12, 5)) == LATE_WEEK.periods  # its Saturday
    assert TURNS.periods_on(date(2026, 12, 7)) == EARLY_WEEK  # week 1 again
    assert TURNS.periods_on(date(2026, 11, 20)) == LATE_WEEK.periods  # the week before: 2
    assert [TURNS.week_number(date(2026, 11, 23) + timedelta(weeks=n)) for n in range(-2, 3)] == [
        1,
        2,
        1,
        2,
        1,
    ]
    # a deadline runs into the late week: Friday 17:00 + 2 h is Monday 14:30 of week 2
    assert TURNS.add(at(27, 17), 2 * H) == at(30, 14, 30)


def test_a_three_week_rotation_and_a_day_of_its_own_above_it() -> None:
    middle = Week(((time(11), time(20)),), frozenset(range(5)))
    three = replace(TURNS, rotation=(middle, LATE_WEEK))
    mondays = [date(2026, 11, 23) + timedelta(weeks=n) for n in range(4)]
    assert [three.periods_on(d) for d in mondays] == [
        EARLY_WEEK,
        middle.periods,
        LATE_WEEK.periods,
        EARLY_WEEK,
    ]
    swapped = replace(three, dated={date(2026, 11, 30): ()})  # a 调班 beats the rotation
    assert swapped.periods_on(date(2026, 11, 30)) == ()


def test_a_rotation_is_stored_and_read_back() -> None:
    stored = TURNS.to_dict()
    assert stored["rotation"] == {
        "from": "2026-11-23",
        "weeks": [{"periods": [["13:30", "22:00"]], "weekdays": [0, 1, 2, 3, 4, 5]}],
    }
    assert WorkingHours.from_dict(stored, SH) == TURNS
    assert "rotation" not in OFFICE.to_dict()  # a plain week is stored as before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rotation_from": date(2026, 11, 24)}, "从某个周一算起"),
        ({"rotation_from": None}, "从某个周一算起"),
        ({"rotation": (LATE_WEEK,) * 4}, "最多 4 周"),
        ({"rotation": (Week(LATE_WEEK.periods, frozenset()),)}, "至少要有一个工作日"),
        ({"rotation": (Week((), frozenset(range(5))),)}, "至少要有一个工作时段"),
        ({"rotation": (Week(((time(22), time(13)),), frozenset(range(5))),)}, "结束早于开始"),
    ],
)
def test_a_rotation_that_cannot_work_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match=message):
        replace(TURNS, **change)


def test_a_form_lists_the_calendar_from_today_and_saving_keeps_the_days_gone() -> None:
    today = date(2026, 12, 2)
    stored = replace(
        OFFICE,
        holidays=frozenset({date(2026, 10, 1), date(2027, 1, 1)}),
        workdays=frozenset({date(2026, 9, 28)}),
        dated={date(2026, 11, 11): ((time(9), MIDNIGHT),), date(2026, 12, 12): EARLY_WEEK},
    )
    listed = stored.from_day(today)
    assert listed.holidays == {date(2027, 1, 1)} and listed.workdays == frozenset()
    assert list(listed.dated) == [date(2026, 12, 12)]
    assert stored.past_days(today) == 3
    typed = replace(OFFICE, holidays=frozenset({date(2027, 1, 1)}))  # 12-12 taken off
    saved = typed.keeping_past(stored, today)
    assert saved.holidays == {date(2026, 10, 1), date(2027, 1, 1)}
    assert saved.workdays == {date(2026, 9, 28)}
    assert list(saved.dated) == [date(2026, 11, 11)]  # the past kept, 12-12 as typed: gone
    # a day gone typed again is the typed one
    retyped = replace(OFFICE, dated={date(2026, 11, 11): EARLY_WEEK}).keeping_past(stored, today)
    assert retyped.dated[date(2026, 11, 11)] == EARLY_WEEK
