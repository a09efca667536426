"""News for a person's bell (通知) that is not about a case: every one is news, so each
gets a key of its own (the unique key that keeps a case's alert once is no use here).
Lives apart from ``alerts`` because the services that announce hours (shifts, 调班申请)
are imported by it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import uuid4

from sqlalchemy.orm import Session

from tracker.models import Notification, User


def tell(
    session: Session, users: Iterable[User], *, kind: str, title: str, body: str, now: datetime
) -> None:
    """A notice of ``kind`` for each of ``users``, once each (an asker who is also among the
    shop's supervisors hears it once); the caller owns the transaction."""
    for user in {user.id: user for user in users}.values():
        session.add(
            Notification(
                user_id=user.id,
                kind=kind,
                dedupe_key=f"{kind}:{uuid4().hex}",
                title=title[:200],
                body=body,
                created_at=now,
            )
        )
