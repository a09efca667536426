"""Only one scheduler at a time: a row in the database, kept alive by a heartbeat.

Works the same on SQLite and PostgreSQL: the primary key decides who inserts first, and a
conditional UPDATE decides who takes over a lock whose holder stopped beating.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.models import SchedulerLock

NAME = "scheduler"
STALE_AFTER = timedelta(seconds=90)


class LockHeld(RuntimeError):
    def __init__(self, holder: str, heartbeat_at: datetime) -> None:
        super().__init__(f"held by {holder}, last heartbeat {heartbeat_at.isoformat()}")
        self.holder = holder
        self.heartbeat_at = heartbeat_at


def acquire(session: Session, holder: str, *, now: datetime) -> None:
    """Take the lock or raise :class:`LockHeld`."""
    try:
        session.execute(
            sa.insert(SchedulerLock).values(
                name=NAME, holder=holder, acquired_at=now, heartbeat_at=now
            )
        )
        session.commit()
        return
    except IntegrityError:
        session.rollback()
    current = session.get(SchedulerLock, NAME, populate_existing=True)
    if current is None:  # released in between: try once more
        return acquire(session, holder, now=now)
    if current.holder != holder and current.heartbeat_at > now - STALE_AFTER:
        raise LockHeld(current.holder, current.heartbeat_at)
    taken = session.execute(
        sa.update(SchedulerLock)
        .where(
            SchedulerLock.name == NAME,
            SchedulerLock.holder == current.holder,
            SchedulerLock.heartbeat_at == current.heartbeat_at,
        )
        .values(holder=holder, acquired_at=now, heartbeat_at=now)
    ).rowcount
    session.commit()
    if taken != 1:
        current = session.get(SchedulerLock, NAME, populate_existing=True)
        raise LockHeld(current.holder if current else "?", current.heartbeat_at if current else now)


def heartbeat(session: Session, holder: str, *, now: datetime) -> bool:
    """Renew the lock; False when another scheduler has taken it over."""
    renewed = session.execute(
        sa.update(SchedulerLock)
        .where(SchedulerLock.name == NAME, SchedulerLock.holder == holder)
        .values(heartbeat_at=now)
    ).rowcount
    session.commit()
    return renewed == 1


def release(session: Session, holder: str) -> None:
    session.execute(
        sa.delete(SchedulerLock).where(SchedulerLock.name == NAME, SchedulerLock.holder == holder)
    )
    session.commit()
