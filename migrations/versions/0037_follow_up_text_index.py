"""追评 in the review text index (``tracker.text_index``): a buyer's follow-up often holds
the complaint (用了一周就坏了), and the review search read the first text alone.
PostgreSQL: a second GIN index, on ``text_grams(follow_up_text)``. SQLite: each FTS5 row
now holds the grams of both texts; the rows of reviews with a 追评 are rewritten here and
the triggers follow changes to either.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-01 17:00:00

"""

from alembic import op

from tracker.text_index import POSTGRES_FOLLOW_UP_INDEX, SQLITE_TABLE, SQLITE_TOKENS, index_tokens

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

TRIGGERS = ("reviews_text_indexed", "reviews_text_unindexed", "reviews_text_reindexed")


def _triggers(*texts: str) -> list[str]:
    """0034's three triggers over ``texts`` (columns of reviews): a contentless FTS5 row is
    deleted by naming the very tokens it was written with."""
    new = ", ".join(f"NEW.{t}" for t in texts)
    old = ", ".join(f"OLD.{t}" for t in texts)
    add = f"INSERT INTO {SQLITE_TABLE} (rowid, tokens) VALUES (NEW.id, {SQLITE_TOKENS}({new}));"
    remove = (
        f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}, rowid, tokens)"
        f" VALUES ('delete', OLD.id, {SQLITE_TOKENS}({old}));"
    )
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("id", *texts))
    return [
        f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON reviews BEGIN {add} END",
        f"CREATE TRIGGER {TRIGGERS[1]} AFTER DELETE ON reviews BEGIN {remove} END",
        f"CREATE TRIGGER {TRIGGERS[2]} AFTER UPDATE OF id, {', '.join(texts)} ON reviews"
        f" WHEN {changed} BEGIN {remove} {add} END",
    ]


def _reindex_follow_ups(was: str, becomes: str) -> None:
    """Rewrite the rows of the reviews with a 追评 (the others' tokens are the same either
    way): delete what ``was`` wrote, write what ``becomes`` writes."""
    with_follow_up = "FROM reviews WHERE follow_up_text IS NOT NULL"
    op.execute(
        f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}, rowid, tokens)"
        f" SELECT 'delete', id, {SQLITE_TOKENS}({was}) {with_follow_up}"
    )
    op.execute(
        f"INSERT INTO {SQLITE_TABLE} (rowid, tokens)"
        f" SELECT id, {SQLITE_TOKENS}({becomes}) {with_follow_up}"
    )


def _rebuild(was: tuple[str, ...], becomes: tuple[str, ...]) -> None:
    bind = op.get_bind()
    # the app's connections have it already (tracker.database); lent again for any other
    bind.connection.driver_connection.create_function(
        SQLITE_TOKENS, -1, index_tokens, deterministic=True
    )
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")
    _reindex_follow_ups(", ".join(was), ", ".join(becomes))
    for statement in _triggers(*becomes):
        op.execute(statement)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX {POSTGRES_FOLLOW_UP_INDEX} ON reviews"
            " USING gin (text_grams(follow_up_text))"
        )
        return
    _rebuild(("text",), ("text", "follow_up_text"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {POSTGRES_FOLLOW_UP_INDEX}")
        return
    _rebuild(("text", "follow_up_text"), ("text",))
