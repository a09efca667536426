"""A month of after-sales work on the demo shop, so the reports have something to show.

Cases opened by the demo's triage get the opening time and deadline a live pull would
have given them (when the review arrived), then are worked through the same services the case page
uses (attempts in working hours, suggestions mentioned on calls, remedies, closing), with
seeded randomness: most buyers are reached within a few working hours, some late, some
never; about six in ten conversations end with the review revised to good. A recovered
case's review is revised as the platform would report it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.demo import review_texts as texts
from tracker.domain import case_flow, triage
from tracker.domain.next_try import next_try
from tracker.models import AuditEvent, Case, OrderLine, Review, ReviewRevision, User
from tracker.models.enums import (
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Rating,
    Reason,
    RemedyKind,
    RevisionKind,
    Role,
)
from tracker.services import cases as svc
from tracker.services import confirmations, contact_log, recommendations
from tracker.services.audit import record_case_change
from tracker.services.intake import IntakeSettings, close_by_buyer

FAILED = (AttemptOutcome.NO_ANSWER, AttemptOutcome.BUSY, AttemptOutcome.MESSAGE_LEFT)
REACHED = (AttemptOutcome.AGREED, AttemptOutcome.CONSIDERING, AttemptOutcome.BUYER_REPLIED)
# Of the calls that end 考虑中, this share put the problem in hand instead (已接通-问题处理中: a
# remedy arranged on the call, a check-back in 下次跟进), drawn apart from the month's other
# draws so that they stay as they were.
IN_HAND = 0.4
TALKED = (*REACHED, AttemptOutcome.HANDLING)
CHANNELS = (Channel.PHONE, Channel.WANGWANG, Channel.SMS)


@dataclass(frozen=True)
class WorkSummary:
    worked: int
    attempts: int
    recovered: int
    unrecovered: int
    confirmed: int = 0  # 待确认 read as 是差评
    dismissed: int = 0  # 待确认 read as 误报
    found: int = 0  # complaints the model read as happy, found by staff in 评价


def simulate(
    session: Session,
    shop_id: int,
    *,
    now: datetime,
    settings: IntakeSettings,
    seed: int = 7,
    hidden_negatives: frozenset[int] = frozenset(),
) -> WorkSummary:
    rng = random.Random(seed)
    hours = settings.working_hours
    agents = list(
        session.scalars(
            sa.select(User)
            .where(User.role == Role.AGENT, User.shops.any(id=shop_id))
            .order_by(User.id)
        )
    )
    if not agents:
        return WorkSummary(0, 0, 0, 0)
    cases = list(
        session.scalars(
            sa.select(Case)
            .where(Case.shop_id == shop_id, Case.status == CaseStatus.NEW)
            .order_by(Case.opened_at, Case.id)
        )
    )
    for case in cases:  # opened when the review arrived, as a live pull would have
        case.opened_at = case.review.received_at
        case.first_contact_due_at = triage.first_contact_due(
            case.opened_at, triage.CaseKind(case.kind), settings.deadline_policy, hours
        )
    session.flush()
    # ...and so is the history's first line (intake wrote it at load time).
    session.execute(
        sa.update(AuditEvent)
        .where(
            AuditEvent.case_id.in_(sa.select(Case.id).where(Case.shop_id == shop_id)),
            AuditEvent.field == "status",
            AuditEvent.old_value.is_(None),
        )
        .values(
            occurred_at=sa.select(Case.opened_at)
            .where(Case.id == AuditEvent.case_id)
            .scalar_subquery()
        ),
        execution_options={"synchronize_session": False},
    )
    session.commit()
    confirmed, dismissed = _read_the_queue(
        session, shop_id, now=now, settings=settings, readers=agents, hidden=hidden_negatives,
        rng=random.Random(seed + 1),  # the case work below draws as it did before the queue
    )  # fmt: skip
    found = _find_in_reviews(
        session, shop_id, now=now, settings=settings, readers=agents, hidden=hidden_negatives,
        rng=random.Random(seed + 2),
    )  # fmt: skip
    cases = sorted(cases + confirmed + found, key=lambda c: (c.opened_at, c.id))
    worked = attempts = recovered = unrecovered = 0
    policy = contact_log.policy_of(session, shop_id)
    in_hand = random.Random(seed + 3)  # which calls put the problem in hand, and its remedy
    for case in cases:
        agent = rng.choice(agents)
        if case.owner_id is None:
            _to_the_buyers_agent(session, case)
        if case.owner_id is not None:  # the buyer's other case's agent: one buyer, one agent
            agent = next((a for a in agents if a.id == case.owner_id), agent)
        # first try: usually within a couple of working hours, sometimes much later
        at = hours.add(case.opened_at, timedelta(hours=rng.lognormvariate(math.log(1.2), 1.0)))
        if at >= now or rng.random() < 0.04:
            continue  # not reached yet: stays on the board, some of it overdue
        worked += 1
        reached_at = None
        tried: list[tuple[Channel, datetime, AttemptOutcome]] = []
        channel = rng.choice(CHANNELS)
        for _ in range(rng.randint(3, 5)):  # how far this agent's persistence goes
            # as staff would: never in quiet hours, over the daily cap or too soon again
            earlier = contact_log.times_for_buyer(session, case.buyer_id) if case.buyer_id else []
            at = policy.earliest(at, earlier, tz=hours.tz)
            if (
                at >= now
                or (case.buyer is not None and case.buyer.do_not_contact_at)
                or policy.refusals(at, earlier, tz=hours.tz)
            ):
                break
            outcome = rng.choice(FAILED) if rng.random() < 0.45 else rng.choice(REACHED)
            if channel in case_flow.MESSAGE_CHANNELS:  # a text is answered or not, never busy
                reached = outcome in REACHED
                outcome = AttemptOutcome.BUYER_REPLIED if reached else AttemptOutcome.MESSAGE_LEFT
            if outcome is AttemptOutcome.AGREED and not _can_change(case, settings):
                outcome = AttemptOutcome.CONSIDERING  # their 追评 is given: nothing to agree to
            elif outcome is AttemptOutcome.CONSIDERING and in_hand.random() < IN_HAND:
                outcome = AttemptOutcome.HANDLING  # a remedy agreed on the call
            shown = (
                [s.shown for s in recommendations.suggestions_for(session, case, now=at, k=3)]
                if outcome in TALKED
                else []
            )
            mentioned = frozenset(s.product_id for s in shown[:2] if rng.random() < 0.6)
            tried.append((channel, at, outcome))
            follow_up = None  # what the agent leaves in 下次跟进
            if outcome in FAILED:  # the case page's suggestion, taken as offered
                tip = next_try(tried, hours, at, policy=policy, contacted=[*earlier, at])
                follow_up = tip.at
            elif outcome in (AttemptOutcome.CONSIDERING, AttemptOutcome.HANDLING):  # 约好再联系
                later = rng.uniform(3, 8)  # working hours; a day or two to see to the problem
                later *= 3 if outcome is AttemptOutcome.HANDLING else 1
                call_back = hours.add(at, timedelta(hours=later))
                follow_up = policy.earliest(call_back, [*earlier, at], tz=hours.tz)
            svc.log_attempt(
                session,
                case,
                svc.AttemptDraft(
                    channel=channel,
                    attempted_at=at,
                    outcome=outcome,
                    duration_seconds=(
                        rng.randint(30, 600)
                        if outcome in TALKED and channel not in case_flow.MESSAGE_CHANNELS
                        else None
                    ),
                    next_attempt_at=follow_up,
                    shown=tuple(shown),
                    mentioned=mentioned,
                ),
                actor=agent,
                now=at,
                expected_version=None,
                hours=hours,
            )
            attempts += 1
            if outcome in TALKED:
                reached_at = at
                break
            # the follow-up, by the channel suggested, sometimes a little late
            channel = tip.channel
            at = hours.add(tip.at, timedelta(minutes=rng.uniform(0, 90)))
        else:  # tried as often as this agent would, never reached: closed as unreachable
            if at < now:
                unrecovered += 1
                svc.change_status(
                    session,
                    case,
                    case_flow.closed_status(CaseOutcome.UNREACHABLE),
                    CaseOutcome.UNREACHABLE,
                    actor=agent,
                    now=at,
                    expected_version=None,
                )
            continue
        if reached_at is None:
            continue
        handled = outcome is AttemptOutcome.HANDLING  # a remedy was agreed on the call
        closed_at = hours.add(reached_at, timedelta(hours=rng.uniform(0.5, 30)))
        if closed_at >= now:
            if handled:
                _give_remedy(session, case, agent, reached_at, in_hand)
            continue
        if rng.random() < 0.62 and _can_change(case, settings):
            done = None  # what the shop did beyond the call
            if rng.random() < 0.35:
                done = _give_remedy(session, case, agent, reached_at, rng)
            elif handled:
                done = _give_remedy(session, case, agent, reached_at, in_hand)
            # the buyer's change, as the next pull would show it: intake closes the case
            close_by_buyer(
                session,
                case,
                _buyer_changes(session, case, closed_at, settings, done or "settled"),
                at=closed_at,
                now=closed_at,
            )
            session.commit()
            recovered += 1
            continue
        if handled:
            _give_remedy(session, case, agent, reached_at, in_hand)
        outcome_ = rng.choice((CaseOutcome.REFUSED, CaseOutcome.SATISFIED_UNCHANGED))
        unrecovered += 1
        svc.change_status(
            session,
            case,
            case_flow.closed_status(outcome_),
            outcome_,
            actor=agent,
            now=closed_at,
            expected_version=None,
        )
    return WorkSummary(
        worked, attempts, recovered, unrecovered, len(confirmed), dismissed, len(found)
    )


def _read_the_queue(
    session: Session,
    shop_id: int,
    *,
    now: datetime,
    settings: IntakeSettings,
    readers: list[User],
    hidden: frozenset[int],
    rng: random.Random,
) -> tuple[list[Case], int]:
    """待确认 as a team works it: most unsure good ratings read within a working day of
    arriving, 是差评 where the buyer really complained (a case opens then), else 误报; the
    last day's and a few others still wait. Returns the cases opened and the dismissals."""
    hours = settings.working_hours
    unsure = session.scalars(
        sa.select(Review)
        .where(Review.shop_id == shop_id, Review.awaiting_confirmation_at.is_not(None))
        .order_by(Review.received_at, Review.id)
    ).all()
    opened: list[Case] = []
    dismissed = 0
    for review in unsure:
        at = hours.add(review.received_at, timedelta(hours=rng.uniform(0.5, 9)))
        if at >= now or rng.random() < 0.1:
            continue  # not read yet
        reader = rng.choice(readers)
        try:
            if review.id in hidden:
                opened += confirmations.confirm(
                    session, shop_id, review.id, actor=reader, now=at, settings=settings
                )
            else:
                confirmations.dismiss(session, shop_id, review.id, actor=reader, now=at)
                dismissed += 1
        except confirmations.AlreadyDecided:
            continue  # past the buyer's window by then: it left the queue by itself
    return opened, dismissed


