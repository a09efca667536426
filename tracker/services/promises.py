"""A buyer's promise to change the review, kept honestly: the case waits for the platform to
show the change (intake then closes it as recovered); when the buyer's window ends without
it, the case closes by itself as 承诺未兑现 — not recovered, and reported as such."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.models import Case
from tracker.models.enums import CaseOutcome
from tracker.services.intake import close_by_tracker
from tracker.services.transaction import transaction


def close_broken(session: Session, *, now: datetime) -> int:
    """Close every open case whose promise outlived the buyer's window; returns how many."""
    with transaction(session):
        cases = session.scalars(
            sa.select(Case)
            .where(
                Case.status.in_(case_flow.OPEN),
                Case.promised_at.is_not(None),
                Case.revision_window_ends_at <= now,
            )
            .order_by(Case.id)
            .with_for_update(skip_locked=True)
        ).all()
        for case in cases:
            close_by_tracker(
                session,
                case,
                CaseOutcome.PROMISE_BROKEN,
                at=case.revision_window_ends_at,
                now=now,
                closed_by_id=None,
            )
    return len(cases)
