"""What supervisors see: figures for a period and shop, broken down and over time, each
agent's load, and the case export. The arithmetic is ``tracker.domain.figures``; this module
only reads the database, in a few narrow queries (durations are computed by the database)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker.clock import OUT_OF_CALENDAR, within_calendar
from tracker.dbtypes import UTCDateTime, days_between, seconds_between
from tracker.domain import case_flow
from tracker.domain.figures import FactTable, Figures, figures, per_bucket
from tracker.domain.triage import CaseKind
from tracker.models import (
    AuditEvent,
    Case,
    CaseReason,
    CaseSuggestion,
    CaseSurvey,
    ContactAttempt,
    Order,
    OrderLine,
    Product,
    Remedy,
    Review,
    User,
)
from tracker.models.enums import CaseOutcome, CaseStatus, Rating, Reason
from tracker.models.reviews import UNHAPPY
from tracker.models.surveys import RESOLVED
from tracker.services import contact_log, follow_ups, review_counts
from tracker.services.cases import rules_of
from tracker.services.confirmations import FOUND, count_waiting
from tracker.services.errors import FieldError
from tracker.services.surveys import CsatRow, csat

MAX_DAYS = 366
KIND_LABELS = {"bad": "差评", "neutral": "中评", "hidden_negative": "好评但文字负面"}
BREAKDOWNS = {
    "agent": "客服",
    "product": "商品",
    "category": "类目",
    "reason": "原因",
    "rating": "评价等级",
}
UNASSIGNED = "（未分配）"


def _refuse_outside_calendar(field: str, day: date) -> None:
    if not within_calendar(day):
        raise FieldError(field, OUT_OF_CALENDAR)


@dataclass(frozen=True)
class Period:
    """Whole local days, ``start`` to ``end`` inclusive."""

    start: date
    end: date
    tz: ZoneInfo

    @classmethod
    def parse(cls, start: str | None, end: str | None, tz: ZoneInfo, *, today: date) -> Period:
        try:
            last = date.fromisoformat(end) if end else today
        except ValueError as exc:
            raise FieldError("end", f"结束日期 {end!r} 不是 YYYY-MM-DD 格式。") from exc
        # checked before the default start is counted back from it: 0001-01-01 less 29
        # days is no date (an OverflowError, a 500)
        _refuse_outside_calendar("end", last)
        try:
            first = date.fromisoformat(start) if start else last - timedelta(days=29)
        except ValueError as exc:
            raise FieldError("start", f"开始日期 {start!r} 不是 YYYY-MM-DD 格式。") from exc
        _refuse_outside_calendar("start", first)
        if first > last:
            raise FieldError("start", "开始日期不能晚于结束日期。")
        if (last - first).days >= MAX_DAYS:
            raise FieldError("start", f"时间段最长 {MAX_DAYS} 天。")
        return cls(first, last, tz)

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=self.tz)

    @property
    def end_utc(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Facts:
    """The period's cases: their figures' inputs (``table``) and what they are grouped by,
    row for row."""

    table: FactTable
    case_ids: list[int]
    day: np.ndarray  # days since the period's start (local)
    owner_id: list[int | None]
    product_id: list[int | None]
    category: list[str | None]
    kind: list[str]
    reasons: dict[Reason, list[int]]  # reason -> row numbers (if loaded with_reasons)
    with_reasons: bool = False

    def __len__(self) -> int:
        return len(self.case_ids)


@dataclass(frozen=True)
class Row:
    label: str
    figures: Figures


@dataclass(frozen=True)
class Triage:
    """How far the shop's staff trusted the triage in the period, by their own word: hidden
    negatives opened (from the score or from 待确认) and how many proved 误报; the 待确认
    decisions made. Staff judgments, not the platform's: labelled so on the page."""

    hidden_opened: int = 0
    hidden_false_alarms: int = 0
    confirmed: int = 0  # 待确认 → 是差评
    dismissed: int = 0  # 待确认 → 误报
    found: int = 0  # read as happy, a person found the complaint (评价 → 是差评，开案件)


