"""When pulls fall due across thousands of shops, and how failing work backs off."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tracker.domain.work_plan import (
    PARK_AFTER,
    ban_seconds,
    failure_delay,
    latest_due,
    phase,
    throttle_delay,
)

NOW = datetime(2026, 11, 30, 2, 0, 7, tzinfo=UTC)
TEN = timedelta(minutes=10)


def test_pulls_of_many_shops_are_spread_over_the_interval() -> None:
    seconds = Counter(int(phase(shop_id, TEN).total_seconds()) for shop_id in range(1, 5001))
    # 5,000 shops on a 10-minute interval: about 8.3 a second, never a crowd at one second
    assert max(seconds.values()) <= 25
    per_minute = Counter(s // 60 for s in seconds.elements())
    assert min(per_minute.values()) >= 400 and max(per_minute.values()) <= 600


def test_a_shop_is_due_once_per_interval_at_its_own_phase() -> None:
    due = latest_due(NOW, 42, TEN)
    assert NOW - TEN < due <= NOW
    assert latest_due(due, 42, TEN) == due  # exactly at the slot: that slot
    assert latest_due(due - timedelta(microseconds=1), 42, TEN) == due - TEN
    assert latest_due(due + TEN - timedelta(seconds=1), 42, TEN) == due
    assert phase(42, TEN) == phase(42, TEN)  # the same on every machine
    assert latest_due(NOW, 42, timedelta(minutes=3)) > NOW - timedelta(minutes=3)


def test_failures_back_off_doubling_to_an_hour() -> None:
    delays = [failure_delay(n) for n in range(1, PARK_AFTER + 1)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[-1] == timedelta(hours=1)
    assert sum(delays, timedelta()) < timedelta(hours=5)  # parked after about four hours
    assert failure_delay(0) == timedelta(0)


def test_a_rate_limit_rests_as_long_as_the_platform_says_else_doubling() -> None:
    assert throttle_delay(1, 31) == timedelta(seconds=31)
    assert throttle_delay(1, None) == timedelta(seconds=15)
    assert throttle_delay(3, None) == timedelta(seconds=60)
    assert throttle_delay(30, None) == timedelta(minutes=10)
    assert ban_seconds("This ban will last for 31062 more seconds") == 31062
    assert ban_seconds("This ban will last for 1 more second") == 1
    assert ban_seconds("App Call Limited") is None
