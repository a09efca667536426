"""Buyers' replies to the shop's SMS (上行短信), as Aliyun pushes them.

A reply is the buyer answering: to a case's message it lands on that case as 买家已回复,
with the words, and tells the agent working it, so nobody has to go looking for it. A
拒收 reply (R, TD, 退订) also stops every later campaign message, as before. A reply is
taken to answer the shop's latest message to that number in the last week; when that was
a campaign's, the case is left alone. A closed case gets the reply and the notice, not a
follow-up: its agent decides whether to reopen it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.domain.phone_numbers import NumberError, parse_number
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    CampaignRecipient,
    Case,
    ContactAttempt,
    ContactHandle,
    OutboundMessage,
    User,
)
from tracker.models.enums import AttemptOutcome, Channel
from tracker.providers.aliyun import pushed_time
from tracker.services import alerts, campaigns
from tracker.services.cases import AttemptDraft, record_attempt
from tracker.services.transaction import transaction
from tracker.vault import personal_vault

REPLY_WINDOW = timedelta(days=7)  # a reply later than this answers no message of ours
ANSWER_WITHIN = timedelta(hours=1)  # of working time: the case's follow-up after a reply
NOTES_MAX = 500


@dataclass(frozen=True)
class Taken:
    unsubscribed: int = 0  # buyers opted out of campaigns
    on_cases: int = 0  # replies written on a case


def take_in(
    session: Session,
    shop_id: int,
    replies: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    hours: WorkingHours,
) -> Taken:
    """Every pushed reply: the opt-out first (its own transaction), then the case."""
    unsubscribed = on_cases = 0
    for reply in replies:
        phone, text = str(reply.get("phone_number") or ""), str(reply.get("content") or "")
        unsubscribed += campaigns.unsubscribe(session, shop_id, phone, text, now=now)
        at = pushed_time(reply.get("send_time")) or now
        on_cases += _on_case(
            session, shop_id, phone, text.strip(), at=min(at, now), now=now, hours=hours
        )
    return Taken(unsubscribed, on_cases)


def _on_case(
    session: Session,
    shop_id: int,
    phone: str,
    text: str,
    *,
    at: datetime,
    now: datetime,
    hours: WorkingHours,
) -> int:
    try:
        number = parse_number(phone)
    except NumberError:
        return 0
    if not text:
        return 0
    fingerprint = personal_vault().fingerprint(number.written())
    with transaction(session):
        handles = sa.select(ContactHandle.id).where(
            ContactHandle.shop_id == shop_id, ContactHandle.fingerprint == fingerprint
        )
        message = session.scalars(
            sa.select(OutboundMessage)
            .where(
                OutboundMessage.shop_id == shop_id,
                OutboundMessage.handle_id.in_(handles),
                OutboundMessage.sent_at.is_not(None),
                OutboundMessage.sent_at <= at,
                OutboundMessage.sent_at > at - REPLY_WINDOW,
            )
            .order_by(OutboundMessage.sent_at.desc())
            .limit(1)
        ).first()
        if message is None or message.sent_at is None:
            return 0
        case = session.get(Case, message.case_id)
        if case is None or case.buyer_id is None:
            return 0
        campaign_since = session.scalar(
            sa.select(sa.func.count(CampaignRecipient.id)).where(
                CampaignRecipient.buyer_id == case.buyer_id,
                CampaignRecipient.sent_at > message.sent_at,
                CampaignRecipient.sent_at <= at,
            )
        )
        if campaign_since:
            return 0  # the buyer is more likely answering the campaign's message
        notes = f"买家回复短信：{text}"[:NOTES_MAX]
        seen = session.scalar(
            sa.select(ContactAttempt.id).where(
                ContactAttempt.case_id == case.id,
                ContactAttempt.outcome == AttemptOutcome.BUYER_REPLIED,
                ContactAttempt.attempted_at == at,
                ContactAttempt.notes == notes,
            )
        )
        if seen is not None:
            return 0  # pushed again
        worker = session.get(User, case.owner_id or message.created_by_id)
        if worker is None:
            return 0
        record_attempt(
            session,
            case,
            AttemptDraft(
                channel=Channel.SMS,
                attempted_at=at,
                outcome=AttemptOutcome.BUYER_REPLIED,
                notes=notes,
                next_attempt_at=(  # the buyer waits for us; a closed case keeps none
                    hours.add(at, ANSWER_WITHIN) if case.status in case_flow.OPEN else None
                ),
            ),
            actor=worker,
            now=now,
            hours=hours,
        )
        alerts.tell_case_news(  # the agent on leave: the supervisors
            session,
            worker,
            case,
            kind="buyer_replied",
            key=f"sms-reply:{case.id}:{int(at.timestamp())}",
            title=f"案件 #{case.id} 的买家回复了短信",
            body=text[:200],
            now=now,
        )
        return 1
