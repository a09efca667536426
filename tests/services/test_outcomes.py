"""Outcomes the platform confirms: a promise kept or not, Tmall's 追评, the explanation
window, and report figures for each outcome on a hand-built shop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.fakes import KeywordScorer
from tests.services.test_intake import NOW, SETTINGS, record, run
from tracker.domain.platform_rules import rules_for
from tracker.models import Case, CaseSurvey, Review, Shop, User
from tracker.models.enums import (
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Platform,
    Rating,
    Role,
)
from tracker.services import cases as svc
from tracker.services import promises, reports
from tracker.services.errors import FieldError
from tracker.services.intake import IntakeSettings


def settings_for(platform: Platform) -> IntakeSettings:
    return IntakeSettings(
        working_hours=SETTINGS.working_hours,
        deadline_policy=SETTINGS.deadline_policy,
        rules=rules_for(platform),
    )


@pytest.fixture
def agent(make_user: Callable[..., User], shop: Shop) -> User:
    return make_user(Role.AGENT, [shop])


def _case(session: Session, shop: Shop, key: str = "5001", **kw: object) -> Case:
    platform = shop.platform
    run(session, shop, [record(key, **kw)], settings=settings_for(platform))  # type: ignore[arg-type]
    review = session.scalars(sa.select(Review).where(Review.platform_key == f"{key}:buyer")).one()
    return session.scalars(sa.select(Case).where(Case.review_id == review.id)).one()


def _promise(session: Session, case: Case, agent: User) -> None:
    svc.log_attempt(
        session,
        case,
        svc.AttemptDraft(
            channel=Channel.PHONE,
            outcome=AttemptOutcome.AGREED,
            attempted_at=NOW + timedelta(hours=1),
            duration_seconds=180,
            notes="买家答应改评",
            next_attempt_at=NOW + timedelta(days=3),  # to see whether it was changed
        ),
        actor=agent,
        now=NOW + timedelta(hours=1),
        expected_version=case.version,
        hours=SETTINGS.working_hours,
    )


def test_a_promised_change_that_arrives_closes_the_case_as_recovered(
    session: Session, shop: Shop, agent: User
) -> None:
    case = _case(session, shop)
    _promise(session, case, agent)
    assert case.status is CaseStatus.WAITING and case.promised_at is not None
    assert case.next_follow_up_at is not None
    later = NOW + timedelta(days=2)
    revised = record("5001", rating=Rating.GOOD, text="问题解决了，好评", posted=later)
    run(session, shop, [revised], now=later, settings=settings_for(Platform.TAOBAO))
    assert (case.status, case.outcome) == (CaseStatus.RECOVERED, CaseOutcome.REVIEW_REVISED)
    assert case.next_follow_up_at is None  # nothing left to follow up: off every to-do list
    assert promises.close_broken(session, now=case.revision_window_ends_at) == 0


def test_a_promise_not_kept_closes_as_broken_when_the_window_ends(
    session: Session, shop: Shop, agent: User
) -> None:
    promised, unpromised = _case(session, shop, "5001"), _case(session, shop, "5002")
    _promise(session, promised, agent)
    ends = promised.revision_window_ends_at
    assert promises.close_broken(session, now=ends - timedelta(minutes=1)) == 0
    assert promises.close_broken(session, now=ends) == 1
    assert (promised.status, promised.outcome) == (
        CaseStatus.UNRECOVERED,
        CaseOutcome.PROMISE_BROKEN,
    )
    assert promised.closed_at == ends and promised.closed_by_id is None
    assert promised.next_follow_up_at is None
    assert unpromised.status is CaseStatus.NEW  # no promise: nothing to call broken


def test_a_promise_overtaken_by_a_closing_does_not_come_back_when_the_case_is_reopened(
    session: Session, shop: Shop, agent: User
) -> None:
    """The buyer agreed, then refused, and the agent closed the case as 买家拒绝; the
    survey says the problem is not solved and the case is reopened. Its old promise would
    have the page say 等待平台显示 and close the reopened case as 承诺未兑现 when the window
    ends: reopening clears it (audited), and the case is worked afresh."""
    from tracker.services import case_page

    case = _case(session, shop)
    _promise(session, case, agent)
    later = NOW + timedelta(days=1)
    svc.change_status(
        session, case, CaseStatus.UNRECOVERED, CaseOutcome.REFUSED,
        actor=agent, now=later, expected_version=case.version,
    )  # fmt: skip
    assert case.promised_at is not None  # kept on the closed case, as it was
    svc.change_status(
        session, case, CaseStatus.CONTACTING, None,
        actor=agent, now=later + timedelta(days=1), expected_version=case.version,
    )  # fmt: skip
    assert case.promised_at is None and case.status is CaseStatus.CONTACTING
    assert promises.close_broken(session, now=case.revision_window_ends_at) == 0
    assert case.status is CaseStatus.CONTACTING
    tz = SETTINGS.working_hours.tz
    (row,) = [h for h in case_page.history(session, case.id, tz) if h.field == "买家承诺"]
    assert row.new is None and row.old == (NOW + timedelta(hours=1)).astimezone(tz).strftime(
        "%m-%d %H:%M"
    )
    # a move between open statuses keeps a promise: it is the case's own
    _promise(session, case, agent)
    assert case.status is CaseStatus.WAITING and case.promised_at is not None
    svc.change_status(
        session, case, CaseStatus.CONTACTING, None,
        actor=agent, now=later + timedelta(days=2), expected_version=case.version,
    )  # fmt: skip
    assert case.promised_at is not None


def test_a_tmall_case_is_never_revised_a_happy_follow_up_recovers_it(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    tmall = make_shop(platform=Platform.TMALL)
    rules = settings_for(Platform.TMALL)
    case = _case(session, tmall)
    later = NOW + timedelta(days=1)
    # the platform's data shows a rating change Tmall does not allow: kept, not credited
    run(
        session,
        tmall,
        [record("5001", rating=Rating.GOOD, text="好评", posted=later)],
        now=later,
        settings=rules,
    )
    assert case.status is CaseStatus.NEW
    unhappy = record("5001", rating=Rating.BAD, follow_up_text="还是坏的，太差", follow_up_at=later)
    run(session, tmall, [unhappy], now=later, scorer=KeywordScorer(), settings=rules)
    assert case.status is CaseStatus.NEW  # an unhappy 追评 recovers nothing
    happy = record(
        "5001", rating=Rating.BAD, follow_up_text="补发的收到了，很甜，谢谢", follow_up_at=later
    )
    run(session, tmall, [happy], now=later, scorer=KeywordScorer(), settings=rules)
    assert (case.status, case.outcome) == (CaseStatus.RECOVERED, CaseOutcome.POSITIVE_FOLLOW_UP)


@pytest.mark.parametrize(
    ("platform", "refused"),
    [(Platform.TAOBAO, True), (Platform.TMALL, True), (Platform.KUAISHOU, False)],
)
def test_an_explanation_after_a_follow_up_is_refused_where_the_platform_says_so(
    session: Session,
    make_shop: Callable[..., Shop],
    make_user: Callable[..., User],
    platform: Platform,
    refused: bool,
) -> None:
    shop = make_shop(platform=platform)
    agent = make_user(Role.AGENT, [shop])
    case = _case(session, shop)
    review = case.review
    review.follow_up_text, review.follow_up_at = "还是不行", NOW + timedelta(hours=2)
    session.commit()

    def explain() -> None:
        svc.save_explanation(
            session,
            case,
            "已为您补发，抱歉。",
            actor=agent,
            now=NOW + timedelta(hours=3),
            expected_version=case.version,
        )

    if refused:
        with pytest.raises(FieldError, match="买家已追评"):
            explain()
    else:
        explain()
        assert case.explanation_draft == "已为您补发，抱歉。"


def test_report_figures_for_each_outcome(
    session: Session, shop: Shop, agent: User, make_user: Callable[..., User]
) -> None:
    boss = make_user(Role.SUPERVISOR, [shop])
    made = {
        o: _case(session, shop, str(6000 + i))
        for i, o in enumerate(["verified", "manual", "broken", "satisfied", "refused", "open"])
    }
    hidden = _case(session, shop, "6100", rating=Rating.GOOD, text="好评，但是坏了一半")
    later = NOW + timedelta(days=1)
    run(session, shop, [record("6000", rating=Rating.GOOD, text="好评", posted=later)], now=later)
    svc.change_status(
        session,
        made["manual"],
        CaseStatus.RECOVERED,
        CaseOutcome.MANUAL_RECOVERED,
        actor=boss,
        now=later,
        expected_version=None,
        note="买家截图为证",
    )
    _promise(session, made["broken"], agent)
    promises.close_broken(session, now=made["broken"].revision_window_ends_at)
    for key, outcome in (
        ("satisfied", CaseOutcome.SATISFIED_UNCHANGED),
        ("refused", CaseOutcome.REFUSED),
    ):
        svc.change_status(
            session,
            made[key],
            CaseStatus.UNRECOVERED,
            outcome,
            actor=agent,
            now=later,
            expected_version=None,
        )
    svc.change_status(
        session,
        hidden,
        CaseStatus.DISMISSED,
        CaseOutcome.FALSE_ALARM,
        actor=agent,
        now=later,
        expected_version=None,
    )
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), SETTINGS.working_hours.tz)
    board = reports.dashboard(session, shop.id, period, now=later)
    t = board.totals
    assert (t.cases, t.closed, t.recovered) == (6, 5, 1)  # the false alarm is not a case
    assert (t.recovered_manual, t.promises_broken, t.satisfied_unchanged) == (1, 1, 1)
    assert t.recovery_rate_closed == pytest.approx(1 / 5)  # verified only
    assert board.false_alarms == t.false_alarms == 1
    facts = reports.load_facts(session, shop.id, period, now=later)
    per_owner = {row.label: row.figures for row in reports.breakdown(session, facts, "agent")}
    assert sum(f.false_alarms for f in per_owner.values()) == 1  # apart, per agent too
    from decimal import Decimal

    from tracker.models.enums import RemedyKind

    svc.add_remedy(
        session,
        made["broken"],
        svc.RemedyDraft(RemedyKind.RESEND, Decimal("39.90"), Decimal("20.00")),
        actor=agent,
        now=later,
        expected_version=None,
    )
    session.add(  # the 满意度回访 of one case, answered: its three cells
        CaseSurvey(
            case_id=made["refused"].id,
            shop_id=shop.id,
            state="sent",
            out_id="s-refused",
            created_at=later,
            answered_at=later,
            score=2,
            comment="还是漏水",
            resolved="no",
        )
    )
    # asked again after it was worked again: the buyer's last word counts (the later ask,
    # the higher id, stored first: a table read in storage order would give the earlier)
    for id_, score, resolved in ((9001, 5, "yes"), (9000, 1, "no")):
        session.add(
            CaseSurvey(
                id=id_, case_id=made["manual"].id, shop_id=shop.id, state="sent",
                out_id=f"s-manual-{id_}", created_at=later, answered_at=later, score=score,
                resolved=resolved,
            )
        )  # fmt: skip
        session.flush()
    session.commit()
    rows = {row[0]: row for row in reports.export_rows(session, shop.id, period, now=later)}
    asked = reports.EXPORT_HEADERS.index("回访：问题解决了吗")
    assert rows[made["refused"].id][asked : asked + 3] == ["还没有解决", 2, "还是漏水"]
    assert rows[made["manual"].id][asked : asked + 3] == ["已经解决了", 5, ""]
    assert rows[made["verified"].id][asked : asked + 3] == ["", "", ""]  # none answered
    assert all(len(row) == len(reports.EXPORT_HEADERS) for row in rows.values())
    broken = rows[made["broken"].id]
    assert broken[reports.EXPORT_HEADERS.index("补偿明细")] == "补发 ¥39.90"
    assert "买家答应改评" in broken[reports.EXPORT_HEADERS.index("联系记录")]
    verified_at = reports.EXPORT_HEADERS.index("平台确认")
    assert rows[made["verified"].id][verified_at] == "是"
    assert rows[made["manual"].id][verified_at] == "否"
    assert rows[made["manual"].id][verified_at + 1] == "买家截图为证"
    assert rows[made["broken"].id][reports.EXPORT_HEADERS.index("结果")] == "承诺未兑现"
    assert rows[hidden.id][reports.EXPORT_HEADERS.index("状态")] == "误报"  # in the export too
