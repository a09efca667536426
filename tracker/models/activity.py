"""What happened and who must know: audit trail and notifications."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.models.enums import DeliveryChannel, DeliveryStatus


class AuditEvent(db.Model):
    """One changed field: who, when, what, the old and the new value."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index(
            "ix_audit_events_entity_type_entity_id_occurred_at",
            "entity_type",
            "entity_id",
            "occurred_at",
        ),
        sa.Index("ix_audit_events_case_id_occurred_at", "case_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None = system
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[int]
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(sa.String(64))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # "Once per case and event", across scheduler restarts: the key is unique.
        sa.UniqueConstraint("user_id", "dedupe_key"),
        sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    dedupe_key: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class Delivery(db.Model):
    """A notice going out by e-mail or chat-robot webhook. Kept until sent so a failing
    channel is retried (with back-off) and logged, and never holds up the others."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("channel", "dedupe_key"),
        sa.Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[DeliveryChannel]
    dedupe_key: Mapped[str] = mapped_column(sa.String(150))
    target: Mapped[str] = mapped_column(sa.String(300))  # e-mail address or webhook URL
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DeliveryStatus] = mapped_column(default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
