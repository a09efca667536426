"""The hourly review counts also count the reviews that have words
(``review_hour_counts.worded``: not 系统默认), so 评价's 只看有文字 says how many without
reading a big shop's reviews. The triggers of 0032 are rewritten to count it and to
recount a review whose words come or go; the reviews already there are counted once here,
as rows the scheduler's folding adds to each hour's.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-04 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

NEGATIVE_SENTIMENT = 0.5  # tracker.models.reviews.NEGATIVE_SENTIMENT when this was written


def _hour(dialect: str, row: str) -> str:
    if dialect == "postgresql":
        return f"date_trunc('hour', {row}.first_posted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {row}.first_posted_at)"


def _negative(row: str) -> str:
    return f"CASE WHEN {row}.sentiment_score < {NEGATIVE_SENTIMENT} THEN 1 ELSE 0 END"


def _worded(row: str) -> str:
    return f"CASE WHEN {row}.is_system_default THEN 0 ELSE 1 END"


def _count(dialect: str, row: str, sign: int, worded: bool) -> str:
    if not worded:  # 0032's
        return (
            "INSERT INTO review_hour_counts"
            " (shop_id, hour, rating, reviews, negative_text, compacted)"
            f" VALUES ({row}.shop_id, {_hour(dialect, row)}, {row}.rating, {sign},"
            f" {sign} * ({_negative(row)}), false);"
        )
    return (
        "INSERT INTO review_hour_counts"
        " (shop_id, hour, rating, reviews, negative_text, worded, compacted)"
        f" VALUES ({row}.shop_id, {_hour(dialect, row)}, {row}.rating, {sign},"
        f" {sign} * ({_negative(row)}), {sign} * ({_worded(row)}), false);"
    )


def _counted(worded: bool) -> str:
    columns = ["shop_id", "first_posted_at", "rating", "sentiment_score"]
    return ", ".join(columns + ["is_system_default"] if worded else columns)


def _changed(dialect: str, worded: bool) -> str:
    changed = (
        "OLD.shop_id <> NEW.shop_id OR OLD.rating <> NEW.rating"
        f" OR {_hour(dialect, 'OLD')} <> {_hour(dialect, 'NEW')}"
        f" OR {_negative('OLD')} <> {_negative('NEW')}"
    )
    return changed + f" OR {_worded('OLD')} <> {_worded('NEW')}" if worded else changed


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER reviews_recounted ON reviews")
        op.execute("DROP TRIGGER reviews_counted ON reviews")
        op.execute("DROP FUNCTION count_review_hours()")
    else:
        for name in ("reviews_recounted", "reviews_uncounted", "reviews_counted"):
            op.execute(f"DROP TRIGGER {name}")


def _create_triggers(dialect: str, worded: bool) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION count_review_hours() RETURNS trigger AS $$\n"
            "BEGIN\n"
            "  IF TG_OP <> 'INSERT' THEN " + _count(dialect, "OLD", -1, worded) + " END IF;\n"
            "  IF TG_OP <> 'DELETE' THEN " + _count(dialect, "NEW", 1, worded) + " END IF;\n"
            "  RETURN NULL;\n"
            "END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER reviews_counted AFTER INSERT OR DELETE ON reviews"
            " FOR EACH ROW EXECUTE FUNCTION count_review_hours()"
        )
        op.execute(
            f"CREATE TRIGGER reviews_recounted AFTER UPDATE OF {_counted(worded)} ON reviews"
            f" FOR EACH ROW WHEN ({_changed(dialect, worded)})"
            " EXECUTE FUNCTION count_review_hours()"
        )
        return
    op.execute(
        "CREATE TRIGGER reviews_counted AFTER INSERT ON reviews"
        f" BEGIN {_count(dialect, 'NEW', 1, worded)} END"
    )
    op.execute(
        "CREATE TRIGGER reviews_uncounted AFTER DELETE ON reviews"
        f" BEGIN {_count(dialect, 'OLD', -1, worded)} END"
    )
    op.execute(
        f"CREATE TRIGGER reviews_recounted AFTER UPDATE OF {_counted(worded)} ON reviews"
        f" WHEN {_changed(dialect, worded)}"
        f" BEGIN {_count(dialect, 'OLD', -1, worded)} {_count(dialect, 'NEW', 1, worded)} END"
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column(
        "review_hour_counts",
        sa.Column("worded", sa.Integer(), nullable=False, server_default="0"),
    )
    _drop_triggers(dialect)
    # the reviews already counted, counted again for their words only: each hour's rows
    # fold into one at the scheduler's next pass, as any fresh row does
    hour = _hour(dialect, "reviews")
    op.execute(
        "INSERT INTO review_hour_counts"
        " (shop_id, hour, rating, reviews, negative_text, worded, compacted)"
        f" SELECT shop_id, {hour}, rating, 0, 0, count(*), false FROM reviews"
        f" WHERE NOT is_system_default GROUP BY shop_id, {hour}, rating"
    )
    _create_triggers(dialect, worded=True)


def downgrade():
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    _create_triggers(dialect, worded=False)
    # rows that carried only words would sum to nothing and stay until folded; gone first
    op.execute("DELETE FROM review_hour_counts WHERE reviews = 0 AND negative_text = 0")
    op.drop_column("review_hour_counts", "worded")  # SQLite 3.35+ drops in place