@dataclass(frozen=True)
class Dashboard:
    period: Period
    by: str
    totals: Figures
    rows: list[Row]
    overdue_now: int  # the whole shop, whatever the period
    appeals: dict[str, int] = field(default_factory=dict)  # by state, and removed
    triage: Triage = field(default_factory=Triage)

    @property
    def false_alarms(self) -> int:
        """Dismissed hidden negatives: outside every other figure."""
        return self.totals.false_alarms


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]


@dataclass
class Trends:
    grain: str  # day or week
    labels: list[str]
    figures: list[Figures]
    reviews: list[Series] = field(default_factory=list)  # incoming, by rating and sentiment
    products: list[Series] = field(default_factory=list)  # neutral + bad reviews, top products
    reasons: list[Series] = field(default_factory=list)  # cases opened per reason
    unfinished: str | None = None  # the last label's day or week, when it has not ended
    as_of: datetime | None = None  # ...its figures being those until then

    def up_to(self, shown: int) -> None:
        """Only the first ``shown`` buckets: days not yet begun have no figures to draw (as
        zeros, they read as a shop whose cases stopped)."""
        self.labels, self.figures = self.labels[:shown], self.figures[:shown]
        for group in (self.reviews, self.products, self.reasons):
            group[:] = [Series(s.label, s.values[:shown]) for s in group]


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    name: str
    open: int
    overdue: int
    follow_ups_today: int
    follow_ups_missed: int  # of those, the ones whose time passed with no contact since
    closed_30d: int
    recovered_30d: int

    @property
    def recovery_rate(self) -> float | None:
        return self.recovered_30d / self.closed_30d if self.closed_30d else None


# -- facts -----------------------------------------------------------------------------------
def _opened_in(shop_id: int, period: Period) -> Any:
    return sa.and_(
        Case.shop_id == shop_id,
        Case.opened_at >= period.start_utc,
        Case.opened_at < period.end_utc,
    )


def _in_period(shop_id: int, period: Period) -> Any:
    """The period's cases that count: a dismissed false alarm (误报) never needed
    recovering, so it is left out of every figure and counted apart."""
    return sa.and_(_opened_in(shop_id, period), Case.status.in_(case_flow.COUNTED))


def appeals(session: Session, shop_id: int, period: Period) -> dict[str, int]:
    """The period's appeals still standing, by state (submitted, accepted, rejected); those
    the platform removed are the figures' ``appeals_removed``."""
    counts = dict.fromkeys(("submitted", "accepted", "rejected"), 0)
    for state, n in session.execute(
        sa.select(Case.appeal_state, sa.func.count())
        .where(
            _opened_in(shop_id, period),
            Case.appeal_state.is_not(None),
            Case.status != CaseStatus.REMOVED,
        )
        .group_by(Case.appeal_state)
    ):
        counts[state.value] = n
    return counts


def triage(session: Session, shop_id: int, period: Period) -> Triage:
    """Hidden negatives opened in the period and their 误报; 待确认 decided in it."""
    opened, false_alarms = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Case.outcome == CaseOutcome.FALSE_ALARM),
        ).where(_opened_in(shop_id, period), Case.kind == CaseKind.HIDDEN_NEGATIVE)
    ).one()
    decided = dict(
        session.execute(
            sa.select(AuditEvent.new_value, sa.func.count())
            .join(Review, Review.id == AuditEvent.entity_id)
            .where(
                AuditEvent.entity_type == "review",
                AuditEvent.field == "confirmation",
                AuditEvent.occurred_at >= period.start_utc,
                AuditEvent.occurred_at < period.end_utc,
                Review.shop_id == shop_id,
            )
            .group_by(AuditEvent.new_value)
        ).all()
    )
    return Triage(
        hidden_opened=opened or 0,
        hidden_false_alarms=false_alarms or 0,
        confirmed=decided.get("是差评", 0),
        dismissed=decided.get("误报", 0),
        found=decided.get(FOUND, 0),
    )


