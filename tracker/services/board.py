"""The case board: which cases an agent sees, in which order, with what on each card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tracker.domain import case_flow
from tracker.models import (
    Buyer,
    Case,
    CaseReason,
    Order,
    OrderLine,
    Product,
    Review,
    User,
    user_shops,
)
from tracker.models.enums import CaseOutcome, CaseStatus, Rating, Reason
from tracker.models.surveys import RESOLVED, UNSOLVED, CaseSurvey
from tracker.services import alerts, browse, confirmations, contact_log, follow_ups, shifts
from tracker.services.contact_handles import EXPIRES_SOON, FIRST_LAPSE, lapses_soon
from tracker.services.survey_answers import counted_surveys, unheeded
from tracker.sql_text import anywhere, contains_text
from tracker.text_index import review_says

SCOPES = ("default", "mine", "unassigned", "all")
# The kanban's closed columns show what was closed lately, as a done column does: counting
# and sorting every case the shop ever closed (they only grow) would make the board slower
# each month. The list view (status filter) browses all of them.
CLOSED_RECENTLY = timedelta(days=7)
# The kanban's columns. 误报 and 申诉删除 close a case outside recovery and are rare: they live
# in the list view (状态 filter), not in columns a phone would have to swipe past.
COLUMNS = (
    CaseStatus.NEW,
    CaseStatus.CONTACTING,
    CaseStatus.WAITING,
    CaseStatus.RECOVERED,
    CaseStatus.UNRECOVERED,
)
SORTS = {
    "deadline": (Case.first_contact_due_at.asc(), Case.id.asc()),
    "priority": (Case.priority.asc(), Case.first_contact_due_at.asc(), Case.id.asc()),
    "newest": (Case.opened_at.desc(), Case.id.desc()),
    "oldest": (Case.opened_at.asc(), Case.id.asc()),
    "follow_up": (Case.next_follow_up_at.asc().nulls_last(), Case.id.asc()),  # as on PostgreSQL
    "window": (Case.revision_window_ends_at.asc(), Case.id.asc()),
    "closed": (Case.closed_at.desc().nulls_last(), Case.id.desc()),
}


@dataclass(frozen=True)
class BoardFilter:
    shop_ids: tuple[int, ...]
    scope: str = "default"  # default: mine first, then unassigned
    status: CaseStatus | None = None  # None: every open status
    include_closed: bool = False
    closed_since: datetime | None = None  # with include_closed: only cases closed after it
    priority: int | None = None
    overdue: bool = False
    due_today: bool = False
    reason: Reason | None = None
    product_id: int | None = None
    owner_id: int | None = None  # one person's cases (a supervisor reassigning a sick agent's)
    rating: Rating | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    q: str = ""
    sort: str = "deadline"
    number_expiring: bool = False  # the buyer's number lapses within EXPIRES_SOON
    unseen_on_platform: bool = False  # asked for again, the platform did not return it
    # the buyer answered the 满意度回访 that the problem is not (all) solved: the reopened
    # cases, and with the status 全部 the closed ones too
    survey_unsolved: bool = False
    # …and nobody has talked to the buyer since, reopened or not
    # (:func:`survey_answers.unheeded`): closed cases too, whatever the status's default
    survey_unheeded: bool = False
    # an open case whose 下次跟进 has passed with no contact since (logging one sets the
    # next): a call-back the buyer was promised, or a check on a problem in hand, not made
    follow_up_missed: bool = False


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=tz)
    return start, start + timedelta(days=1)


def matching_ids(f: BoardFilter, *, user_id: int, now: datetime, tz: ZoneInfo) -> sa.Select:
    """The ids of the cases matching the filter, in board order (:func:`cards` loads them)."""
    return (
        sa.select(Case.id)
        .where(*_conditions(f, user_id=user_id, now=now, tz=tz))
        .order_by(*_order(f, user_id))
    )


def listing(
    session: Session, f: BoardFilter, *, user_id: int, now: datetime, tz: ZoneInfo
) -> browse.Search[int]:
    """The list view's case ids in board order, and how many when a search knows.

    A search is tested case by case (:func:`_matches`), so counting its matches and then
    reading a page of them walked every case of the shop twice: 420 ms on PostgreSQL for a
    shop with 100,000 cases and two million reviews, with 全部 chosen. The matching ids are
    read once instead, in board order, up to ``SEARCH_LIMIT``, and the page is read by id;
    a search that matches more lists its first ``SEARCH_LIMIT`` (超过 2,000 个)."""
    stmt = matching_ids(f, user_id=user_id, now=now, tz=tz)
    if not f.q:
        return browse.Search(stmt)
    limit = browse.SEARCH_LIMIT
    found = list(session.scalars(stmt.limit(limit + 1)))
    by_id = sa.select(Case.id).where(Case.id.in_(found[:limit])).order_by(*_order(f, user_id))
    if len(found) > limit:
        return browse.Search(by_id, broad=True)
    return browse.Search(by_id, total=len(found))


def _order(f: BoardFilter, user_id: int, *first: sa.ColumnElement) -> tuple:
    """The chosen sort after ``first``; in the default scope my cases come before all."""
    if f.sort == "number":  # the number that lapses first, while it can still be called
        chosen: tuple = (FIRST_LAPSE.asc().nulls_last(), Case.id.asc())
    else:
        chosen = SORTS.get(f.sort, SORTS["deadline"])
    order = (*first, *chosen)
    if f.scope == "default":
        order = (sa.case((Case.owner_id == user_id, 0), else_=1), *order)
    return order


def _conditions(
    f: BoardFilter, *, user_id: int, now: datetime, tz: ZoneInfo
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Case.shop_id.in_(f.shop_ids)]
    if f.status is not None:
        where.append(Case.status == f.status)
    elif not (f.include_closed or f.survey_unheeded):
        where.append(Case.status.in_(case_flow.OPEN))
    if f.closed_since is not None:
        where.append(sa.or_(Case.status.in_(case_flow.OPEN), Case.closed_at >= f.closed_since))
    if f.scope == "mine":
        where.append(Case.owner_id == user_id)
    elif f.scope == "unassigned":
        where.append(Case.owner_id.is_(None))
    elif f.scope == "default":
        where.append(sa.or_(Case.owner_id == user_id, Case.owner_id.is_(None)))
    if f.priority is not None:
        where.append(Case.priority == f.priority)
    if f.overdue:
        where.append(contact_log.first_contact_overdue(now))
    if f.due_today:  # due within today's calendar day: earlier ones are 已超时
        start, end = _day_bounds(now.astimezone(tz).date(), tz)
        where += [
            Case.first_contact_due_at >= start,
            Case.first_contact_due_at < end,
            contact_log.awaits_first_contact(now),
        ]
    if f.reason is not None:
        where.append(
            Case.id.in_(sa.select(CaseReason.case_id).where(CaseReason.reason == f.reason))
        )
    if f.product_id is not None:
        where.append(Case.product_id == f.product_id)
    if f.owner_id is not None:
        where.append(Case.owner_id == f.owner_id)
    if f.rating is not None:
        where.append(Case.review_id.in_(sa.select(Review.id).where(Review.rating == f.rating)))
    if f.opened_from is not None:
        where.append(Case.opened_at >= _day_bounds(f.opened_from, tz)[0])
    if f.opened_to is not None:
        where.append(Case.opened_at < _day_bounds(f.opened_to, tz)[1])
    if f.q:
        where.append(_matches(f.q.strip(), f.shop_ids))
    if f.number_expiring:
        where += [now < FIRST_LAPSE, now + EXPIRES_SOON >= FIRST_LAPSE]
    if f.unseen_on_platform:  # the case's own review, looked up by key: no scan of reviews
        unseen = sa.select(Review.unseen_since).where(Review.id == Case.review_id)
        where.append(unseen.scalar_subquery().is_not(None))
    if f.follow_up_missed:
        where.append(follow_ups.missed(now))
    if f.survey_unsolved:  # the buyer's last word, as the survey table counts it
        counted = counted_surveys(*f.shop_ids)
        where.append(
            Case.id.in_(
                sa.select(counted.c.case_id)
                .join(CaseSurvey, CaseSurvey.id == counted.c.survey_id)
                .where(CaseSurvey.resolved.in_(UNSOLVED))
            )
        )
    if f.survey_unheeded:
        where.append(Case.id.in_(unheeded(*f.shop_ids)))
    return where


def _matches(term: str, shop_ids: tuple[int, ...]) -> sa.ColumnElement[bool]:
    """The search box: buyer nick or review text or 追评 (parts of), order number, review key.

    Tested on each case's own review and buyer, not by collecting every matching review
    and buyer of the shop first: a shop has a hundred reviews and ten buyers for each case,
    and scanning them all for a word made a search take a second on a big shop. Scalar
    subqueries, because PostgreSQL may turn an EXISTS into a hash over the whole table.
    """
    pattern = anywhere(term)
    by_order = (
        sa.select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.shop_id.in_(shop_ids), Order.tid == term)
    )
    nick_matches = (
        sa.select(contains_text(Buyer.platform_nick, term))
        .where(Buyer.id == Case.buyer_id)
        .scalar_subquery()
    )
    review_matches = (
        sa.select(
            sa.or_(
                review_says(term),
                Review.platform_key.like(f"{pattern[1:-1]}:%", escape="\\"),
                Review.order_line_id.in_(by_order),
            )
        )
        .where(Review.id == Case.review_id)
        .scalar_subquery()
    )
    return sa.or_(nick_matches.is_(True), review_matches.is_(True))


@dataclass(frozen=True, slots=True)
class Card:
    """What a kanban card, a list row or a follow-up line shows, as plain values.

    Read in one joined query: loading a hundred cases as ORM objects with their review,
    buyer, product, owner and reasons cost the board more than its SQL did.
    """

    id: int
    priority: int
    status: CaseStatus
    outcome: CaseOutcome | None
    is_hidden_negative: bool
    attempt_count: int
    first_attempt_at: datetime | None
    first_contact_due_at: datetime
    next_follow_up_at: datetime | None
    revision_window_ends_at: datetime
    rating: Rating
    posted_at: datetime  # when the buyer wrote it: an imported review may be days old
    text: str
    follow_up_text: str | None
    nick: str | None
    product_title: str | None
    owner_name: str | None
    owner_id: int | None  # who reads their own card is told 你
    number_expires_at: datetime | None
    same_buyer_open: int  # the buyer's other open cases: one buyer, one agent, one call
    reasons: tuple[Reason, ...]
    unseen_since: datetime | None = None  # the platform stopped returning the review
    stopped_at: datetime | None = None  # the buyer asked us to stop (买家要求勿扰)
    survey_resolved: str | None = None  # the buyer's last answer to 问题解决了吗
    closed_at: datetime | None = None  # the list sorted by 最近结案 says when
    follow_up_held: follow_ups.HeldBack | None = None  # the policy will refuse the 下次跟进
    follow_up_owner_off: shifts.Unable | None = None  # …or its owner will be off then

    @property
    def shows_follow_up(self) -> bool:
        """An open case with a 下次跟进: the lines that give its time."""
        return self.is_open and self.next_follow_up_at is not None

    @property
    def survey_said(self) -> str | None:
        """The buyer's last answer when the problem is not (all) solved, in their words."""
        return RESOLVED[self.survey_resolved] if self.survey_resolved in UNSOLVED else None

    @property
    def is_open(self) -> bool:
        return self.status in case_flow.OPEN

    def number_lapses_soon(self, now: datetime) -> bool:
        """Worth a warning: a number nobody may call (勿扰) need not be kept."""
        return self.is_open and self.stopped_at is None and lapses_soon(self.number_expires_at, now)


