"""Every time the shop reached out to a buyer, whatever sent it: an attempt on a case, a
满意度回访 SMS, a campaign's SMS. The case contact policy (how often, how soon again) and a
campaign's "contacted recently" exclusion read the same list, so a buyer who got a
marketing SMS this morning is not also called twice this afternoon, nor the reverse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.domain.contact_policy import ContactPolicy, answers_buyer
from tracker.domain.platform_rules import rules_for
from tracker.models import (
    Buyer,
    Campaign,
    CampaignRecipient,
    Case,
    CaseSurvey,
    ContactAttempt,
    Shop,
    User,
)
from tracker.models.enums import AttemptOutcome
from tracker.models.surveys import RESOLVED

SENT = ("sending", "sent")  # a send under way counts: the buyer may already have it
# What makes a 满意度回访 or a campaign's SMS a contact: the policy's count and the buyer
# page's history read the same conditions.
SURVEY_SENT = (CaseSurvey.state.in_(SENT), CaseSurvey.sent_at.is_not(None))
CAMPAIGN_SMS_SENT = (CampaignRecipient.state.in_(SENT), CampaignRecipient.sent_at.is_not(None))


def contacts(
    *,
    shop_id: int | None = None,
    buyer_ids: Collection[int] | None = None,
    since: datetime | None = None,
) -> sa.CompoundSelect:
    """(buyer_id, at) of every contact of some buyers or of one shop's buyers, since a
    moment. A buyer's own message (买家主动联系) is not the shop reaching out."""

    def narrowed(
        select: sa.Select[tuple[int, datetime]],
        buyer: sa.ColumnElement[int],
        shop: sa.ColumnElement[int],
        at: sa.ColumnElement[datetime],
    ) -> sa.Select[tuple[int, datetime]]:
        if buyer_ids is not None:
            select = select.where(buyer.in_(buyer_ids))
        if shop_id is not None:
            select = select.where(shop == shop_id)
        if since is not None:
            select = select.where(at >= since)
        return select

    attempts = narrowed(  # one contact logged on two of the buyer's cases is one contact
        sa.select(Case.buyer_id.label("buyer_id"), ContactAttempt.attempted_at.label("at"))
        .join(Case, Case.id == ContactAttempt.case_id)
        .where(ContactAttempt.outcome != AttemptOutcome.BUYER_REPLIED)
        .distinct(),
        Case.buyer_id,
        Case.shop_id,
        ContactAttempt.attempted_at,
    )
    surveys = narrowed(
        sa.select(Case.buyer_id, CaseSurvey.sent_at)
        .join(Case, Case.id == CaseSurvey.case_id)
        .where(*SURVEY_SENT),
        Case.buyer_id,
        Case.shop_id,
        CaseSurvey.sent_at,
    )
    campaign_sms = narrowed(
        sa.select(CampaignRecipient.buyer_id, CampaignRecipient.sent_at)
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(*CAMPAIGN_SMS_SENT),
        CampaignRecipient.buyer_id,
        Campaign.shop_id,
        CampaignRecipient.sent_at,
    )
    return sa.union_all(attempts, surveys, campaign_sms)


def buyer_stopped(at: datetime | sa.ColumnElement[datetime]) -> sa.ColumnElement[bool]:
    """SQL, of a case: its buyer had asked us to stop (买家要求勿扰) by ``at``."""
    return sa.exists().where(Buyer.id == Case.buyer_id, Buyer.do_not_contact_at <= at)


def awaits_first_contact(now: datetime) -> sa.ColumnElement[bool]:
    """SQL, of a case: nobody has contacted its buyer yet, and somebody may. A buyer who
    asked us to stop (on another case) before any contact on this one is no deadline to
    meet: such a case is neither 超时未联系 nor 今天到期, nor late in 按时首次联系; its
    page and card say 买家已要求勿扰. The few such buyers have a partial index
    (``ix_buyers_stopped``): without it PostgreSQL read every buyer to find them."""
    return sa.and_(Case.first_attempt_at.is_(None), ~buyer_stopped(now))


def first_contact_overdue(now: datetime) -> sa.ColumnElement[bool]:
    """SQL, of a case: 超时未联系, its first-contact deadline passed with nobody having
    contacted a buyer who may be. The board's filter, 当前超时未联系, the dashboard's and
    客服负荷's 现超时 count the same cases."""
    return sa.and_(Case.first_contact_due_at < now, awaits_first_contact(now))


def policy_of(session: Session, shop_id: int) -> ContactPolicy:
    """The shop's contact policy: the defaults when it set none (or the shop is gone)."""
    shop = session.get(Shop, shop_id)
    return shop.contact_rules if shop else ContactPolicy()


def reply_times(session: Session, buyer_id: int) -> list[datetime]:
    """When the buyer wrote to us (买家已回复), on any of their cases."""
    return replies_by_buyer(session, [buyer_id]).get(buyer_id, [])


def replies_by_buyer(session: Session, buyer_ids: Collection[int]) -> dict[int, list[datetime]]:
    """When each of these buyers wrote to us: a board's follow-ups ask once for the page."""
    times: dict[int, list[datetime]] = defaultdict(list)
    for buyer_id, at in session.execute(
        sa.select(Case.buyer_id, ContactAttempt.attempted_at)
        .join(Case, Case.id == ContactAttempt.case_id)
        .where(Case.buyer_id.in_(buyer_ids), ContactAttempt.outcome == AttemptOutcome.BUYER_REPLIED)
    ):
        times[buyer_id].append(at)
    return times


