"""An index of what reviews say (``tracker.text_index``): every character and every pair of
neighbouring characters of each review's lower-cased text, so that searching a shop's
reviews reads the reviews holding the words instead of all of them (0.4–1 s a search on a
shop with two million reviews). PostgreSQL: a GIN index on ``text_grams(text)``. SQLite: an
FTS5 table kept by triggers. Existing reviews are indexed here.

Changing how tracker.text_index cuts a text into tokens needs a migration that rebuilds the
SQLite table: its triggers call the app's function by name.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01 15:00:00

"""

from alembic import op

from tracker.text_index import POSTGRES_INDEX, SQLITE_TABLE, SQLITE_TOKENS, index_tokens

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

# A loop (pl/pgSQL) rather than one SQL statement over generate_series: 4.6 µs a review
# instead of 28, which intake pays for every review it writes. Pairs repeat in the array
# as in the text; GIN keeps each key once and @> does not mind.
TEXT_GRAMS = """
CREATE FUNCTION text_grams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  folded text := lower(t);
  grams text[] := string_to_array(folded, NULL);
BEGIN
  FOR i IN 1 .. length(folded) - 1 LOOP
    grams := grams || substr(folded, i, 2);
  END LOOP;
  RETURN grams;
END $$
"""
QUERY_GRAMS = """
CREATE FUNCTION query_grams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  folded text := lower(t);
  grams text[] := '{}';
BEGIN
  IF length(folded) < 2 THEN
    RETURN ARRAY[folded];
  END IF;
  FOR i IN 1 .. length(folded) - 1 LOOP
    grams := grams || substr(folded, i, 2);
  END LOOP;
  RETURN grams;
END $$
"""

_ADD = f"INSERT INTO {SQLITE_TABLE} (rowid, tokens) VALUES (NEW.id, {SQLITE_TOKENS}(NEW.text));"
_REMOVE = (
    f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}, rowid, tokens)"
    f" VALUES ('delete', OLD.id, {SQLITE_TOKENS}(OLD.text));"
)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(TEXT_GRAMS)
        op.execute(QUERY_GRAMS)
        op.execute(f"CREATE INDEX {POSTGRES_INDEX} ON reviews USING gin (text_grams(text))")
        return
    # the app's connections have it already (tracker.database); lent again for any other
    bind.connection.driver_connection.create_function(
        SQLITE_TOKENS, 1, index_tokens, deterministic=True
    )
    # contentless (the texts stay in reviews alone), no positions or sizes: a search asks
    # only which rows hold every token
    op.execute(
        f"CREATE VIRTUAL TABLE {SQLITE_TABLE} USING fts5(tokens, content='', tokenize='ascii',"
        " detail='none', columnsize=0)"
    )
    op.execute(
        f"INSERT INTO {SQLITE_TABLE} (rowid, tokens) SELECT id, {SQLITE_TOKENS}(text) FROM reviews"
    )
    op.execute(f"CREATE TRIGGER reviews_text_indexed AFTER INSERT ON reviews BEGIN {_ADD} END")
    op.execute(f"CREATE TRIGGER reviews_text_unindexed AFTER DELETE ON reviews BEGIN {_REMOVE} END")
    op.execute(
        "CREATE TRIGGER reviews_text_reindexed AFTER UPDATE OF id, text ON reviews"
        f" WHEN OLD.id IS NOT NEW.id OR OLD.text IS NOT NEW.text BEGIN {_REMOVE} {_ADD} END"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {POSTGRES_INDEX}")
        op.execute("DROP FUNCTION query_grams(text)")
        op.execute("DROP FUNCTION text_grams(text)")
        return
    for trigger in ("reviews_text_indexed", "reviews_text_unindexed", "reviews_text_reindexed"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute(f"DROP TABLE {SQLITE_TABLE}")
