"""Care rules (客户关怀): sends a shop makes on its own schedule through the campaign path."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class CareRule(db.Model):
    __tablename__ = "care_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # after_receipt, birthday, holiday
    days: Mapped[int | None]  # after_receipt: this many days after the order arrived
    holiday: Mapped[str | None] = mapped_column(sa.String(5))  # holiday: MM-DD
    name: Mapped[str] = mapped_column(sa.String(64))
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("message_templates.id"))
    control_share: Mapped[float] = mapped_column(default=0.0)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_run_on: Mapped[date | None]  # the shop's local day it last sent
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
