"""The trend charts as drawn: what a supervisor reads off the axes."""

from __future__ import annotations

import re
from decimal import Decimal

from tracker.domain.figures import Figures, Spread
from tracker.services.reports import Trends
from tracker.web.reports import charts


def _day(median: float, p90: float) -> Figures:
    hours = Spread(10, median, p90)
    return Figures(
        cases=10,
        wait=hours,
        wait_work=hours,
        talk=hours,
        talk_work=hours,
        on_time=8,
        judged=10,
        overdue_now=0,
        closed=5,
        recovered=3,
        recovery=hours,
        attempts=20,
        remedy_cost=Decimal(0),
        suggested=0,
        mentioned=0,
        converted=0,
    )


def _y_labels(svg: str) -> list[str]:
    axis = svg.split('class="axis y', 1)[1].split('class="axis', 1)[0]
    return re.findall(r"<text[^>]*>([^<]+)</text>", axis)


def test_response_times_read_in_1_2_5_steps_on_their_log_scale() -> None:
    """pygal's own log ticks print 6, 7, 8, 9 and 10 on top of one another."""
    days = [_day(0.4 + i / 10, 3 + i / 2) for i in range(20)]  # 0.4–2.3 h, P90 3–12.5 h
    trends = Trends("day", [f"11-{d:02d}" for d in range(1, 21)], days)
    for narrow in (False, True):
        labels = _y_labels(charts.render("response", trends, narrow=narrow).decode())
        assert labels and set(labels) <= {"0.2", "0.5", "1", "2", "5", "10", "20"}, labels
        assert {"0.5", "1", "2", "5", "10"} <= set(labels)


def test_good_is_green_and_bad_is_red_whatever_the_order() -> None:
    green, red = "#198754", "#dc3545"
    assert charts._style(["好评", "中评", "差评", "文字负面"]).colors[0::2] == (green, red)
    assert charts._style(["新开案件", "已挽回", "当前超时未联系"]).colors == (
        "#0d6efd",
        green,
        red,
    )
    # series without a meaning take the palette's colours not already meaning something
    free = charts._style(["质量问题", "差评", "物流问题"]).colors
    assert free[1] == red and red not in (free[0], free[2]) and free[0] != free[2]


def test_more_series_than_colours_go_round_the_palette() -> None:
    """Ten products: not the 7th, 9th and 10th all one grey."""
    colours = charts._style([f"商品{n}" for n in range(10)]).colors
    assert len(set(colours[:8])) == 8 and colours[8:] == colours[:2]
