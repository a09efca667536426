"""Stand-ins for slow or external parts, each honest about what it does."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

UNHAPPY_WORDS = ("差", "坏", "烂", "慢", "失望", "不好", "太小", "不新鲜", "投诉")


UNSURE_WORDS = ("还行吧", "凑合")


class KeywordScorer:
    """Scores by a few unhappy words: deterministic, instant, good enough to test triage."""

    version = "keyword-test-1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(list(texts))
        return [
            0.05
            if any(w in t for w in UNHAPPY_WORDS)
            else 0.4  # between the default bands (0.3, 0.5): 待确认
            if any(w in t for w in UNSURE_WORDS)
            else 0.95
            for t in texts
        ]


@contextmanager
def transactions_seen(session: Session, cls: type, method: str) -> Iterator[list[bool]]:
    """While inside, each call of ``cls.method`` (a provider adapter's find, receipt…) notes
    whether ``session`` had a transaction open: a slow provider must hold no row."""
    seen: list[bool] = []
    real = getattr(cls, method)

    def watched(self: object, *args: Any, **kwargs: Any) -> Any:
        seen.append(session.in_transaction())
        return real(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(cls, method, watched)
        yield seen


@contextmanager
def statements_seen(session: Session, wanted: Callable[[str], bool]) -> Iterator[list[str]]:
    """While inside, every SQL statement the session's engine sends that ``wanted`` picks:
    how many round trips a page or a job costs, which no timing in a test can show."""
    seen: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if wanted(statement):
            seen.append(statement)

    engine = session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