def _find_in_reviews(
    session: Session,
    shop_id: int,
    *,
    now: datetime,
    settings: IntakeSettings,
    readers: list[User],
    hidden: frozenset[int],
    rng: random.Random,
) -> list[Case]:
    """评价 as a team reads it: a third of the complaints the model read as happy (no case,
    not in 待确认) are spotted within a couple of days and opened there (判断有误？是差评，
    开案件). Returns the cases opened."""
    missed = session.scalars(
        sa.select(Review)
        .where(
            Review.shop_id == shop_id,
            Review.id.in_(hidden),
            Review.awaiting_confirmation_at.is_(None),
            ~sa.exists().where(Case.review_id == Review.id),
            # the month the team worked: reviews the buyer could still change at load
            Review.first_posted_at > now - settings.rules.change_window,
        )
        .order_by(Review.received_at, Review.id)
    ).all()
    opened: list[Case] = []
    for review in missed:
        at = settings.working_hours.add(review.received_at, timedelta(hours=rng.uniform(1, 20)))
        if at >= now or rng.random() > 0.33:
            continue  # not spotted (yet)
        try:
            opened.append(
                confirmations.open_for_review(
                    session, shop_id, review.id, actor=rng.choice(readers), now=at,
                    settings=settings,
                )
            )  # fmt: skip
        except confirmations.CannotOpen:
            continue  # past the buyer's window by then
    return opened


