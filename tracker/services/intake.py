"""Intake: store reviews idempotently, score them, and open or close cases.

The same record ingested twice changes nothing. A changed review keeps its earlier
version as a revision. A review revised to good, or deleted, closes its open case by
itself, credited to the case's owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import ensure_rows, lock_shop_intake, planned_for_their_values
from tracker.domain import case_flow, platform_rules, triage
from tracker.domain.reasons import tag_reasons
from tracker.domain.review_text import is_system_default
from tracker.domain.triage import BuyerValue, CaseKind, DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    Buyer,
    Case,
    CaseReason,
    Order,
    OrderLine,
    Product,
    Review,
    ReviewRevision,
    SentimentCorrection,
    Shop,
)
from tracker.models.enums import (
    AppealState,
    CaseOutcome,
    CaseStatus,
    Platform,
    Rating,
    Reason,
    RevisionKind,
)
from tracker.models.reviews import UNSCORED
from tracker.sentiment import Scorer
from tracker.services import alerts, auto_assign
from tracker.services.audit import record_case_change
from tracker.sources.records import ReviewRecord

CHUNK = 500  # keys per IN (...) query
UNCATEGORISED = "未分类"


@dataclass(frozen=True)
class IntakeSettings:
    working_hours: WorkingHours
    deadline_policy: DeadlinePolicy
    bands: triage.ScoreBands = field(default_factory=triage.ScoreBands)
    rules: platform_rules.ReviewRules = platform_rules.RULES[Platform.TAOBAO]


@dataclass
class IntakeResult:
    received: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    scored: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    set_aside: int = 0  # records kept aside with their error (tracker.services.quarantine)
    case_ids: list[int] = field(default_factory=list)

    def add(self, other: IntakeResult) -> None:
        for name in (
            "received",
            "new",
            "revised",
            "unchanged",
            "scored",
            "cases_opened",
            "cases_closed",
            "set_aside",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.case_ids.extend(other.case_ids)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def rows_by_key(
    session: Session, shop_id: int, model: type, column: Any, values: Iterable[Any]
) -> dict[Any, Any]:
    """A shop's rows whose ``column`` is one of ``values``, by that value: a few IN
    queries instead of one per record, each planned for its keys (an import runs them
    again and again on a table growing under it)."""
    found: dict[Any, Any] = {}
    with planned_for_their_values(session):
        for chunk in _chunks(sorted(set(values))):
            for row in session.scalars(
                sa.select(model).where(model.shop_id == shop_id, column.in_(chunk))
            ):
                found[getattr(row, column.key)] = row
    return found


def _dedupe(records: Iterable[ReviewRecord]) -> dict[str, ReviewRecord]:
    """One record per key; a batch may repeat a review (overlapping pages): latest wins."""
    latest: dict[str, ReviewRecord] = {}
    for record in records:
        seen = latest.get(record.platform_key)
        if seen is None or _version_time(record) >= _version_time(seen):
            latest[record.platform_key] = record
    return latest


def _version_time(version: ReviewRecord | Review) -> datetime:
    """When a review's latest words were posted: the review's or its 追评's time."""
    return max(version.posted_at, version.follow_up_at or version.posted_at)


def _changed_at(review: Review, record: ReviewRecord, now: datetime) -> datetime:
    """When the change happened: the record's time where it is later than the version we
    hold, else when we saw it — a platform that keeps a revised review's first posting time
    (read again by order) does not say when it was revised."""
    happened = _version_time(record)
    return happened if happened > _version_time(review) else now


def _new_follow_up(review: Review, record: ReviewRecord) -> bool:
    """Whether the record brings a 追评 we do not hold. A 追评, once posted, stays: a record
    without one (TOP's and Kuaishou's lists do not carry 追评) says nothing about it."""
    return bool(record.follow_up_text) and record.follow_up_text != review.follow_up_text


