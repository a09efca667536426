"""Reading open cases' reviews again, so the platform's own word closes them.

A pull lists the reviews posted since its mark. A buyer who revises a 差评 to 好评, deletes
it or adds a 追评 days later changes a review the listing will not bring again, so intake
would never see the recovery and a promised case would end as 承诺未兑现 while the platform
shows it recovered. Within a pull, once per :data:`REREAD_EVERY`, the reviews of the
shop's open cases are asked for one by one (the adapter's ``reread``, else its listing
over the moment each was posted) and go through intake like any other record: a change is
stored as a revision and closes the case as the platform shows it, nothing else changes.
A review the platform no longer lists is not taken for deleted: only the platform's word
counts. The case page asks for one case's review at any time (:func:`check_case`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.models import Case, Review, Shop
from tracker.models.enums import LabelledEnum, Platform
from tracker.sentiment import Scorer
from tracker.services.audit import record_case_change
from tracker.services.intake import IntakeResult, IntakeSettings
from tracker.services.quarantine import ingest_guarded
from tracker.services.transaction import retrying, transaction
from tracker.sources.contract import (
    RereadsReviews,
    ReviewSource,
    SourceError,
    StoredReview,
    reread_by_time,
)
from tracker.sources.records import ReviewRecord

REREAD_EVERY = timedelta(hours=1)
HORIZON = timedelta(days=180)  # TOP answers for reviews of the last 180 days only
CHUNK = 50  # reviews asked for per stored batch (one transaction each)
LIMIT = 2000  # per run, soonest-lapsing first: a call or two per review


def due(shop: Shop, *, now: datetime) -> bool:
    """Whether this pull reads open cases' reviews again (hourly; the case page's
    立即向平台核实 asks for one review at any time)."""
    return shop.reread_at is None or shop.reread_at <= now - REREAD_EVERY


def open_case_reviews(
    session: Session, shop: Shop, *, now: datetime, listed_since: datetime
) -> list[StoredReview]:
    """The reviews of the shop's open cases the platform can still answer for and the pull
    did not just list (posted before ``listed_since``), at most :data:`LIMIT`: those whose
    buyer's window ends first leading, and those past it (where only a 追评 can still come)
    last."""
    rows = session.execute(
        sa.select(
            Review.platform_key,
            Review.first_posted_at,
            Review.posted_at,
            Review.follow_up_text.is_not(None),
        )
        .join(Case, Case.review_id == Review.id)
        .where(
            Case.shop_id == shop.id,
            Case.status.in_(case_flow.OPEN),
            Review.is_deleted.is_(False),
            Review.first_posted_at >= now - HORIZON,
            Review.first_posted_at < listed_since,
        )
        .order_by(
            sa.case((Case.revision_window_ends_at <= now, 1), else_=0),
            Case.revision_window_ends_at,
            Case.id,
        )
        .limit(LIMIT)
    )
    return [StoredReview(*row) for row in rows]


def reread_shop(
    session: Session,
    shop: Shop,
    source: ReviewSource,
    *,
    source_name: str,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
    listed_since: datetime,
    into: IntakeResult,
    after_chunk: Callable[[], None] | None = None,
) -> int:
    """Ask the platform for the open cases' reviews and take in what it shows; returns how
    many were asked for, and adds what intake made of each stored chunk ``into`` the run's
    counts (not as pulled: the run's 拉取 stays what the listing brought). Each chunk is
    one transaction: a :class:`~tracker.sources.contract.SourceError` ends the run with
    what was stored kept, and :attr:`Shop.reread_at` moves only once all were asked for."""
    with transaction(session):
        reviews = open_case_reviews(session, shop, now=now, listed_since=listed_since)
    for start in range(0, len(reviews), CHUNK):
        chunk = reviews[start : start + CHUNK]
        records = _ask(source, chunk, shop.platform)
        result = retrying(
            session,
            lambda chunk=chunk, records=records: _take_in(
                session,
                shop,
                chunk,
                records,
                source_name=source_name,
                now=now,
                scorer=scorer,
                settings=settings,
            ),
        )
        result.received = 0
        into.add(result)
        if after_chunk is not None:
            after_chunk()
    with transaction(session):
        shop.reread_at = now
    return len(reviews)


def _ask(
    source: ReviewSource, reviews: list[StoredReview], platform: Platform
) -> list[ReviewRecord]:
    """The platform's answer for these reviews: the adapter's own way where it has one."""
    if isinstance(source, RereadsReviews):
        return source.reread(reviews, platform)
    return reread_by_time(source, reviews)


def _take_in(
    session: Session,
    shop: Shop,
    asked: list[StoredReview],
    records: list[ReviewRecord],
    *,
    source_name: str,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> IntakeResult:
    """What the platform answered, through intake, and which of those asked it left out."""
    result = ingest_guarded(
        session, shop, records, source=source_name, now=now, scorer=scorer, settings=settings
    )
    _note_unseen(session, shop, asked, records, now=now)
    return result


def _note_unseen(
    session: Session,
    shop: Shop,
    asked: list[StoredReview],
    records: list[ReviewRecord],
    *,
    now: datetime,
) -> None:
    """Mark the reviews asked for that the platform did not return (since when, kept from
    the first time) and clear the mark of those it did: staff see it before calling a buyer
    who may have deleted the review; no outcome is drawn from it."""
    returned = {record.platform_key for record in records}
    missing = [r.platform_key for r in asked if r.platform_key not in returned]
    seen = [r.platform_key for r in asked if r.platform_key in returned]
    mine = Review.shop_id == shop.id
    if missing:
        session.execute(
            sa.update(Review)
            .where(mine, Review.platform_key.in_(missing), Review.unseen_since.is_(None))
            .values(unseen_since=now)
            .execution_options(synchronize_session=False)
        )
    if seen:
        session.execute(
            sa.update(Review)
            .where(mine, Review.platform_key.in_(seen), Review.unseen_since.is_not(None))
            .values(unseen_since=None)
            .execution_options(synchronize_session=False)
        )


CHECK_FIELD = "platform_check"  # the case history's line: who asked, what the platform said


class Checked(LabelledEnum):
    """What asking the platform for one case's review found."""

    CLOSED = "closed", "平台显示已挽回，已结案"  # the case closed by the platform's word
    # changed, and the case stays open (or waits for the new words' score)
    CHANGED = "changed", "评价有变化"
    UNCHANGED = "unchanged", "评价没有变化"
    NOT_LISTED = "not_listed", "平台未返回这条评价"  # nothing is changed
    SET_ASIDE = "set_aside", "返回的评价已暂存"  # not storable as it is (数据源 → 暂存的评价)


def _found(result: IntakeResult, mine: list[ReviewRecord]) -> Checked:
    if not mine:
        return Checked.NOT_LISTED
    if result.set_aside:
        return Checked.SET_ASIDE
    if result.cases_closed:
        return Checked.CLOSED
    return Checked.CHANGED if result.revised else Checked.UNCHANGED


def check_case(
    session: Session,
    case: Case,
    source: ReviewSource,
    *,
    source_name: str,
    now: datetime,
    settings: IntakeSettings,
    actor_id: int | None,
) -> Checked:
    """The case page's 立即向平台核实: this case's review asked for now, outside the hourly
    round, and taken in like any record (web workers hold no model: new words wait for the
    scoring job, as a push's do). The case's history says who asked and what the platform
    answered. Raises the source's :class:`~tracker.sources.contract.SourceError` with
    nothing else changed."""
    review, shop = case.review, session.get_one(Shop, case.shop_id)
    stored = StoredReview(
        review.platform_key,
        review.first_posted_at,
        review.posted_at,
        has_follow_up=review.follow_up_text is not None,
    )
    try:
        records = _ask(source, [stored], shop.platform)
    except SourceError as exc:
        session.rollback()
        with transaction(session):
            _note_check(session, case, f"平台没有应答（{exc.code}）", now=now, actor_id=actor_id)
        raise
    mine = [record for record in records if record.platform_key == stored.platform_key]

    def take_in() -> Checked:
        result = _take_in(
            session,
            shop,
            [stored],
            mine,
            source_name=source_name,
            now=now,
            scorer=None,
            settings=settings,
        )
        checked = _found(result, mine)
        _note_check(session, case, checked, now=now, actor_id=actor_id)
        return checked

    return retrying(session, take_in)


def _note_check(
    session: Session, case: Case, answer: str, *, now: datetime, actor_id: int | None
) -> None:
    record_case_change(
        session, case, now=now, actor_id=actor_id, field=CHECK_FIELD, old=None, new=answer
    )
