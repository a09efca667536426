"""Buyers of a shop: the customer archive (客户档案)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.models.enums import MembershipLevel

STOPPED = "do_not_contact_at IS NOT NULL"  # the partial index's condition


class Buyer(db.Model):
    __tablename__ = "buyers"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "platform_nick"),
        sa.Index("ix_buyers_shop_id_name_fingerprint", "shop_id", "name_fingerprint"),
        # the few buyers who asked us to stop: what 超时未联系 and its kin leave out
        # (tracker.services.contact_log.awaits_first_contact) is read from it, not from
        # every buyer of every shop
        sa.Index(
            "ix_buyers_stopped",
            "do_not_contact_at",
            postgresql_where=sa.text(STOPPED),
            sqlite_where=sa.text(STOPPED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    platform_nick: Mapped[str] = mapped_column(sa.String(64))
    platform_buyer_id: Mapped[str | None] = mapped_column(sa.String(64))  # Taobao's OUID
    # Name, address and birthday are sealed together (tracker.services.buyer_profiles,
    # TRACKER_PERSONAL_DATA_KEY) and opened for staff working the buyer's case, audited.
    # In clear only what lists, searches and greetings need: 郑** (an SMS says 郑先生/女士),
    # a keyed fingerprint of the full name (exact search), the province, and the birthday's
    # month and day (MMDD, for 生日关怀) without the year.
    # Numbers to call are ContactHandle rows (tracker.models.contacts), sealed too.
    profile_sealed: Mapped[str | None] = mapped_column(sa.Text)
    name_hint: Mapped[str | None] = mapped_column(sa.String(16))
    name_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    area: Mapped[str | None] = mapped_column(sa.String(16))
    birthday_md: Mapped[int | None] = mapped_column(sa.SmallInteger)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    preferences: Mapped[str] = mapped_column(sa.Text, default="")  # noted on follow-up calls
    membership_level: Mapped[MembershipLevel] = mapped_column(default=MembershipLevel.NONE)
    # The member level (0–4) the platform last confirmed for this buyer through its member
    # API, when, and why the last attempt was refused (tracker.services.level_sync).
    platform_grade: Mapped[int | None]
    platform_grade_at: Mapped[datetime | None]
    platform_grade_error: Mapped[str | None] = mapped_column(sa.Text)
    # Staff flagged the buyer (demands compensation for a good review, a professional bad
    # reviewer 差评师): shown on every case of theirs. Why, when, by whom.
    flag_reason: Mapped[str | None] = mapped_column(sa.Text)
    do_not_contact_at: Mapped[datetime | None]  # the buyer asked us to stop (买家要求勿扰)
    marketing_opt_out_at: Mapped[datetime | None]  # replied R (拒收) to a marketing SMS
    # The buyer's personal data was deleted (tracker.services.erasure): what they gave before
    # (an order paid earlier, a buyer file) is not taken in again. Why: "request" (they
    # asked) or "retention" (the shop's retention period passed, tracker.services.retention).
    personal_data_erased_at: Mapped[datetime | None]
    personal_data_erased_why: Mapped[str | None] = mapped_column(sa.String(16))
    flagged_at: Mapped[datetime | None]
    flagged_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