def _to_the_buyers_agent(session: Session, case: Case) -> None:
    """What intake does as a case opens, replayed at its time: the agent who had claimed
    another case of the buyer still open then takes this one too (intake ran when the demo
    was loaded, before anyone had claimed anything)."""
    if case.buyer_id is None:
        return
    claimed_at = (
        sa.select(sa.func.min(AuditEvent.occurred_at))
        .where(AuditEvent.case_id == Case.id, AuditEvent.field == "owner")
        .correlate(Case)
        .scalar_subquery()
    )
    owner = session.scalars(
        sa.select(User)
        .join(Case, Case.owner_id == User.id)
        .where(
            Case.shop_id == case.shop_id,
            Case.buyer_id == case.buyer_id,
            Case.id != case.id,
            claimed_at <= case.opened_at,
            sa.or_(Case.closed_at.is_(None), Case.closed_at > case.opened_at),
        )
        .order_by(claimed_at.desc(), Case.id.desc())
        .limit(1)
    ).first()
    if owner is None:
        return
    case.owner_id = owner.id
    record_case_change(
        session,
        case,
        now=case.opened_at,
        actor_id=None,
        field="owner",
        old=None,
        new=owner.display_name,
    )
    session.commit()


def _can_change(case: Case, settings: IntakeSettings) -> bool:
    """Whether a won-back buyer has anything left to change (one who added their one
    追评 to a Tmall review or to a good rating has not): the platform's rules decide."""
    review = case.review
    rules = settings.rules.for_rating(review.rating)
    return rules.can_still_change(has_follow_up=bool(review.follow_up_text))


