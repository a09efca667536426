"""A shop on a platform; one install serves several."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.models.enums import Platform


class Shop(db.Model):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short stable key: names the shop in config (credentials) and on the command line.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    platform: Mapped[Platform]
    platform_seller_id: Mapped[str | None] = mapped_column(sa.String(64))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
