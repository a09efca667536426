"""Reviews buyers left, with every earlier version kept."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.models.enums import Rating, RevisionKind

if TYPE_CHECKING:
    from tracker.models.buyers import Buyer
    from tracker.models.catalog import Product


# A neutral or bad review: the few among a shop's reviews the "most complained-about
# products" chart reads, through a partial index. A literal, so SQLite can match it.
UNHAPPY = "rating <> 'good'"
# A text scored below this reads as negative (the reports' 文字负面). The triggers that keep
# review_hour_counts (migration 0032) hold the same number.
NEGATIVE_SENTIMENT = 0.5

# Reviews the scheduler still has to score (system-default good reviews never are).
UNSCORED = "sentiment_model IS NULL AND NOT is_system_default AND NOT is_deleted"


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        # The platform's own identity of a review, e.g. "<oid>:buyer" on Taobao: the
        # key that makes every pull and import idempotent.
        sa.UniqueConstraint("shop_id", "platform_key"),
        sa.Index("ix_reviews_shop_id_posted_at", "shop_id", "posted_at"),
        sa.Index("ix_reviews_shop_id_first_posted_at", "shop_id", "first_posted_at"),  # trends
        sa.Index("ix_reviews_product_id_posted_at", "product_id", "posted_at"),
        sa.Index("ix_reviews_buyer_id", "buyer_id"),
        # an order's reviews (订单's links to cases, the board's search by order number)
        sa.Index("ix_reviews_order_line_id", "order_line_id"),
        sa.Index(
            "ix_reviews_unhappy_shop_id_first_posted_at",
            "shop_id",
            "first_posted_at",
            "product_id",
            "rating",  # covering: SQLite picks it even before any ANALYZE
            postgresql_where=sa.text(UNHAPPY),
            sqlite_where=sa.text(UNHAPPY),
        ),
        sa.Index(
            "ix_reviews_shop_id_awaiting_confirmation_at", "shop_id", "awaiting_confirmation_at"
        ),
        # The scheduler looks for reviews not yet scored every minute: a handful among a
        # shop's hundreds of thousands, found here instead of by reading them all.
        sa.Index(
            "ix_reviews_unscored",
            "shop_id",
            "id",
            postgresql_where=sa.text(UNSCORED),
            sqlite_where=sa.text(UNSCORED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    platform_key: Mapped[str] = mapped_column(sa.String(100))
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"))
    buyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buyers.id"))
    rating: Mapped[Rating]
    text: Mapped[str] = mapped_column(sa.Text, default="")
    posted_at: Mapped[datetime]  # when the current version was posted
    first_posted_at: Mapped[datetime]  # starts the buyer's 30-day revision window
    follow_up_text: Mapped[str | None] = mapped_column(sa.Text)  # 追评
    follow_up_at: Mapped[datetime | None]
    follow_up_score: Mapped[float | None]  # the 追评's own words: on Tmall they are the recovery
    is_deleted: Mapped[bool] = mapped_column(default=False)
    # Asked for again (tracker.services.rereads), the platform has not returned it since:
    # maybe deleted, maybe hidden. Shown to staff, never taken for a deletion.
    unseen_since: Mapped[datetime | None]
    is_system_default: Mapped[bool] = mapped_column(default=False)  # 系统默认好评 etc.
    explanation: Mapped[str | None] = mapped_column(sa.Text)  # the seller's 解释
    explained_at: Mapped[datetime | None]
    sentiment_score: Mapped[float | None]  # probability the text is positive
    sentiment_model: Mapped[str | None] = mapped_column(sa.String(64))
    # A good rating the model is unsure about waits here for a person (待确认): since when.
    awaiting_confirmation_at: Mapped[datetime | None]
    received_at: Mapped[datetime]  # first seen by the tracker
    updated_at: Mapped[datetime]

    product: Mapped[Product | None] = relationship()
    buyer: Mapped[Buyer | None] = relationship()
    revisions: Mapped[list[ReviewRevision]] = relationship(
        back_populates="review",
        order_by="ReviewRevision.recorded_at",
        cascade="all, delete-orphan",
    )


class ReviewRevision(db.Model):
    """An earlier version of a review, kept when the buyer revises, follows up or deletes."""

    __tablename__ = "review_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reviews.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RevisionKind]
    rating: Mapped[Rating]  # the rating and text before this change
    text: Mapped[str] = mapped_column(sa.Text, default="")
    follow_up_text: Mapped[str | None] = mapped_column(sa.Text)
    posted_at: Mapped[datetime]  # when that earlier version had been posted
    recorded_at: Mapped[datetime]  # when the change happened (or was noticed)

    review: Mapped[Review] = relationship(back_populates="revisions")


class ReviewHourCount(db.Model):
    """How many reviews a shop received in an hour, by rating, and how many of them read
    negative: the dashboard's incoming-review chart, which would otherwise count a big
    shop's half a million reviews of 90 days on every view.

    Kept by database triggers on ``reviews`` (migrations 0032, 0051), so every way a review
    is written, changed or deleted is counted, whatever code path does it: each insert adds
    a row of +1, each delete a row of -1, each change of shop, hour, rating, negative
    reading or having words one of each. Appending, not updating a counter, means
    concurrent intakes never wait on one another. ``review_counts.compact`` folds a key's
    rows into one every few minutes (``compacted``); a reader sums whatever rows there
    are."""

    __tablename__ = "review_hour_counts"
    __table_args__ = (
        sa.Index("ix_review_hour_counts_shop_id_hour", "shop_id", "hour"),
        sa.Index(
            "ix_review_hour_counts_fresh",
            "id",
            postgresql_where=sa.text("NOT compacted"),
            sqlite_where=sa.text("NOT compacted"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: a shop's reviews deleted with it add rows here as they go.
    shop_id: Mapped[int]
    hour: Mapped[datetime]  # the UTC hour the review was first posted in
    rating: Mapped[Rating]
    reviews: Mapped[int]
    negative_text: Mapped[int]  # of them, scored below NEGATIVE_SENTIMENT
    # of them, with words (not 系统默认: 评价's 只看有文字); counted since migration 0051
    worded: Mapped[int] = mapped_column(default=0, server_default="0")
    compacted: Mapped[bool] = mapped_column(default=False)
