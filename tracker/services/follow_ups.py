"""When to try a buyer next after a try they have not answered (锲而不舍): the case page
offers it, and such a try left without a 下次跟进 (a missed call logged, an SMS sent, a
privacy call placed) keeps it as the case's follow-up, so the buyer comes back on the
agent's list instead of waiting for someone to remember."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain import case_flow
from tracker.domain.contact_policy import ContactPolicy, answers_buyer
from tracker.domain.next_try import Suggestion, next_try
from tracker.domain.platform_rules import rules_for
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    Buyer,
    Case,
    ContactAttempt,
    ContactHandle,
    MessageTemplate,
    OutboundMessage,
    Shop,
    User,
)
from tracker.models.enums import AttemptOutcome, Channel, HandleKind, Platform, RemedyNotice
from tracker.services import contact_log, shifts

Tried = tuple[Channel, datetime, AttemptOutcome]


def remedy_notice_attempts() -> sa.Select:
    """The attempts that are a remedy's notice (补发已安排): news the buyer waited for, not
    a try to reach them, so no next try follows one — after the call that agreed a reissue,
    the tip would have said 再试 a day before the check-up the call planned."""
    return (
        sa.select(OutboundMessage.attempt_id)
        .join(MessageTemplate, MessageTemplate.id == OutboundMessage.template_id)
        .where(
            MessageTemplate.announces.is_not(None),
            MessageTemplate.announces != RemedyNotice.NOTHING,
        )
    )


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
    within the shop's contact policy and its owner's hours (their 班次 and 调班, else the
    shop's ``hours``): the try is theirs to make, and one planned for their evening off
    would reach the supervisors instead. None once the buyer asked not to be contacted.
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
                .where(
                    ContactAttempt.case_id == case.id,
                    ContactAttempt.id.not_in(
                        remedy_notice_attempts().where(OutboundMessage.case_id == case.id)
                    ),
                )
                .order_by(ContactAttempt.attempted_at, ContactAttempt.id)
            )
        ]
    if not tried or tried[-1][2] not in case_flow.UNANSWERED:
        return None
    policy = contact_log.policy_of(session, case.shop_id)
    shop = session.get(Shop, case.shop_id)
    if case.owner is not None and shop is not None:
        hours = shifts.hours_of(case.owner, shop, hours.tz)
    if contacted is None:
        contacted = contact_log.times_for_buyer(session, case.buyer_id) if case.buyer_id else []
    return next_try(
        tried,
        hours,
        now,
        policy=policy,
        contacted=contacted,
        window_ends=case.revision_window_ends_at,
        number_since=(  # a number come in since 号码错误 makes the phone worth a try again
            _newest_number(session, case.buyer_id)
            if case.buyer_id and any(o is AttemptOutcome.WRONG_NUMBER for _, _, o in tried)
            else None
        ),
        named=rules_for(shop.platform if shop is not None else Platform.OTHER).channel_label,
    )


def _newest_number(session: Session, buyer_id: int) -> datetime | None:
    """When the buyer's newest number came in (imported, from the platform, typed in)."""
    return session.scalar(
        sa.select(sa.func.max(ContactHandle.created_at)).where(
            ContactHandle.buyer_id == buyer_id, ContactHandle.kind != HandleKind.BINDING
        )
    )


def still_to_come(case: Case, now: datetime) -> datetime | None:
    """An open case's 下次跟进 not yet passed: what is said ahead (the policy will refuse
    it, its owner will be off) and what a hand-over is for; a passed one is 跟进已过."""
    at = case.next_follow_up_at
    return at if at is not None and at > now and case.status in case_flow.OPEN else None


OFF_AHEAD = timedelta(days=7)  # how far ahead 客服负荷 looks for follow-ups on days off


@dataclass(frozen=True)
class OffDuty:
    """A case's 下次跟进 that falls while its owner is off (休息, 不在岗)."""

    case_id: int
    at: datetime
    unable: shifts.Unable


