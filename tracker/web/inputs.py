"""What comes in over HTTP, made safe once for every view: ids that fit a row id, and text
without the characters no database or spreadsheet holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Request, abort, current_app, request, url_for
from flask_sqlalchemy.pagination import Pagination
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter, ValidationError

from tracker.domain.plain_text import clean_text
from tracker.extensions import db
from tracker.services import browse

MAX_ID = 2_147_483_647  # ids are 32-bit integers on PostgreSQL
MAX_PAGE = 10_000


def came_from_or(default: str) -> str:
    """The page the request came from, its filter and page kept, when it is this site's;
    else ``default``: a button on a list goes back to that list, never to another site."""
    back = request.referrer or ""
    return back if back.startswith(request.host_url) else default


def safe_next(target: str | None) -> str:
    """Where to go after a form, when it is a path of this site (never an open redirect
    to another host: ``//evil``, ``/\\evil``, ``https://evil`` and a path with a tab or a
    line break, which browsers drop before reading ``//``, are refused); else home."""
    if target and not any(c.isspace() or not c.isprintable() for c in target):
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith(("//", "/\\"))
        ):
            return target
    return url_for("home.index")


def parse_id(text: object) -> int | None:
    """A row id written in ASCII digits and within range, else None (``²``, ``１２``, 10**20)."""
    if not isinstance(text, str | int) or isinstance(text, bool):
        return None
    text = str(text).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


class RowIdConverter(BaseConverter):
    """``<int:…>`` in every route: ASCII digits only, and no larger than a row id can be, so
    an odd id is a 404 rather than a database error."""

    regex = r"[0-9]{1,10}"
    weight = 50

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class CleanedMultiDict(ImmutableMultiDict):  # type: ignore[type-arg]
    """Form fields and query parameters with NUL and other control characters dropped."""

    def __init__(self, mapping: Any = None) -> None:
        if mapping is not None:
            mapping = [
                (key, clean_text(value) if isinstance(value, str) else value)
                for key, value in iter_multi_items(mapping)
            ]
        super().__init__(mapping)


class TrackerRequest(Request):
    parameter_storage_class = CleanedMultiDict

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """JSON nested deeper than the parser's recursion allows is bad input like any
        other malformed JSON, not a server error."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("JSON is nested too deeply.") from None


def requested_page(
    stmt: Any,
    per_page: int | None = None,
    *,
    total: Callable[[], int] | None = None,
    more_than: int | None = None,
) -> Pagination:
    """The page of ``stmt`` asked for (``?page=``); an odd one (huge, ``²``, negative) is a
    404. ``total``: how many rows ``stmt`` has, when something cheaper than counting them
    knows; ``more_than``: the rows are known to be more than this many (a broad search,
    超过 2,000 条), so none are counted and the pages go that far.

    A list goes to page ``MAX_PAGE`` and no further (older rows are found by searching),
    so rows are counted only that far: a shop with two million orders paid 130–160 ms to
    count them all for every page. ``rows`` is the exact count, or None for "more than
    ``total``"; ``total`` is what the pages hold, so that the pager never links past the
    last page that opens; ``past_last_page``: rows lie beyond it."""
    page = parse_id(request.args.get("page", "1"))
    if page is None or page > MAX_PAGE:
        abort(404)
    size = per_page or current_app.config["TRACKER_PAGE_SIZE"]
    found = db.paginate(stmt, page=page, per_page=size, max_per_page=200, count=False)
    paged = MAX_PAGE * found.per_page
    if more_than is not None:
        found.total, found.rows, found.past_last_page = min(more_than, paged), None, False
        return found
    rows = total() if total is not None else _count_up_to(stmt, paged + 1)
    found.total = min(rows, paged)
    found.rows = rows if total is not None or rows <= paged else None
    found.past_last_page = rows > paged  # the pager says to search for older rows
    return found


def searched_page(found: browse.Search[Any]) -> Pagination:
    """The asked-for page of what a search found (a shop's list, the board's), counted only
    when the search has not already said how many (exactly, or more than ``SEARCH_LIMIT``)."""
    return requested_page(
        found.stmt,
        total=None if found.total is None else lambda: found.total,
        more_than=browse.SEARCH_LIMIT if found.broad else None,
    )


def _count_up_to(stmt: Any, limit: int) -> int:
    """How many rows ``stmt`` has, counting no further than ``limit``. Only a constant is
    selected, so the rows themselves are never read (an index alone answers), unless
    the columns decide what a row is (DISTINCT, GROUP BY)."""
    if not (stmt._distinct or stmt._group_by_clauses):
        stmt = stmt.with_only_columns(sa.literal_column("1"), maintain_column_froms=True)
    first = stmt.order_by(None).limit(limit).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(first)) or 0


def search_text() -> str:
    """What was typed in a list's search box (``?q=``), trimmed to a sane length."""
    return request.args.get("q", "").strip()[:100]