_CARD_COLUMNS = (
    Case.id,
    Case.priority,
    Case.status,
    Case.outcome,
    Case.is_hidden_negative,
    Case.attempt_count,
    Case.first_attempt_at,
    Case.first_contact_due_at,
    Case.next_follow_up_at,
    Case.revision_window_ends_at,
    Review.rating,
    Review.posted_at,
    Review.text,
    Review.follow_up_text,
    Review.unseen_since,
    Case.closed_at,
    Buyer.platform_nick.label("nick"),
    Buyer.do_not_contact_at.label("stopped_at"),
    Product.title.label("product_title"),
    User.display_name.label("owner_name"),
    Case.owner_id,
)


# A case's reason codes, comma-joined, on the card's own row: one query per set of cards
# instead of two (codes are short words without commas).
_REASON_CODES = (
    sa.select(sa.func.aggregate_strings(CaseReason.reason, ","))
    .where(CaseReason.case_id == Case.id)
    .scalar_subquery()
    .label("reason_codes")
)


# The buyer's last answer to 问题解决了吗 (a case is asked at most twice), by the case's index.
_SURVEY_RESOLVED = (
    sa.select(CaseSurvey.resolved)
    .where(CaseSurvey.case_id == Case.id, CaseSurvey.answered_at.is_not(None))
    .order_by(CaseSurvey.id.desc())
    .limit(1)
    .scalar_subquery()
    .label("survey_resolved")
)


