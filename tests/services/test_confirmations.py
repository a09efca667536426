"""待确认 and 误报: unsure good ratings wait for a person; a dismissed false alarm is a
correction and stays out of the recovery figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.fakes import KeywordScorer
from tests.services.test_intake import HOURS, NOW, SETTINGS, record, run
from tracker.domain.triage import CaseKind
from tracker.models import Case, Review, SentimentCorrection, Shop, User
from tracker.models.enums import CaseOutcome, CaseStatus, Rating, Role
from tracker.services import cases as case_service
from tracker.services import confirmations, reports
from tracker.services.errors import FieldError
from tracker.services.intake import score_pending


@pytest.fixture
def agent(make_user: Callable[..., User], shop: Shop) -> User:
    return make_user(Role.AGENT, [shop])


def _unsure(session: Session, shop: Shop, key: str = "2001") -> Review:
    run(session, shop, [record(key, rating=Rating.GOOD, text="还行吧，就那样")])
    return session.scalars(sa.select(Review).where(Review.platform_key == f"{key}:buyer")).one()


def _label(session: Session, review: Review) -> bool | None:
    return session.scalar(
        sa.select(SentimentCorrection.is_positive).where(SentimentCorrection.review_id == review.id)
    )


def test_an_unsure_good_rating_waits_without_a_case_or_deadline(
    session: Session, shop: Shop
) -> None:
    review = _unsure(session, shop)
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    assert review.awaiting_confirmation_at == NOW
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 1
    assert [w.review.id for w in confirmations.waiting(session, shop.id, now=NOW)] == [review.id]
    # clearly happy and clearly unhappy good ratings never wait
    run(session, shop, [record("2002", rating=Rating.GOOD, text="很好吃")])
    run(session, shop, [record("2003", rating=Rating.GOOD, text="好评，但是坏了一半")])
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 1
    # past the buyer's 30 days nothing is left to recover: it leaves the queue
    assert confirmations.count_waiting(session, shop.id, now=NOW + timedelta(days=31)) == 0


def test_confirming_opens_a_case_with_its_deadline_from_the_confirmation(
    session: Session, shop: Shop, agent: User
) -> None:
    review = _unsure(session, shop)
    later = NOW + timedelta(hours=3)
    case = confirmations.confirm(
        session, shop.id, review.id, actor=agent, now=later, settings=SETTINGS
    )
    assert case.kind == CaseKind.HIDDEN_NEGATIVE.value and case.is_hidden_negative
    assert case.opened_at == later
    assert case.first_contact_due_at == HOURS.add(later, timedelta(hours=8))
    assert _label(session, review) is False  # the model learns it was a complaint
    assert confirmations.count_waiting(session, shop.id, now=later) == 0
    with pytest.raises(confirmations.AlreadyDecided):  # a second click (or a colleague)
        confirmations.dismiss(session, shop.id, review.id, actor=agent, now=later)
    assert session.get(Case, case.id).status is CaseStatus.NEW


def test_dismissing_stores_a_correction_and_never_queues_the_words_again(
    session: Session, shop: Shop, agent: User
) -> None:
    review = _unsure(session, shop)
    confirmations.dismiss(session, shop.id, review.id, actor=agent, now=NOW)
    assert _label(session, review) is True
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 0
    # scored again (a new model, a re-run): the staff's word stands
    review.sentiment_model = None
    session.commit()
    score_pending(session, shop, scorer=KeywordScorer(), now=NOW, settings=SETTINGS)
    session.commit()
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 0
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0


def test_another_shops_review_cannot_be_decided(
    session: Session, shop: Shop, make_shop: Callable[..., Shop], agent: User
) -> None:
    review = _unsure(session, shop)
    other = make_shop()
    with pytest.raises(confirmations.AlreadyDecided):
        confirmations.confirm(session, other.id, review.id, actor=agent, now=NOW, settings=SETTINGS)
    assert review.awaiting_confirmation_at is not None


def test_a_false_alarm_closes_apart_and_is_left_out_of_recovery(
    session: Session, shop: Shop, agent: User
) -> None:
    run(
        session,
        shop,
        [
            record("3001", rating=Rating.GOOD, text="用了一个月，差不多没坏"),  # hidden negative
            record("3002", rating=Rating.BAD, text="太差了"),
        ],
    )
    hidden, bad = session.scalars(sa.select(Case).order_by(Case.id)).all()
    assert hidden.is_hidden_negative and not bad.is_hidden_negative
    case_service.change_status(
        session,
        hidden,
        CaseStatus.DISMISSED,
        CaseOutcome.FALSE_ALARM,
        actor=agent,
        now=NOW,
        expected_version=hidden.version,
    )
    assert hidden.status is CaseStatus.DISMISSED and hidden.closed_at == NOW
    assert _label(session, hidden.review) is True
    with pytest.raises(FieldError, match="只有隐性差评"):
        case_service.change_status(
            session,
            bad,
            CaseStatus.DISMISSED,
            CaseOutcome.FALSE_ALARM,
            actor=agent,
            now=NOW,
            expected_version=bad.version,
        )
    case_service.change_status(
        session,
        bad,
        CaseStatus.UNRECOVERED,
        CaseOutcome.REFUSED,
        actor=agent,
        now=NOW,
        expected_version=bad.version,
    )
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), HOURS.tz)
    board = reports.dashboard(session, shop.id, period, now=NOW)
    assert board.totals.cases == 1  # the false alarm is not a case to recover
    assert board.totals.recovery_rate_closed == 0.0  # one closed, unrecovered; not 0 of 2
    assert board.false_alarms == 1
    assert board.triage == reports.Triage(hidden_opened=1, hidden_false_alarms=1)


def test_the_report_says_what_staff_made_of_the_triage(
    session: Session, shop: Shop, agent: User, make_shop: Callable[..., Shop]
) -> None:
    """Hidden negatives opened and their 误报, and the 待确认 decisions of the period: the
    supervisor sees how far the shop's staff trust the triage."""
    first, second, third = (_unsure(session, shop, key) for key in ("4001", "4002", "4003"))
    later = NOW + timedelta(hours=1)
    confirmations.confirm(session, shop.id, first.id, actor=agent, now=later, settings=SETTINGS)
    confirmations.dismiss(session, shop.id, second.id, actor=agent, now=later)
    confirmations.dismiss(session, shop.id, third.id, actor=agent, now=later)
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), HOURS.tz)
    found = reports.triage(session, shop.id, period)
    assert found == reports.Triage(hidden_opened=1, hidden_false_alarms=0, confirmed=1, dismissed=2)
    # another period, or another shop, sees none of it
    before = reports.Period(date(2026, 10, 1), date(2026, 10, 31), HOURS.tz)
    assert reports.triage(session, shop.id, before) == reports.Triage()
    assert reports.triage(session, make_shop().id, period) == reports.Triage()
