"""Jinja filters: local time, money, counts, masked phones, scores in words, the app's own links."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from flask import Flask, current_app, g
from markupsafe import Markup, escape

from tracker import runtime
from tracker.clock import to_local, utcnow
from tracker.domain import case_flow
from tracker.domain.privacy import mask_nick, mask_phone
from tracker.domain.retention import why_label
from tracker.domain.segments import BuyerClass
from tracker.domain.triage import ScoreBands, score_in_words
from tracker.domain.working_hours import day_label
from tracker.extensions import db
from tracker.models import Review
from tracker.models.enums import AttemptOutcome
from tracker.services.shifts import describe_day


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value, current_app.config["TRACKER_TIMEZONE"]).strftime(fmt)


def money(value: Decimal | float | None, signed: bool = False) -> str:
    """¥1,234.50; a negative amount -¥10.74 (never ¥-10.74); ``signed`` also marks a gain
    +¥3.20, for differences such as a campaign's uplift."""
    if value is None:
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}¥{abs(amount):,.2f}"


def money_in_wan(value: Decimal | float | None) -> str:
    """A headline amount as the trade reads it (¥953.99万, ¥1.20亿): ¥9,539,925.66 breaks
    across two lines in a phone's half-width card. Under ten thousand it is ``money``."""
    if value is None:
        return ""
    amount = Decimal(value)
    for unit, size in (("亿", Decimal(100_000_000)), ("万", Decimal(10_000))):
        if abs(amount) >= size:
            shown = (abs(amount) / size).quantize(Decimal("0.01"))
            return f"{'-' if amount < 0 else ''}¥{shown:,}{unit}"
    return money(amount)


def number(value: int | Decimal | None) -> str:
    """A count or a whole amount grouped by thousands (40,026; a level's ¥1,000): the
    counts a shop sees grow past a thousand."""
    return "—" if value is None else f"{value:,}"


def points(value: float | None, unit: bool = True) -> str:
    """A difference of two rates, in percentage points (22.7% against 23.0%: -0.4 个百分点,
    not -0.4%, which would be a share of the rate); ``unit=False`` for the low end of a
    range that names the unit once."""
    if value is None:
        return "—"
    shown = round(value * 100, 1)
    number = f"{shown:+.1f}" if shown else "0.0"
    return f"{number} 个百分点" if unit else number


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 小时"


