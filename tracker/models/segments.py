"""Each buyer's segment, recomputed nightly per shop (tracker.services.segments)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class BuyerSegment(db.Model):
    __tablename__ = "buyer_segments"
    __table_args__ = (sa.Index("ix_buyer_segments_shop_id_klass", "shop_id", "klass"),)

    buyer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("buyers.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    recency_days: Mapped[int | None]
    orders: Mapped[int]
    spent: Mapped[Decimal]
    r: Mapped[int]  # 1–5 against the shop's own buyers (0: never ordered)
    f: Mapped[int]
    m: Mapped[int]
    klass: Mapped[str] = mapped_column(sa.String(16))  # tracker.domain.segments.BuyerClass
    big: Mapped[bool]
    level: Mapped[int]  # 0 店铺客户 … 4 至尊VIP (tracker.domain.segments.LEVEL_NAMES)
    computed_at: Mapped[datetime]