def _plain_rows(session: Session, query: sa.Select) -> list[tuple[Any, ...]]:
    """The DBAPI's own tuples, for queries of plain numbers and strings (no column needs a
    result processor): building SQLAlchemy rows for tens of thousands of cases cost about a
    third of the dashboard's time."""
    result = session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def load_facts(
    session: Session, shop_id: int, period: Period, *, now: datetime, with_reasons: bool = False
) -> Facts:
    """Every case opened in the period, false alarms and appeal removals included (the
    figures leave them out of every rate and count them apart).

    Tens of thousands of rows per view: the queries run on the Core connection (no ORM row
    processing) and return plain numbers. Each case's reasons are read only when asked for
    (the reason breakdown, the export): they are as many rows again."""
    start = sa.literal(period.start_utc, UTCDateTime())
    is_open = Case.status.in_(case_flow.OPEN)
    recovered = Case.outcome.in_(case_flow.VERIFIED_OUTCOMES)
    never_tried = Case.first_attempt_at.is_(None)
    flag = lambda condition: sa.case((condition, 1), else_=0)  # noqa: E731
    rows = _plain_rows(
        session,
        sa.select(
            Case.id,
            Case.owner_id,
            Case.product_id,
            Product.category,
            Case.kind,
            days_between(start, Case.opened_at),
            # FactTable's fields, in order, up to remedy_cost
            seconds_between(Case.opened_at, Case.first_attempt_at),
            Case.first_attempt_work_seconds,
            seconds_between(Case.opened_at, Case.first_conversation_at),
            Case.first_conversation_work_seconds,
            sa.case((recovered, seconds_between(Case.opened_at, Case.closed_at))),
            sa.case(  # not judged: not yet due, or the buyer asked us to stop by then
                (
                    never_tried,
                    sa.case(
                        (contact_log.buyer_stopped(Case.first_contact_due_at), None),
                        (Case.first_contact_due_at < now, 0),
                    ),
                ),
                (Case.first_attempt_at <= Case.first_contact_due_at, 1),
                else_=0,
            ),
            flag(is_open),
            flag(recovered),
            flag(is_open & contact_log.first_contact_overdue(now)),
            Case.attempt_count,
            flag(Case.outcome == CaseOutcome.MANUAL_RECOVERED),
            flag(Case.outcome == CaseOutcome.PROMISE_BROKEN),
            flag(Case.outcome == CaseOutcome.SATISFIED_UNCHANGED),
            flag(Case.status == CaseStatus.DISMISSED),
            flag(Case.status == CaseStatus.REMOVED),
        )
        .outerjoin(Product, Product.id == Case.product_id)
        .where(_opened_in(shop_id, period))
        .order_by(Case.id),
    )
    row_of = {row[0]: i for i, row in enumerate(rows)}
    extra = np.zeros((len(rows), 4))  # remedy_cost, suggested, mentioned, converted
    period_filter = _opened_in(shop_id, period)
    for case_id, cost in (
        session.connection()
        .execute(
            sa.select(Remedy.case_id, sa.func.sum(Remedy.cost))
            .join(Case, Case.id == Remedy.case_id)
            .where(period_filter)
            .group_by(Remedy.case_id)
        )
        .all()
    ):
        extra[row_of[case_id], 0] = float(cost)
    mentioned = CaseSuggestion.mentioned_at.is_not(None)
    for case_id, shown, said, bought in (
        session.connection()
        .execute(
            sa.select(
                CaseSuggestion.case_id,
                sa.func.count(),
                sa.func.count(CaseSuggestion.mentioned_at),
                sa.func.count(sa.case((mentioned & CaseSuggestion.converted_at.is_not(None), 1))),
            )
            .join(Case, Case.id == CaseSuggestion.case_id)
            .where(period_filter)
            .group_by(CaseSuggestion.case_id)
        )
        .all()
    ):
        extra[row_of[case_id], 1:] = (shown, said, bought)
    by_value: dict[str, list[int]] = defaultdict(list)
    if with_reasons:
        query = (
            sa.select(CaseReason.case_id, sa.type_coerce(CaseReason.reason, sa.String))
            .join(Case, Case.id == CaseReason.case_id)
            .where(period_filter)
        )
        for case_id, reason in _plain_rows(session, query):
            by_value[reason].append(row_of[case_id])
    reasons = {Reason(value): rows for value, rows in by_value.items()}
    columns = list(zip(*rows, strict=True)) if rows else [()] * 21
    numbers = np.array(columns[6:], dtype=float).T.reshape(len(rows), 15)
    # julianday() arithmetic on SQLite is off by microseconds: whole seconds suffice
    for col in (0, 2, 4):
        numbers[:, col] = np.round(numbers[:, col])
    table = FactTable.from_rows(np.hstack([numbers, extra]))
    return Facts(
        table=table,
        case_ids=list(columns[0]),
        day=np.array(columns[5], dtype=int),
        owner_id=list(columns[1]),
        product_id=list(columns[2]),
        category=list(columns[3]),
        kind=list(columns[4]),
        reasons=reasons,
        with_reasons=with_reasons,
    )