def due_while_off(
    session: Session,
    shop: Shop,
    staff: Sequence[User] | None = None,
    *,
    now: datetime,
    tz: ZoneInfo,
    within: timedelta = OFF_AHEAD,
) -> dict[int, list[OffDuty]]:
    """Per agent (of ``staff``, or anyone owning a case), their open cases' 下次跟进 from
    now until ``within`` that fall on their day off or leave, soonest first: each reminder
    would go to the supervisors at its time, and 客服负荷 and the morning digest let them
    hand the case to whoever is on before."""
    query = (
        sa.select(Case.id, Case.next_follow_up_at, User)
        .join(User, User.id == Case.owner_id)
        .where(
            Case.shop_id == shop.id,
            Case.status.in_(case_flow.OPEN),
            Case.next_follow_up_at > now,
            Case.next_follow_up_at <= now + within,
        )
        .order_by(Case.next_follow_up_at, Case.id)
    )
    if staff is not None:
        query = query.where(Case.owner_id.in_([user.id for user in staff]))
    found: dict[int, list[OffDuty]] = {}
    for case_id, at, owner in session.execute(query):
        unable = shifts.unable(owner, shop, at, tz)
        if unable is not None:
            found.setdefault(owner.id, []).append(OffDuty(case_id, at, unable))
    return found


def owners_off_by_case(
    session: Session, follow_ups: Iterable[tuple[int, datetime]], *, tz: ZoneInfo
) -> dict[int, shifts.Unable]:
    """Of some cases' 下次跟进 still to come (case id, when), those that fall while the
    case's owner is off (休息, 不在岗): the board's lines say so, as the case page does."""
    due = dict(follow_ups)
    if not due:
        return {}
    rows = session.execute(
        sa.select(Case.id, Case.shop_id, User)
        .join(User, User.id == Case.owner_id)
        .where(Case.id.in_(due))
        .options(selectinload(User.shift_days))
    ).all()
    off: dict[int, shifts.Unable] = {}
    for case_id, shop_id, owner in rows:
        shop = session.get(Shop, shop_id)  # a page's few shops, from the identity map
        unable = shifts.unable(owner, shop, due[case_id], tz) if shop is not None else None
        if unable is not None:
            off[case_id] = unable
    return off


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
    replies = contact_log.reply_times(session, case.buyer.id)
    return _held(policy, at, contacted, replies, case.buyer.do_not_contact_at, tz)


def held_back_by_case(
    session: Session, follow_ups: Iterable[tuple[int, datetime]], *, now: datetime, tz: ZoneInfo
) -> dict[int, HeldBack]:
    """Of some cases' 下次跟进 (case id, when), those the policy will refuse: at their time,
    or now for one already passed. The board's and the home page's follow-up lines mark
    them, so nobody plans a call the case page will refuse; a few reads for the whole page."""
    due = dict(follow_ups)
    if not due:
        return {}
    rows = session.execute(
        sa.select(Case.id, Case.shop_id, Case.buyer_id, Buyer.do_not_contact_at)
        .join(Buyer, Buyer.id == Case.buyer_id)
        .where(Case.id.in_(due))
    ).all()
    buyer_ids = {row.buyer_id for row in rows}
    contacted = contact_log.times_by_buyer(session, buyer_ids)
    replies = contact_log.replies_by_buyer(session, buyer_ids)
    shops = {row.shop_id for row in rows}
    policies = {shop_id: contact_log.policy_of(session, shop_id) for shop_id in shops}
    held: dict[int, HeldBack] = {}
    for row in rows:
        found = _held(
            policies[row.shop_id],
            max(due[row.id], now),
            contacted.get(row.buyer_id, []),
            replies.get(row.buyer_id, []),
            row.do_not_contact_at,
            tz,
        )
        if found is not None:
            held[row.id] = found
    return held


def _held(
    policy: ContactPolicy,
    at: datetime,
    contacted: Sequence[datetime],
    replies: Sequence[datetime],
    do_not_contact_since: datetime | None,
    tz: ZoneInfo,
) -> HeldBack | None:
    refusals = policy.refusals(
        at,
        contacted,
        tz=tz,
        do_not_contact_since=do_not_contact_since,
        answering=answers_buyer(at, contacted, replies),
    )
    if not refusals:
        return None
    if do_not_contact_since is not None:
        return HeldBack(tuple(refusals), None)
    return HeldBack(tuple(refusals), policy.earliest(at, contacted, tz=tz))
