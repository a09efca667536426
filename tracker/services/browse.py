"""Read-side queries for the shop pages; they return statements for the caller to page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.models import (
    Buyer,
    BuyerSegment,
    Case,
    Order,
    OrderLine,
    Product,
    Review,
    SentimentCorrection,
)
from tracker.models.enums import Rating
from tracker.services import buyer_profiles, review_counts
from tracker.sql_text import contains_text
from tracker.text_index import grams_hold, review_ids_containing, review_says

Row = TypeVar("Row")


def products(shop_id: int, *, q: str = "", category: str = "") -> sa.Select[tuple[Product]]:
    stmt = sa.select(Product).where(Product.shop_id == shop_id)
    if q:
        stmt = stmt.where(
            sa.or_(
                contains_text(Product.title, q),
                Product.platform_item_id == q,
                Product.sku == q,
            )
        )
    if category:
        stmt = stmt.where(Product.category == category)
    return stmt.order_by(Product.category, Product.title)


def categories(session: Session, shop_id: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(Product.category)
            .where(Product.shop_id == shop_id)
            .distinct()
            .order_by(Product.category)
        )
    )


SEARCH_LIMIT = 2_000  # a search that matches more rows is told so (超过 2,000 条)


@dataclass(frozen=True)
class Search(Generic[Row]):
    """The rows a search finds, in its list's order, and how many when that is known
    without counting (None: count them); ``broad``: more than ``SEARCH_LIMIT``, not
    counted."""

    stmt: sa.Select[tuple[Row]]
    total: int | None = None
    broad: bool = False


# the buyer list's orders: by nick, or by what the nightly segments counted (column,
# descending), each walked down its index of the segments (migration 0052); ties by nick
BUYER_SORTS: dict[str, tuple[tuple[sa.ColumnElement, bool], ...]] = {
    "nick": (),
    "recent": ((BuyerSegment.recency_days, False),),
    "spent": ((BuyerSegment.spent, True),),
    "orders": ((BuyerSegment.orders, True), (BuyerSegment.spent, True)),
}


# a segment filter leaving no more buyers than this has them read and sorted (about 20 ms
# on SQLite); more are walked down the sort's index, where they lie densely enough
FEW_TO_SORT = 10_000


def _buyer_order(sort: str, *, picked: bool) -> list[sa.ColumnElement]:
    """``sort``'s keys. ``picked``: the buyers are picked first (a search's, a small
    class's), then sorted, so ``+ 0`` keeps the sort's index out of it. Given the bare
    columns, the planners walked that index testing each buyer on the way: every nick of
    a search (0.9 s on SQLite, 4.5 s on PostgreSQL for 400,000 buyers), or the class of
    every buyer richer than a small class's (a class of 1,650 by 累计消费: 185–250 ms on
    SQLite). Only ``recency_days`` is ever null (never ordered): those come last."""
    keys: list[sa.ColumnElement] = []
    for column, descending in BUYER_SORTS[sort]:
        key = column + 0 if picked else column
        keys.append(key.desc() if descending else key.asc().nulls_last())
    return [*keys, Buyer.platform_nick]


@dataclass(frozen=True)
class BuyerListing:
    """What the buyer list is asked for: ``q`` finds a nick by any part, a name only whole
    (names are sealed: their fingerprint); ``klass``, ``big`` and ``level`` filter on the
    buyers' segments; ``sort`` is a key of ``BUYER_SORTS``."""

    q: str = ""
    klass: str | None = None
    big: bool | None = None
    level: int | None = None
    sort: str = "nick"

    def segment_filters(self) -> list[sa.ColumnElement[bool]]:
        wanted = []
        if self.klass:
            wanted.append(BuyerSegment.klass == self.klass)
        if self.big is not None:
            wanted.append(BuyerSegment.big.is_(self.big))
        if self.level is not None:
            wanted.append(BuyerSegment.level == self.level)
        return wanted