def _changed(review: Review, record: ReviewRecord) -> bool:
    return (
        review.rating is not record.rating
        or review.text != record.text
        or _new_follow_up(review, record)
        or review.is_deleted != record.is_deleted
    )


def _new_buyer(now: datetime) -> dict[str, Any]:
    return {"created_at": now, "tags": [], "preferences": "", "membership_level": "none"}


def _new_product(record: ReviewRecord) -> dict[str, Any]:
    return {
        "title": (record.item_title or f"宝贝 {record.item_id}")[:200],
        "category": UNCATEGORISED,
        "price": record.item_price or Decimal(0),
        "is_active": True,
        "is_consumable": False,
    }


class _Batch:
    """Lookups for one batch, loaded with a few IN queries instead of one per record."""

    def __init__(
        self, session: Session, shop: Shop, records: dict[str, ReviewRecord], now: datetime
    ) -> None:
        self.session, self.shop, self.now = session, shop, now
        self.reviews = rows_by_key(session, shop.id, Review, Review.platform_key, records)
        review_ids = [r.id for r in self.reviews.values()]
        self.cases = rows_by_key(session, shop.id, Case, Case.review_id, review_ids)
        # reviews staff said are happy (a dismissed 待确认): never queued again
        with planned_for_their_values(session):  # the IN lists' ids, hashed
            self.dismissed = _said_happy(session, review_ids)
        fresh = [r for k, r in records.items() if k not in self.reviews]
        ensure_rows(
            session,
            Buyer.__table__,
            {r.buyer_nick: _new_buyer(now) for r in fresh},
            key="platform_nick",
            shop_id=shop.id,
        )
        ensure_rows(
            session,
            Product.__table__,
            {r.item_id: _new_product(r) for r in fresh if r.item_id},
            key="platform_item_id",
            shop_id=shop.id,
        )
        self.buyers = rows_by_key(
            session, shop.id, Buyer, Buyer.platform_nick, {r.buyer_nick for r in fresh}
        )
        self.products = rows_by_key(
            session,
            shop.id,
            Product,
            Product.platform_item_id,
            {r.item_id for r in fresh if r.item_id},
        )
        self.lines = rows_by_key(
            session, shop.id, OrderLine, OrderLine.oid, {r.oid for r in fresh if r.oid}
        )

    def buyer(self, nick: str) -> Buyer:
        buyer = self.buyers[nick]  # every fresh record's buyer was ensured above
        assert isinstance(buyer, Buyer)
        return buyer

    def product(self, record: ReviewRecord, line: OrderLine | None) -> Product | None:
        if record.item_id:
            product = self.products[record.item_id]  # ensured above, like the buyers
            assert isinstance(product, Product)
            return product
        if line is not None and line.product_id is not None:
            return self.session.get(Product, line.product_id)
        return None


