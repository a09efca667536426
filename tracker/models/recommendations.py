"""The recommender's stored model per shop, and what was suggested on each case's calls."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.models.enums import SuggestionKind

if TYPE_CHECKING:
    from tracker.models.catalog import Product


class RecommenderModel(db.Model):
    """One row per shop, replaced by each build; kept so web workers never build."""

    __tablename__ = "recommender_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    build_id: Mapped[str] = mapped_column(sa.String(32))  # random: tells caches a build apart
    built_at: Mapped[datetime]
    order_lines: Mapped[int]
    products: Mapped[int]
    build_seconds: Mapped[float]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # tracker.domain.recommend.Model


class CaseSuggestion(db.Model):
    """A product shown on a case's call: once per case and product, first call wins, so
    a conversion is counted once."""

    __tablename__ = "case_suggestions"
    __table_args__ = (sa.UniqueConstraint("case_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    rank: Mapped[int]
    kind: Mapped[SuggestionKind]
    reason: Mapped[str] = mapped_column(sa.String(200))
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("contact_attempts.id"), index=True)
    suggested_at: Mapped[datetime]  # the call's time
    mentioned_attempt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact_attempts.id"), index=True
    )
    mentioned_at: Mapped[datetime | None]
    converted_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"))
    converted_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship()

    @property
    def counted_from(self) -> datetime:
        """The conversion window opens at the call that mentioned it, else the first one."""
        return self.mentioned_at or self.suggested_at
