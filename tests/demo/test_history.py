"""The demo's simulated month of work: consistent with what the services would record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tracker.demo.surveys import CALLED_BACK
from tracker.domain import case_flow
from tracker.models import (
    AuditEvent,
    Campaign,
    Case,
    CaseSuggestion,
    CaseSurvey,
    ContactAttempt,
    Notification,
    SentimentCorrection,
    Shop,
)
from tracker.models.enums import AttemptOutcome, CaseOutcome, Reason, RemedyKind
from tracker.services import reports, surveys


def test_the_demo_has_a_month_of_consistent_case_work(app: Flask, session: Session) -> None:
    args = ["demo", "--scale", "0.15", "--end-date", "2026-11-23"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "模拟了一个月的售后工作" in result.output
    assert "客户运营活动（40 天前）" in result.output  # and its campaign, finished
    assert session.scalar(sa.select(Campaign.state)) == "done"
    shop = session.scalar(sa.select(Shop).where(Shop.code == "demo"))
    cases = list(session.scalars(sa.select(Case).where(Case.shop_id == shop.id)))
    worked = [c for c in cases if c.first_attempt_at is not None]
    assert len(worked) > len(cases) / 2
    judged = set(
        session.scalars(
            sa.select(SentimentCorrection.review_id).where(
                SentimentCorrection.is_positive.is_(False)
            )
        )
    )
    assert judged  # 待确认 read as 是差评
    for case in worked:
        # opened when the review arrived; one from 待确认 or 评价 when someone said 是差评
        assert case.review.received_at <= case.opened_at <= case.first_attempt_at
        assert case.review_id in judged or case.opened_at == case.review.received_at
        assert case.first_attempt_work_seconds is not None
        assert case.first_contact_due_at > case.opened_at
    recovered = [c for c in cases if c.outcome in case_flow.RECOVERED_OUTCOMES]
    # the demo shop is on Tmall, where a review cannot change: won-back buyers add a happy 追评
    assert recovered and all(
        c.outcome is CaseOutcome.POSITIVE_FOLLOW_UP
        and c.review.follow_up_text
        and not c.review.revisions  # nothing revised
        for c in recovered
    )
    assert all(c.closed_at and c.closed_at >= c.first_attempt_at for c in recovered)
    assert len({c.review.follow_up_text for c in recovered}) >= 3  # not one sentence for all
    # what the shop did fits the problem, and the buyer's 追评 fits what the shop did: no
    # 换货已经收到 where nothing was swapped, no parcel sent again for a late one
    remedied = [c for c in cases if c.remedies]
    assert {r.kind for c in remedied for r in c.remedies} > {RemedyKind.PARTIAL_REFUND}
    for case in remedied:
        reasons = {r.reason for r in case.reasons}
        for remedy in case.remedies:
            if remedy.kind in (RemedyKind.RESEND, RemedyKind.EXCHANGE):
                assert reasons & {
                    Reason.QUALITY,
                    Reason.FRESHNESS,
                    Reason.PACKAGING,
                    Reason.MISMATCH,
                    Reason.SIZE_FIT,
                }, (case.id, reasons)
    for case in recovered:
        kinds = {r.kind for r in case.remedies}
        said = case.review.follow_up_text
        assert ("补发" in said) == (RemedyKind.RESEND in kinds), (said, kinds)
        assert ("换货" in said) == (RemedyKind.EXCHANGE in kinds), (said, kinds)
        if "差价" in said:
            assert RemedyKind.PARTIAL_REFUND in kinds and Reason.PRICE in {
                r.reason for r in case.reasons
            }
    # 满意度回访 went out through the month as the scheduler sends them (an hour or more
    # after closing, in the day's contact hours) and some buyers answered: the report's
    # per-agent table has something to show
    sent = list(session.scalars(sa.select(CaseSurvey).where(CaseSurvey.state == "sent")))
    assert sent and "满意度回访：结案后发出" in result.output
    shanghai = ZoneInfo("Asia/Shanghai")
    later = {s.case_id: s for s in sorted(sent, key=lambda s: s.id)}  # each case's last ask
    for survey in sent:
        case = session.get(Case, survey.case_id)
        if later[case.id] is survey:  # asked after the case's (last) closing
            assert case.closed_at + timedelta(hours=1) <= survey.sent_at
        else:  # asked again: the first answer said not solved, and the case was worked again
            assert survey.resolved in surveys.UNSOLVED
            assert survey.answered_at < later[case.id].created_at
            assert case.closed_at is None or survey.answered_at < case.closed_at
        assert 9 <= survey.sent_at.astimezone(shanghai).hour < 21
        if survey.answered_at is not None:
            assert survey.sent_at < survey.answered_at and survey.score in range(1, 6)
            assert survey.resolved in surveys.RESOLVED  # both questions answered
            if survey.comment in ("问题还是没解决", "客服态度很好，问题解决了"):  # words agree
                assert (survey.resolved == "yes") == ("问题解决了" in survey.comment)
    answered = [s for s in sent if s.score is not None]
    # a buyer who changed the review says solved (tests/demo/test_surveys.py)
    assert not [
        s.id
        for s in answered
        if session.get(Case, s.case_id).outcome in case_flow.RECOVERED_OUTCOMES
        and s.resolved != "yes"
    ]
    # each buyer who said it is not (all) solved told the case's agent; read but the last day's
    unsolved = {s.case_id for s in answered if s.resolved in surveys.UNSOLVED}
    told = session.scalars(
        sa.select(Notification).where(Notification.kind == surveys.UNSOLVED_NEWS)
    ).all()
    assert unsolved and {n.case_id for n in told} == unsolved
    end_of_month = datetime(2026, 11, 23, 23, tzinfo=UTC)
    assert all(
        n.read_at is not None for n in told if n.created_at < end_of_month - timedelta(days=2)
    )
    assert answered and len(answered) < len(sent)  # not every buyer answers
    assert len(later) < len(sent)  # a buyer who said not solved was called back and asked again
    end = datetime(2026, 11, 23, tzinfo=UTC)
    table = surveys.csat(session, shop.id, end - timedelta(days=30), end, "agent")
    # each closed case once, by its buyer's last answer (a reopened one waits to close again)
    last_answers = {
        s.case_id
        for s in answered
        if session.get(Case, s.case_id).closed_at is not None
        and session.get(Case, s.case_id).closed_at < end
    }
    assert sum(row.answers for row in table) == len(last_answers)
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) >= len(worked)
    assert session.scalar(sa.select(sa.func.count()).select_from(CaseSuggestion)) > 0
    tz = reports.ZoneInfo("Asia/Shanghai")
    period = reports.Period(date(2026, 10, 25), date(2026, 11, 23), tz)
    board = reports.dashboard(session, shop.id, period, now=datetime(2026, 11, 23, 12, tzinfo=UTC))
    t = board.totals
    # the month's staff read most of 待确认: the report says what they made of it
    # (how many of each is the dice's in a shop this small: both kinds are there)
    assert board.triage.confirmed > 0 and board.triage.dismissed > 0
    # what they found in 评价 the model read as happy (判断有误？是差评): as many as the shop's
    # size and the dice give (none, in this small shop; its own test is below)
    assert board.triage.found <= board.triage.hidden_opened
    assert t.cases > 0 and t.wait_work.median is not None and 0 < t.recovery_rate_closed < 1
    assert t.cost_per_recovered is not None and t.mention_rate is not None
    assert datetime(2026, 11, 23, tzinfo=UTC) - timedelta(days=31) < min(c.opened_at for c in cases)
    opened = dict(
        session.execute(
            sa.select(AuditEvent.case_id, AuditEvent.occurred_at).where(
                AuditEvent.field == "status", AuditEvent.old_value.is_(None)
            )
        ).all()
    )
    assert opened == {c.id: c.opened_at for c in cases}  # the history starts at the opening
    # ...and nothing in it happens before (a claim takes along only the cases open by then)
    happened = sa.select(AuditEvent.case_id, AuditEvent.occurred_at).where(
        AuditEvent.case_id.is_not(None)
    )
    assert all(at >= opened[case_id] for case_id, at in session.execute(happened))
    # As the case page offers after a failed attempt, the next try is left in 下次跟进 and
    # the agent comes back then; a buyer never reached after several tries is closed as
    # 联系不上买家, not left open with no plan; a closed case has nothing to follow up.
    failed = unreachable = called_back = in_hand = 0
    for case in cases:
        tries = list(session.scalars(case.attempts.select().order_by(ContactAttempt.attempted_at)))
        for before, after in pairwise(tries):
            if after.notes == CALLED_BACK:  # the buyer's survey answer called for it
                continue
            assert before.next_attempt_at and after.attempted_at >= before.next_attempt_at
        for attempt in tries:
            if attempt.outcome in case_flow.FAILED:
                assert attempt.next_attempt_at > attempt.attempted_at
                failed += 1
            if attempt.notes == CALLED_BACK:  # the problem in hand, and when to check on it
                assert attempt.outcome is AttemptOutcome.HANDLING
                assert attempt.next_attempt_at > attempt.attempted_at
                assert case.closed_at is None or case.closed_at >= attempt.next_attempt_at
                called_back += 1
            elif attempt.outcome is AttemptOutcome.HANDLING:  # a remedy agreed on the call
                assert attempt.next_attempt_at > attempt.attempted_at
                assert attempt.attempted_at in {r.created_at for r in case.remedies}
                in_hand += 1
        if case.status in case_flow.OPEN and tries and tries[-1].outcome in case_flow.FAILED:
            assert case.next_follow_up_at == tries[-1].next_attempt_at
        if case.status not in case_flow.OPEN:
            assert case.next_follow_up_at is None
        if case.outcome is CaseOutcome.UNREACHABLE:
            assert len(tries) >= 3 and all(a.outcome in case_flow.FAILED for a in tries)
            unreachable += 1
    assert failed and unreachable and called_back and in_hand


def test_a_case_opened_while_the_buyers_other_is_worked_goes_to_its_agent(
    session: Session, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    """Intake ran when the demo was loaded, before any claim: the month's replay gives a
    case, as it opens, to the agent then working the buyer's other case, as intake would
    have, and to nobody when that case was closed by then."""
    from tests.factories import open_case
    from tracker.demo.history import _to_the_buyers_agent
    from tracker.models.enums import Role
    from tracker.services import cases as svc

    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    start = datetime(2026, 11, 2, 2, tzinfo=UTC)
    worked = open_case(session, shop, key="a", at=start)
    after, too_late = (
        open_case(session, shop, key=k, nick=k, at=start + timedelta(days=d))
        for k, d in (("b", 2), ("c", 6))
    )
    for case in (after, too_late):
        case.buyer_id = worked.buyer_id
    session.commit()
    svc.claim(session, worked, agent, now=worked.opened_at + timedelta(hours=1))
    assert after.owner_id is None  # opened after the claim: not taken along
    worked.closed_at = after.opened_at + timedelta(days=1)
    session.commit()
    _to_the_buyers_agent(session, after)
    after.closed_at = worked.closed_at  # both closed when the third opens
    _to_the_buyers_agent(session, too_late)
    assert (after.owner_id, too_late.owner_id) == (agent.id, None)
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == after.id, AuditEvent.field == "owner")
    ).one()
    assert (audit.occurred_at, audit.actor_id, audit.new_value) == (
        after.opened_at,
        None,
        "客服小林",
    )


class _Draws:
    """The month's dice, set: each ``random()`` the next roll, two hours after arrival."""

    def __init__(self, *rolls: float) -> None:
        self.rolls = list(rolls)

    def random(self) -> float:
        return self.rolls.pop(0)

    def uniform(self, low: float, high: float) -> float:
        return 2.0

    def choice(self, options: list[object]) -> object:
        return options[0]