def _span(minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分"


def countdown(
    deadline: datetime | None, now: datetime | None = None, warn_minutes: int | None = None
) -> dict[str, str]:
    """Time left to a deadline: ok, near (amber) or overdue (red), as the board shows it.
    ``warn_minutes``: when it turns amber, if not the first-contact deadline's."""
    if deadline is None:
        return {"state": "none", "text": ""}
    now = now or utcnow()
    warn = warn_minutes or current_app.config["TRACKER_DEADLINE_WARN_MINUTES"]
    minutes = int((deadline - now).total_seconds() // 60)
    if minutes < 0:
        return {"state": "overdue", "text": f"超时 {_span(-minutes)}"}
    return {"state": "near" if minutes <= warn else "ok", "text": f"剩 {_span(minutes)}"}


def late_by(done: datetime | None, due: datetime | None) -> str:
    """How long after its deadline something was done ("2小时48分"), "" when on time: a late
    first contact is said where the case is shown, as the reports count it, not shown as
    met. Between the minutes shown beside it (10:32 for a 10:15 deadline is 晚了 17分, though
    16 min 50 s passed: cut to 16, it read as a sum gone wrong); seconds late say 1分."""
    if done is None or due is None or done <= due:
        return ""
    shown = _minute_shown(done) - _minute_shown(due)
    return _span(max(1, int(shown.total_seconds()) // 60))


def _minute_shown(moment: datetime) -> datetime:
    """The minute a time reads as on the page (10:15:10 reads 10:15)."""
    return moment.replace(second=0, microsecond=0)


def _window_lead() -> timedelta:
    """How long before the buyer's window ends the owner is told 30 天挽回期限即将结束
    (``TRACKER_ALERT_REVISION_LEAD_HOURS``, 72 by default): every page warns from then."""
    return timedelta(hours=current_app.config["TRACKER_ALERT_REVISION_LEAD_HOURS"])


def window_closing(ends: datetime, now: datetime) -> bool:
    """Whether the buyer's window ends within the alert's lead (or has ended): the board's
    card and the case page turn it red by this one rule."""
    return ends - now <= _window_lead()


def window_countdown(ends: datetime, now: datetime) -> dict[str, str]:
    """Time left in the buyer's window, amber from the same moment ``window_closing`` turns
    the card and the case page red: 待确认 warns when the board does."""
    return countdown(ends, now, _window_lead() // timedelta(minutes=1))


def lapses(moment: datetime | None, now: datetime | None = None) -> str:
    """When a number stops working, in words: 3天后失效, 已失效, 长期有效."""
    if moment is None:
        return "长期有效"
    minutes = int((moment - (now or utcnow())).total_seconds() // 60)
    return "已失效" if minutes <= 0 else f"{_span(minutes)}后失效"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in words: 34小时前 is 1天10小时前."""
    if moment is None:
        return ""
    minutes = int(((now or utcnow()) - moment).total_seconds() // 60)
    return "刚刚" if minutes < 1 else f"{_span(minutes)}前"


def segment_label(klass: str) -> str:
    """A stored class code (loyal) as staff read it (忠诚客户)."""
    try:
        return BuyerClass(klass).label
    except ValueError:
        return klass


def _bands(review: Review) -> ScoreBands:
    """The bands of the model that scored this review, once per model and request."""
    known: dict[tuple[int, str | None], ScoreBands] = g.setdefault("sentiment_bands", {})
    key = (review.shop_id, review.sentiment_model)
    if key not in known:
        known[key] = runtime.bands_of_model(
            current_app, db.session, review.shop_id, review.sentiment_model
        )
    return known[key]


def sentiment(review: Review) -> Markup:
    """明显负面 / 偏负面 / 中性 / 正面 on the scale of the model that scored the review, the
    number on hover."""
    score = review.sentiment_score
    if score is None:
        return Markup('<span class="text-body-secondary">未评分</span>')
    words = score_in_words(score, _bands(review))
    tone = {"明显负面": "danger", "偏负面": "warning", "中性": "secondary"}.get(words, "success")
    return Markup(
        '<span class="badge text-bg-{}" title="情感分 {:.2f}（1 最正面）">{}</span>'
    ).format(tone, score, words)


def reads_unhappy(review: Review) -> bool:
    """Whether the model read the review as unhappy (明显负面 or 偏负面)."""
    score = review.sentiment_score
    return score is not None and score < _bands(review).confirm


def went_well(outcome: AttemptOutcome) -> bool:
    """Whether a contact attempt went as hoped (:data:`case_flow.WENT_WELL`): its badge is
    green on the case's log, as on the buyer's contact history."""
    return outcome in case_flow.WENT_WELL


_URL = re.compile(r"https?://[^\s<>\"']+")


def own_links(text: str, opened_by_title: str | None = None) -> Markup:
    """A notice's text with the tracker's own addresses (written for e-mail and chat, where
    a link must be whole) as 打开 → links to the page, relative to wherever the inbox is
    open; any other address stays text, and all of it is escaped. The page the notice's
    title already opens (``opened_by_title``, its case) is left out: the title also marks
    the notice read, a second link to the same page would not."""
    base = current_app.config["TRACKER_BASE_URL"].rstrip("/")
    linked, last = Markup(""), 0
    for found in _URL.finditer(text):
        url = found.group(0)
        if url != base and not url.startswith(base + "/"):
            continue
        path = url[len(base) :] or "/"
        before = escape(text[last : found.start()])
        last = found.end()
        if path == opened_by_title:
            linked += Markup(before.rstrip())
            continue
        link = Markup('<a href="{0}" title="{0}" class="text-nowrap">打开 →</a>').format(path)
        linked += before + link
    return Markup((linked + escape(text[last:])).strip())


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(sentiment, "sentiment")
    app.add_template_test(reads_unhappy, "read_unhappy")
    app.add_template_test(went_well, "went_well")
    app.add_template_filter(money, "money")
    app.add_template_filter(money_in_wan, "money_in_wan")
    app.add_template_filter(number, "number")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(points, "points")
    app.add_template_filter(hours, "hours")
    app.add_template_filter(mask_phone, "mask_phone")
    app.add_template_filter(lapses, "lapses")
    app.add_template_filter(ago, "ago")
    app.add_template_filter(day_label, "day_label")
    app.add_template_filter(describe_day, "shift_day")
    app.add_template_filter(segment_label, "segment_label")
    app.add_template_filter(why_label, "erased_why")
    app.add_template_filter(mask_nick, "mask_nick")
    app.add_template_filter(own_links, "own_links")
    app.add_template_global(countdown, "countdown")
    app.add_template_global(late_by, "late_by")
    app.add_template_global(window_closing, "window_closing")
    app.add_template_global(window_countdown, "window_countdown")
