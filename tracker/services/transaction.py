"""The one place a command's work is committed or rolled back.

A command service opens one :func:`transaction` around everything it writes; helpers and
read-only modules never commit. Long jobs that commit in steps (a pull per window, alert
delivery per message) open one per step and say so where they do.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tracker.database import is_transient

log = logging.getLogger(__name__)


T = TypeVar("T")
TRIES = 3


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


def retrying(session: Session, work: Callable[[], T], *, tries: int = TRIES) -> T:
    """``work`` in one transaction, tried again (a few times, after a short random pause)
    when it lost a race another writer won: a unique key taken meanwhile, a deadlock, a
    serialization failure. ``work`` must be safe to repeat (intake is idempotent)."""
    for attempt in range(1, tries + 1):
        try:
            with transaction(session):
                return work()
        except DBAPIError as exc:
            if attempt == tries or not is_transient(exc):
                raise
            log.info("transient conflict, try %d of %d: %s", attempt, tries, exc.orig)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")