# What the shop offers for each kind of problem, most telling first: two kinds each, drawn as
# the demo always drew one of two, so the month's other draws stay as they were. A late
# parcel or a curt agent is made up for with a coupon or a little refund.
REMEDIES_FOR = (
    (Reason.SIZE_FIT, (RemedyKind.EXCHANGE, RemedyKind.EXCHANGE)),
    (Reason.QUALITY, (RemedyKind.EXCHANGE, RemedyKind.PARTIAL_REFUND)),
    (Reason.MISMATCH, (RemedyKind.EXCHANGE, RemedyKind.PARTIAL_REFUND)),
    (Reason.FRESHNESS, (RemedyKind.RESEND, RemedyKind.PARTIAL_REFUND)),
    (Reason.PACKAGING, (RemedyKind.RESEND, RemedyKind.PARTIAL_REFUND)),
    (Reason.PRICE, (RemedyKind.PARTIAL_REFUND, RemedyKind.PARTIAL_REFUND)),
)
GOODWILL = (RemedyKind.COUPON, RemedyKind.PARTIAL_REFUND)


def _remedies_for(reasons: set[Reason]) -> tuple[RemedyKind, RemedyKind]:
    return next((kinds for reason, kinds in REMEDIES_FOR if reason in reasons), GOODWILL)


def _give_remedy(
    session: Session, case: Case, agent: User, at: datetime, pick: random.Random
) -> str:
    """A remedy that fits the problem, drawn from ``pick`` and logged at ``at`` (the call
    that reached the buyer); returns which of the won-back buyer's words fit it."""
    value = Decimal(pick.choice((5, 10, 20)))
    reasons = {r.reason for r in case.reasons}
    kind = pick.choice(_remedies_for(reasons))
    svc.add_remedy(
        session,
        case,
        _remedy(session, case, kind, value),
        actor=agent,
        now=at,
        expected_version=None,
    )
    return _what_was_done(kind, reasons)


def _remedy(session: Session, case: Case, kind: RemedyKind, value: Decimal) -> svc.RemedyDraft:
    """A remedy as the agent would log it: a parcel sent again gives the buyer the goods
    and costs the shop them plus postage; a swap costs the postage both ways."""
    price = session.scalar(
        sa.select(OrderLine.unit_price).where(OrderLine.id == case.review.order_line_id)
    )
    if kind is RemedyKind.RESEND and price is not None:
        return svc.RemedyDraft(kind=kind, amount=price, cost=price + value)
    if kind is RemedyKind.EXCHANGE:
        return svc.RemedyDraft(kind=kind, amount=Decimal(0), cost=value)
    return svc.RemedyDraft(kind=kind, amount=value, cost=value)


def _what_was_done(kind: RemedyKind, reasons: set[Reason]) -> str:
    """Which of the won-back buyer's words (review_texts.WON_BACK_*) fit the remedy."""
    if kind is RemedyKind.RESEND:
        return "resend"
    if kind is RemedyKind.EXCHANGE:
        return "exchange"
    if kind is RemedyKind.PARTIAL_REFUND and Reason.PRICE in reasons:
        return "price_refund"
    return "settled"


def _buyer_changes(
    session: Session, case: Case, at: datetime, settings: IntakeSettings, done: str
) -> CaseOutcome:
    """What a won-back buyer does where the shop sells: revise to 好评 where the platform
    lets them, else (Tmall) add a happy 追评; either way in words that fit what the shop
    did (``done``: a key of review_texts.WON_BACK_*)."""
    if settings.rules.counts_as_revision(case.review.rating, Rating.GOOD):
        _revise_to_good(session, case, at, texts.WON_BACK_REVISIONS[done])
        return CaseOutcome.REVIEW_REVISED
    review = case.review
    # one of a few, by case (the draws of the month's work stay as they were)
    words = texts.WON_BACK_FOLLOW_UPS[done]
    said = words[case.id % len(words)]
    review.follow_up_text, review.follow_up_at = said, at
    review.follow_up_score, review.updated_at = 0.97, at
    return CaseOutcome.POSITIVE_FOLLOW_UP


def _revise_to_good(session: Session, case: Case, at: datetime, words: tuple[str, ...]) -> None:
    review = case.review
    session.add(
        ReviewRevision(
            review_id=review.id,
            kind=RevisionKind.REVISED,
            rating=review.rating,
            text=review.text,
            posted_at=review.posted_at,
            recorded_at=at,
        )
    )
    review.rating = Rating.GOOD
    review.text = words[case.id % len(words)]
    review.posted_at = review.updated_at = at