# -- dashboard -------------------------------------------------------------------------------
def _names(session: Session, model: Any, column: Any, ids: Iterable[int | None]) -> dict:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(model.id, column).where(model.id.in_(wanted))).all())


def _groups(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    rows: dict[Hashable, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        rows[key].append(i)
    return rows


def breakdown(session: Session, facts: Facts, by: str) -> list[Row]:
    """Figures per agent, product, category, reason or rating; a case with several reasons
    counts once under each of them."""
    if by == "agent":
        groups = _groups(facts.owner_id)
        names = _names(session, User, User.display_name, groups)
        labels = {k: names.get(k, UNASSIGNED) for k in groups}
    elif by == "product":
        groups = _groups(facts.product_id)
        names = _names(session, Product, Product.title, groups)
        labels = {k: names.get(k, "（未关联商品）") for k in groups}
    elif by == "category":
        groups = _groups(facts.category)
        labels = {k: k or "（无类目）" for k in groups}
    elif by == "reason":
        if not facts.with_reasons:
            raise ValueError("load_facts(..., with_reasons=True) first")
        groups = dict(facts.reasons)
        tagged = {i for rows in groups.values() for i in rows}
        if len(tagged) < len(facts):
            groups[None] = [i for i in range(len(facts)) if i not in tagged]
        labels = {k: k.label if isinstance(k, Reason) else "（未标注）" for k in groups}
    elif by == "rating":
        groups = _groups(facts.kind)
        labels = {k: KIND_LABELS.get(str(k), str(k)) for k in groups}
    else:
        raise FieldError("by", f"无法按 {by!r} 分组。")
    rows = [Row(labels[k], figures(facts.table, np.array(v, dtype=int))) for k, v in groups.items()]
    return sorted(rows, key=lambda r: (-r.figures.cases, r.label))


def overdue_now(session: Session, shop_id: int, *, now: datetime) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Case)
            .where(
                Case.shop_id == shop_id,
                Case.status.in_(case_flow.OPEN),
                contact_log.first_contact_overdue(now),
            )
        )
        or 0
    )


def dashboard(
    session: Session,
    shop_id: int,
    period: Period,
    *,
    now: datetime,
    by: str = "agent",
    facts: Facts | None = None,
) -> Dashboard:
    """``facts``: already loaded for this period (the page shares them with the trends)."""
    if facts is None:
        facts = load_facts(session, shop_id, period, now=now, with_reasons=by == "reason")
    totals = figures(facts.table)
    return Dashboard(
        period=period,
        by=by,
        totals=totals,
        rows=breakdown(session, facts, by),
        overdue_now=overdue_now(session, shop_id, now=now),
        appeals=appeals(session, shop_id, period) | {"removed": totals.appeals_removed},
        triage=triage(session, shop_id, period),
    )


@dataclass(frozen=True)
class ShopSummary:
    """One shop's line where a supervisor of several shops compares them."""

    totals: Figures  # the period's cases, as the shop's own dashboard counts them
    overdue_now: int  # open and past the first-contact deadline, whatever the period
    waiting: int  # good ratings waiting in 待确认 now
    # 满意度回访 of the cases closed in the period, as the dashboard's table counts them;
    # None: none sent
    survey: CsatRow | None = None


def shop_summary(session: Session, shop_id: int, period: Period, *, now: datetime) -> ShopSummary:
    """The figures a shop's dashboard leads with, for the comparison of shops."""
    facts = load_facts(session, shop_id, period, now=now)
    return ShopSummary(
        totals=figures(facts.table),
        overdue_now=overdue_now(session, shop_id, now=now),
        waiting=count_waiting(session, shop_id, now=now),
        survey=next(iter(csat(session, shop_id, period.start_utc, period.end_utc, "shop")), None),
    )


