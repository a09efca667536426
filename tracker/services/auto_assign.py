"""自动分配: in a shop that turned it on, who gets a case nobody works the buyer of (a new
one from intake, or one released when its owner went away)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.domain.assignment import Load, least_loaded
from tracker.models import Case, Shop, User
from tracker.models.accounts import at_work
from tracker.models.enums import Role
from tracker.services.audit import record_shop_change
from tracker.services.transaction import transaction


def agent_for(session: Session, shop_id: int, now: datetime) -> User | None:
    """The agent to give the shop's next case to, or None: the shop assigns by hand, or
    nobody is at work. Among the shop's agents who are active and not away, the one
    :func:`tracker.domain.assignment.least_loaded` picks, counting each one's open cases in
    every shop (one person's load, whichever shop it comes from). The caller owns the
    transaction."""
    shop = session.get(Shop, shop_id)  # the caller's shop: in the session already
    if shop is None or not shop.auto_assign:
        return None
    theirs = sa.and_(Case.owner_id == User.id, Case.status.in_(case_flow.OPEN))
    overdue = (
        sa.select(sa.func.count())
        .where(theirs, Case.first_attempt_at.is_(None), Case.first_contact_due_at <= now)
        .correlate(User)
        .scalar_subquery()
    )
    held = sa.select(sa.func.count()).where(theirs).correlate(User).scalar_subquery()
    loads = session.execute(
        sa.select(User.id, overdue, held).where(
            User.role == Role.AGENT,
            User.is_active.is_(True),
            User.shops.any(Shop.id == shop_id),
            at_work(now),
        )
    ).all()
    chosen = least_loaded(Load(agent_id, late, open_) for agent_id, late, open_ in loads)
    return session.get(User, chosen) if chosen is not None else None


def switch(session: Session, shop: Shop, on: bool, *, actor_id: int, now: datetime) -> None:
    """Turn the shop's 自动分配 on or off (audited on the shop)."""
    with transaction(session):
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field="auto_assign",
            old=shop.auto_assign,
            new=on,
        )
        shop.auto_assign = on