_SIBLING = aliased(Case)
_SAME_BUYER_OPEN = (
    sa.select(sa.func.count())
    .select_from(_SIBLING)
    .where(
        _SIBLING.buyer_id == Case.buyer_id,
        _SIBLING.id != Case.id,
        _SIBLING.status.in_(case_flow.OPEN),
    )
    .scalar_subquery()
    .label("same_buyer_open")
)


def cards(
    session: Session,
    case_ids: Sequence[int],
    *,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
) -> list[Card]:
    """The cards of these cases, in the order given (one gone meanwhile is left out). Given
    ``now`` and ``tz``, an open case's 下次跟进 the contact policy will refuse is marked
    (:func:`follow_ups.held_back_by_case`), and one still to come that falls while its owner
    is off (:func:`follow_ups.owners_off_by_case`): lists that show follow-up times pass them."""
    if not case_ids:
        return []
    rows = session.execute(
        sa.select(
            *_CARD_COLUMNS,
            FIRST_LAPSE.label("number_expires_at"),
            _SAME_BUYER_OPEN,
            _REASON_CODES,
            _SURVEY_RESOLVED,
        )
        .join(Review, Review.id == Case.review_id)
        .outerjoin(Buyer, Buyer.id == Case.buyer_id)
        .outerjoin(Product, Product.id == Case.product_id)
        .outerjoin(User, User.id == Case.owner_id)
        .where(Case.id.in_(case_ids))
    )
    by_id = {}
    for row in rows:
        fields = dict(row._mapping)
        codes = fields.pop("reason_codes")
        reasons = sorted(
            (Reason(c) for c in codes.split(",")) if codes else (), key=_REASON_ORDER.get
        )
        by_id[row.id] = Card(**fields, reasons=tuple(reasons))
    if now is not None and tz is not None:
        held = follow_ups.held_back_by_case(
            session,
            ((c.id, c.next_follow_up_at) for c in by_id.values() if c.shows_follow_up),
            now=now,
            tz=tz,
        )
        for case_id, why in held.items():
            by_id[case_id] = replace(by_id[case_id], follow_up_held=why)
        off = follow_ups.owners_off_by_case(
            session,
            (
                (c.id, c.next_follow_up_at)
                for c in by_id.values()
                if c.shows_follow_up and c.next_follow_up_at > now  # type: ignore[operator]
            ),
            tz=tz,
        )
        for case_id, unable in off.items():
            by_id[case_id] = replace(by_id[case_id], follow_up_owner_off=unable)
    return [by_id[case_id] for case_id in case_ids if case_id in by_id]


