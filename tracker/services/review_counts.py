"""A shop's incoming reviews counted by day and rating, for the dashboard's chart and
评价's 共 N 条 (with words or not, since migration 0051).

A big shop receives half a million reviews in 90 days. Counting them on every view took
seconds; the triggers of migration 0032 count them by UTC hour as they are written
(``ReviewHourCount``), and a view sums a few thousand hourly rows instead. Folding each
hour's rows into one (``compact``, every few minutes) keeps that table small.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.dbtypes import UTCDateTime, days_between
from tracker.models import Review, ReviewHourCount
from tracker.models.enums import Rating
from tracker.models.reviews import NEGATIVE_SENTIMENT
from tracker.services.transaction import transaction

COMPACT_BATCH = 1_000  # keys (shop, hour, rating) folded per transaction


def _on_the_hour(moment: datetime) -> bool:
    """A UTC hour's start (a Kathmandu midnight has minute 0 on its own clock, not UTC's)."""
    moment = moment.astimezone(UTC)
    return moment.minute == moment.second == moment.microsecond == 0


def by_day(
    session: Session, shop_id: int, start: datetime, end: datetime
) -> list[tuple[int, Rating, int, int]]:
    """(day from ``start``, rating, reviews, of them read negative) for reviews first
    posted in [start, end). From the hourly counts when both ends fall on a UTC hour, as
    every local midnight does in a zone a whole number of hours from UTC (Beijing's);
    otherwise counted from the reviews themselves, which is exact anywhere."""
    since = sa.literal(start, UTCDateTime())
    if _on_the_hour(start) and _on_the_hour(end):
        hours = ReviewHourCount
        day = days_between(since, hours.hour)
        query = (
            sa.select(
                day, hours.rating, sa.func.sum(hours.reviews), sa.func.sum(hours.negative_text)
            )
            .where(hours.shop_id == shop_id, hours.hour >= start, hours.hour < end)
            .group_by(day, hours.rating)
        )
    else:
        day = days_between(since, Review.first_posted_at)
        query = (
            sa.select(
                day,
                Review.rating,
                sa.func.count(),
                sa.func.count(sa.case((Review.sentiment_score < NEGATIVE_SENTIMENT, 1))),
            )
            .where(
                Review.shop_id == shop_id,
                Review.first_posted_at >= start,
                Review.first_posted_at < end,
            )
            .group_by(day, Review.rating)
        )
    return [
        (int(d), Rating(rating), int(n), int(negative))
        for d, rating, n, negative in session.execute(query)
        if n or negative  # an hour whose reviews were all deleted or moved
    ]


def total(
    session: Session,
    shop_id: int,
    rating: Rating | None = None,
    *,
    worded: bool = False,
    since: datetime | None = None,
) -> int:
    """How many reviews the shop has (of a rating; ``worded``: with words, not 系统默认;
    ``since``: first posted from that UTC hour on): the reviews list's 共 N 条, which
    counting two million rows made take a second on every page of a big shop. Every
    review is in exactly one hour, deleted ones included, as in the list."""
    hours = ReviewHourCount
    counted = hours.worded if worded else hours.reviews
    query = sa.select(sa.func.coalesce(sa.func.sum(counted), 0)).where(hours.shop_id == shop_id)
    if since is not None:
        if not _on_the_hour(since):
            raise ValueError(f"the hourly counts start on the hour, not at {since}")
        query = query.where(hours.hour >= since)
    if rating is not None:
        query = query.where(hours.rating == rating)
    return int(session.scalar(query) or 0)


def compact(session: Session, *, batch: int = COMPACT_BATCH) -> int:
    """Fold each (shop, hour, rating)'s rows written since the last run into one; keys
    that sum to nothing are dropped. Returns how many rows were folded.

    The rows are deleted and their sums read back by the same statement (DELETE …
    RETURNING), so a row another transaction adds meanwhile is either in both or in
    neither: nothing is counted twice or lost, with no lock on the reviews."""
    folded = 0
    hours = ReviewHourCount
    key = sa.tuple_(hours.shop_id, hours.hour, hours.rating)
    while True:
        with transaction(session):
            keys = session.execute(
                sa.select(hours.shop_id, hours.hour, hours.rating)
                .where(hours.compacted.is_(False))
                .distinct()
                .limit(batch)
            ).all()
            if not keys:
                return folded
            gone = session.execute(
                sa.delete(hours)
                .where(key.in_([tuple(k) for k in keys]))
                .returning(
                    hours.shop_id,
                    hours.hour,
                    hours.rating,
                    hours.reviews,
                    hours.negative_text,
                    hours.worded,
                )
            ).all()
            sums: dict[tuple[int, datetime, Rating], list[int]] = defaultdict(lambda: [0, 0, 0])
            for shop_id, hour, rating, *counts in gone:
                total = sums[(shop_id, hour, rating)]
                for i, n in enumerate(counts):
                    total[i] += n
            rows = [
                {
                    "shop_id": shop_id,
                    "hour": hour,
                    "rating": rating,
                    "reviews": reviews,
                    "negative_text": negative,
                    "worded": worded,
                    "compacted": True,
                }
                for (shop_id, hour, rating), (reviews, negative, worded) in sums.items()
                if reviews or negative or worded
            ]
            if rows:
                session.execute(sa.insert(hours), rows)
            folded += len(gone)
