"""The percentile every bench reports its speed targets by."""

import pytest

from bench.stats import percentile


def test_p95_is_the_nearest_rank_never_the_one_below() -> None:
    runs = [float(n) for n in range(1, 31)]  # 1 … 30 ms, shuffled order does not matter
    assert percentile(list(reversed(runs)), 0.95) == 29  # not 28: the lower rank flattered
    assert percentile(runs[:20], 0.95) == 19
    assert percentile(runs[:20], 0.5) == 10
    assert percentile([7.0], 0.95) == 7 and percentile(runs, 1.0) == 30


def test_no_values_or_a_wrong_share_is_an_error() -> None:
    with pytest.raises(ValueError, match="nothing"):
        percentile([], 0.95)
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], 95)
