"""自动分配's rule: on shift soonest first, then fewest overdue first contacts, then fewest
open cases, then the oldest account; equal loads turn into a rotation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tracker.domain.assignment import Load, least_loaded

NOW = datetime(2026, 11, 20, 20, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Friday evening


def _load(agent: int, overdue: int, open_: int, starts: datetime = NOW) -> Load:
    return Load(agent, overdue=overdue, open=open_, on_shift_at=starts)


def test_someone_behind_on_deadlines_is_passed_over_even_with_fewer_cases() -> None:
    loads = [_load(1, 1, 2), _load(2, 0, 9), _load(3, 2, 0)]
    assert least_loaded(loads) == 2


def test_then_the_fewest_open_cases_then_the_oldest_account() -> None:
    assert least_loaded([_load(5, 0, 4), _load(7, 0, 3), _load(9, 0, 3)]) == 7


def test_someone_on_shift_comes_before_a_lighter_load_off_shift() -> None:
    tomorrow_9 = NOW.replace(hour=9) + timedelta(days=1)
    early, late = _load(1, 0, 0, starts=tomorrow_9), _load(2, 3, 12)  # the late shift is on
    assert least_loaded([early, late]) == 2
    # nobody on shift: whoever starts first can call first
    starts_10 = _load(3, 0, 0, starts=tomorrow_9 + timedelta(hours=1))
    assert least_loaded([starts_10, early]) == 1


def test_equal_loads_rotate_as_each_case_lifts_its_receivers_count() -> None:
    counts = {11: 0, 12: 0, 13: 0}
    given = []
    for _ in range(7):
        agent = least_loaded(_load(a, 0, n) for a, n in counts.items())
        assert agent is not None
        given.append(agent)
        counts[agent] += 1
    assert given == [11, 12, 13, 11, 12, 13, 11]


def test_nobody_to_give_it_to() -> None:
    assert least_loaded([]) is None
