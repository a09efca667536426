"""Money, rate differences and lateness as a person reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tracker.web.filters import late_by, money, money_in_wan, number, points


def test_money_puts_the_sign_before_the_yuan() -> None:
    assert money(Decimal("1234.5")) == "¥1,234.50"
    assert money(-10.739928) == "-¥10.74"
    assert money(Decimal("3.2"), signed=True) == "+¥3.20"
    assert money(Decimal("-0.001"), signed=True) == "¥0.00"  # rounds to nothing: no sign
    assert money(None) == ""


def test_a_headline_amount_reads_in_wan_and_yi() -> None:
    assert money_in_wan(Decimal("9539925.66")) == "¥953.99万"
    assert money_in_wan(Decimal("120000000")) == "¥1.20亿"
    assert money_in_wan(Decimal("-25000")) == "-¥2.50万"
    assert money_in_wan(Decimal("9999.99")) == "¥9,999.99"  # under ten thousand, exact
    assert money_in_wan(None) == ""


def test_a_difference_of_rates_is_in_percentage_points() -> None:
    assert points(-0.0035) == "-0.4 个百分点"
    assert points(0.052) == "+5.2 个百分点"
    assert points(0.0) == points(-0.0004) == "0.0 个百分点"
    assert points(-0.086, unit=False) == "-8.6"
    assert points(None) == "—"


def test_counts_are_grouped_by_thousands() -> None:
    assert (number(5400), number(40_026), number(999), number(None)) == (
        "5,400",
        "40,026",
        "999",
        "—",
    )


def test_lateness_is_in_the_whole_minutes_the_times_beside_it_show() -> None:
    due = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    assert late_by(due + timedelta(hours=2, minutes=48, seconds=59), due) == "2小时48分"
    assert late_by(due + timedelta(seconds=20), due) == "1分"  # late, if only just
    assert late_by(due + timedelta(days=1, hours=3), due) == "1天3小时"
    assert late_by(due, due) == late_by(due - timedelta(hours=1), due) == ""
    assert late_by(None, due) == late_by(due, None) == ""
    # a deadline with seconds (10:15:10) and a contact at 10:32:00 read 10:15 and 10:32:
    # 晚了 17分, as the two times beside it say, not the 16 that 16 min 50 s cut to
    odd = datetime(2026, 12, 6, 2, 15, 10, tzinfo=UTC)
    assert late_by(odd.replace(minute=32, second=0), odd) == "17分"
    assert late_by(odd + timedelta(seconds=30), odd) == "1分"  # the same minute, late