def test_staff_find_in_reviews_the_complaints_the_model_read_as_happy(
    session: Session, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    """评价 as the month's team reads it: a complaint the generator wrote under a good rating,
    with no case and not in 待确认, is opened from 评价 when someone spots it (a roll under a
    third), two working hours after it came; one not spotted, one waiting in 待确认 and a
    happy review stay as they were."""
    from datetime import time

    from tests.factories import add_sale
    from tracker.demo.history import _find_in_reviews
    from tracker.domain.triage import CaseKind, DeadlinePolicy
    from tracker.domain.working_hours import WorkingHours
    from tracker.models.enums import Rating, Role
    from tracker.services.intake import IntakeSettings

    reader = make_user(Role.AGENT, shops=[shop])
    hours = WorkingHours(tz=ZoneInfo("Asia/Shanghai"), periods=((time(9), time(22)),))
    settings = IntakeSettings(hours, DeadlinePolicy())
    at = datetime(2026, 11, 10, 2, tzinfo=UTC)  # 10:00 in Beijing
    spotted, unspotted, queued, happy = (
        add_sale(
            session, shop, key=k, nick=k, rating=Rating.GOOD, at=at + timedelta(minutes=i),
            text="默认给好评，但是枣里面有虫子。" if k != "d" else "枣很大很甜",
        )
        for i, k in enumerate("abcd")
    )  # fmt: skip
    queued.awaiting_confirmation_at = at
    session.commit()
    found = _find_in_reviews(
        session,
        shop.id,
        now=at + timedelta(days=6),  # the sales are received three days after ``at``
        settings=settings,
        readers=[reader],
        hidden=frozenset({spotted.id, unspotted.id, queued.id}),
        rng=_Draws(0.1, 0.9),  # type: ignore[arg-type]
    )
    assert [case.review_id for case in found] == [spotted.id]
    assert found[0].kind == CaseKind.HIDDEN_NEGATIVE
    assert found[0].opened_at == hours.add(spotted.received_at, timedelta(hours=2))
    assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    assert happy.id not in {case.review_id for case in found}