_REASON_ORDER = {reason: i for i, reason in enumerate(Reason)}  # tags in a stable order


@dataclass(frozen=True)
class Kanban:
    columns: dict[CaseStatus, list[Card]]
    counts: dict[CaseStatus, int]


def closed_window(f: BoardFilter) -> timedelta | None:
    """How far back the kanban's closed columns go: the last week (:data:`CLOSED_RECENTLY`),
    or all of it for 回访说没解决 — a buyer answers days after the closing (the survey goes
    within days, its link works a week), the cases are few, and one closed eight days ago
    and answered yesterday is exactly what the filter is for."""
    return None if f.survey_unsolved or f.survey_unheeded else CLOSED_RECENTLY


def kanban(
    session: Session,
    f: BoardFilter,
    *,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    per_column: int = 20,  # a screen and a half; the list view pages through the rest
) -> Kanban:
    """The first cards of each status column and each column's count, the closed columns
    only with cases closed in the last week (:func:`closed_window`), last closed first.

    One query ranks every matching case within its column and counts the column (window
    functions), instead of a count query and one query per column.
    """
    window = closed_window(f)
    where = _conditions(
        replace(
            f,
            status=None,
            include_closed=True,
            closed_since=now - window if window is not None else None,
        ),
        user_id=user_id,
        now=now,
        tz=tz,
    )
    # Closed columns go by closing time, last first; open ones by the chosen sort. Open
    # cases have no closing time, so the first key ties for them and the sort decides.
    last_closed = sa.case((Case.status.in_(case_flow.CLOSED), Case.closed_at))
    order = _order(f, user_id, last_closed.desc().nulls_last())
    # Partitioned by the status's position, not its text: sorting three thousand rows by
    # a collated string first took half the query's time on PostgreSQL.
    column = sa.case({status.value: i for i, status in enumerate(CaseStatus)}, value=Case.status)
    ranked = (
        sa.select(
            Case.id,
            Case.status,
            sa.func.row_number().over(partition_by=column, order_by=order).label("rank"),
            sa.func.count().over(partition_by=column).label("total"),
        )
        .where(*where, Case.status.in_(COLUMNS))
        .subquery()
    )
    picked: dict[CaseStatus, list[int]] = {status: [] for status in COLUMNS}
    counts = dict.fromkeys(COLUMNS, 0)
    for case_id, status, total in session.execute(
        sa.select(ranked.c.id, ranked.c.status, ranked.c.total)
        .where(ranked.c.rank <= per_column)
        .order_by(ranked.c.status, ranked.c.rank)
    ):
        picked[status].append(case_id)
        counts[status] = total
    shown = [i for ids in picked.values() for i in ids]
    by_id = {card.id: card for card in cards(session, shown, now=now, tz=tz)}
    return Kanban({s: [by_id[i] for i in ids if i in by_id] for s, ids in picked.items()}, counts)


