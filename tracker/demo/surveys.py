"""满意度回访 in the demo shop's simulated month, so 报表's 满意度回访（按客服） shows what a
month of them leaves.

Run as the shop would have run them: an admin sets the shop's 满意度回访 template when the
month begins; then, hour by hour, the scheduler's two steps (queue the cases closed an hour
to three days before, send those the contact policy allows) through the demo's stand-in SMS
provider; buyers answer through the link's own service. Who answers, and how, is the
simulation's: more often and happier when the problem was solved, seldom and unhappy when
the buyer refused or was never reached. Most buyers who say the problem is not solved
are called back: the agent reopens the case, calls when the contact policy allows and closes
it again, and the scheduler asks the buyer once more. The per-agent table then reads the way
a real shop's does, measured by the same query.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tracker.demo.campaign import DemoSms
from tracker.domain import case_flow
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, CaseSurvey, MessageTemplate, Notification, Shop, User
from tracker.models.enums import AttemptOutcome, CaseOutcome, CaseStatus, Channel, Role
from tracker.services import cases, contact_log, surveys

TEMPLATE_NAME = "满意度回访"  # the demo's approved notice with ${link} (demo.loader)
STEP = timedelta(hours=1)  # the scheduler runs it every 5 minutes; hourly will do for a month

# (share of buyers who answer, weights of the scores 5, 4, 3, 2, 1)
SOLVED = (0.45, (60, 30, 8, 1, 1))
SATISFIED = (0.35, (35, 40, 18, 5, 2))
UNSOLVED = (0.2, (5, 12, 33, 27, 23))
# how the buyer answers 问题解决了吗 (已经解决了, 解决了一部分, 还没有解决): weights by the
# case's outcome times weights by their score. The outcome comes first: a buyer who changed
# the review (their 追评 says 问题解决了) says solved, one who said they were satisfied
# mostly does, whatever the score says of the handling (by score alone, a third of
# 买家满意但未改评 answered 还没有解决).
SOLVED_BY_OUTCOME = {"recovered": (1, 0, 0), "satisfied": (85, 14, 1), "other": (15, 35, 50)}
SAID_SOLVED = {5: (92, 7, 1), 4: (75, 22, 3), 3: (35, 45, 20), 2: (10, 40, 50), 1: (3, 22, 75)}
COMMENT_SAYS = {"客服态度很好，问题解决了": "yes", "问题还是没解决": "no"}  # left out if untrue
COMMENTS = {
    5: ("处理很及时，谢谢客服", "客服态度很好，问题解决了", ""),
    4: ("还可以，处理得挺快", ""),
    3: ("一般吧", ""),
    2: ("问题拖了好几天", ""),
    1: ("问题还是没解决", "打了好几次电话才有人管", ""),
}


@dataclass(frozen=True)
class SurveySummary:
    sent: int
    answered: int
    average: float | None


def _kind(outcome: CaseOutcome | None) -> str:
    if outcome in case_flow.RECOVERED_OUTCOMES:
        return "recovered"
    if outcome is CaseOutcome.SATISFIED_UNCHANGED:
        return "satisfied"
    return "other"


_ANSWERS = {"recovered": SOLVED, "satisfied": SATISFIED, "other": UNSOLVED}


def solved_weights(kind: str, score: int) -> tuple[int, ...]:
    """Weights of 已经解决了, 解决了一部分, 还没有解决 for this outcome and score."""
    return tuple(a * b for a, b in zip(SOLVED_BY_OUTCOME[kind], SAID_SOLVED[score], strict=True))


# Asked again, after the agent reopened the case and called the buyer back:
FOLLOW_UP = 0.75  # the share of 还没有解决 / 解决了一部分 answers whose case is worked again
AGAIN = (0.55, (75, 18, 7))  # share who answer; weights of 已经解决了, 解决了一部分, 还没有解决
SCORE_AGAIN = {"yes": (50, 35, 10, 3, 2), "partly": (5, 20, 45, 20, 10), "no": (2, 5, 20, 35, 38)}
CALLED_BACK = "回访说问题没解决，再次来电：已安排处理，买家同意再看看"


def _work_again(
    session: Session, shop: Shop, *, now: datetime, hours: WorkingHours, rng: random.Random
) -> list[datetime]:
    """Each answer saying not solved, as its agent would take it: reopened within a few
    working hours of the notice (read then), the buyer called back when the contact policy
    allows, the case closed again a working day or so later (买家满意但未改评). Returns the
    closing times; a case whose call or closing falls after ``now`` is left open."""
    policy = shop.contact_rules
    told = sa.select(CaseSurvey).where(
        CaseSurvey.shop_id == shop.id, CaseSurvey.resolved.in_(surveys.UNSOLVED)
    )
    closed_again = []
    for survey in session.scalars(told.order_by(CaseSurvey.answered_at, CaseSurvey.id)).all():
        case = session.get(Case, survey.case_id)
        agent = session.get(User, case.owner_id) if case and case.owner_id else None
        if rng.random() >= FOLLOW_UP or agent is None or case.closed_at is None:
            continue
        reopened = hours.add(survey.answered_at, timedelta(hours=rng.uniform(0.3, 4)))
        if reopened >= now:
            continue
        for notice in session.scalars(
            sa.select(Notification).where(Notification.dedupe_key == f"survey-unsolved:{survey.id}")
        ):
            notice.read_at = reopened
        cases.change_status(
            session, case, CaseStatus.CONTACTING, None, actor=agent, now=reopened,
            expected_version=None,
        )  # fmt: skip
        called = policy.earliest(
            reopened, contact_log.times_for_buyer(session, case.buyer_id), tz=hours.tz
        )
        if called >= now:
            continue
        talked = rng.randint(60, 480)  # seconds on the phone
        # the check-back, when the buyer may be called (working hours run past 21:00)
        closed_at = policy.earliest(
            hours.add(called, timedelta(hours=rng.uniform(2, 16))), [], tz=hours.tz
        )
        cases.log_attempt(
            session,
            case,
            cases.AttemptDraft(
                channel=Channel.PHONE,
                attempted_at=called,
                outcome=AttemptOutcome.HANDLING,
                duration_seconds=talked,
                notes=CALLED_BACK,
                next_attempt_at=closed_at,  # when the agent checks it is solved
            ),
            actor=agent,
            now=called,
            expected_version=None,
            hours=hours,
        )
        if closed_at >= now:
            continue
        cases.change_status(
            session, case, CaseStatus.UNRECOVERED, CaseOutcome.SATISFIED_UNCHANGED, actor=agent,
            now=closed_at, expected_version=None,
        )  # fmt: skip
        closed_again.append(closed_at)
    session.commit()
    return closed_again


def _answer_again(
    session: Session, shop: Shop, *, now: datetime, secret_key: str, seed: int
) -> list[int]:
    """The second asks' answers: most buyers say solved this time. Returns their scores."""
    rng = random.Random(seed)
    first = aliased(CaseSurvey)
    again = (
        sa.select(CaseSurvey)
        .where(
            CaseSurvey.shop_id == shop.id,
            CaseSurvey.state == "sent",
            sa.exists().where(first.case_id == CaseSurvey.case_id, first.id < CaseSurvey.id),
        )
        .order_by(CaseSurvey.id)
    )
    scores = []
    for survey in session.scalars(again).all():
        share, weights = AGAIN
        answers = rng.random() < share
        resolved = rng.choices(tuple(surveys.RESOLVED), weights)[0]
        score = rng.choices((5, 4, 3, 2, 1), SCORE_AGAIN[resolved])[0]
        answered_at = survey.sent_at + timedelta(minutes=rng.uniform(3, 36 * 60))
        if not answers or answered_at >= now:
            continue
        comment = "这次处理得挺好，谢谢" if resolved == "yes" and score >= 4 else ""
        surveys.answer(
            session,
            surveys.token_for(survey.id, secret_key),
            secret_key,
            score,
            comment,
            resolved=resolved,
            now=answered_at,
        )
        scores.append(score)
    return scores


