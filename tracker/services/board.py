"""The case board: which cases an agent sees, in which order, with what on each card."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from tracker.domain import case_flow
from tracker.models import Buyer, Case, CaseReason, Order, OrderLine, Review, User, user_shops
from tracker.models.enums import CaseStatus, Rating, Reason
from tracker.services.browse import contains

SCOPES = ("default", "mine", "unassigned", "all")
# The kanban's closed columns show what was closed lately, as a done column does: counting
# and sorting every case the shop ever closed (they only grow) would make the board slower
# each month. The list view (status filter) browses all of them.
CLOSED_RECENTLY = timedelta(days=7)
SORTS = {
    "deadline": (Case.first_contact_due_at.asc(), Case.id.asc()),
    "priority": (Case.priority.asc(), Case.first_contact_due_at.asc(), Case.id.asc()),
    "newest": (Case.opened_at.desc(), Case.id.desc()),
    "oldest": (Case.opened_at.asc(), Case.id.asc()),
    "follow_up": (Case.next_follow_up_at.asc(), Case.id.asc()),
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
    rating: Rating | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    q: str = ""
    sort: str = "deadline"


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=tz)
    return start, start + timedelta(days=1)


def statement(f: BoardFilter, *, user_id: int, now: datetime, tz: ZoneInfo) -> sa.Select:
    """Cases matching the filter, in board order, with everything a card shows loaded."""
    stmt = sa.select(Case).where(Case.shop_id.in_(f.shop_ids))
    if f.status is not None:
        stmt = stmt.where(Case.status == f.status)
    elif not f.include_closed:
        stmt = stmt.where(Case.status.in_(case_flow.OPEN))
    if f.closed_since is not None:
        stmt = stmt.where(sa.or_(Case.status.in_(case_flow.OPEN), Case.closed_at >= f.closed_since))
    if f.scope == "mine":
        stmt = stmt.where(Case.owner_id == user_id)
    elif f.scope == "unassigned":
        stmt = stmt.where(Case.owner_id.is_(None))
    elif f.scope == "default":
        stmt = stmt.where(sa.or_(Case.owner_id == user_id, Case.owner_id.is_(None)))
    if f.priority is not None:
        stmt = stmt.where(Case.priority == f.priority)
    if f.overdue:
        stmt = stmt.where(Case.first_attempt_at.is_(None), Case.first_contact_due_at < now)
    if f.due_today:
        _, end = _day_bounds(now.astimezone(tz).date(), tz)
        stmt = stmt.where(Case.first_attempt_at.is_(None), Case.first_contact_due_at < end)
    if f.reason is not None:
        stmt = stmt.where(
            Case.id.in_(sa.select(CaseReason.case_id).where(CaseReason.reason == f.reason))
        )
    if f.product_id is not None:
        stmt = stmt.where(Case.product_id == f.product_id)
    if f.rating is not None:
        stmt = stmt.where(Case.review_id.in_(sa.select(Review.id).where(Review.rating == f.rating)))
    if f.opened_from is not None:
        stmt = stmt.where(Case.opened_at >= _day_bounds(f.opened_from, tz)[0])
    if f.opened_to is not None:
        stmt = stmt.where(Case.opened_at < _day_bounds(f.opened_to, tz)[1])
    if f.q:
        stmt = stmt.where(_matches(f.q.strip(), f.shop_ids))
    order = SORTS.get(f.sort, SORTS["deadline"])
    if f.scope == "default":  # my cases first, then the unassigned ones
        order = (sa.case((Case.owner_id == user_id, 0), else_=1), *order)
    return stmt.order_by(*order).options(*card_options())


def _matches(term: str, shop_ids: tuple[int, ...]) -> sa.ColumnElement[bool]:
    """The search box: buyer nick or review text (parts of), order number, review key.

    Tested on each case's own review and buyer, not by collecting every matching review
    and buyer of the shop first: a shop has a hundred reviews and ten buyers for each case,
    and scanning them all for a word made a search take a second on a big shop. Scalar
    subqueries, because PostgreSQL may turn an EXISTS into a hash over the whole table.
    """
    pattern = contains(term)
    by_order = (
        sa.select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.shop_id.in_(shop_ids), Order.tid == term)
    )
    nick_matches = (
        sa.select(Buyer.platform_nick.ilike(pattern, escape="\\"))
        .where(Buyer.id == Case.buyer_id)
        .scalar_subquery()
    )
    review_matches = (
        sa.select(
            sa.or_(
                Review.text.ilike(pattern, escape="\\"),
                Review.platform_key.like(f"{pattern[1:-1]}:%", escape="\\"),
                Review.order_line_id.in_(by_order),
            )
        )
        .where(Review.id == Case.review_id)
        .scalar_subquery()
    )
    return sa.or_(nick_matches.is_(True), review_matches.is_(True))


def card_options() -> tuple:
    """Loaded by primary key for the page's cards only: joined into the board query, every
    matching case (a thousand open ones) was joined to its review, buyer and product before
    the sort kept the first fifty, and under load that cost hundreds of milliseconds."""
    return (
        selectinload(Case.review),
        selectinload(Case.buyer),
        selectinload(Case.product),
        selectinload(Case.owner),
        selectinload(Case.reasons),
    )


def column_counts(
    session: Session, f: BoardFilter, *, user_id: int, now: datetime, tz: ZoneInfo
) -> dict[CaseStatus, int]:
    base = (
        statement(
            replace(
                f,
                status=None,
                include_closed=True,
                closed_since=now - CLOSED_RECENTLY,
                sort="deadline",
            ),
            user_id=user_id,
            now=now,
            tz=tz,
        )
        .order_by(None)
        .options()
    )
    counts = dict.fromkeys(CaseStatus, 0)
    subquery = base.with_only_columns(Case.status).subquery()
    for status, n in session.execute(
        sa.select(subquery.c.status, sa.func.count()).group_by(subquery.c.status)
    ):
        counts[CaseStatus(status)] = n
    return counts


def columns(
    session: Session,
    f: BoardFilter,
    *,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    per_column: int = 20,  # a screen and a half; the list view pages through the rest
) -> dict[CaseStatus, list[Case]]:
    """The kanban view: the first cards of each status column, the closed columns only
    with cases closed in the last week (:data:`CLOSED_RECENTLY`), last closed first.

    Each column picks its case ids; one query then loads every card with what it shows,
    instead of one set of card queries per column.
    """
    picked: dict[CaseStatus, list[int]] = {}
    for status in CaseStatus:
        column = replace(f, status=status)
        if status in case_flow.CLOSED:
            column = replace(column, sort="closed", closed_since=now - CLOSED_RECENTLY)
        stmt = statement(column, user_id=user_id, now=now, tz=tz)
        picked[status] = list(
            session.scalars(stmt.options().with_only_columns(Case.id).limit(per_column))
        )
    wanted = [case_id for ids in picked.values() for case_id in ids]
    # Picked by key, so each card's review, buyer, product and owner are joined in (one
    # round trip instead of four selects of a hundred keys each).
    cards = {
        case.id: case
        for case in session.scalars(
            sa.select(Case)
            .where(Case.id.in_(wanted))
            .options(
                joinedload(Case.review),
                joinedload(Case.buyer),
                joinedload(Case.product),
                joinedload(Case.owner),
                selectinload(Case.reasons),
            )
        )
    }
    return {status: [cards[i] for i in ids] for status, ids in picked.items()}


def follow_ups_today(
    session: Session, shop_ids: tuple[int, ...], *, user_id: int, now: datetime, tz: ZoneInfo
) -> list[Case]:
    """My open cases with a follow-up scheduled for today (or overdue from earlier)."""
    _, end = _day_bounds(now.astimezone(tz).date(), tz)
    stmt = (
        sa.select(Case)
        .where(
            Case.shop_id.in_(shop_ids),
            Case.owner_id == user_id,
            Case.status.in_(case_flow.OPEN),
            Case.next_follow_up_at.is_not(None),
            Case.next_follow_up_at < end,
        )
        .order_by(Case.next_follow_up_at)
        .options(*card_options())
        .limit(100)
    )
    return list(session.scalars(stmt).unique())


def assignable_agents(session: Session, shop_ids: tuple[int, ...]) -> list[User]:

    return list(
        session.scalars(
            sa.select(User)
            .join(user_shops, user_shops.c.user_id == User.id)
            .where(user_shops.c.shop_id.in_(shop_ids), User.is_active.is_(True))
            .distinct()
            .order_by(User.display_name)
        )
    )
