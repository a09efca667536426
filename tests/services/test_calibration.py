"""A shop's own score bands from its good ratings: read from the right reviews, used while
the model they were set for scores the shop, and by nobody else."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tracker import jobs, runtime
from tracker.clock import utcnow
from tracker.domain.triage import ScoreBands
from tracker.models import Review, SentimentCorrection, Shop, ShopSentimentModel
from tracker.models.enums import Rating
from tracker.services import calibration


def add_reviews(
    session: Session,
    shop: Shop,
    scores: list[float],
    *,
    model: str,
    at: datetime | None = None,
    rating: Rating = Rating.GOOD,
    system_default: bool = False,
    deleted: bool = False,
) -> None:
    at = at or utcnow() - timedelta(days=3)
    start = session.scalar(sa.select(sa.func.count()).select_from(Review)) or 0
    session.add_all(
        Review(
            shop_id=shop.id,
            platform_key=f"{start + i}:buyer",
            rating=rating,
            text="还行吧",
            posted_at=at,
            first_posted_at=at,
            received_at=at,
            updated_at=at,
            sentiment_score=score,
            sentiment_model=model,
            is_system_default=system_default,
            is_deleted=deleted,
        )
        for i, score in enumerate(scores)
    )
    session.commit()


def add_own_model(
    session: Session, shop: Shop, version: str, *, case: float, confirm: float
) -> None:
    """An active model of the shop's own with these bands (its arrays are not read here)."""
    description = {"thresholds": {"decision": 0.5, "case": case, "confirm": confirm}}
    session.add(
        ShopSentimentModel(
            shop_id=shop.id, version=version, status="active", trained_at=utcnow(),
            activated_at=utcnow(), examples=500, figures={}, decision="", arrays=b"",
            description=description,
        )
    )  # fmt: skip
    session.commit()


def spread(n: int, low: float = 0.0, high: float = 1.0) -> list[float]:
    return [low + (high - low) * (i + 0.5) / n for i in range(n)]


def test_only_the_shops_recent_good_ratings_by_that_model_set_its_bands(
    session: Session, shop: Shop
) -> None:
    add_reviews(session, shop, spread(1200, 0.5, 1.0), model="m1")
    # none of these may pull the bands down
    add_reviews(session, shop, [0.01] * 300, model="m1", rating=Rating.BAD)
    add_reviews(session, shop, [0.01] * 300, model="m1", system_default=True)
    add_reviews(session, shop, [0.01] * 300, model="m1", deleted=True)
    add_reviews(session, shop, [0.01] * 300, model="m0")  # another model's scale
    add_reviews(session, shop, [0.01] * 300, model="m1", at=utcnow() - timedelta(days=400))
    bands = calibration.calibrate(session, shop, model_version="m1", now=utcnow())
    assert bands is not None and 0.5 < bands.case < bands.confirm < 0.6
    good = spread(1200, 0.5, 1.0)
    assert sum(s < bands.case for s in good) == 12 and sum(s < bands.confirm for s in good) == 48
    stored = shop.sentiment_calibration
    assert stored is not None and stored["model"] == "m1" and stored["good_reviews"] == 1200
    narrow, wide = ScoreBands(0.01, 0.02), ScoreBands(0.01, 0.9)
    assert calibration.bands_for(stored, "m1", narrow) == ScoreBands(
        stored["case"], stored["confirm"]
    )
    # 待确认 never narrower than the model's own band
    assert calibration.bands_for(stored, "m1", wide) == ScoreBands(stored["case"], 0.9)
    assert calibration.bands_for(stored, "m2", narrow) is None
    assert calibration.bands_for(None, "m1", narrow) is None
    # too few good ratings for another model: nothing to go on, the old bands are cleared
    assert calibration.calibrate(session, shop, model_version="m0", now=utcnow()) is None
    assert shop.sentiment_calibration is None


def test_good_ratings_staff_judged_complaints_are_left_out_of_the_happy_ones(
    session: Session, shop: Shop
) -> None:
    """是差评 in 待确认 stores a negative correction: that review is no happy text, so the
    1% of happy texts is taken without it; a dismissed 误报 (positive) stays in."""
    good = spread(1200, 0.5, 1.0)
    add_reviews(session, shop, good, model="m1")
    plain = calibration.calibrate(session, shop, model_version="m1", now=utcnow())
    lowest = session.scalars(sa.select(Review.id).order_by(Review.sentiment_score).limit(12)).all()
    session.add_all(
        SentimentCorrection(review_id=rid, is_positive=i >= 10, created_at=utcnow())
        for i, rid in enumerate(lowest)  # ten judged complaints, two false alarms
    )
    session.commit()
    judged = calibration.calibrate(session, shop, model_version="m1", now=utcnow())
    assert plain is not None and judged is not None
    assert judged.case > plain.case and judged.confirm == plain.confirm
    assert sum(s < judged.case for s in good) == 10 + 11  # 1% of the 1,190 others
    stored = shop.sentiment_calibration
    assert stored is not None and stored["judged_complaints"] == 10
    assert stored["good_reviews"] == 1200


