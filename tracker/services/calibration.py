"""A shop's own score bands (本店校准): the model's bands were set on the categories it was
trained on; a shop selling something else sees its happy texts score lower or higher, so
the same threshold floods one shop with false alarms and misses complaints in another.
Nightly (and on 立即训练) the scores of the shop's recent good ratings set its bands:
the lowest 1% open a case, up to 4% (or the model's own 待确认 band, if wider) wait in
待确认 (tracker.domain.triage). Good ratings staff judged complaints (是差评 in 待确认, a
correction) are not happy texts: the 1% is of the others (at most the 待确认 share of all).

The same holds for a shop's own model: its bands were set on a few hundred held-back
reviews, too few for a 1% quantile. The good ratings it scored arrived after it was
trained (a review is scored once, again only when its words change), so their scores are
what the model does on reviews it never saw."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.triage import ScoreBands, calibrated_bands
from tracker.models import Review, SentimentCorrection, Shop
from tracker.models.enums import Rating
from tracker.services.transaction import transaction

WINDOW = timedelta(days=365)
SAMPLE = 20_000  # the most recent good ratings: enough for a 1% quantile, quick to read


def _good_ratings(
    shop_id: int, model_version: str, now: datetime
) -> sa.Select[tuple[float, bool | None]]:
    """The most recent good ratings ``model_version`` scored, each with whether staff
    judged it a complaint (is_positive False) — what calibration reads."""
    return (
        sa.select(Review.sentiment_score, SentimentCorrection.is_positive)
        .outerjoin(SentimentCorrection, SentimentCorrection.review_id == Review.id)
        .where(
            Review.shop_id == shop_id,
            Review.rating == Rating.GOOD,
            Review.sentiment_model == model_version,
            Review.sentiment_score.is_not(None),
            Review.is_system_default.is_(False),
            Review.is_deleted.is_(False),
            Review.posted_at >= now - WINDOW,
        )
        .order_by(Review.posted_at.desc())
        .limit(SAMPLE)
    )


def good_ratings_scored(session: Session, shop: Shop, *, model_version: str, now: datetime) -> int:
    """How many good ratings the next calibration would read (at most SAMPLE): the admin
    page says whether that is enough."""
    counted = _good_ratings(shop.id, model_version, now).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0


def calibrate(
    session: Session, shop: Shop, *, model_version: str, now: datetime
) -> ScoreBands | None:
    """Set (or clear) the shop's bands from the good ratings ``model_version`` scored."""
    rows = session.execute(_good_ratings(shop.id, model_version, now)).all()
    scores = [float(score) for score, _ in rows]
    happy = [float(score) for score, positive in rows if positive is not False]
    bands = calibrated_bands(scores, happy_scores=happy)
    with transaction(session):
        shop.sentiment_calibration = (
            None
            if bands is None
            else {
                "model": model_version,
                "case": round(bands.case, 6),
                "confirm": round(bands.confirm, 6),
                "good_reviews": len(scores),
                "judged_complaints": len(scores) - len(happy),  # left out of the happy
                "at": now.isoformat(),
            }
        )
    return bands


def bands_for(
    calibration: dict[str, object] | None, model_version: str | None, model_bands: ScoreBands
) -> ScoreBands | None:
    """The shop's calibrated bands when ``model_version`` is the model they were set for
    (another model's scores are on another scale). 待确认 is never narrower than the
    model's own: the queue costs a click and no deadline, a complaint left out of it costs
    the buyer."""
    if not calibration or model_version is None or calibration.get("model") != model_version:
        return None
    case, confirm = calibration.get("case"), calibration.get("confirm")
    if not isinstance(case, int | float) or not isinstance(confirm, int | float):
        return None
    return ScoreBands(case=float(case), confirm=max(float(confirm), model_bands.confirm, case))
