"""Intake bookkeeping: source pulls, sentiment corrections, the scheduler's lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.sources.contract import RateLimited


class PullRun(db.Model):
    """One run of a review source for a shop: what it did and what went wrong."""

    __tablename__ = "pull_runs"
    __table_args__ = (sa.Index("ix_pull_runs_shop_id_started_at", "shop_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(32))  # top, import:reviews, push, score
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="running")  # ok / error
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    pulled: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    revised: Mapped[int] = mapped_column(default=0)
    cases_opened: Mapped[int] = mapped_column(default=0)
    cases_closed: Mapped[int] = mapped_column(default=0)
    set_aside: Mapped[int] = mapped_column(default=0, server_default="0")
    reread: Mapped[int] = mapped_column(default=0, server_default="0")  # open cases' reviews
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.Text)

    # Not stored: set on the run a pull returns when the platform said the app called too
    # often, so the worker rests the app instead of counting a failure of the shop.
    throttled: ClassVar[RateLimited | None] = None


class SentimentCorrection(db.Model):
    """Staff said the model got a review wrong; the next training uses their label."""

    __tablename__ = "sentiment_corrections"

    review_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    is_positive: Mapped[bool]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class SchedulerLock(db.Model):
    """Held by the one running scheduler; a stale heartbeat lets a new one take over."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128))
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class QuarantinedRecord(db.Model):
    """A review that could not be stored as it came (its error says why), kept aside so
    the rest of its window is stored and the pull moves on; an admin retries it."""

    __tablename__ = "quarantined_records"
    __table_args__ = (sa.Index("ix_quarantined_records_shop_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(32))
    platform_key: Mapped[str] = mapped_column(sa.String(200))
    payload: Mapped[str] = mapped_column(sa.Text)  # the record as JSON
    error: Mapped[str] = mapped_column(sa.Text)
    quarantined_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=1)
    last_tried_at: Mapped[datetime]


class ImportJob(db.Model):
    """An uploaded file, stored and imported by the scheduler: the page shows its progress
    and, at the end, the same report (and all-or-nothing rule) as ever."""

    __tablename__ = "import_jobs"
    __table_args__ = (sa.Index("ix_import_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str] = mapped_column(sa.Text)  # the stored upload, removed when finished
    mapping: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    skip_bad_rows: Mapped[bool] = mapped_column(default=False)
    # queued -> checking -> importing -> done | refused (bad rows, nothing written) | failed
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)  # progress of the current step
    imported_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    cases_opened: Mapped[int] = mapped_column(default=0)
    cases_closed: Mapped[int] = mapped_column(default=0)
    set_aside: Mapped[int] = mapped_column(default=0)
    # rows whose name, address and number were left out: the buyer had asked for their
    # personal data to be deleted after giving them (tracker.services.erasure)
    withheld: Mapped[int] = mapped_column(default=0)
    problem_count: Mapped[int] = mapped_column(default=0)
    # the first problems found: row, column, value, reason (all are counted)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class ShopSentimentModel(db.Model):
    """A sentiment model trained on one shop's own reviews. The retraining job stores every
    candidate with its figures and those of the model it was measured against; at most one
    per shop is active (without one, the installation's model scores the shop)."""

    __tablename__ = "shop_sentiment_models"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "version"),
        sa.Index("ix_shop_sentiment_models_shop_id_status", "shop_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))  # active, retired, rejected
    trained_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]  # last time it became active (rollback order)
    examples: Mapped[int]  # the shop's labelled texts it learned from
    # Its figures and the incumbent's on the same held-back reviews, and why it was kept
    # out or promoted: what the admin page shows.
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    decision: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # TextModel.describe()
    arrays: Mapped[bytes] = mapped_column(sa.LargeBinary)  # TextModel.to_bytes()
    # Each of the shop's review texts it learned from, scored by a model of its recipe that
    # did not (shop_models.read_out_of_fold): next week's judge reads these for it, as it knows
    # those texts itself. None: trained before cross-fitting (2026-12-03).
    out_of_fold: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
