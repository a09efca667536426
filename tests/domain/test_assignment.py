"""自动分配's rule: fewest overdue first contacts, then fewest open cases, then the oldest
account; equal loads turn into a rotation."""

from __future__ import annotations

from tracker.domain.assignment import Load, least_loaded


def test_someone_behind_on_deadlines_is_passed_over_even_with_fewer_cases() -> None:
    loads = [Load(1, overdue=1, open=2), Load(2, overdue=0, open=9), Load(3, overdue=2, open=0)]
    assert least_loaded(loads) == 2


def test_then_the_fewest_open_cases_then_the_oldest_account() -> None:
    assert least_loaded([Load(5, 0, 4), Load(7, 0, 3), Load(9, 0, 3)]) == 7


def test_equal_loads_rotate_as_each_case_lifts_its_receivers_count() -> None:
    counts = {11: 0, 12: 0, 13: 0}
    given = []
    for _ in range(7):
        agent = least_loaded(Load(a, 0, n) for a, n in counts.items())
        assert agent is not None
        given.append(agent)
        counts[agent] += 1
    assert given == [11, 12, 13, 11, 12, 13, 11]


def test_nobody_to_give_it_to() -> None:
    assert least_loaded([]) is None
