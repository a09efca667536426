"""待确认: good ratings whose words the model is unsure about wait for a person, who either
confirms the complaint (a case opens, its first-contact deadline counted from then) or
dismisses it (误报: no case, and the next training learns from it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain.triage import CaseKind
from tracker.models import Case, Review, User
from tracker.models.enums import Reason
from tracker.services.audit import record_change
from tracker.services.cases import rules_of
from tracker.services.corrections import store_correction
from tracker.services.intake import IntakeSettings, open_case_for, reasons_named
from tracker.services.transaction import transaction


class AlreadyDecided(RuntimeError):
    """Someone decided this review meanwhile (or it changed and left the queue)."""

    message = "这条评价已经有人处理过了（或已被买家修改）。"


def _waiting(session: Session, shop_id: int, now: datetime) -> sa.ColumnElement[bool]:
    window = rules_of(session, shop_id).change_window
    return sa.and_(
        Review.shop_id == shop_id,
        Review.awaiting_confirmation_at.is_not(None),
        Review.is_deleted.is_(False),
        # past the buyer's window nothing is left to recover: it leaves the queue by itself
        Review.first_posted_at > now - window,
    )


def count_waiting(session: Session, shop_id: int, *, now: datetime) -> int:
    return session.scalar(sa.select(sa.func.count()).where(_waiting(session, shop_id, now))) or 0


@dataclass(frozen=True)
class Waiting:
    review: Review
    reasons: list[Reason]  # what the words complain of, as a case would be tagged; may be none
    window_ends: datetime  # the buyer can change (or 追评) the review until then


def waiting(
    session: Session, shop_id: int, *, now: datetime, limit: int = 50, offset: int = 0
) -> list[Waiting]:
    """Oldest first: the buyer's window runs from the review, not from the queue. With the
    reasons its words name (包装问题…), which tell a complaint from praise at a glance, and
    the end of the buyer's window, which says which to read first."""
    rules = rules_of(session, shop_id)
    reviews = session.scalars(
        sa.select(Review)
        .where(_waiting(session, shop_id, now))
        .options(selectinload(Review.product), selectinload(Review.buyer))
        .order_by(Review.first_posted_at, Review.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        Waiting(
            review,
            [r for r in reasons_named(review) if r is not Reason.OTHER],
            rules.change_window_end(review.first_posted_at),
        )
        for review in reviews
    ]


def _take(session: Session, shop_id: int, review_id: int, now: datetime) -> Review:
    """Take the review out of the queue in one conditional UPDATE: of two people deciding
    at once, exactly one gets it."""
    taken = session.execute(
        sa.update(Review)
        .where(Review.id == review_id, _waiting(session, shop_id, now))
        .values(awaiting_confirmation_at=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if taken != 1:
        raise AlreadyDecided(review_id)
    review = session.get(Review, review_id)
    assert review is not None
    return review


def _decide(
    session: Session, shop_id: int, review_id: int, *, actor: User, now: datetime, complaint: bool
) -> Review:
    """Take the review out of the queue, store the person's word for the next training and
    audit it (inside the caller's transaction)."""
    review = _leave_queue(
        session, shop_id, review_id, now, actor_id=actor.id, word="是差评" if complaint else "误报"
    )
    store_correction(session, review.id, is_positive=not complaint, user_id=actor.id, now=now)
    return review


def _leave_queue(
    session: Session,
    shop_id: int,
    review_id: int,
    now: datetime,
    *,
    actor_id: int | None,
    word: str,
) -> Review:
    """Take the review out of the queue and audit what became of it (``word``)."""
    review = _take(session, shop_id, review_id, now)
    record_change(
        session,
        now=now,
        actor_id=actor_id,
        entity_type="review",
        entity_id=review.id,
        field="confirmation",
        old="待确认",
        new=word,
    )
    return review


def confirm(
    session: Session,
    shop_id: int,
    review_id: int,
    *,
    actor: User,
    now: datetime,
    settings: IntakeSettings,
) -> Case:
    """是差评: a hidden-negative case opens now, with its deadline from now."""
    with transaction(session):
        review = _decide(session, shop_id, review_id, actor=actor, now=now, complaint=True)
        case = open_case_for(session, review, CaseKind.HIDDEN_NEGATIVE, now=now, settings=settings)
    return case


def dismiss(session: Session, shop_id: int, review_id: int, *, actor: User, now: datetime) -> None:
    """误报: no case; the words are stored as happy for the next training."""
    with transaction(session):
        _decide(session, shop_id, review_id, actor=actor, now=now, complaint=False)


SETTLED = "本店校准后开案"  # the audit's word for a case the new bands opened


def settle(
    session: Session, shop_id: int, *, model_version: str, settings: IntakeSettings, now: datetime
) -> int:
    """After the shop's bands move (the nightly calibration), a waiting review that now
    scores below the case band is what intake would open a case for: it leaves the queue
    and its case opens, the deadline counted from now. One above the new 待确认 band stays
    for a person to decide (a click, no deadline). Returns how many cases opened."""
    with transaction(session):
        ids = list(
            session.scalars(
                sa.select(Review.id)
                .where(
                    _waiting(session, shop_id, now),
                    Review.sentiment_model == model_version,
                    Review.sentiment_score < settings.bands.case,
                )
                .order_by(Review.id)
            )
        )
        for review_id in ids:
            review = _leave_queue(session, shop_id, review_id, now, actor_id=None, word=SETTLED)
            open_case_for(session, review, CaseKind.HIDDEN_NEGATIVE, now=now, settings=settings)
        return len(ids)
