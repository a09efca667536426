"""A shop's platform credentials, sealed (tracker.sealing); never stored or shown in clear."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class SourceCredential(db.Model):
    __tablename__ = "source_credentials"

    shop_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(sa.String(32))  # the adapter's name: top, jd, …
    sealed: Mapped[str] = mapped_column(sa.Text)  # a Fernet token of the values as JSON
    hint: Mapped[str] = mapped_column(sa.String(200))  # what the page shows: no secrets
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