def follow_ups_today(
    session: Session, shop_ids: tuple[int, ...], *, user_id: int, now: datetime, tz: ZoneInfo
) -> list[Card]:
    """My open cases with a follow-up scheduled for today (or overdue from earlier)."""
    _, end = _day_bounds(now.astimezone(tz).date(), tz)
    ids = session.scalars(
        sa.select(Case.id)
        .where(
            Case.shop_id.in_(shop_ids),
            Case.owner_id == user_id,
            Case.status.in_(case_flow.OPEN),
            Case.next_follow_up_at.is_not(None),
            Case.next_follow_up_at < end,
        )
        .order_by(Case.next_follow_up_at, Case.id)
        .limit(100)
    )
    return cards(session, list(ids), now=now, tz=tz)


def watermark(session: Session) -> int:
    """The newest case's id anywhere, read as a board is drawn: a case matching the board
    with a higher id was opened after it (:func:`news`). The primary key's end, one read.
    Read before the board's own queries, so a case opened meanwhile is announced as new
    (once more) rather than missed."""
    return session.scalar(sa.select(sa.func.max(Case.id))) or 0


@dataclass(frozen=True)
class News:
    """What changed since a board was drawn: an agent keeps it open all morning, and a case
    opened at 09:05 must not wait for them to reload it (第一时间)."""

    new_cases: int  # opened since, and matching the board's filter (scope included)
    waiting: int  # 待确认 now
    unread: int  # the user's unread notifications (an assignment among them)


NEWS_EVERY_SECONDS = 60  # how often an open board or home page asks news()


def news(
    session: Session, f: BoardFilter, *, after_id: int, user_id: int, now: datetime, tz: ZoneInfo
) -> News:
    """Counts for the board's note, cheap to ask every minute: the new cases are read by id
    above the board's watermark, a handful of rows, whatever the shop's size."""
    new_cases = session.scalar(
        sa.select(sa.func.count())
        .select_from(Case)
        .where(Case.id > after_id, *_conditions(f, user_id=user_id, now=now, tz=tz))
    )
    return News(
        new_cases or 0,
        sum(confirmations.count_waiting(session, shop_id, now=now) for shop_id in f.shop_ids),
        alerts.unread_count(session, user_id),
    )


@dataclass(frozen=True)
class WorkList:
    """One heading of an agent's day: how many, the first few, and the board's filter."""

    label: str
    count: int
    cards: list[Card]
    query: dict[str, str]  # the board/list URL parameters that show all of them
    # what each line gives first: "follow_up" (when to call back, as the board's 今天的跟进),
    # "due" (the first-contact deadline) or "survey" (what the buyer said); None for none
    shows: str | None = None
    hide_empty: bool = False  # a list of exceptions: no card on the page when there are none