def ingest(
    session: Session,
    shop: Shop,
    records: Iterable[ReviewRecord],
    *,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> IntakeResult:
    """Upsert a batch of reviews and triage them, in one transaction (the caller commits).

    Without a ``scorer`` (web workers never load one) good ratings stay unscored and
    :func:`score_pending` finishes them; neutral and bad ratings open cases at once.
    """
    batch_records = _dedupe(records)
    result = IntakeResult(received=len(batch_records))
    if not batch_records:
        return result
    batch = _Batch(session, shop, batch_records, now)

    to_score: list[tuple[Review, datetime]] = []
    for key, record in batch_records.items():
        review = batch.reviews.get(key)
        if review is None:
            review = _new_review(batch, record, now)
            result.new += 1
            to_score.append((review, _version_time(record)))
        elif _changed(review, record):
            at = _changed_at(review, record, now)
            _revise(session, review, record, at=at, now=now)
            result.revised += 1
            to_score.append((review, at))
        else:
            result.unchanged += 1
            if record.reply and not review.explanation:
                review.explanation, review.explained_at = record.reply, now
    # Scored before they are written: a new review goes in with its score in its INSERT,
    # not an UPDATE per row after it (on PostgreSQL each rewrites the text indexes).
    if scorer is not None:
        result.scored = _score(scorer, [review for review, _ in to_score])
    session.flush()

    for review, at in to_score:
        _triage(session, batch, review, at, now=now, settings=settings, result=result)
    session.flush()
    return result


def _new_review(batch: _Batch, record: ReviewRecord, now: datetime) -> Review:
    line = batch.lines.get(record.oid) if record.oid else None
    assert line is None or isinstance(line, OrderLine)
    product = batch.product(record, line)
    buyer = batch.buyer(record.buyer_nick)
    review = Review(
        shop_id=batch.shop.id,
        platform_key=record.platform_key,
        order_line_id=line.id if line is not None else None,
        product=product,
        buyer=buyer,
        rating=record.rating,
        text=record.text,
        posted_at=record.posted_at,
        first_posted_at=record.posted_at,
        follow_up_text=record.follow_up_text or None,
        follow_up_at=record.follow_up_at,
        is_deleted=record.is_deleted,
        is_system_default=is_system_default(record.text) and not record.follow_up_text,
        explanation=record.reply or None,
        explained_at=now if record.reply else None,
        received_at=now,
        updated_at=now,
        # Known to be empty: triage clearing it is then no change. Left unset, the ORM
        # could not tell, and wrote an UPDATE of every new review to set it NULL.
        awaiting_confirmation_at=None,
    )
    batch.session.add(review)
    return review


def _revise(
    session: Session, review: Review, record: ReviewRecord, *, at: datetime, now: datetime
) -> None:
    if record.is_deleted and not review.is_deleted:
        kind = RevisionKind.DELETED
    elif (
        _new_follow_up(review, record)
        and record.rating is review.rating
        and record.text == review.text
    ):
        kind = RevisionKind.FOLLOW_UP
    else:
        kind = RevisionKind.REVISED
    session.add(
        ReviewRevision(
            review_id=review.id,
            kind=kind,
            rating=review.rating,
            text=review.text,
            follow_up_text=review.follow_up_text,
            posted_at=review.posted_at,
            recorded_at=at if kind is not RevisionKind.DELETED else now,
        )
    )
    review.rating = record.rating
    review.text = record.text
    if record.follow_up_text:
        review.follow_up_text = record.follow_up_text
        review.follow_up_at = record.follow_up_at
    review.is_deleted = record.is_deleted
    review.is_system_default = is_system_default(record.text) and not review.follow_up_text
    if record.posted_at > review.posted_at:
        review.posted_at = record.posted_at
    elif kind is RevisionKind.REVISED:
        review.posted_at = at  # the platform kept the first time: when we saw the new one
    if record.reply and not review.explanation:
        review.explanation, review.explained_at = record.reply, now
    review.updated_at = now
    review.sentiment_score = None  # new words (a revision or a 追评): score again
    review.sentiment_model = None


def _buyer_words(review: Review) -> list[str]:
    """What the buyer wrote: the review (unless the platform's default text) and its 追评."""
    words = [] if review.is_system_default and not review.follow_up_text else [review.text]
    if review.follow_up_text:
        words.append(review.follow_up_text)
    return [w for w in words if w and not is_system_default(w)]


def _score(scorer: Scorer, reviews: Sequence[Review]) -> int:
    """Score the buyer's own words; a review's score is its unhappiest part (a bad 追评
    on a good review counts)."""
    wanted = [
        (review, _buyer_words(review)) for review in reviews if review.sentiment_model is None
    ]
    texts = [t for _, words in wanted for t in words]
    scores = iter(scorer.score(texts)) if texts else iter(())
    scored = 0
    for review, words in wanted:
        if not words:
            continue
        own = [next(scores) for _ in words]
        review.sentiment_score = min(own)
        # the 追评 is the last of the words when there is one (see _buyer_words)
        review.follow_up_score = own[-1] if review.follow_up_text in words else None
        review.sentiment_model = scorer.version
        scored += 1
    return scored


def _triage(
    session: Session,
    batch: _Batch,
    review: Review,
    changed_at: datetime,
    *,
    now: datetime,
    settings: IntakeSettings,
    result: IntakeResult,
) -> None:
    case = batch.cases.get(review.id)
    open_case = case is not None and case.closed_at is None
    if case is not None and open_case:
        outcome = _recovery_shown(case, review, settings)
        if outcome is not None:
            close_by_buyer(session, case, outcome, at=changed_at, now=now)
            result.cases_closed += 1
        else:
            _refresh_priority(session, case, review, now=now)
        return
    if case is not None or review.is_deleted:
        review.awaiting_confirmation_at = None
        return  # a closed case stays closed; reopening is a person's decision
    is_default = review.is_system_default and not review.follow_up_text
    kind = triage.case_kind(
        review.rating,
        review.sentiment_score,
        is_system_default=is_default,
        threshold=settings.bands.case,
    )
    if settings.rules.change_window_end(review.first_posted_at) <= now:
        review.awaiting_confirmation_at = None
        return  # past its window the buyer cannot change it: nothing left to recover
    if kind is None:
        unsure = triage.needs_confirmation(
            review.rating,
            review.sentiment_score,
            is_system_default=is_default,
            bands=settings.bands,
        )
        if not unsure:
            review.awaiting_confirmation_at = None
        elif review.awaiting_confirmation_at is None and review.id not in batch.dismissed:
            review.awaiting_confirmation_at = now  # 待确认: a person decides, no deadline yet
        return
    review.awaiting_confirmation_at = None
    new_case = open_case_for(session, review, kind, now=now, settings=settings)
    batch.cases[review.id] = new_case
    result.cases_opened += 1
    result.case_ids.append(new_case.id)


RATING_OF_KIND = {
    CaseKind.BAD: Rating.BAD,
    CaseKind.NEUTRAL: Rating.NEUTRAL,
    CaseKind.HIDDEN_NEGATIVE: Rating.GOOD,
}


def _recovery_shown(case: Case, review: Review, settings: IntakeSettings) -> CaseOutcome | None:
    """The recovery the platform now shows, as its rules count one (None: none yet).
    Deleted; revised to 好评 where the buyer may revise (never on Tmall) with happy words;
    or a happy 追评 — Tmall's only way, and a hidden negative's everywhere."""
    if review.is_deleted:  # the buyer deleted it, or the platform did on the shop's appeal
        appealed = case.appeal_state in (AppealState.SUBMITTED, AppealState.ACCEPTED)
        return CaseOutcome.APPEAL_UPHELD if appealed else CaseOutcome.REVIEW_DELETED
    rules = settings.rules
    was = RATING_OF_KIND[CaseKind(case.kind)]
    if rules.counts_as_revision(was, review.rating) and _still_unhappy(review, settings) is False:
        return CaseOutcome.REVIEW_REVISED
    follow_up_counts = (
        platform_rules.Recovery.POSITIVE_FOLLOW_UP in rules.for_rating(was).recovered_by
    )
    happy_follow_up = (
        review.follow_up_text is not None
        and review.follow_up_score is not None
        and review.follow_up_score >= settings.bands.confirm
    )
    if follow_up_counts and happy_follow_up:  # the 追评 speaks for itself, the old words stay
        return CaseOutcome.POSITIVE_FOLLOW_UP
    return None


def _still_unhappy(review: Review, settings: IntakeSettings) -> bool | None:
    """Whether a good rating's latest words are still clearly unhappy (then its case stays
    open), or None while they are not scored yet: "unknown" never passes for "happy", so
    the case waits for the scorer whatever path the review came by."""
    if not review.follow_up_text or not _buyer_words(review):
        return False
    if review.sentiment_score is None:
        return None
    return review.sentiment_score < settings.bands.case


def _said_happy(session: Session, review_ids: list[int]) -> set[int]:
    """Of these reviews, those staff said are happy (a dismissed 待确认, a correction)."""
    happy: set[int] = set()
    for start in range(0, len(review_ids), CHUNK):
        happy.update(
            session.scalars(
                sa.select(SentimentCorrection.review_id).where(
                    SentimentCorrection.review_id.in_(review_ids[start : start + CHUNK]),
                    SentimentCorrection.is_positive.is_(True),
                )
            )
        )
    return happy


def _refresh_priority(session: Session, case: Case, review: Review, *, now: datetime) -> None:
    """A case opened before its review was scored gets the priority the score implies, so
    the case ends the same whether the review arrived scored (pull) or not (push, upload)."""
    if review.sentiment_score is None or review.sentiment_score >= triage.VERY_UNHAPPY:
        return  # the score adds nothing to the priority: no need to read the buyer's value
    kind = CaseKind(case.kind)
    new = triage.priority(
        kind,
        review.sentiment_score,
        _buyer_value(session, review.buyer_id),
        _order_value(session, review),
    )
    if new != case.priority:
        record_case_change(
            session, case, now=now, actor_id=None, field="priority", old=case.priority, new=new
        )
        case.priority, case.updated_at = new, now


def _buyer_value(session: Session, buyer_id: int | None) -> BuyerValue:
    if buyer_id is None:
        return BuyerValue()
    count, spent = session.execute(
        sa.select(sa.func.count(Order.id), sa.func.coalesce(sa.func.sum(Order.payment), 0)).where(
            Order.buyer_id == buyer_id
        )
    ).one()
    buyer = session.get(Buyer, buyer_id)
    return BuyerValue(
        order_count=count,
        total_spent=Decimal(spent),
        membership=buyer.membership_level if buyer else BuyerValue().membership,
    )


def _order_value(session: Session, review: Review) -> Decimal | None:
    if review.order_line_id is None:
        return review.product.price if review.product is not None else None
    line = session.get(OrderLine, review.order_line_id)
    return line.unit_price * line.quantity if line is not None else None


def reasons_named(review: Review) -> list[Reason]:
    """The reasons the buyer's own words name (``other`` when none): a case's tags."""
    return tag_reasons(" ".join(_buyer_words(review)) or review.text)


def open_case_for(
    session: Session, review: Review, kind: CaseKind, *, now: datetime, settings: IntakeSettings
) -> Case:
    # The clock starts when the shop can know: when the review reached the tracker.
    opened_at = now
    case = Case(
        shop_id=review.shop_id,
        review_id=review.id,
        buyer_id=review.buyer_id,
        product_id=review.product_id,
        status=CaseStatus.NEW,
        kind=kind.value,
        priority=triage.priority(
            kind,
            review.sentiment_score,
            _buyer_value(session, review.buyer_id),
            _order_value(session, review),
        ),
        is_hidden_negative=kind is CaseKind.HIDDEN_NEGATIVE,
        opened_at=opened_at,
        first_contact_due_at=triage.first_contact_due(
            opened_at, kind, settings.deadline_policy, settings.working_hours
        ),
        revision_window_ends_at=settings.rules.change_window_end(review.first_posted_at),
        updated_at=now,
        reasons=[CaseReason(reason=r) for r in reasons_named(review)],
    )
    session.add(case)
    session.flush()
    record_case_change(
        session,
        case,
        now=now,
        actor_id=None,
        field="status",
        old=None,
        new=CaseStatus.NEW.value,
    )
    owner, automatic = auto_assign.owner_for(session, case, now, settings.working_hours.tz)
    if owner is not None:
        case.owner_id = owner.id
        record_case_change(
            session,
            case,
            now=now,
            actor_id=None,
            field="owner",
            old=None,
            new=f"{owner.display_name}（自动分配）" if automatic else owner.display_name,
        )
        if automatic:
            alerts.notify_auto_assigned(session, case, owner, now=now)
        else:
            alerts.notify_same_buyer(session, case, owner, now=now)
    return case


def close_by_buyer(
    session: Session, case: Case, outcome: CaseOutcome, *, at: datetime, now: datetime
) -> None:
    """The platform shows the review revised, deleted or followed up happily (or removed on
    appeal): the case closes as that outcome says, credited to its owner."""
    close_by_tracker(session, case, outcome, at=at, now=now, closed_by_id=case.owner_id)


def close_by_tracker(
    session: Session,
    case: Case,
    outcome: CaseOutcome,
    *,
    at: datetime,
    now: datetime,
    closed_by_id: int | None,
) -> None:
    """Close ``case`` as the tracker decided (never a person's click), audited: what the
    platform showed, or a promise whose window ran out."""
    old_status = case.status
    case.status = case_flow.closed_status(outcome)
    case.outcome = outcome
    case.closed_at = at
    case.closed_by_id = closed_by_id
    case.next_follow_up_at = None  # nothing left to follow up
    case.updated_at = now
    for name, old, new in (
        ("status", old_status.value, case.status.value),
        ("outcome", None, outcome.value),
    ):
        record_case_change(
            session,
            case,
            now=now,
            actor_id=None,
            field=name,
            old=old,
            new=new,
        )


def _pending_ids(
    session: Session, shop_id: int, *, after: int, size: int, now: datetime, window: timedelta
) -> list[int]:
    """The first ``size`` reviews after id ``after`` that are waiting: unscored ones (a
    partial index holds just those), and neutral/bad ones within the buyer's ``window`` still
    without a case (found through their posting time). One query with OR read every review of the
    shop, every minute: 0.4 s on 500,000 reviews, seconds under load."""
    unscored = session.scalars(
        sa.select(Review.id)
        .where(
            Review.shop_id == shop_id,
            sa.text(UNSCORED),  # the partial index's own condition: it applies, visibly
            Review.id > after,
        )
        .order_by(Review.id)
        .limit(size)
    )
    without_case = session.scalars(
        sa.select(Review.id).where(
            Review.shop_id == shop_id,
            Review.first_posted_at > now - window,
            Review.id > after,
            Review.rating != Rating.GOOD,
            Review.is_deleted.is_(False),
            ~sa.exists().where(Case.review_id == Review.id),
        )
    )
    return sorted({*unscored, *without_case})[:size]


def score_pending(
    session: Session,
    shop: Shop,
    *,
    scorer: Scorer,
    now: datetime,
    settings: IntakeSettings,
    limit: int | None = 5000,
) -> IntakeResult:
    """Score reviews stored without a score (pushed, uploaded, or loaded in bulk) and
    triage them as intake would have with a scorer: open the cases they call for (only
    where the buyer can still revise), close a waiting case whose revised words turn out
    happy, refresh a case's priority. The caller commits. ``limit``: at most this many
    reviews per call (None: all).
    """
    lock_shop_intake(session, shop.id)  # as every intake of the shop
    result = IntakeResult()
    last_id = 0
    while limit is None or result.received < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - result.received)
        ids = _pending_ids(
            session,
            shop.id,
            after=last_id,
            size=size,
            now=now,
            window=settings.rules.change_window,
        )
        reviews = list(
            session.scalars(sa.select(Review).where(Review.id.in_(ids)).order_by(Review.id))
        )
        if not reviews:
            break
        last_id = reviews[-1].id
        result.received += len(reviews)
        result.scored += _score(scorer, reviews)
        batch = _Batch(session, shop, {}, now)
        batch.dismissed = _said_happy(session, [r.id for r in reviews])
        batch.cases.update(
            (c.review_id, c)
            for c in session.scalars(
                sa.select(Case).where(Case.review_id.in_([r.id for r in reviews]))
            )
        )
        for review in reviews:
            at = _version_time(review)
            _triage(session, batch, review, at, now=now, settings=settings, result=result)
        session.flush()
    return result
