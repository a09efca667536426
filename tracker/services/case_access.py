"""Who may see what of a buyer: full numbers, names and addresses are for the staff working
one of the buyer's open cases."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.models import Case, User


def works_case_of(session: Session, user: User, case: Case) -> bool:
    """Does ``user`` work an open case of this case's buyer? Owning this open case answers
    without asking the database (the common case on the page)."""
    if case.buyer_id is None:
        return False
    if case.owner_id == user.id and case.status in case_flow.OPEN:
        return True
    return works_buyer_of(session, user, case.buyer_id)


def works_buyer_of(session: Session, user: User, buyer_id: int) -> bool:
    """Does ``user`` own an open case of this buyer?"""
    return (
        session.scalar(
            sa.select(
                sa.exists().where(
                    Case.buyer_id == buyer_id,
                    Case.owner_id == user.id,
                    Case.status.in_(case_flow.OPEN),
                )
            )
        )
        or False
    )
