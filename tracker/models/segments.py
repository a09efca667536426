"""Each buyer's segment, recomputed nightly per shop (tracker.services.segments)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class BuyerSegment(db.Model):
    __tablename__ = "buyer_segments"
    __table_args__ = (
        # Each serves a read from the index alone where it can: without statistics SQLite
        # reads a shop's segments through any index on shop_id, and through one that lacks
        # a column it fetches every row at random (the segment view took 0.8 s, not 45 ms).
        # A class's big or small buyers (the segment view's rows and its buyer lists),
        # counted and summed, the latest first:
        sa.Index(
            "ix_buyer_segments_shop_id_klass_big_recency_days_spent",
            "shop_id",
            "klass",
            "big",
            "recency_days",
            "spent",
        ),
        # a class alone by 最近购买 (沉睡客户 latest first, where a 唤醒 campaign starts)
        sa.Index(
            "ix_buyer_segments_shop_id_klass_recency_days", "shop_id", "klass", "recency_days"
        ),
        # the buyer list's other orders (browse.BUYER_SORTS), and the levels counted
        sa.Index("ix_buyer_segments_shop_id_spent_level", "shop_id", "spent", "level"),
        sa.Index("ix_buyer_segments_shop_id_orders_spent", "shop_id", "orders", "spent"),
        sa.Index("ix_buyer_segments_shop_id_recency_days", "shop_id", "recency_days"),
    )

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
