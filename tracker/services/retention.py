"""The end of a shop's retention period: buyers with no order, review or case for that long
lose the personal data kept about them (tracker.domain.retention), nightly. The erasure is
the one a buyer's request makes (tracker.services.erasure.wipe), logged in the access log
as the tracker's own (员工 系统), so that what was deleted and why can be shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.case_flow import CLOSED
from tracker.domain.retention import RETENTION, cutoff
from tracker.models import Buyer, Case, ContactHandle, Order, Review, Shop
from tracker.models.contacts import HELD_NUMBER
from tracker.services import buyer_profiles
from tracker.services.audit import record_access
from tracker.services.erasure import ERASED, wipe
from tracker.services.transaction import transaction

BATCH = 500  # buyers a transaction: a first run on an old shop commits as it goes


@dataclass(frozen=True)
class Expired:
    buyers: int = 0
    numbers: int = 0
    notes: int = 0


def stale(shop: Shop, now: datetime) -> sa.Select[tuple[int]] | None:
    """The ids of the shop's buyers whose personal data the period no longer covers: some is
    kept, and nothing of theirs (an order paid, a review posted, a case opened or closed, a
    case still open, the buyer's record itself) is newer than the cutoff. None when the shop
    keeps data until a buyer asks."""
    before = cutoff(now, shop.personal_data_retention_days)
    if before is None:
        return None
    holds_data = sa.or_(
        *(getattr(Buyer, column).is_not(None) for column in buyer_profiles.COLUMNS),
        Buyer.preferences != "",
        sa.exists().where(ContactHandle.buyer_id == Buyer.id, *HELD_NUMBER),
    )
    recent = sa.or_(
        sa.exists().where(Order.buyer_id == Buyer.id, Order.paid_at >= before),
        sa.exists().where(Review.buyer_id == Buyer.id, Review.posted_at >= before),
        sa.exists().where(
            Case.buyer_id == Buyer.id,
            sa.or_(
                Case.status.not_in(CLOSED),
                Case.opened_at >= before,
                Case.closed_at >= before,
            ),
        ),
    )
    return (
        sa.select(Buyer.id)
        .where(Buyer.shop_id == shop.id, Buyer.created_at < before, holds_data, ~recent)
        .order_by(Buyer.id)
    )


def due(session: Session, shop: Shop, now: datetime) -> int:
    """How many buyers the next run would erase (the policy page says so)."""
    query = stale(shop, now)
    if query is None:
        return 0
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def expire(session: Session, shop: Shop, *, now: datetime) -> Expired:
    """Erase the personal data of every buyer :func:`stale` names, a batch a transaction,
    each with its line in the access log."""
    query = stale(shop, now)
    if query is None:
        return Expired()
    ids = list(session.scalars(query))
    days = shop.personal_data_retention_days
    total = Expired()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction(session):
            # lock the rows, then look again: an order or a case that came (an import, a
            # pull) since the list was read keeps its buyer's data. On PostgreSQL a new
            # order's foreign key waits for the lock, or the lock for its commit.
            session.execute(sa.select(Buyer.id).where(Buyer.id.in_(chunk)).with_for_update())
            still = query.where(Buyer.id.in_(chunk)).order_by(None)
            buyers = list(session.scalars(sa.select(Buyer).where(Buyer.id.in_(still))))
            wiped = wipe(session, buyers, now=now, why=RETENTION)
            for buyer_id, done in wiped.items():
                record_access(
                    session,
                    now=now,
                    actor_id=None,
                    buyer_id=buyer_id,
                    field=ERASED,
                    what=f"{done.describe()} · 依据：保存期满（{days} 天内无订单、评价或案件）",
                )
            total = Expired(
                total.buyers + len(wiped),
                total.numbers + sum(w.numbers for w in wiped.values()),
                total.notes + sum(w.notes for w in wiped.values()),
            )
    return total
