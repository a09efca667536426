"""Case-insensitive "contains" searches, written the way each database answers fastest.

SQLAlchemy spells ``ilike`` on SQLite as ``lower(x) LIKE lower(y)``; SQLite's own LIKE
already ignores case for ASCII (the only case ``lower()`` folds there), and calling
``lower()`` on every row made a nick search over 400,000 buyers take 135 ms instead of
37 ms. PostgreSQL keeps ``ILIKE``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def anywhere(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, its own % and _ taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class contains_text(FunctionElement[bool]):
    """``column`` holds ``term`` (any case, % and _ literal)."""

    type = sa.Boolean()
    inherit_cache = True
    name = "contains_text"

    def __init__(self, column: Any, term: str) -> None:
        super().__init__(column, sa.literal(anywhere(term)))


@compiles(contains_text)
def _ilike(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern = element.clauses
    return compiler.process(column.ilike(pattern, escape="\\"), **kw)


@compiles(contains_text, "sqlite")
def _like(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern = element.clauses
    return compiler.process(column.like(pattern, escape="\\"), **kw)
