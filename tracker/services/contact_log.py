"""Every time the shop reached out to a buyer, whatever sent it: an attempt on a case, a
满意度回访 SMS, a campaign's SMS. The case contact policy (how often, how soon again) and a
campaign's "contacted recently" exclusion read the same list, so a buyer who got a
marketing SMS this morning is not also called twice this afternoon, nor the reverse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Campaign, CampaignRecipient, Case, CaseSurvey, ContactAttempt
from tracker.models.enums import AttemptOutcome

SENT = ("sending", "sent")  # a send under way counts: the buyer may already have it


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

    attempts = narrowed(
        sa.select(Case.buyer_id.label("buyer_id"), ContactAttempt.attempted_at.label("at"))
        .join(Case, Case.id == ContactAttempt.case_id)
        .where(ContactAttempt.outcome != AttemptOutcome.BUYER_REPLIED),
        Case.buyer_id,
        Case.shop_id,
        ContactAttempt.attempted_at,
    )
    surveys = narrowed(
        sa.select(Case.buyer_id, CaseSurvey.sent_at)
        .join(Case, Case.id == CaseSurvey.case_id)
        .where(CaseSurvey.state.in_(SENT), CaseSurvey.sent_at.is_not(None)),
        Case.buyer_id,
        Case.shop_id,
        CaseSurvey.sent_at,
    )
    campaign_sms = narrowed(
        sa.select(CampaignRecipient.buyer_id, CampaignRecipient.sent_at)
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(CampaignRecipient.state.in_(SENT), CampaignRecipient.sent_at.is_not(None)),
        CampaignRecipient.buyer_id,
        Campaign.shop_id,
        CampaignRecipient.sent_at,
    )
    return sa.union_all(attempts, surveys, campaign_sms)


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