def my_day(
    session: Session, shop_ids: tuple[int, ...], *, user_id: int, now: datetime, tz: ZoneInfo
) -> list[WorkList]:
    """What the home page puts first for whoever logs in: my overdue cases, mine due
    today, my follow-ups today, mine still waiting for a first contact, and mine whose
    buyer said 还没有解决 with nobody having talked to them since."""
    lists = [
        _work_list(
            session,
            label,
            BoardFilter(shop_ids, "mine", **criteria),  # type: ignore[arg-type]
            query,
            user_id,
            now,
            tz,
        )
        for label, criteria, query in (
            ("我的超时未联系", {"overdue": True}, {"overdue": "y"}),
            ("我的今天到期", {"due_today": True}, {"due_today": "y"}),
            ("分给我、还没联系", {"status": CaseStatus.NEW}, {"status": CaseStatus.NEW.value}),
        )
    ]
    follow_ups = follow_ups_today(session, shop_ids, user_id=user_id, now=now, tz=tz)
    lists.insert(
        2,
        WorkList(
            "我今天要跟进",
            len(follow_ups),
            follow_ups[:5],
            {"scope": "mine", "sort": "follow_up", "view": "list"},
            shows="follow_up",
        ),
    )
    lists.append(_survey_unheeded(session, shop_ids, "mine", user_id))
    return lists


def team_day(
    session: Session, shop_ids: tuple[int, ...], *, user_id: int, now: datetime, tz: ZoneInfo
) -> list[WorkList]:
    """A supervisor's morning on the home page: the shop's overdue first contacts, those due
    today and the cases nobody has claimed — what to reassign before it is late —, and the
    cases whose buyer said 还没有解决 with nobody having talked to them since."""
    return [
        _work_list(
            session,
            label,
            BoardFilter(shop_ids, scope, **criteria),  # type: ignore[arg-type]
            query,
            user_id,
            now,
            tz,
        )
        for label, scope, criteria, query in (
            ("全店超时未联系", "all", {"overdue": True}, {"overdue": "y"}),
            ("全店今天到期", "all", {"due_today": True}, {"due_today": "y"}),
            ("未分配", "unassigned", {}, {}),
        )
    ] + [_survey_unheeded(session, shop_ids, "all", user_id)]


def _survey_unheeded(
    session: Session, shop_ids: tuple[int, ...], scope: str, user_id: int
) -> WorkList:
    """Cases whose buyer said 还没有解决 after they closed, nobody having talked to them
    since (:func:`survey_answers.unheeded`), last closed first and the reopened ones after:
    on the page only when there are some. The cases the board's 回访说没解决、还没跟进
    lists, read from the answers: its filter walks every case of the shop (SQLite reads
    them by the shop's index and tests each against the answers), 100 ms of a supervisor's
    home page on 100,000 cases."""
    said = unheeded(*shop_ids).subquery()
    ids = sa.select(Case.id).join(said, said.c.case_id == Case.id).order_by(*SORTS["closed"])
    if scope == "mine":
        ids = ids.where(Case.owner_id == user_id)
    found = list(session.scalars(ids))  # few in a shop that goes back; counted as read
    return WorkList(
        "回访说没解决、还没跟进",
        len(found),
        cards(session, found[:5]),
        {"scope": scope, "view": "list", "survey_unheeded": "y", "status": "all", "sort": "closed"},
        shows="survey",
        hide_empty=True,
    )


def _work_list(
    session: Session,
    label: str,
    f: BoardFilter,
    query: dict[str, str],
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> WorkList:
    """How many cases match, the first five and the list URL that shows them all; a list of
    first contacts (overdue, due today) gives each one's deadline."""
    ids = matching_ids(f, user_id=user_id, now=now, tz=tz)
    count = session.scalar(sa.select(sa.func.count()).select_from(ids.subquery())) or 0
    first = list(session.scalars(ids.limit(5)))
    return WorkList(
        label,
        count,
        cards(session, first),
        {"scope": f.scope, "view": "list", **query},
        shows="due" if f.overdue or f.due_today else None,
    )


def assignable_agents(
    session: Session, shop_ids: tuple[int, ...] | sa.Select[tuple[int]]
) -> list[User]:
    """Active staff assigned to any of ``shop_ids`` (a tuple, or a subquery of ids)."""
    return list(
        session.scalars(
            sa.select(User)
            .join(user_shops, user_shops.c.user_id == User.id)
            .where(user_shops.c.shop_id.in_(shop_ids), User.is_active.is_(True))
            .distinct()
            .order_by(User.display_name)
        )
    )
