"""The retention period's bounds and the moment it draws."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracker.domain.retention import RETENTION, RetentionError, checked_days, cutoff, why_label


def test_a_period_is_a_year_to_ten_years_or_none() -> None:
    assert checked_days(365) == 365 and checked_days(3650) == 3650
    assert checked_days(None) is None  # kept until the buyer asks
    for days in (0, 180, 364, 3651):
        with pytest.raises(RetentionError, match="应在 365 到 3650 天之间"):
            checked_days(days)


def test_the_cutoff_is_that_many_days_before_now() -> None:
    now = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)
    assert cutoff(now, 1095) == datetime(2023, 12, 3, 19, 30, tzinfo=UTC)
    assert cutoff(now, None) is None


def test_the_buyer_page_says_why_the_data_went() -> None:
    assert why_label(RETENTION) == "保存期满，自动删除"
    assert why_label("request") == why_label(None) == "买家要求删除"
