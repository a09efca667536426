"""Reviews counted by shop, UTC hour and rating as they are written (``review_hour_counts``),
so the dashboard's incoming-review chart reads a few thousand rows instead of every review
of the period; and a partial index on the neutral and bad reviews for its "most
complained-about products". Triggers keep the counts whatever writes a review; the existing
reviews are counted once here.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-01 08:30:00

"""

import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

UNHAPPY = "rating <> 'good'"
NEGATIVE_SENTIMENT = 0.5  # tracker.models.reviews.NEGATIVE_SENTIMENT when this was written
COUNTED = ("shop_id", "first_posted_at", "rating", "sentiment_score")


def _hour(dialect: str, row: str) -> str:
    if dialect == "postgresql":
        return f"date_trunc('hour', {row}.first_posted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {row}.first_posted_at)"


def _negative(row: str) -> str:
    return f"CASE WHEN {row}.sentiment_score < {NEGATIVE_SENTIMENT} THEN 1 ELSE 0 END"


def _count(dialect: str, row: str, sign: int) -> str:
    return (
        "INSERT INTO review_hour_counts (shop_id, hour, rating, reviews, negative_text, compacted)"
        f" VALUES ({row}.shop_id, {_hour(dialect, row)}, {row}.rating, {sign},"
        f" {sign} * ({_negative(row)}), false);"
    )


def _changed(dialect: str) -> str:
    return (
        "OLD.shop_id <> NEW.shop_id OR OLD.rating <> NEW.rating"
        f" OR {_hour(dialect, 'OLD')} <> {_hour(dialect, 'NEW')}"
        f" OR {_negative('OLD')} <> {_negative('NEW')}"
    )


def _create_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION count_review_hours() RETURNS trigger AS $$\n"
            "BEGIN\n"
            "  IF TG_OP <> 'INSERT' THEN " + _count(dialect, "OLD", -1) + " END IF;\n"
            "  IF TG_OP <> 'DELETE' THEN " + _count(dialect, "NEW", 1) + " END IF;\n"
            "  RETURN NULL;\n"
            "END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER reviews_counted AFTER INSERT OR DELETE ON reviews"
            " FOR EACH ROW EXECUTE FUNCTION count_review_hours()"
        )
        op.execute(
            f"CREATE TRIGGER reviews_recounted AFTER UPDATE OF {', '.join(COUNTED)} ON reviews"
            f" FOR EACH ROW WHEN ({_changed(dialect)}) EXECUTE FUNCTION count_review_hours()"
        )
        return
    op.execute(
        "CREATE TRIGGER reviews_counted AFTER INSERT ON reviews"
        f" BEGIN {_count(dialect, 'NEW', 1)} END"
    )
    op.execute(
        "CREATE TRIGGER reviews_uncounted AFTER DELETE ON reviews"
        f" BEGIN {_count(dialect, 'OLD', -1)} END"
    )
    op.execute(
        f"CREATE TRIGGER reviews_recounted AFTER UPDATE OF {', '.join(COUNTED)} ON reviews"
        f" WHEN {_changed(dialect)}"
        f" BEGIN {_count(dialect, 'OLD', -1)} {_count(dialect, 'NEW', 1)} END"
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        "review_hour_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("hour", tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "rating",
            sa.Enum("good", "neutral", "bad", name="rating", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("negative_text", sa.Integer(), nullable=False),
        sa.Column("compacted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_hour_counts")),
    )
    with op.batch_alter_table("review_hour_counts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_hour_counts_shop_id_hour", ["shop_id", "hour"], unique=False
        )
        batch_op.create_index(
            "ix_review_hour_counts_fresh",
            ["id"],
            unique=False,
            postgresql_where=sa.text("NOT compacted"),
            sqlite_where=sa.text("NOT compacted"),
        )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviews_unhappy_shop_id_first_posted_at",
            ["shop_id", "first_posted_at", "product_id", "rating"],
            unique=False,
            postgresql_where=sa.text(UNHAPPY),
            sqlite_where=sa.text(UNHAPPY),
        )
    hour = _hour(dialect, "reviews")
    op.execute(
        "INSERT INTO review_hour_counts (shop_id, hour, rating, reviews, negative_text, compacted)"
        f" SELECT shop_id, {hour}, rating, count(*), sum({_negative('reviews')}), true"
        f" FROM reviews GROUP BY shop_id, {hour}, rating"
    )
    _create_triggers(dialect)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER reviews_recounted ON reviews")
        op.execute("DROP TRIGGER reviews_counted ON reviews")
        op.execute("DROP FUNCTION count_review_hours()")
    else:
        for name in ("reviews_recounted", "reviews_uncounted", "reviews_counted"):
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_reviews_unhappy_shop_id_first_posted_at",
            postgresql_where=sa.text(UNHAPPY),
            sqlite_where=sa.text(UNHAPPY),
        )
    with op.batch_alter_table("review_hour_counts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_review_hour_counts_fresh",
            postgresql_where=sa.text("NOT compacted"),
            sqlite_where=sa.text("NOT compacted"),
        )
        batch_op.drop_index("ix_review_hour_counts_shop_id_hour")
    op.drop_table("review_hour_counts")