def buyers(session: Session, shop_id: int, asked: BuyerListing = BuyerListing()) -> Search[Buyer]:
    """The shop's buyers ``asked`` for, and how many when that is known without counting
    the list itself.

    Sorted by what they bought, or filtered on it, the list holds the buyers the segments
    were last computed for: one added since has no segment until the next computation. An
    outer join kept them, but then the whole shop was joined and sorted for every page
    (320–380 ms on PostgreSQL for 400,000 buyers) instead of reading an index's first rows.

    A search reads up to ``SEARCH_LIMIT`` matching buyers and lists those. One matching
    more (a part of every nick) walks the list in its order, testing each buyer's nick,
    until a page is full: counting every match took 1.7 s on PostgreSQL by nick and 5.4 s
    sorted by spend, for 400,000 buyers."""
    stmt = sa.select(Buyer).where(Buyer.shop_id == shop_id)
    wanted = asked.segment_filters()
    segmented = bool(wanted or BUYER_SORTS[asked.sort])
    if segmented:
        stmt = stmt.join(BuyerSegment, BuyerSegment.buyer_id == Buyer.id).where(
            BuyerSegment.shop_id == shop_id, *wanted
        )
    if not asked.q:
        counted = _segments_counted(session, shop_id, wanted) if segmented else None
        few = bool(wanted) and counted is not None and counted <= FEW_TO_SORT
        return Search(stmt.order_by(*_buyer_order(asked.sort, picked=few)), total=counted)
    named = buyer_profiles.matching_name(asked.q)
    found = session.scalars(
        sa.select(Buyer.id)
        .where(Buyer.shop_id == shop_id, sa.or_(_nick_holds(session, asked.q), named))
        .limit(SEARCH_LIMIT + 1)
    ).all()
    if len(found) > SEARCH_LIMIT:
        # each buyer tested as the list's own index reaches it; the page fills soon (a
        # small class's buyers read and sorted first); a narrow search never asks the count
        few = bool(wanted) and _segments_counted(session, shop_id, wanted) <= FEW_TO_SORT
        walked = stmt.where(sa.or_(contains_text(Buyer.platform_nick, asked.q), named)).order_by(
            *_buyer_order(asked.sort, picked=few)
        )
        if segmented:  # the list may hold fewer: a filter, or buyers not yet segmented
            listed = session.scalars(
                walked.with_only_columns(Buyer.id).limit(SEARCH_LIMIT + 1)
            ).all()
            if len(listed) <= SEARCH_LIMIT:
                return Search(_found_by_id(stmt, listed, asked.sort), total=len(listed))
        return Search(walked, broad=True)
    # a filter or a sort may leave some of them out: then they are counted
    return Search(_found_by_id(stmt, found, asked.sort), total=None if segmented else len(found))


def _found_by_id(stmt: sa.Select[tuple[Buyer]], ids: Sequence[int], sort: str) -> sa.Select:
    """The few buyers a search found, by id, then their segments: these rows sorted, not
    the sort's index walked with every nick tested."""
    return stmt.where(Buyer.id.in_(ids)).order_by(*_buyer_order(sort, picked=True))


def _segments_counted(session: Session, shop_id: int, wanted: list[sa.ColumnElement[bool]]) -> int:
    """How many buyers a sorted or filtered list holds: the segments counted on their own
    index. Counting the join instead read every buyer of the shop, 260 ms on PostgreSQL for
    400,000, when the page itself took 15."""
    counted = sa.select(sa.func.count()).where(BuyerSegment.shop_id == shop_id, *wanted)
    return session.scalar(counted) or 0


def _nick_holds(session: Session, q: str) -> sa.ColumnElement[bool]:
    """A buyer's nick holds ``q`` (any case). On PostgreSQL through the index of the nicks'
    characters and pairs (migration 0036): reading all of a big shop's 400,000 nicks took
    100 ms a query, and on one connection the same statement drifted to 200–280. SQLite
    reads them all in about 50."""
    holds = contains_text(Buyer.platform_nick, q)
    if session.get_bind().dialect.name == "postgresql":
        return sa.and_(grams_hold(Buyer.platform_nick, q), holds)
    return holds


