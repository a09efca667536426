"""Care and reactivation campaigns: who was chosen, who was held back, what was sent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    audience: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # domain.campaigns.Audience
    exclusions: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # domain.campaigns.Exclusions
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("message_templates.id"))
    coupon: Mapped[str] = mapped_column(sa.String(200), default="")  # recorded, unconditional
    coupon_value: Mapped[Decimal | None]
    control_share: Mapped[float] = mapped_column(default=0.1)
    state: Mapped[str] = mapped_column(sa.String(16), default="draft")  # draft, sending, done
    chosen: Mapped[int] = mapped_column(default=0)  # matched after exclusions
    held_back: Mapped[int] = mapped_column(default=0)  # the control group
    excluded: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # why, how many
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class CampaignRecipient(db.Model):
    """One buyer of a campaign: sent to (state queued → sending → sent / failed), skipped at
    send time (queued → skipped, why in ``last_error``) or held back as control. A buyer
    the shop's contact policy holds off for now stays queued until ``not_before``.
    ``out_id`` goes to the provider with the send, so a send whose answer was lost (a
    crash, a timeout) is looked up, never sent twice."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "buyer_id"),
        sa.Index("ix_campaign_recipients_campaign_id_state", "campaign_id", "state"),
        # a buyer's contacts (tracker.services.contact_log) on every case page and attempt
        sa.Index("ix_campaign_recipients_buyer_id_sent_at", "buyer_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("buyers.id", ondelete="CASCADE"))
    handle_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact_handles.id", ondelete="SET NULL")
    )
    control: Mapped[bool]
    # queued, sending, sent, failed, skipped, control
    state: Mapped[str] = mapped_column(sa.String(16))
    out_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None]
    # held off by the contact policy (called an hour ago, twice today): sent from then on,
    # why in last_error meanwhile
    not_before: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # the operator's receipt of a sent message: delivered, undelivered, or unknown (none
    # came while the provider keeps them); None while it may still come
    delivery: Mapped[str | None] = mapped_column(sa.String(16))
    delivered_at: Mapped[datetime | None]
