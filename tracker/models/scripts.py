"""Call scripts (话术) per complaint reason, written by supervisors."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.models.enums import Reason


class Script(db.Model):
    __tablename__ = "scripts"
    __table_args__ = (sa.Index("ix_scripts_reason", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(  # None: for every shop
        sa.ForeignKey("shops.id", ondelete="CASCADE")
    )
    reason: Mapped[Reason | None]  # None: fits any case
    title: Mapped[str] = mapped_column(sa.String(100))
    # {买家}, {商品} and {更新评价} are filled in on the case page (tracker.services.case_page).
    body: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
