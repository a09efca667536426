"""Trend charts as server-rendered SVG (pygal): no JavaScript, nothing from a CDN. Each is
shown in an ``<img>`` next to its table, so it scales to a phone's width."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import cycle

import pygal
from pygal.style import Style

from tracker.domain.figures import Figures
from tracker.domain.wording import listing_name
from tracker.services.reports import Series, Trends

PALETTE = ("#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d", "#d63384")
# Colours that mean something: good is green, bad is red, whatever the series' order.
MEANING = {
    "已挽回": "#198754",
    "当前超时未联系": "#dc3545",
    "挽回率（全部案件）": "#198754",
    "推荐下单转化": "#fd7e14",
    "好评": "#198754",
    "中评": "#fd7e14",
    "差评": "#dc3545",
    "文字负面": "#6f42c1",
}


def _style(labels: Sequence[str]) -> Style:
    taken = {MEANING[label] for label in labels if label in MEANING}
    # round again when they run out, as pygal does (10 products: the 9th is the 1st's colour)
    spare = cycle([c for c in PALETTE if c not in taken] or PALETTE)
    return Style(
        font_family="'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif",
        background="white",
        plot_background="white",
        colors=tuple(MEANING.get(label) or next(spare) for label in labels),
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=15,
        title_font_size=18,
    )


LOG_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _series(trends: Trends, pick: Callable[[Figures], float | None]) -> list[float | None]:
    return [pick(f) for f in trends.figures]


def tables(trends: Trends) -> dict[str, tuple[str, list[Series]]]:
    """Every chart's title and series: the chart draws them, the page shows them as a table."""
    return {
        "cases": (
            "新开案件与挽回",
            [
                Series("新开案件", _series(trends, lambda f: f.cases)),
                Series("已挽回", _series(trends, lambda f: f.recovered)),
                Series("当前超时未联系", _series(trends, lambda f: f.overdue_now)),
            ],
        ),
        "response": (
            "首次联系用时（工作小时）",
            [
                Series("中位数", _series(trends, lambda f: _hours(f.wait_work.median))),
                Series("P90", _series(trends, lambda f: _hours(f.wait_work.p90))),
                Series("首次通话中位数", _series(trends, lambda f: _hours(f.talk_work.median))),
            ],
        ),
        "rates": (
            "按时首次联系率与挽回率（%）",
            [
                Series("按时首次联系", _series(trends, lambda f: _pct(f.on_time_share))),
                Series("挽回率（全部案件）", _series(trends, lambda f: _pct(f.recovery_rate_all))),
                Series("推荐下单转化", _series(trends, lambda f: _pct(f.conversion_rate))),
            ],
        ),
        "reviews": ("新评价：等级与情感", trends.reviews),
        "products": ("中差评最多的商品", trends.products),
        "reasons": ("案件原因", trends.reasons),
    }


def render(name: str, trends: Trends, *, narrow: bool = False) -> bytes:
    """``narrow``: drawn for a phone's width (fewer labels, the legend in one column), so
    the text stays readable instead of a 900-px drawing shrunk to a third."""
    title, series = tables(trends)[name]
    kind = pygal.StackedBar if name in ("products", "reasons") else pygal.Line
    count = len(trends.labels)
    longest = max((len(label) for label in trends.labels), default=0)
    # level, a long last label (11-30 周（5天）*) ran off the drawing's right edge; tilted, its
    # end still did without room on the right
    tilted = narrow or count > 14 or longest > 8
    if name == "products":  # a listing title is too long for a legend: the short name
        series = [Series(listing_name(s.label), s.values) for s in series]
    options = {
        "width": 420 if narrow else 900,
        "height": 420 if narrow else 380,
        "x_label_rotation": 45 if tilted else 0,
        "margin_right": max(20, int(0.7 * _text_width(trends.labels[-1])))
        if tilted and trends.labels
        else None,
        "show_minor_x_labels": not narrow and count <= 31,
        "x_labels_major_every": max(1, count // (5 if narrow else 12)),
        "legend_at_bottom_columns": 1 if narrow or name == "products" else 3,
    }
    if name == "response":
        # a few slow cases would flatten the rest: hours on a log scale (0 drawn as 0.1)
        options["logarithmic"] = True
        series = [
            Series(s.label, [None if v is None else max(v, 0.1) for v in s.values]) for s in series
        ]
        # 1-2-5 steps: pygal's own log ticks label 6, 7, 8, 9, 10 on top of each other
        values = [v for s in series for v in s.values if v is not None]
        if values:  # none: pygal draws "暂无数据"
            low, high = min(values), max(values)
            options["y_labels"] = [t for t in LOG_TICKS if low / 2.5 <= t <= high * 2.5]
    drawn = _nonempty(series)
    chart = kind(
        style=_style([s.label for s in drawn]),
        js=[],  # no script: the SVG is an image
        title=title,
        legend_at_bottom=True,
        truncate_legend=24,
        truncate_label=-1,  # 11-30 周（5天）* whole: auto truncation dropped the star
        print_values=False,
        allow_interruptions=True,
        no_data_text="暂无数据",
        **options,
    )
    chart.x_labels = trends.labels
    for s in drawn:
        chart.add(s.label, s.values)
    return chart.render()


def _text_width(label: str, size: int = 14) -> float:
    """About how wide a label is drawn: a Chinese character a full em, the rest half."""
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in label)


def _nonempty(series: Sequence[Series]) -> list[Series]:
    return [s for s in series if any(v for v in s.values)]