# -- trends ----------------------------------------------------------------------------------
def _buckets(period: Period, grain: str) -> tuple[list[str], Any]:
    """Labels and a day-index -> bucket-index function; weeks start on Monday. A week the
    period cuts says how many of its days it holds (11-02 周（4天）): drawn beside whole weeks,
    it would read as a drop."""
    if grain == "day":
        labels = [(period.start + timedelta(days=i)).strftime("%m-%d") for i in range(period.days)]
        return labels, lambda day: day
    if grain != "week":
        raise FieldError("grain", f"无法按 {grain!r} 汇总。")
    offset = period.start.weekday()
    weeks = (period.days + offset + 6) // 7
    first_monday = period.start - timedelta(days=offset)
    labels = []
    for i in range(weeks):
        held = min(7 * (i + 1) - offset, period.days) - max(7 * i - offset, 0)
        name = (first_monday + timedelta(weeks=i)).strftime("%m-%d 周")
        labels.append(name if held == 7 else f"{name}（{held}天）")
    return labels, lambda day: (day + offset) // 7


def trends(
    session: Session,
    shop_id: int,
    period: Period,
    *,
    now: datetime,
    grain: str = "day",
    facts: Facts | None = None,
) -> Trends:
    labels, bucket = _buckets(period, grain)
    if facts is None:
        facts = load_facts(session, shop_id, period, now=now)
    buckets = bucket(facts.day) if len(facts) else np.zeros(0, dtype=int)
    result = Trends(grain, labels, per_bucket(facts.table, buckets, len(labels)))
    start = sa.literal(period.start_utc, UTCDateTime())
    opened_day = days_between(start, Case.opened_at)
    per_reason: dict[str, list[float | None]] = {}
    for d, reason, count in session.connection().execute(
        sa.select(opened_day, sa.type_coerce(CaseReason.reason, sa.String), sa.func.count())
        .join(Case, Case.id == CaseReason.case_id)
        .where(_in_period(shop_id, period))
        .group_by(opened_day, CaseReason.reason)
    ):
        per_reason.setdefault(reason, [0.0] * len(labels))[bucket(d)] += count  # type: ignore[operator]
    result.reasons = sorted(
        (Series(Reason(r).label, values) for r, values in per_reason.items()),
        key=lambda s: -sum(v or 0 for v in s.values),
    )
    by_rating = {r: [0.0] * len(labels) for r in Rating}
    negative_text = [0.0] * len(labels)
    for d, rating, count, negative_count in review_counts.by_day(
        session, shop_id, period.start_utc, period.end_utc
    ):
        by_rating[rating][bucket(d)] += count
        negative_text[bucket(d)] += negative_count
    result.reviews = [Series(r.label, by_rating[r]) for r in Rating]
    result.reviews.append(Series("文字负面", negative_text))
    day = days_between(start, Review.first_posted_at)
    unhappy_reviews = sa.and_(  # in so many words, for the partial index on them
        Review.shop_id == shop_id,
        Review.first_posted_at >= period.start_utc,
        Review.first_posted_at < period.end_utc,
        sa.text(f"reviews.{UNHAPPY}"),
        Review.product_id.is_not(None),
    )
    top = list(
        session.scalars(  # the products with the most neutral and bad reviews
            sa.select(Review.product_id)
            .where(unhappy_reviews)
            .group_by(Review.product_id)
            .order_by(sa.func.count().desc(), Review.product_id)
            .limit(8)
        )
    )
    unhappy = {p: [0.0] * len(labels) for p in top}
    for d, product_id, count in session.connection().execute(
        sa.select(day, Review.product_id, sa.func.count())
        .where(unhappy_reviews, Review.product_id.in_(top))
        .group_by(day, Review.product_id)
    ):
        unhappy[product_id][bucket(d)] += count
    titles = _names(session, Product, Product.title, top)
    result.products = [Series(titles.get(p, str(p)), unhappy[p]) for p in top]
    today = (now.astimezone(period.tz).date() - period.start).days
    if today < period.days:  # the period runs to today or later: trends stop at today
        result.up_to(bucket(today) + 1 if today >= 0 else 0)
        if today >= 0:
            result.unfinished, result.as_of = result.labels[-1], now
            result.labels[-1] += "*"
    return result


