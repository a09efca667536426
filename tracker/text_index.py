"""An index of what reviews say (the buyer's text and 追评), so that searching a shop's
reviews for 漏液 reads the reviews that contain it instead of every review of the shop
(0.4–1 s a search on a shop with two million reviews).

Chinese puts no spaces between words, and a search is often two characters (漏液, 虫子,
发霉): word indexes find nothing, and trigram indexes (pg_trgm, SQLite's trigram tokenizer)
cannot serve a search shorter than three. So the index keeps every character of the
lower-cased text and every pair of neighbouring characters (bigram indexing, as search
engines index CJK text): a text containing the searched words holds every pair of them. The
candidates are checked with the list's own LIKE, so the index decides how fast, never what
is found.

PostgreSQL: GIN indexes on ``text_grams(text)`` (a pl/pgSQL function, migration 0034) and
``text_grams(follow_up_text)`` (0037), asked with ``@> query_grams(q)``, both lower-cased by
the database itself. SQLite: an FTS5 table ``review_text_index``, one row a review holding
the grams of both, kept by triggers through ``review_text_tokens()``, which each connection
borrows from :func:`index_tokens` (``tracker.database``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

from tracker.models import Review
from tracker.sql_text import contains_text

SQLITE_TABLE = "review_text_index"
SQLITE_TOKENS = "review_text_tokens"  # the SQL name of index_tokens on SQLite
POSTGRES_INDEX = "ix_reviews_text_grams"
POSTGRES_FOLLOW_UP_INDEX = "ix_reviews_follow_up_grams"  # migration 0037: 追评
POSTGRES_NICK_INDEX = "ix_buyers_nick_grams"  # migration 0036: nicks, on PostgreSQL alone


def in_models(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """Alembic's ``include_name``: the index lives in migration 0034 alone (an FTS5 table and
    its own tables on SQLite, an expression index on PostgreSQL, which the models cannot
    declare for one database only; 0036's index of nicks likewise), so comparing models with
    the schema passes them over."""
    if type_ == "table" and name is not None and name.startswith(SQLITE_TABLE):
        return False
    return not (
        type_ == "index" and name in {POSTGRES_INDEX, POSTGRES_FOLLOW_UP_INDEX, POSTGRES_NICK_INDEX}
    )


def text_grams(text: str) -> set[str]:
    """Every character of ``text`` and every pair of neighbours, lower-cased."""
    folded = text.lower()
    return set(folded) | {folded[i : i + 2] for i in range(len(folded) - 1)}


def query_grams(term: str) -> set[str]:
    """What a text containing ``term`` must hold: its pairs (each pair's characters come with
    it), or the one character."""
    folded = term.lower()
    if len(folded) < 2:
        return {folded} if folded else set()
    return {folded[i : i + 2] for i in range(len(folded) - 1)}


def _token(gram: str) -> str:
    # FTS5's ascii tokenizer keeps a run of hex digits whole, whatever the gram holds
    # (punctuation, spaces, emoji); UTF-8 makes a pair's hex never equal a character's
    return gram.encode().hex()


def index_tokens(*texts: str | None) -> str:
    """The FTS5 row of a review: the grams of each of its texts (the buyer's words, 追评),
    space-separated. Each text is cut alone: no pair spans two of them."""
    grams = set().union(*(text_grams(text or "") for text in texts))
    return " ".join(sorted(_token(gram) for gram in grams))


def review_says(term: str) -> sa.ColumnElement[bool]:
    """A review's words hold ``term`` (any case): its text or its 追评, the texts this index
    keeps. The check a search applies to what the index names, and the board's own test."""
    return sa.or_(contains_text(Review.text, term), contains_text(Review.follow_up_text, term))


def review_ids_containing(dialect: str, term: str) -> sa.Select[tuple[int]]:
    """Ids of the reviews whose text or 追评 may contain ``term``, through the index (a
    superset: check with LIKE). ``term`` must not be empty."""
    if not term:
        raise ValueError("an empty search matches every review: list them instead")
    if dialect == "postgresql":  # an OR of the two indexes (a BitmapOr)
        return sa.select(Review.id).where(
            sa.or_(grams_hold(Review.text, term), grams_hold(Review.follow_up_text, term))
        )
    # MATCH names the table itself: a column filter needs positions, which it does not keep
    index = sa.table(SQLITE_TABLE, sa.column("rowid", sa.Integer), sa.column(SQLITE_TABLE))
    every = " AND ".join(f'"{_token(gram)}"' for gram in sorted(query_grams(term)))
    return (
        sa.select(Review.id)
        .select_from(_LeftFirst(index, Review.__table__, Review.id == index.c.rowid))
        .where(index.c[SQLITE_TABLE].match(every))
    )


def grams_hold(column: Any, term: str) -> sa.ColumnElement[bool]:
    """PostgreSQL: ``column``'s characters and pairs hold ``term``'s, as a GIN index on
    ``text_grams(column)`` answers (reviews' text and 追评; buyers' nicks, migration 0036)."""
    return sa.func.text_grams(column).op("@>")(sa.func.query_grams(term))


class _LeftFirst(Join):
    """A join SQLite must loop over left first (its CROSS JOIN): the index, then each review
    it names by id. Left to choose, SQLite (which keeps no statistics) walks the shop's
    reviews by an index on the shop and asks the text index about each of millions."""

    inherit_cache = True


@compiles(_LeftFirst, "sqlite")
def _cross_join(element: _LeftFirst, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    left = element.left._compiler_dispatch(compiler, **kw)
    right = element.right._compiler_dispatch(compiler, **kw)
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"
