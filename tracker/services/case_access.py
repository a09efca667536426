"""Who may see what of a case's buyer: full numbers are for the staff working them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.models import Case, User


def works_case_of(session: Session, user: User, case: Case) -> bool:
    """Full phone numbers are for staff working an open case of this case's buyer. Owning
    this open case answers without asking the database (the common case on the page)."""
    if case.buyer_id is None:
        return False
    if case.owner_id == user.id and case.status in case_flow.OPEN:
        return True
    return (
        session.scalar(
            sa.select(
                sa.exists().where(
                    Case.buyer_id == case.buyer_id,
                    Case.owner_id == user.id,
                    Case.status.in_(case_flow.OPEN),
                )
            )
        )
        or False
    )