def orders(session: Session, shop_id: int, *, q: str = "") -> Search[Order]:
    """The shop's orders, newest first; ``q`` finds one by the start of its number, by its
    last four or more digits (尾号, what a buyer reads out) or by any part of the buyer's
    nick.

    Each way is an index's range, read up to ``SEARCH_LIMIT`` entries: a search for one
    order reads a handful of rows, not all of a shop's two million (1.2–1.5 s a search
    before). A search that matches more (the first digits every number shares, a part of
    every nick) walks the newest orders instead until a page is full, which for such a
    search comes soon."""
    newest = (
        sa.select(Order)
        .options(selectinload(Order.lines), selectinload(Order.buyer))
        .order_by(Order.paid_at.desc())
    )
    of_shop = Order.shop_id == shop_id
    if not q:
        return Search(newest.where(of_shop))
    by_number = [_starting(Order.tid, q)]
    if len(q) >= 4:
        by_number.append(_starting(Order.tid_reversed, q[::-1]))
    by_nick = Order.buyer_id.in_(
        sa.select(Buyer.id).where(Buyer.shop_id == shop_id, _nick_holds(session, q))
    )
    # The nick's buyers are the shop's already. Named again, the shop would lead SQLite
    # (which keeps no statistics unless told) to walk all of its orders by date instead.
    found: set[int] = set()
    for where in [*(sa.and_(of_shop, way) for way in by_number), by_nick]:
        found.update(session.scalars(sa.select(Order.id).where(where).limit(SEARCH_LIMIT + 1)))
        if len(found) > SEARCH_LIMIT:
            # each order's own buyer looked up as the walk reaches it (a scalar subquery:
            # PostgreSQL may hash a whole table for an EXISTS), not every matching buyer
            # collected first: a part of every nick would collect them all
            own_nick = (
                sa.select(contains_text(Buyer.platform_nick, q))
                .where(Buyer.id == Order.buyer_id)
                .scalar_subquery()
            )
            broad = sa.or_(*by_number, own_nick.is_(True))
            return Search(newest.where(of_shop, broad), broad=True)
    # by id alone, for the same reason: these few rows sorted, not the shop's by date
    return Search(newest.where(Order.id.in_(found)), total=len(found))


def _starting(column: sa.orm.InstrumentedAttribute[str], prefix: str) -> sa.ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range the (shop, column) index serves on both
    databases (LIKE 'x%' uses it on neither by default)."""
    return sa.and_(column >= prefix, column < prefix + "\uffff")


def cases_of_orders(session: Session, order_ids: list[int]) -> dict[int, list[Case]]:
    """Each order's cases (through its reviewed lines), for links from the orders list."""
    if not order_ids:
        return {}
    rows = session.execute(
        sa.select(OrderLine.order_id, Case)
        .join(Review, Review.order_line_id == OrderLine.id)
        .join(Case, Case.review_id == Review.id)
        .where(OrderLine.order_id.in_(order_ids))
        .order_by(Case.opened_at)
    )
    found: dict[int, list[Case]] = {}
    for order_id, case in rows:
        found.setdefault(order_id, []).append(case)
    return found


def cases_of_reviews(session: Session, review_ids: list[int]) -> dict[int, Case]:
    """Each review's case (one at most), with its owner: where a review is listed, staff
    see at once whether someone has it and go to it."""
    if not review_ids:
        return {}
    return {
        case.review_id: case
        for case in session.scalars(
            sa.select(Case).where(Case.review_id.in_(review_ids)).options(selectinload(Case.owner))
        )
    }


REVIEW_PERIODS = (7, 30, 90)  # 评价's 近 N 天; 30 is the home page's 近 30 天评价