def refusals(
    session: Session,
    policy: ContactPolicy,
    buyer: Buyer,
    at: datetime,
    *,
    tz: ZoneInfo,
    contacted: Sequence[datetime],
    awaited: bool = False,
) -> list[str]:
    """Why the shop's policy forbids contacting ``buyer`` at ``at`` (``contacted``: every
    contact with them); an answer to a buyer who just wrote is no pestering, nor is a
    notice they wait for (``awaited``: a remedy recorded, not yet announced)."""
    return policy.refusals(
        at,
        contacted,
        tz=tz,
        do_not_contact_since=buyer.do_not_contact_at,
        answering=awaited or answers_buyer(at, contacted, reply_times(session, buyer.id)),
    )


def times_for_buyer(session: Session, buyer_id: int) -> list[datetime]:
    """When the buyer was contacted, on any of their cases or by any campaign."""
    return times_by_buyer(session, [buyer_id]).get(buyer_id, [])


def times_by_buyer(
    session: Session, buyer_ids: Collection[int], since: datetime | None = None
) -> dict[int, list[datetime]]:
    """When each of these buyers was contacted (since a moment): a campaign's batch at send
    time asks once for the batch, not once per buyer."""
    found = contacts(buyer_ids=buyer_ids, since=since).subquery()
    times: dict[int, list[datetime]] = defaultdict(list)
    for buyer_id, at in session.execute(sa.select(found.c.buyer_id, found.c.at)):
        times[buyer_id].append(at)
    return times


def buyers_contacted(
    session: Session, shop_id: int, since: datetime, among: Collection[int] | None = None
) -> set[int]:
    found = contacts(shop_id=shop_id, buyer_ids=among, since=since).subquery()
    return set(session.scalars(sa.select(found.c.buyer_id).where(found.c.buyer_id.is_not(None))))


@dataclass(frozen=True)
class Contact:
    """One line of a buyer's contact history: when, how, with what result, by whom."""

    at: datetime
    channel: str  # 电话, 旺旺/千牛 (the platform's chat by name), 短信, 营销短信, 满意度回访
    result: str
    by: str | None = None  # the agent; None for what the tracker sent
    case_id: int | None = None
    campaign_id: int | None = None
    campaign: str | None = None
    went_well: bool = False  # reached and handling or agreed, replied, delivered, answered


CAMPAIGN_RESULTS = {"delivered": "已送达", "undelivered": "未送达"}
SURVEY_RESULTS = {"sending": "发送中", "sent": "已发送"}
HISTORY_LIMIT = 50


def history(
    session: Session, shop: Shop, buyer_id: int, *, limit: int = HISTORY_LIMIT
) -> list[Contact]:
    """The buyer's latest ``limit`` contacts with the shop, newest first: attempts on any
    of their cases, 满意度回访 and campaign SMS. What the contact policy counts, and why a
    case page may say 现在不宜联系 when its own record is empty. No attempt notes: they
    belong to the case page, which logs who opens it."""
    rules = rules_for(shop.platform)
    found: list[Contact] = []
    attempts = session.execute(
        sa.select(ContactAttempt, User.display_name)
        .join(Case, Case.id == ContactAttempt.case_id)
        .join(User, User.id == ContactAttempt.agent_id)
        .where(Case.buyer_id == buyer_id, Case.shop_id == shop.id)
        .order_by(ContactAttempt.attempted_at.desc())
        .limit(limit)
    ).all()
    for attempt, agent in attempts:
        found.append(
            Contact(
                attempt.attempted_at,
                rules.channel_label(attempt.channel),
                rules.attempt_label(attempt.outcome),
                agent,
                case_id=attempt.case_id,
                went_well=attempt.outcome in case_flow.WENT_WELL,
            )
        )
    surveys = session.execute(
        sa.select(
            CaseSurvey.case_id,
            CaseSurvey.sent_at,
            CaseSurvey.state,
            CaseSurvey.score,
            CaseSurvey.resolved,
        )
        .join(Case, Case.id == CaseSurvey.case_id)
        .where(Case.buyer_id == buyer_id, Case.shop_id == shop.id, *SURVEY_SENT)
        .order_by(CaseSurvey.sent_at.desc())
        .limit(limit)
    ).all()
    for case_id, sent_at, state, score, resolved in surveys:
        result = f"已回答 {score} 分" if score is not None else SURVEY_RESULTS[state]
        if resolved is not None:  # asked since 2026-12-05
            result += f"，问题{RESOLVED[resolved]}"
        answered = score is not None
        found.append(Contact(sent_at, "满意度回访", result, case_id=case_id, went_well=answered))
    campaign_sms = session.execute(
        sa.select(
            CampaignRecipient.sent_at,
            CampaignRecipient.state,
            CampaignRecipient.delivery,
            Campaign.id,
            Campaign.name,
        )
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(
            CampaignRecipient.buyer_id == buyer_id, Campaign.shop_id == shop.id, *CAMPAIGN_SMS_SENT
        )
        .order_by(CampaignRecipient.sent_at.desc())
        .limit(limit)
    ).all()
    for sent_at, state, delivery, campaign_id, name in campaign_sms:
        result = CAMPAIGN_RESULTS.get(delivery or "", "发送中" if state == "sending" else "已发送")
        found.append(
            Contact(
                sent_at,
                "营销短信",
                result,
                campaign_id=campaign_id,
                campaign=name,
                went_well=delivery == "delivered",
            )
        )
    found.sort(key=lambda c: c.at, reverse=True)
    return found[:limit]
