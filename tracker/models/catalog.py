"""Products a shop sells."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "platform_item_id"),
        sa.Index("ix_products_shop_id_category", "shop_id", "category"),
        sa.Index("ix_products_shop_id_launched_at", "shop_id", "launched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    platform_item_id: Mapped[str] = mapped_column(sa.String(64))  # num_iid / SKU id on JD
    sku: Mapped[str | None] = mapped_column(sa.String(64))  # the seller's own code (商家编码)
    title: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(50))
    price: Mapped[Decimal]
    launched_at: Mapped[datetime | None]  # drives "new arrivals"
    is_active: Mapped[bool] = mapped_column(default=True)
    is_consumable: Mapped[bool] = mapped_column(default=False)
    repurchase_days: Mapped[int | None]  # typical cycle for consumables
