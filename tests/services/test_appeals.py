"""Appeals to the platform and buyers to handle with care."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.services.test_intake import NOW, SETTINGS, record, run
from tracker.models import AuditEvent, Buyer, Case, Shop, User
from tracker.models.enums import AppealReason, AppealState, CaseOutcome, CaseStatus, Rating, Role
from tracker.services import appeals, buyer_flags, reports
from tracker.services.errors import FieldError


@pytest.fixture
def agent(make_user: Callable[..., User], shop: Shop) -> User:
    return make_user(Role.AGENT, [shop])


@pytest.fixture
def boss(make_user: Callable[..., User], shop: Shop) -> User:
    return make_user(Role.SUPERVISOR, [shop])


def _case(session: Session, shop: Shop, key: str = "7001", nick: str = "差评师") -> Case:
    run(session, shop, [record(key, nick=nick, text="不返现就差评，东西太差")])
    return session.scalars(sa.select(Case).order_by(Case.id.desc())).first()


def _appeal(session: Session, case: Case, agent: User) -> None:
    appeals.submit(
        session,
        case,
        AppealReason.EXTORTION,
        "买家旺旺要求返现 50 元才删差评，已截图",
        actor=agent,
        now=NOW,
        expected_version=case.version,
    )


def test_an_upheld_appeal_closes_apart_when_the_platform_removes_the_review(
    session: Session, shop: Shop, agent: User, boss: User
) -> None:
    case = _case(session, shop)
    with pytest.raises(FieldError, match="请写明违规之处"):
        appeals.submit(
            session, case, AppealReason.ABUSE, " ", actor=agent, now=NOW, expected_version=None
        )
    _appeal(session, case, agent)
    assert case.appeal_state is AppealState.SUBMITTED and case.status is CaseStatus.NEW
    with pytest.raises(FieldError, match="已经申诉过"):
        _appeal(session, case, agent)
    with pytest.raises(FieldError, match="只有主管"):
        appeals.decide(session, case, accepted=True, actor=agent, now=NOW, expected_version=None)
    appeals.decide(session, case, accepted=True, actor=boss, now=NOW, expected_version=None)
    assert case.appeal_state is AppealState.ACCEPTED
    later = NOW + timedelta(days=1)
    run(session, shop, [record("7001", nick="差评师", is_deleted=True, posted=later)], now=later)
    assert (case.status, case.outcome) == (CaseStatus.REMOVED, CaseOutcome.APPEAL_UPHELD)
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), SETTINGS.working_hours.tz)
    board = reports.dashboard(session, shop.id, period, now=later)
    assert board.totals.cases == 0 and board.totals.recovered == 0  # not a buyer won back
    assert board.appeals["removed"] == 1


def test_a_rejected_appeal_leaves_the_case_to_work_and_may_be_tried_again(
    session: Session, shop: Shop, agent: User, boss: User
) -> None:
    case = _case(session, shop)
    _appeal(session, case, agent)
    appeals.decide(session, case, accepted=False, actor=boss, now=NOW, expected_version=None)
    assert case.appeal_state is AppealState.REJECTED and case.status is CaseStatus.NEW
    with pytest.raises(FieldError, match="没有等待处理的申诉"):
        appeals.decide(session, case, accepted=True, actor=boss, now=NOW, expected_version=None)
    _appeal(session, case, agent)  # new evidence: appealed again
    assert case.appeal_state is AppealState.SUBMITTED
    # a buyer who deletes it meanwhile is a deletion all the same, under appeal
    run(session, shop, [record("7001", nick="差评师", is_deleted=True)], now=NOW)
    assert case.outcome is CaseOutcome.APPEAL_UPHELD


def test_a_pattern_of_bad_reviews_or_a_staff_flag_puts_a_caution_on_the_buyer(
    session: Session, shop: Shop, agent: User
) -> None:
    for i in range(2):
        _case(session, shop, key=str(7100 + i), nick="老王")
    buyer = session.scalars(sa.select(Buyer).where(Buyer.platform_nick == "老王")).one()
    assert not buyer_flags.caution(session, buyer).shown
    _case(session, shop, key="7102", nick="老王")
    run(session, shop, [record("7103", nick="老王", rating=Rating.GOOD, text="好")])
    caution = buyer_flags.caution(session, buyer)
    assert caution.unhappy_reviews == 3 and caution.is_pattern and caution.shown
    other = session.scalars(sa.select(Buyer).where(Buyer.platform_nick != "老王")).first() or buyer
    buyer_flags.flag(session, other, "以差评要挟索要补偿", actor=agent, now=NOW)
    assert buyer_flags.caution(session, other).flag_reason == "以差评要挟索要补偿"
    buyer_flags.flag(session, other, "", actor=agent, now=NOW)  # unflagged
    assert other.flag_reason is None and other.flagged_by_id is None
    changes = session.scalars(
        sa.select(AuditEvent.new_value).where(AuditEvent.field == "flag_reason")
    ).all()
    assert changes == ["以差评要挟索要补偿", None]