def period_start(now: datetime, days: int) -> datetime:
    """Where 近 ``days`` 天 starts: on the UTC hour, as the hourly counts do (up to an hour
    more than the days), so a list and the figure that links to it agree."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)


def reviews(
    session: Session,
    shop_id: int,
    *,
    q: str = "",
    rating: Rating | None = None,
    worded: bool = False,
    since: datetime | None = None,
) -> Search[Review]:
    """The shop's reviews, newest first; ``q`` finds those whose text or 追评 contains it;
    ``worded``: only those with words (a third of a shop's are 系统默认, which hide the
    complaints staff look for among the rest); ``since``: first posted then or later (a
    ``period_start``).

    A search reads the reviews the text index (``tracker.text_index``) says may hold the
    words, up to ``SEARCH_LIMIT``, each checked with LIKE; the page is read by id. Reading
    every text of the shop instead took 0.4–1 s on a shop with two million reviews. A
    search that matches more (好, 物流) walks the newest reviews with LIKE until a page is
    full, which for such a search comes soon."""
    newest = (
        sa.select(Review)
        .options(
            selectinload(Review.revisions), selectinload(Review.product), selectinload(Review.buyer)
        )
        .order_by(Review.posted_at.desc())
    )
    wanted = [Review.shop_id == shop_id]
    if rating is not None:
        wanted.append(Review.rating == rating)
    if worded:
        wanted.append(Review.is_system_default.is_(False))
    if since is not None:
        # posted_at (the latest version's) is never before first_posted_at: the bound on
        # the index the list walks, which would otherwise read past the period to the end
        wanted += [Review.first_posted_at >= since, Review.posted_at >= since]
    if not q:  # the hourly counts know how many (a big shop has millions)
        total = review_counts.total(session, shop_id, rating, worded=worded, since=since)
        return Search(newest.where(*wanted), total=total)
    wanted.append(review_says(q))
    probe = review_ids_containing(session.get_bind().dialect.name, q)
    found = list(session.scalars(probe.where(*wanted).limit(SEARCH_LIMIT + 1)))
    if len(found) > SEARCH_LIMIT:
        return Search(newest.where(*wanted), broad=True)
    return Search(newest.where(Review.id.in_(found)), total=len(found))


@dataclass(frozen=True)
class BuyerArchive:
    """The customer archive (客户档案) an agent reads before calling."""

    buyer: Buyer
    orders: list[Order]  # the latest, or all when asked for
    order_count: int
    total_spent: Decimal
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    reviews: list[Review]  # the latest, or all when asked for
    review_count: int
    cases: list[Case]  # every case of the buyer, open and closed, newest first


@dataclass(frozen=True)
class PurchaseSummary:
    """A buyer's purchases as the case page shows them: totals and the latest orders."""

    order_count: int
    total_spent: Decimal
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    recent_orders: list[Order]


def purchase_summary(
    session: Session, buyer_id: int, *, recent: int | None = 10
) -> PurchaseSummary:
    """Totals summed by the database and only the latest orders loaded: a loyal buyer has a
    hundred orders, and loading them all (with their reviews) was half of the case page's
    time. The buyer's page shows more, and all of them on request.

    The totals ride on the latest orders' rows as window functions, which the database
    computes over all the buyer's orders before the limit: one query instead of two."""
    rows = session.execute(
        sa.select(
            Order,
            sa.func.count().over(),
            sa.func.sum(Order.payment).over(),
            sa.func.min(Order.paid_at).over(),
            sa.func.max(Order.paid_at).over(),
        )
        .where(Order.buyer_id == buyer_id)
        .options(selectinload(Order.lines))
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(recent)
    ).all()
    count, total, first, last = rows[0][1:] if rows else (0, None, None, None)
    return PurchaseSummary(
        order_count=count,
        total_spent=Decimal(total or 0).quantize(Decimal("0.01")),
        first_purchase_at=first,
        last_purchase_at=last,
        recent_orders=[row[0] for row in rows],
    )


