"""The one place a command's work is committed or rolled back.

A command service opens one :func:`transaction` around everything it writes; helpers and
read-only modules never commit. Long jobs that commit in steps (a pull per window, alert
delivery per message) open one per step and say so where they do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError


class ChangedMeanwhile(RuntimeError):
    """Someone else saved the same row between our read and our write: nothing was saved."""


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit what the block wrote, or roll all of it back and re-raise; a stale version
    (optimistic locking) becomes :class:`ChangedMeanwhile`."""
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ChangedMeanwhile("the row was changed by someone else meanwhile") from exc
    except BaseException:
        session.rollback()
        raise
