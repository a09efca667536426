"""满意度回访 in the demo shop's simulated month, so 报表's 满意度回访（按客服） shows what a
month of them leaves.

Run as the shop would have run them: an admin sets the shop's 满意度回访 template when the
month begins; then, hour by hour, the scheduler's two steps (queue the cases closed an hour
to three days before, send those the contact policy allows) through the demo's stand-in SMS
provider; buyers answer through the link's own service. Who answers, and how, is the
simulation's: more often and happier when the problem was solved, seldom and unhappy when
the buyer refused or was never reached. The per-agent table then reads the way a real
shop's does, measured by the same query.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.demo.campaign import DemoSms
from tracker.domain import case_flow
from tracker.models import Case, CaseSurvey, MessageTemplate, Notification, Shop, User
from tracker.models.enums import CaseOutcome, Role
from tracker.services import surveys

TEMPLATE_NAME = "满意度回访"  # the demo's approved notice with ${link} (demo.loader)
STEP = timedelta(hours=1)  # the scheduler runs it every 5 minutes; hourly will do for a month

# (share of buyers who answer, weights of the scores 5, 4, 3, 2, 1)
SOLVED = (0.45, (60, 30, 8, 1, 1))
SATISFIED = (0.35, (35, 40, 18, 5, 2))
UNSOLVED = (0.2, (5, 12, 33, 27, 23))
# how the buyer answers 问题解决了吗 (已经解决了, 解决了一部分, 还没有解决): weights by the
# case's outcome times weights by their score. The outcome comes first: a buyer who changed
# the review or said they were satisfied had the problem solved, whatever the score says of
# the handling (by score alone, a third of 买家满意但未改评 answered 还没有解决).
SOLVED_BY_OUTCOME = {"recovered": (95, 5, 0), "satisfied": (85, 14, 1), "other": (15, 35, 50)}
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
    at = start
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
    return SurveySummary(len(sent), len(scores), sum(scores) / len(scores) if scores else None)
