"""Who gets a case without a person choosing (a new one from intake, or one handed over when
its owner went away): whoever works the buyer's other open case (one buyer, one agent,
always), else, in a shop that turned 自动分配 on, an agent at work — on shift first, then
the least loaded."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain import case_flow
from tracker.domain.assignment import Load, least_loaded
from tracker.domain.working_hours import MAX_DAYS
from tracker.models import Case, Shop, User
from tracker.models.accounts import agent_at_work, at_work, works_for
from tracker.services.audit import record_shop_change
from tracker.services.contact_log import awaits_first_contact
from tracker.services.shifts import next_on_shift
from tracker.services.transaction import transaction


def _buyers_agent(session: Session, case: Case, now: datetime) -> User | None:
    """Whoever works another open case of this buyer in the shop (the one touched last), if
    they still work for the shop (an admin works every shop) and are not away: one buyer,
    one agent. Two agents calling one buyer about two reviews is the "called over and over"
    the trade must avoid, and one call can settle both."""
    if case.buyer_id is None:
        return None
    return session.scalars(
        sa.select(User)
        .join(Case, Case.owner_id == User.id)
        .where(
            Case.shop_id == case.shop_id,
            Case.buyer_id == case.buyer_id,
            Case.id != case.id,
            Case.status.in_(case_flow.OPEN),
            User.is_active.is_(True),
            works_for(case.shop_id),
            at_work(now),
        )
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(1)
    ).first()


def _least_loaded_agent(session: Session, shop_id: int, now: datetime, tz: ZoneInfo) -> User | None:
    """The agent to give the shop's next case to, or None: the shop assigns by hand, or
    nobody is at work. Among the shop's agents who are active and not away, the one
    :func:`tracker.domain.assignment.least_loaded` picks: on shift soonest (their 班次, else
    the shop's hours), then by load, counting each one's open cases in every shop (one
    person's load, whichever shop it comes from). The caller owns the transaction."""
    shop = session.get(Shop, shop_id)  # the caller's shop: in the session already
    if shop is None or not shop.auto_assign:
        return None
    theirs = sa.and_(Case.owner_id == User.id, Case.status.in_(case_flow.OPEN))
    overdue = (
        sa.select(sa.func.count())
        .where(theirs, Case.first_contact_due_at <= now, awaits_first_contact(now))
        .correlate(User)
        .scalar_subquery()
    )
    held = sa.select(sa.func.count()).where(theirs).correlate(User).scalar_subquery()
    agents: dict[int, User] = {}
    loads: list[Load] = []
    for agent, late, open_ in session.execute(
        sa.select(User, overdue, held)
        .where(agent_at_work(shop_id, now))
        .options(selectinload(User.shift_days))  # 调班: read with each one's shift
    ):
        agents[agent.id] = agent
        # no working time in reach: last in line, still a taker
        starts = next_on_shift(agent, shop, now, tz) or now + timedelta(days=MAX_DAYS)
        loads.append(Load(agent.id, late, open_, starts))
    chosen = least_loaded(loads)
    return agents[chosen] if chosen is not None else None


def owner_for(
    session: Session, case: Case, now: datetime, tz: ZoneInfo
) -> tuple[User | None, bool]:
    """Who takes ``case`` without a person choosing, and whether 自动分配 chose them (else
    they work the buyer's other case): intake's new cases and an away agent's hand-over
    ask the same question."""
    agent = _buyers_agent(session, case, now)
    if agent is not None:
        return agent, False
    agent = _least_loaded_agent(session, case.shop_id, now, tz)
    return agent, agent is not None


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