ARCHIVE_SHOWN = 20  # orders and reviews on the buyer's page until all are asked for


def buyer_archive(
    session: Session, buyer: Buyer, *, shown: int | None = ARCHIVE_SHOWN
) -> BuyerArchive:
    """The buyer's cases, and their latest ``shown`` orders and reviews (None: all) with the
    counts and totals of all. A shop's best buyers have 100–175 orders and as many reviews:
    listed whole, their page ran to 15,000 pixels on a phone before the reviews began."""
    purchases = purchase_summary(session, buyer.id, recent=shown)
    reviews = session.execute(
        sa.select(Review, sa.func.count().over())
        .where(Review.buyer_id == buyer.id)
        .options(selectinload(Review.product))
        .order_by(Review.posted_at.desc(), Review.id.desc())
        .limit(shown)
    ).all()
    cases = list(
        session.scalars(
            sa.select(Case)
            .where(Case.buyer_id == buyer.id)
            .options(selectinload(Case.owner), selectinload(Case.product))
            .order_by(Case.opened_at.desc())
        )
    )
    return BuyerArchive(
        buyer=buyer,
        cases=cases,
        orders=purchases.recent_orders,
        order_count=purchases.order_count,
        total_spent=purchases.total_spent,
        first_purchase_at=purchases.first_purchase_at,
        last_purchase_at=purchases.last_purchase_at,
        reviews=[row[0] for row in reviews],
        review_count=reviews[0][1] if reviews else 0,
    )


RECENT = timedelta(days=30)  # the home page's 近 30 天评价


@dataclass(frozen=True)
class ShopCounts:
    products: int
    buyers: int
    orders: int
    reviews_by_rating: dict[Rating, int]  # first posted in the last 30 days, by rating now


def shop_counts(session: Session, shop_id: int, *, now: datetime) -> ShopCounts:
    """The home page's figures. Reviews are read from the hourly counts (a big shop
    receives 150,000 in a month), so the 30 days start on the hour: up to an hour more."""

    def count(model: type) -> int:
        return (
            session.scalar(
                sa.select(sa.func.count()).select_from(model).where(model.shop_id == shop_id)
            )
            or 0
        )

    start = period_start(now, RECENT.days)
    by_rating = dict.fromkeys(Rating, 0)
    for _day, rating, n, _negative in review_counts.by_day(
        session, shop_id, start, start + RECENT + timedelta(hours=1)
    ):
        by_rating[rating] += n
    return ShopCounts(count(Product), count(Buyer), count(Order), by_rating)


def recent_unhappy(session: Session, shop_id: int, *, limit: int = 10) -> list[Review]:
    return list(
        session.scalars(
            sa.select(Review)
            .where(
                Review.shop_id == shop_id,
                Review.rating.in_([Rating.BAD, Rating.NEUTRAL]),
                Review.is_deleted.is_(False),
            )
            .options(selectinload(Review.product), selectinload(Review.buyer))
            .order_by(Review.posted_at.desc())
            .limit(limit)
        )
    )


def corrections(session: Session, review_ids: list[int]) -> dict[int, bool]:
    """Staff labels for these reviews: review id -> is positive."""
    if not review_ids:
        return {}
    return dict(
        session.execute(
            sa.select(SentimentCorrection.review_id, SentimentCorrection.is_positive).where(
                SentimentCorrection.review_id.in_(review_ids)
            )
        )
        .tuples()
        .all()
    )


def segments_of(session: Session, buyer_ids: list[int]) -> dict[int, BuyerSegment]:
    if not buyer_ids:
        return {}
    rows = session.scalars(sa.select(BuyerSegment).where(BuyerSegment.buyer_id.in_(buyer_ids)))
    return {s.buyer_id: s for s in rows}