# -- agents ----------------------------------------------------------------------------------
def agent_view(
    session: Session, shop_id: int, agents: Sequence[User], *, now: datetime, tz: ZoneInfo
) -> list[AgentLoad]:
    """Each agent's load for fair assignment: open and overdue cases, today's follow-ups
    (and how many of them are missed), and the recovery rate of the cases they closed in
    the last 30 days."""
    ids = [a.id for a in agents]
    if not ids:
        return []
    today_end = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(), tzinfo=tz)
    month_ago = now - timedelta(days=30)
    is_open = Case.status.in_(case_flow.OPEN)
    recovered = Case.outcome.in_(case_flow.VERIFIED_OUTCOMES)
    rows = {
        owner: row
        for owner, *row in session.execute(
            sa.select(
                Case.owner_id,
                sa.func.count(sa.case((is_open, 1))),
                sa.func.count(
                    sa.case(
                        (
                            is_open & contact_log.first_contact_overdue(now),
                            1,
                        )
                    )
                ),
                sa.func.count(sa.case((is_open & (Case.next_follow_up_at < today_end), 1))),
                sa.func.count(sa.case((follow_ups.missed(now), 1))),
                sa.func.count(
                    sa.case(
                        (
                            ~is_open
                            & Case.status.in_(case_flow.COUNTED)
                            & (Case.closed_at >= month_ago),
                            1,
                        )
                    )
                ),
                sa.func.count(sa.case((recovered & (Case.closed_at >= month_ago), 1))),
            )
            .where(Case.shop_id == shop_id, Case.owner_id.in_(ids))
            .group_by(Case.owner_id)
        )
    }
    return [AgentLoad(a.id, a.display_name, *rows.get(a.id, (0,) * 6)) for a in agents]


# -- export ----------------------------------------------------------------------------------
EXPORT_HEADERS = (
    "案件编号",
    "订单编号",
    "开案时间",
    "评价等级",
    "商品",
    "类目",
    "原因",
    "负责人",
    "状态",
    "结果",
    "平台确认",
    "结果依据",
    "买家承诺修改时间",
    "申诉",
    "首次联系时限",
    "首次联系时间",
    "首次联系用时（小时）",
    "首次联系用时（工作小时）",
    "按时首次联系",
    "首次通话时间",
    "首次通话用时（小时）",
    "首次通话用时（工作小时）",
    "联系次数",
    "补偿成本",
    "补偿明细",
    "结案时间",
    "挽回用时（小时）",
    "回访：问题解决了吗",
    "回访评分",
    "回访留言",
    "推荐商品数",
    "通话中提到",
    "提到后30天内下单",
    "买家",
    "评价内容",
    "联系记录",
)


def _verified(outcome: CaseOutcome | None) -> str:
    """是: the platform shows the recovery; 否: a supervisor's word; empty: not recovered."""
    if outcome in case_flow.VERIFIED_OUTCOMES:
        return "是"
    return "否" if outcome is CaseOutcome.MANUAL_RECOVERED else ""


def _survey_cells(survey: CaseSurvey | None) -> list[Any]:
    """问题解决了吗, the score and the buyer's words of an answered 满意度回访; blank cells
    where it was not answered (or, for the first, not asked: answers from before it was)."""
    if survey is None:
        return ["", "", ""]
    solved = RESOLVED.get(survey.resolved or "", "")
    return [solved, survey.score, survey.comment or ""]


