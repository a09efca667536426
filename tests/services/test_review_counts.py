"""The hourly review counts the dashboard's chart reads: the triggers count every write,
whatever path makes it, and folding the rows keeps the sums."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import jobs
from tracker.database import query_plans
from tracker.models import Review, ReviewHourCount, Shop
from tracker.models.enums import Rating
from tracker.models.reviews import NEGATIVE_SENTIMENT, UNHAPPY
from tracker.services import browse, reports, review_counts

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 16, tzinfo=UTC)  # 00:00 on 21 November in Beijing
END = START + timedelta(days=3)


def _review(
    shop: Shop,
    n: int,
    posted: datetime,
    rating: Rating,
    score: float | None,
    system_default: bool = False,
) -> Review:
    return Review(
        shop_id=shop.id,
        platform_key=f"R{n}",
        rating=rating,
        text="系统默认好评" if system_default else "还行",
        is_system_default=system_default,
        posted_at=posted,
        first_posted_at=posted,
        received_at=posted,
        updated_at=posted,
        sentiment_score=score,
    )


def _expected(
    session: Session, shop: Shop, start: datetime, end: datetime
) -> list[tuple[int, Rating, int, int]]:
    """Counted the slow way, review by review."""
    counts: Counter[tuple[int, Rating]] = Counter()
    negative: Counter[tuple[int, Rating]] = Counter()
    for review in session.scalars(sa.select(Review).where(Review.shop_id == shop.id)):
        if start <= review.first_posted_at < end:
            key = ((review.first_posted_at - start) // timedelta(days=1), review.rating)
            counts[key] += 1
            score = review.sentiment_score
            negative[key] += score is not None and score < NEGATIVE_SENTIMENT
    return sorted((d, r, n, negative[(d, r)]) for (d, r), n in counts.items())


def _counted(
    session: Session, shop: Shop, start: datetime = START, end: datetime = END
) -> list[tuple[int, Rating, int, int]]:
    return sorted(review_counts.by_day(session, shop.id, start, end))


def test_every_kind_of_write_is_counted(session: Session, make_shop) -> None:
    shop, other = make_shop(), make_shop()
    rng = random.Random(7)
    reviews = [
        _review(
            rng.choice((shop, other)),
            n,
            START - timedelta(hours=6) + timedelta(minutes=rng.randint(0, 4 * 24 * 60)),
            rng.choice(list(Rating)),
            rng.choice((None, 0.1, 0.49, 0.5, 0.51, 0.9)),
            rng.random() < 0.3,
        )
        for n in range(300)
    ]
    session.add_all(reviews)
    session.commit()
    assert _counted(session, shop) == _expected(session, shop, START, END)

    for review in rng.sample(reviews, 60):  # the ORM: revised, rescored, re-dated, moved
        review.rating = rng.choice(list(Rating))
        review.sentiment_score = rng.choice((None, 0.2, 0.7))
        review.first_posted_at += timedelta(minutes=rng.randint(-600, 600))
        review.is_system_default = rng.random() < 0.3  # a 追评 gives a default words
    reviews[0].shop_id, reviews[1].shop_id = other.id, shop.id
    session.commit()
    session.execute(  # a bulk statement, no ORM events
        sa.update(Review)
        .where(Review.shop_id == shop.id, Review.rating == Rating.NEUTRAL)
        .values(rating=Rating.BAD, sentiment_score=0.3)
    )
    session.execute(
        sa.update(Review)
        .where(Review.shop_id == shop.id, Review.rating == Rating.GOOD, Review.id % 2 == 0)
        .values(is_system_default=sa.not_(Review.is_system_default))
    )
    session.execute(sa.delete(Review).where(Review.id.in_([r.id for r in reviews[10:40]])))
    session.commit()
    session.expire_all()
    for moment in (START, START + timedelta(hours=5)):  # any whole hour starts a day
        end = moment + timedelta(days=2)
        assert _counted(session, shop, moment, end) == _expected(session, shop, moment, end)
    assert _counted(session, other) == _expected(session, other, START, END)
    for rating in (None, *Rating):  # the reviews list's 共 N 条
        query = sa.select(sa.func.count()).where(Review.shop_id == shop.id)
        if rating is not None:
            query = query.where(Review.rating == rating)
        assert review_counts.total(session, shop.id, rating) == session.scalar(query)
        worded = query.where(Review.is_system_default.is_(False))  # 只看有文字
        assert review_counts.total(session, shop.id, rating, worded=True) == session.scalar(worded)
        recent = query.where(Review.first_posted_at >= START)  # 近 N 天
        assert review_counts.total(session, shop.id, rating, since=START) == session.scalar(recent)
    with pytest.raises(ValueError, match="on the hour"):
        review_counts.total(session, shop.id, since=START + timedelta(minutes=5))


def test_a_period_off_the_hour_counts_the_reviews_themselves(session: Session, make_shop) -> None:
    shop = make_shop()
    session.add_all(
        _review(shop, n, START + timedelta(minutes=90 + 20 * n), Rating.BAD, 0.1) for n in range(10)
    )
    session.commit()
    start = datetime(2026, 11, 21, tzinfo=ZoneInfo("Asia/Kathmandu"))  # 18:15 UTC
    assert start == START + timedelta(hours=2, minutes=15)
    end = start + timedelta(hours=2)
    assert _counted(session, shop, start, end) == [(0, Rating.BAD, 6, 6)]
    assert _counted(session, shop, start, end) == _expected(session, shop, start, end)


def test_folding_keeps_every_sum_and_one_row_an_hour(session: Session, make_shop) -> None:
    shop = make_shop()
    rng = random.Random(3)
    reviews = [
        _review(shop, n, START + timedelta(minutes=rng.randint(0, 600)), Rating.GOOD, 0.9, n >= 60)
        for n in range(80)
    ]
    session.add_all(reviews)
    session.commit()
    for review in reviews[:20]:
        review.rating = Rating.BAD
    session.commit()
    worded = review_counts.total(session, shop.id, worded=True)
    assert worded == 60
    late = _review(shop, 999, START + timedelta(days=2, minutes=5), Rating.NEUTRAL, 0.2)
    session.add(late)
    session.commit()
    session.delete(late)  # its hour sums to nothing
    session.commit()
    before = _counted(session, shop)

    folded = review_counts.compact(session, batch=4)  # several rounds
    assert folded == 80 + 2 * 20 + 2
    assert _counted(session, shop) == before == _expected(session, shop, START, END)
    assert review_counts.total(session, shop.id, worded=True) == worded
    rows = session.execute(
        sa.select(ReviewHourCount.hour, ReviewHourCount.rating, ReviewHourCount.compacted).where(
            ReviewHourCount.shop_id == shop.id
        )
    ).all()
    assert len(rows) == len({(hour, rating) for hour, rating, _ in rows})
    assert all(compacted for *_, compacted in rows)
    assert START + timedelta(days=2) not in {hour for hour, *_ in rows}  # dropped, not zero

    reviews[20].rating = Rating.NEUTRAL  # after folding, new rows add to the folded ones
    session.commit()
    assert _counted(session, shop) == _expected(session, shop, START, END)
    assert review_counts.compact(session) == 3
    assert review_counts.compact(session) == 0
    assert _counted(session, shop) == _expected(session, shop, START, END)


def test_the_scheduler_folds_them(app, session: Session, make_shop) -> None:
    shop = make_shop()
    session.add_all(_review(shop, n, START, Rating.GOOD, 0.9) for n in range(5))
    session.commit()
    shop_id = shop.id
    jobs.run_now(app, "review_counts")  # ends the app context's session
    assert session.execute(
        sa.select(ReviewHourCount.reviews, ReviewHourCount.compacted).where(
            ReviewHourCount.shop_id == shop_id
        )
    ).all() == [(5, True)]


def test_complained_about_products_read_the_unhappy_reviews_index(
    session: Session, shop: Shop
) -> None:
    """The chart's product queries name the partial index's condition in so many words:
    otherwise they read every review of the period (seconds for a big shop). SQLite's
    plan is read here; PostgreSQL's planner weighs an empty table's indexes alike, so its
    plan is checked on bench/reports.py's million rows (README)."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan of a near-empty PostgreSQL table says nothing")
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), SH)
    plans = query_plans(session, lambda: reports.trends(session, shop.id, period, now=END), UNHAPPY)
    assert plans
    for plan in plans:
        assert "ix_reviews_unhappy_shop_id_first_posted_at" in plan, plan


def test_the_home_page_counts_a_month_of_reviews_by_rating_now(
    session: Session, shop: Shop
) -> None:
    now = datetime(2026, 11, 30, 9, 40, tzinfo=UTC)
    at = [now - timedelta(days=31), now - timedelta(days=29), now - timedelta(minutes=5)]
    session.add_all(_review(shop, n, moment, Rating.BAD, 0.1) for n, moment in enumerate(at))
    session.commit()
    revised = session.scalars(sa.select(Review).where(Review.platform_key == "R1")).one()
    revised.rating = Rating.GOOD  # the buyer changed it: counted as it reads now
    session.commit()
    counts = browse.shop_counts(session, shop.id, now=now)
    assert counts.reviews_by_rating == {Rating.GOOD: 1, Rating.NEUTRAL: 0, Rating.BAD: 1}
