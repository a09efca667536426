"""Staff corrections of the sentiment model, kept for the next training."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import upsert
from tracker.models import Review, SentimentCorrection
from tracker.services.audit import record_change
from tracker.services.transaction import transaction


def correct_sentiment(
    session: Session, review: Review, *, is_positive: bool, user_id: int, now: datetime
) -> None:
    """Staff say the model got this review wrong: one transaction."""
    with transaction(session):
        store_correction(session, review.id, is_positive=is_positive, user_id=user_id, now=now)


def store_correction(
    session: Session, review_id: int, *, is_positive: bool, user_id: int | None, now: datetime
) -> None:
    """One correction per review; the latest word counts. One upsert, so two staff
    correcting the same review at once both succeed (the later one stands). Inside the
    caller's transaction: dismissing a false alarm and confirming 待确认 store one too."""
    old = session.scalar(
        sa.select(SentimentCorrection.is_positive).where(SentimentCorrection.review_id == review_id)
    )
    values = {"is_positive": is_positive, "user_id": user_id, "created_at": now}
    session.execute(
        upsert(session, SentimentCorrection.__table__)
        .values(review_id=review_id, **values)
        .on_conflict_do_update(index_elements=["review_id"], set_=values)
    )
    record_change(
        session,
        now=now,
        actor_id=user_id,
        entity_type="review",
        entity_id=review_id,
        field="sentiment_label",
        old=old,
        new=is_positive,
    )