def test_the_shops_bands_are_used_while_the_model_they_were_set_for_scores_it(
    app: Flask,
    session: Session,
    shop: Shop,
    make_shop,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    version = runtime.installed_model_version(app)
    assert version is not None  # the bundled model
    installed = runtime.score_bands(app)
    add_reviews(session, shop, spread(1500, 0.2, 1.0), model=version)
    other_id = make_shop(code="other").id
    calibration.calibrate(session, shop, model_version=version, now=utcnow())
    assert shop.sentiment_calibration is not None
    own = ScoreBands(
        shop.sentiment_calibration["case"],
        max(shop.sentiment_calibration["confirm"], installed.confirm),
    )
    assert own != installed
    assert runtime.score_bands(app, shop.id) == own
    assert runtime.settings(app, shop).bands == own  # intake reads them
    assert runtime.bands_of_model(app, session, shop.id, version) == own
    assert runtime.bands_of_model(app, session, shop.id, "snownlp-0.12.3-default") == installed
    assert runtime.score_bands(app, other_id) == installed  # a shop without enough stays
    assert runtime.calibrated_bands(app, shop) == own
    # the configured threshold still wins for the case band
    monkeypatch.setitem(app.config, "TRACKER_HIDDEN_NEGATIVE_THRESHOLD", 0.05)
    assert runtime.score_bands(app, shop.id).case == 0.05
    monkeypatch.setitem(app.config, "TRACKER_HIDDEN_NEGATIVE_THRESHOLD", None)
    # a model of the shop's own scores it: its bands, set on the shop's held-back reviews
    add_own_model(session, shop, "own-1", case=0.02, confirm=0.2)
    assert runtime.score_bands(app, shop.id) == ScoreBands(0.02, 0.2)
    assert runtime.calibrated_bands(app, shop) is None


def test_the_nightly_job_calibrates_every_active_shop(
    app: Flask,
    session: Session,
    shop: Shop,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    version = runtime.installed_model_version(app)
    assert version is not None
    add_reviews(session, shop, spread(1000, 0.3, 1.0), model=version)
    shop_id, other_id = shop.id, make_shop(code="few").id
    assert jobs.dispatch_builds(app, jobs.inline(app), "calibrate", requested_only=False) == 2
    calibrated = session.get(Shop, shop_id)
    few = session.get(Shop, other_id)
    assert calibrated is not None and calibrated.sentiment_calibration is not None
    assert calibrated.sentiment_calibration["good_reviews"] == 1000
    assert few is not None and few.sentiment_calibration is None


def test_a_shops_own_model_is_calibrated_on_the_good_ratings_it_scored(
    app: Flask, session: Session, shop: Shop
) -> None:
    installed_version = runtime.installed_model_version(app)
    assert installed_version is not None
    add_reviews(session, shop, spread(1500, 0.2, 1.0), model=installed_version)
    add_own_model(session, shop, "own-1", case=0.02, confirm=0.2)
    assert runtime.scoring_model_version(app, shop) == "own-1"
    # the installation's scores are on another scale: the own model's bands stand
    assert calibration.calibrate(session, shop, model_version="own-1", now=utcnow()) is None
    assert runtime.score_bands(app, shop.id) == ScoreBands(0.02, 0.2)
    # reviews the own model scored since it was promoted: their 1% sets the case band
    add_reviews(session, shop, spread(999, 0.1, 1.0), model="own-1")
    assert calibration.calibrate(session, shop, model_version="own-1", now=utcnow()) is None
    add_reviews(session, shop, [0.95], model="own-1")
    shop_id = shop.id
    jobs.dispatch_builds(app, jobs.inline(app), "calibrate", requested_only=False)  # nightly
    stored = session.get(Shop, shop_id).sentiment_calibration
    assert stored is not None and stored["model"] == "own-1" and stored["good_reviews"] == 1000
    assert 0.1 < stored["case"] < 0.12  # the lowest 1% of 0.1–1.0
    calibrated = ScoreBands(stored["case"], max(stored["confirm"], 0.2))
    assert runtime.score_bands(app, shop_id) == calibrated
    assert runtime.calibrated_bands(app, session.get(Shop, shop_id)) == calibrated
    assert runtime.bands_of_model(app, session, shop_id, "own-1") == calibrated
    installed = runtime.bands_of_model(app, session, shop_id, installed_version)
    assert installed == runtime.score_bands(app)  # its calibration was replaced


def test_waiting_reviews_below_the_new_case_band_open_their_case(
    app: Flask, session: Session, shop: Shop
) -> None:
    """Bands that move overnight leave no 明显负面 review waiting in 待确认: intake would open
    a case for it now, so the calibration does, its deadline from then; one still inside
    the 待确认 band waits for a person."""
    from tracker.models import AuditEvent, Case
    from tracker.services import confirmations

    version = runtime.installed_model_version(app)
    assert version is not None
    model_case = runtime.score_bands(app, shop.id).case
    add_reviews(session, shop, spread(1000, 0.3, 1.0), model=version)
    add_reviews(session, shop, [0.301, 0.34], model=version)  # 待确认 with the model's bands
    add_reviews(session, shop, [0.2], model="older-model")  # another scale: not compared
    waiting = session.scalars(
        sa.select(Review).where(Review.sentiment_score.in_([0.301, 0.34, 0.2]))
    )
    for review in waiting:
        review.awaiting_confirmation_at = utcnow() - timedelta(hours=5)
    session.commit()
    assert model_case < 0.301
    shop_id = shop.id
    jobs.dispatch_builds(app, jobs.inline(app), "calibrate", requested_only=False)
    bands = runtime.score_bands(app, shop_id)
    assert 0.301 < bands.case < 0.34 < bands.confirm
    [case] = session.scalars(sa.select(Case)).all()
    assert case.review.sentiment_score == pytest.approx(0.301) and case.is_hidden_negative
    assert utcnow() - case.opened_at < timedelta(minutes=1)  # its deadline runs from now
    still = session.scalars(
        sa.select(Review.sentiment_score).where(Review.awaiting_confirmation_at.is_not(None))
    ).all()
    assert sorted(still) == pytest.approx([0.2, 0.34])
    assert confirmations.count_waiting(session, shop_id, now=utcnow()) == 2
    said = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "confirmation")).one()
    assert (said.entity_id, said.new_value) == (case.review_id, confirmations.SETTLED)
