"""Orders (trades, ``tid``) and their lines (``oid``), as the platform reports them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from tracker.extensions import db
from tracker.models.enums import RefundStatus

if TYPE_CHECKING:
    from tracker.models.buyers import Buyer
    from tracker.models.catalog import Product


def reversed_tid(context: sa.engine.default.DefaultExecutionContext) -> str:
    """An inserted order's ``tid_reversed`` when the insert names none (a Core insert
    like the demo loader's: the ORM sets it with ``tid``)."""
    return str(context.get_current_parameters()["tid"])[::-1]


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "tid"),
        sa.Index("ix_orders_buyer_id_paid_at", "buyer_id", "paid_at"),
        sa.Index("ix_orders_shop_id_paid_at", "shop_id", "paid_at"),
        sa.Index("ix_orders_shop_id_tid_reversed", "shop_id", "tid_reversed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    tid: Mapped[str] = mapped_column(sa.String(64))
    # The number backwards, so that its last digits (尾号, what a buyer reads out) are a
    # prefix an index finds: filled from ``tid`` by every insert, ORM or Core, and kept in
    # step when the ORM changes a number (nothing updates one in bulk).
    tid_reversed: Mapped[str] = mapped_column(sa.String(64), default=reversed_tid)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("buyers.id", ondelete="CASCADE"))
    payment: Mapped[Decimal]  # 实付金额 for the whole order
    paid_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]  # 确认收货
    # The platform's Open Addressee ID: what its decrypt call turns into a number to call.
    oaid: Mapped[str | None] = mapped_column(sa.String(128))

    buyer: Mapped[Buyer] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )

    @validates("tid")
    def _keep_reversed(self, _key: str, tid: str) -> str:
        self.tid_reversed = tid[::-1]
        return tid


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "oid"),
        sa.Index("ix_order_lines_product_id_order_id", "product_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    oid: Mapped[str] = mapped_column(sa.String(64))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"))
    title: Mapped[str] = mapped_column(sa.String(200))  # as sold, even if the product changes
    quantity: Mapped[int]
    unit_price: Mapped[Decimal]
    refund_status: Mapped[RefundStatus] = mapped_column(default=RefundStatus.NONE)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()
