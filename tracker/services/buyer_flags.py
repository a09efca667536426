"""Buyers to handle with care: a pattern of 中/差评 in the shop's history, or a staff flag
(demands compensation for a good review, a professional bad reviewer 差评师). Shown on each
of the buyer's cases and on the buyer page, so nobody offers what the law forbids to the
one buyer most likely to ask for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Buyer, Review, User
from tracker.models.enums import Rating
from tracker.services.audit import record_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

PATTERN = 3  # this many 中/差评 in the shop's history make a pattern
REASON_LIMIT = 200


@dataclass(frozen=True)
class Caution:
    unhappy_reviews: int  # the buyer's 中/差评 in this shop
    flag_reason: str | None
    flagged_at: datetime | None

    @property
    def is_pattern(self) -> bool:
        return self.unhappy_reviews >= PATTERN

    @property
    def shown(self) -> bool:
        return self.flag_reason is not None or self.is_pattern


def caution(session: Session, buyer: Buyer) -> Caution:
    unhappy = session.scalar(
        sa.select(sa.func.count(Review.id)).where(
            Review.buyer_id == buyer.id,
            Review.rating.in_((Rating.NEUTRAL, Rating.BAD)),
        )
    )
    return Caution(unhappy or 0, buyer.flag_reason, buyer.flagged_at)


def flag(session: Session, buyer: Buyer, reason: str, *, actor: User, now: datetime) -> None:
    """Flag (or, with an empty reason, unflag) the buyer; audited."""
    reason = reason.strip()
    if len(reason) > REASON_LIMIT:
        raise FieldError("reason", f"说明最多 {REASON_LIMIT} 字，现在 {len(reason)} 字。")
    with transaction(session):
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="buyer",
            entity_id=buyer.id,
            field="flag_reason",
            old=buyer.flag_reason,
            new=reason or None,
        )
        buyer.flag_reason = reason or None
        buyer.flagged_at = now if reason else None
        buyer.flagged_by_id = actor.id if reason else None


def lift_stop(session: Session, buyer: Buyer, reason: str, *, actor: User, now: datetime) -> None:
    """The buyer asked to be contacted again (or the stop was logged by mistake): a
    supervisor lifts 买家要求勿扰, with the reason, audited."""
    if not actor.leads:
        raise FieldError("reason", "只有主管可以解除“买家要求勿扰”。")
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", "请写明解除的原因（例如：买家主动来电要求回电）。")
    if buyer.do_not_contact_at is None:
        raise FieldError("reason", "这位买家没有要求勿扰。")
    with transaction(session):
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="buyer",
            entity_id=buyer.id,
            field="do_not_contact_at",
            old=buyer.do_not_contact_at.isoformat(),
            new=f"解除：{reason}",
        )
        buyer.do_not_contact_at = None