def run_surveys(
    session: Session,
    shop: Shop,
    *,
    start: datetime,
    now: datetime,
    tz: ZoneInfo,
    seed: int,
    secret_key: str,
    base_url: str,
) -> SurveySummary | None:
    """The month's 满意度回访, sent and answered; None when the shop has no such template or
    no admin to have set it."""
    template = session.scalar(
        sa.select(MessageTemplate).where(
            MessageTemplate.shop_id == shop.id, MessageTemplate.name == TEMPLATE_NAME
        )
    )
    admin = session.scalar(
        sa.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1)
    )
    if template is None or admin is None:
        return None
    surveys.set_template(session, shop, template.id, actor=admin, now=start)
    provider = DemoSms(random.Random(seed), start)  # accepts every message

    def scheduler(since: datetime) -> None:
        """The scheduler's two steps, hour by hour from ``since`` to ``now``."""
        at = since
        while at <= now:
            surveys.queue_due(session, now=at)
            surveys.send_due(
                session,
                now=at,
                clients=lambda _shop, _name: provider,
                tz=tz,
                base_url=base_url,
                secret_key=secret_key,
            )
            at += STEP

    scheduler(start)
    rng = random.Random(seed + 1)  # a stream of its own: the month's other draws stay
    said = random.Random(seed + 2)  # and 问题解决了吗 one more, so the scores stay as they were
    sent = session.execute(
        sa.select(CaseSurvey, Case.outcome)
        .join(Case, Case.id == CaseSurvey.case_id)
        .where(CaseSurvey.shop_id == shop.id, CaseSurvey.state == "sent")
        .order_by(CaseSurvey.id)
    ).all()
    scores = []
    for survey, outcome in sent:
        kind = _kind(outcome)
        share, weights = _ANSWERS[kind]
        answers = rng.random() < share
        score = rng.choices((5, 4, 3, 2, 1), weights)[0]
        answered_at = survey.sent_at + timedelta(minutes=rng.uniform(3, 36 * 60))
        if not answers or answered_at >= now:
            continue
        token = surveys.token_for(survey.id, secret_key)
        comment = rng.choice(COMMENTS[score])
        resolved = said.choices(tuple(surveys.RESOLVED), solved_weights(kind, score))[0]
        if COMMENT_SAYS.get(comment, resolved) != resolved:  # no words against the answer
            comment = ""
        surveys.answer(
            session, token, secret_key, score, comment, resolved=resolved, now=answered_at
        )
        scores.append(score)
    # 锲而不舍: most of the buyers who said not solved are called again, and asked again
    hours = WorkingHours.from_dict(shop.working_hours, tz)
    closed_again = _work_again(session, shop, now=now, hours=hours, rng=random.Random(seed + 3))
    if closed_again:
        scheduler(min(closed_again) - STEP)
        scores += _answer_again(session, shop, now=now, secret_key=secret_key, seed=seed + 4)
    # the agents read what they were told of within a working day; the last day's is news
    for notice in session.scalars(
        sa.select(Notification).where(
            Notification.kind == surveys.UNSOLVED_NEWS,
            Notification.created_at < now - timedelta(days=1),
            Notification.read_at.is_(None),
        )
    ):
        notice.read_at = notice.created_at + timedelta(hours=3)
    session.commit()
    asked = session.scalar(
        sa.select(sa.func.count())
        .select_from(CaseSurvey)
        .where(CaseSurvey.shop_id == shop.id, CaseSurvey.state == "sent")
    )
    return SurveySummary(asked or 0, len(scores), sum(scores) / len(scores) if scores else None)