def export_rows(
    session: Session, shop_id: int, period: Period, *, now: datetime
) -> list[list[Any]]:
    """One row per case opened in the period, with every per-case figure; local times."""
    facts = load_facts(session, shop_id, period, now=now, with_reasons=True)
    row_of = {case_id: i for i, case_id in enumerate(facts.case_ids)}
    reasons: dict[int, list[str]] = defaultdict(list)
    for reason, rows in facts.reasons.items():
        for i in rows:
            reasons[i].append(reason.label)
    cases = session.scalars(
        sa.select(Case)
        .where(_opened_in(shop_id, period))
        .options(
            joinedload(Case.product),
            joinedload(Case.owner),
            joinedload(Case.buyer),
            joinedload(Case.review),
        )
        .order_by(Case.opened_at, Case.id)
    ).unique()
    cases = list(cases)
    tz = period.tz

    def local(value: datetime | None) -> datetime | str:
        """A naive local time: a date cell in the XLSX, text in the CSV."""
        return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) if value else ""

    ids = [c.id for c in cases]
    tids = dict(
        session.execute(
            sa.select(Case.id, Order.tid)
            .join(Review, Review.id == Case.review_id)
            .join(OrderLine, OrderLine.id == Review.order_line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Case.id.in_(ids))
        ).all()
    )
    remedies: dict[int, list[str]] = defaultdict(list)
    for case_id, kind, amount in session.execute(
        sa.select(Remedy.case_id, Remedy.kind, Remedy.amount)
        .where(Remedy.case_id.in_(ids))
        .order_by(Remedy.created_at)
    ):
        remedies[case_id].append(f"{kind.label} ¥{amount}")
    answered = {  # in order: a case asked again keeps its buyer's last answer
        survey.case_id: survey
        for survey in session.scalars(
            sa.select(CaseSurvey)
            .where(CaseSurvey.case_id.in_(ids), CaseSurvey.answered_at.is_not(None))
            .order_by(CaseSurvey.id)
        )
    }
    notes: dict[int, list[str]] = defaultdict(list)
    shop_rules = rules_of(session, shop_id)  # 已接通-同意修改, or 同意追评 on Tmall
    by_rating = {rating: shop_rules.for_rating(rating) for rating in Rating}
    case_rules = {c.id: by_rating[c.review.rating] for c in cases}  # a 好评's: 同意追评
    for case_id, at, channel, outcome, text in session.execute(
        sa.select(
            ContactAttempt.case_id,
            ContactAttempt.attempted_at,
            ContactAttempt.channel,
            ContactAttempt.outcome,
            ContactAttempt.notes,
        )
        .where(ContactAttempt.case_id.in_(ids))
        .order_by(ContactAttempt.attempted_at)
    ):
        said = f"：{text}" if text else ""
        notes[case_id].append(
            f"{at.astimezone(tz):%m-%d %H:%M} {case_rules[case_id].channel_label(channel)}·"
            f"{case_rules[case_id].attempt_label(outcome)}{said}"
        )

    def hours(seconds: float) -> float | str:
        return "" if math.isnan(seconds) else round(seconds / 3600, 2)

    t = facts.table
    out = []
    for case in cases:
        i = row_of[case.id]
        on_time = "" if math.isnan(t.on_time[i]) else ("是" if t.on_time[i] == 1 else "否")
        out.append(
            [
                case.id,
                tids.get(case.id, ""),
                local(case.opened_at),
                KIND_LABELS.get(case.kind, case.kind),
                case.product.title if case.product else "",
                facts.category[i] or "",
                "、".join(reasons[i]),
                case.owner.display_name if case.owner else "",
                case.status.label,
                case.outcome.label if case.outcome else "",
                _verified(case.outcome),
                case.outcome_note or "",
                local(case.promised_at),
                case.appeal_state.label if case.appeal_state else "",
                local(case.first_contact_due_at),
                local(case.first_attempt_at),
                hours(t.wait_s[i]),
                hours(t.wait_work_s[i]),
                on_time,
                local(case.first_conversation_at),
                hours(t.talk_s[i]),
                hours(t.talk_work_s[i]),
                int(t.attempts[i]),
                Decimal(f"{t.remedy_cost[i]:.2f}"),
                "；".join(remedies[case.id]),
                local(case.closed_at),
                hours(t.recovery_s[i]),
                *_survey_cells(answered.get(case.id)),
                int(t.suggested[i]),
                int(t.mentioned[i]),
                int(t.converted[i]),
                case.buyer.platform_nick if case.buyer else "",
                case.review.text,
                "\n".join(notes[case.id])[:2000],
            ]
        )
    return out
