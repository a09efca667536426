"""A shop on a platform; one install serves several."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.retention import DEFAULT_RETENTION_DAYS
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
    # Review source: pulled every N minutes; the mark only moves past stored data.
    pull_interval_minutes: Mapped[int] = mapped_column(default=10, server_default="10")
    pulled_until: Mapped[datetime | None]
    # A platform pushed news of a review (WeChat's bad-review event): pull at once.
    pull_requested_at: Mapped[datetime | None]
    # When a pull last read open cases' reviews again (tracker.services.rereads).
    reread_at: Mapped[datetime | None]
    # Push API: only a hash of the shop's token is kept; the hint helps tell tokens apart.
    api_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    api_token_hint: Mapped[str | None] = mapped_column(sa.String(8))
    # tracker.domain.working_hours.WorkingHours / tracker.domain.triage.DeadlinePolicy
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    deadline_policy: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    contact_policy: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)  # ContactPolicy
    # Recommendations: how many to show on a call; an admin's "rebuild now" waits here
    # for the scheduler, which builds outside the web workers.
    suggestions_per_call: Mapped[int] = mapped_column(default=5, server_default="5")
    recommender_requested_at: Mapped[datetime | None]
    sentiment_retrain_requested_at: Mapped[datetime | None]  # an admin's 立即训练
    # Why the last training trained nothing (too little history, nothing held back to judge
    # on): {"at", "message"}, shown on the model page; cleared by the next model trained.
    sentiment_retrain_refused: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The shop's own score bands from its good ratings (tracker.domain.triage
    # .calibrated_bands), for the model that scored them: {"model", "case", "confirm",
    # "good_reviews", "at"}; used while that model scores the shop.
    sentiment_calibration: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Customer segments: member levels (tracker.domain.segments.MemberLevels), when they were
    # last computed, the shop's own 80/20 figure, and a "recompute now" for the scheduler.
    member_levels: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    segments_at: Mapped[datetime | None]
    top_fifth_share: Mapped[float | None]  # revenue share of the top 20% of buyers
    segments_requested_at: Mapped[datetime | None]
    # Member levels pushed to the platform (its member API): on or off, a run asked for
    # (after each recompute, or 立即同步), the rules it last accepted, the last run's report.
    level_sync: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    level_sync_requested_at: Mapped[datetime | None]
    level_rules_synced: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    level_synced_at: Mapped[datetime | None]
    level_sync_report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # 满意度回访: the approved notice template (with ${link}) a closed case's survey goes in
    survey_template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("message_templates.id", ondelete="SET NULL", use_alter=True)
    )
    # 自动分配: a new case nobody works the buyer of goes to the least-loaded agent at work
    # (tracker.domain.assignment); off, cases wait in 未分配 to be claimed or assigned.
    auto_assign: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Buyers with no order, review or case for this many days lose their personal data at
    # night (tracker.services.retention); None keeps it until a buyer asks.
    personal_data_retention_days: Mapped[int | None] = mapped_column(
        default=DEFAULT_RETENTION_DAYS, server_default=str(DEFAULT_RETENTION_DAYS)
    )

    @property
    def contact_rules(self) -> ContactPolicy:
        """The shop's contact policy as the domain reads it: the defaults when it set none."""
        return ContactPolicy.from_dict(self.contact_policy)


def shop_matches(q: str) -> sa.ColumnElement[bool]:
    """A shop whose name or code contains ``q`` (what a shop search box means)."""
    return sa.or_(Shop.name.contains(q, autoescape=True), Shop.code.contains(q, autoescape=True))
