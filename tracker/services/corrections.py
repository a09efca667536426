"""Staff corrections of the sentiment model, kept for the next training."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tracker.models import Review, SentimentCorrection
from tracker.services.audit import record_change
from tracker.services.transaction import transaction


def correct_sentiment(
    session: Session, review: Review, *, is_positive: bool, user_id: int, now: datetime
) -> None:
    """One correction per review; the latest word counts."""
    with transaction(session):
        correction = session.get(SentimentCorrection, review.id)
        old = None if correction is None else correction.is_positive
        if correction is None:
            correction = SentimentCorrection(
                review_id=review.id, is_positive=is_positive, user_id=user_id, created_at=now
            )
            session.add(correction)
        correction.is_positive, correction.user_id, correction.created_at = (
            is_positive,
            user_id,
            now,
        )
        record_change(
            session,
            now=now,
            actor_id=user_id,
            entity_type="review",
            entity_id=review.id,
            field="sentiment_label",
            old=old,
            new=is_positive,
        )
