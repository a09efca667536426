"""When to try a buyer next after a try they have not answered (锲而不舍): the case page
offers it, and such a try left without a 下次跟进 (a missed call logged, an SMS sent, a
privacy call placed) keeps it as the case's follow-up, so the buyer comes back on the
agent's list instead of waiting for someone to remember."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.next_try import Suggestion, next_try
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, ContactAttempt
from tracker.models.enums import AttemptOutcome, Channel
from tracker.services import contact_log

Tried = tuple[Channel, datetime, AttemptOutcome]


def missed(now: datetime) -> sa.ColumnElement[bool]:
    """An open case whose 下次跟进 has passed with no contact since (logging one sets the
    next): a call-back promised to the buyer, or the check on a problem in hand, not made.
    The board's 跟进已过, the morning digest and 客服负荷 count the same cases."""
    return sa.and_(Case.status.in_(case_flow.OPEN), Case.next_follow_up_at < now)


def next_try_for(
    session: Session,
    case: Case,
    *,
    hours: WorkingHours,
    now: datetime,
    tried: Sequence[Tried] | None = None,
    contacted: Sequence[datetime] | None = None,
) -> Suggestion | None:
    """The next try for an open case whose latest attempt the buyer has not answered,
    within the shop's contact policy; none once the buyer asked not to be contacted.
    ``tried`` (the case's attempts, oldest first) and ``contacted`` (every contact with the
    buyer) spare reading them again when the caller has them."""
    if case.status not in case_flow.OPEN:
        return None
    if case.buyer is not None and case.buyer.do_not_contact_at is not None:
        return None
    if tried is None:
        tried = [
            (row.channel, row.attempted_at, row.outcome)
            for row in session.execute(
                sa.select(
                    ContactAttempt.channel, ContactAttempt.attempted_at, ContactAttempt.outcome
                )
                .where(ContactAttempt.case_id == case.id)
                .order_by(ContactAttempt.attempted_at, ContactAttempt.id)
            )
        ]
    if not tried or tried[-1][2] not in case_flow.UNANSWERED:
        return None
    policy = contact_log.policy_of(session, case.shop_id)
    if contacted is None:
        contacted = contact_log.times_for_buyer(session, case.buyer_id) if case.buyer_id else []
    return next_try(
        tried,
        hours,
        now,
        policy=policy,
        contacted=contacted,
        window_ends=case.revision_window_ends_at,
    )


@dataclass(frozen=True)
class HeldBack:
    """Why the shop's contact policy will not allow contacting the buyer at a moment (a
    下次跟进), and the first moment it would (None: the buyer asked not to be contacted)."""

    refusals: tuple[str, ...]
    earliest: datetime | None


def held_back(
    session: Session,
    case: Case,
    at: datetime,
    *,
    policy: ContactPolicy,
    contacted: Sequence[datetime],
    tz: ZoneInfo,
) -> HeldBack | None:
    """Why the policy would refuse contacting the case's buyer at ``at``, as known now, and
    from when it would not; None when it would allow it. A 下次跟进 set half an hour after a
    call (the gap), or for a third call today (the cap), stays allowed, since a buyer may
    ask to be called back then and a supervisor can go past the policy with a reason; the
    case page says so when it is set, and the reminder when it comes due."""
    if case.buyer is None:
        return None
    refusals = contact_log.refusals(session, policy, case.buyer, at, tz=tz, contacted=contacted)
    if not refusals:
        return None
    if case.buyer.do_not_contact_at is not None:
        return HeldBack(tuple(refusals), None)
    return HeldBack(tuple(refusals), policy.earliest(at, contacted, tz=tz))
