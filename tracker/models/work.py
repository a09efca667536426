"""Background work across machines: who holds each unit of work, what it has covered, and
how it is failing; platform apps that asked us to slow down; the workers seen."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class BackgroundWork(db.Model):
    """One unit of recurring work ("pull:12", "alerts"): its lease and its record.

    The lease (``holder`` until ``lease_until``) keeps two workers off the same unit; the
    task's ``due`` time against ``done_through`` makes a redelivered task a no-op."""

    __tablename__ = "background_work"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    shop_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    holder: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    started_at: Mapped[datetime | None]  # the current (or last) run's start
    # every task due at or before this was covered by a run that started after it
    done_through: Mapped[datetime | None]
    dispatched_for: Mapped[datetime | None]  # the latest due time put on the queue
    dispatched_at: Mapped[datetime | None]  # handed out and not picked up yet (else None)
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_error_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0, server_default="0")  # in a row
    next_try_at: Mapped[datetime | None]  # backing off after a failure
    parked_at: Mapped[datetime | None]  # failed too often: waits for an admin


class AppThrottle(db.Model):
    """A platform app (one app key serves many shops) that answered "too many calls":
    no pull through it until ``until``."""

    __tablename__ = "app_throttles"

    app: Mapped[str] = mapped_column(sa.String(128), primary_key=True)  # "top:12345678"
    until: Mapped[datetime]
    hits: Mapped[int] = mapped_column(default=0, server_default="0")  # in a row
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class WorkerBeat(db.Model):
    """A worker process as last seen taking a task (its name: host:pid)."""

    __tablename__ = "worker_beats"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(16))  # celery / embedded
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    tasks: Mapped[int] = mapped_column(default=0, server_default="0")
    last_task: Mapped[str | None] = mapped_column(sa.String(64))
