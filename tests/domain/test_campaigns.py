from __future__ import annotations

import pytest

from tracker.domain.campaigns import Audience, Exclusions, split_control, uplift
from tracker.domain.segments import BuyerClass


def test_the_control_group_is_random_fixed_by_the_seed_and_the_right_size() -> None:
    ids = list(range(1, 1001))
    sent, control = split_control(ids, 0.1, seed=42)
    assert len(control) == 100 and len(sent) == 900 and not set(sent) & set(control)
    again = split_control(list(reversed(ids)), 0.1, seed=42)
    assert again == (sent, control)  # the same buyers, whatever order they came in
    assert split_control(ids, 0.1, seed=43)[1] != control
    assert control != list(range(1, 101))  # not the first hundred
    with pytest.raises(ValueError):
        split_control(ids, 1.0, seed=1)


def test_uplift_and_its_interval_against_worked_numbers() -> None:
    found = uplift([10, 0, 20, 10], [0, 0, 10])
    assert found is not None
    assert found.sent_mean == pytest.approx(10) and found.control_mean == pytest.approx(10 / 3)
    assert found.difference == pytest.approx(6.6667, abs=1e-4)
    # se = sqrt(66.667/4 + 33.333/3) = 5.2705; 1.96 * se = 10.330
    assert (found.low, found.high) == (
        pytest.approx(-3.6633, abs=1e-3),
        pytest.approx(16.9966, abs=1e-3),
    )
    assert not found.significant and found.verdict == "无可靠差别"
    strong = uplift([5.0] * 50 + [6.0] * 50, [1.0] * 50 + [2.0] * 50)
    assert strong is not None and strong.significant and strong.low > 3
    assert strong.verdict == "确有提升"
    drop = uplift([0.0, 1.0] * 50, [5.0, 6.0] * 50)
    assert drop is not None and drop.verdict == "确有下降"
    assert uplift([1.0], [1.0, 2.0]) is None


def test_audience_and_exclusions_round_trip() -> None:
    audience = Audience(frozenset({BuyerClass.DORMANT}), big=True, days_since_order=(90, 180))
    assert Audience.from_dict(audience.to_dict()) == audience
    assert Exclusions.from_dict(Exclusions(contacted_days=3).to_dict()) == Exclusions(
        contacted_days=3
    )
