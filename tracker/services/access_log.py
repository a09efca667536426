"""The personal-data access log: who opened, decrypted, called or messaged which buyer, or
looked at their name and address, from which case, when. Platforms (JD explicitly) ask
sellers to keep and report it; it is read from the audit trail, where every such access is
written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import AuditEvent, Buyer, User
from tracker.models.accounts import works_for
from tracker.services.contact_handles import ACCESS_FIELDS
from tracker.services.reports import Period

HEADERS = ("时间（北京时间）", "员工", "操作", "买家", "案件编号", "内容（打码）")


@dataclass(frozen=True)
class Access:
    at: datetime
    who: str
    what: str
    buyer: str
    case_id: int | None
    detail: str


BY_STAFF, BY_SYSTEM = "staff", "system"  # who: a person, or the tracker itself


def entries(
    session: Session,
    shop_id: int,
    period: Period,
    *,
    limit: int | None = None,
    field: str | None = None,
    who: str | int | None = None,
) -> list[Access]:
    """Newest first. ``field``: one kind of access (a key of ACCESS_FIELDS); ``who``: only
    people's (BY_STAFF), only the tracker's own (BY_SYSTEM: a retention period's erasures,
    hundreds a night on a shop's first, so neither buries the other), or one person's (a
    user id: what did this agent open, before and after leaving)."""
    query = (
        sa.select(
            AuditEvent.occurred_at,
            User.display_name,
            AuditEvent.field,
            Buyer.platform_nick,
            AuditEvent.case_id,
            AuditEvent.new_value,
        )
        .join(Buyer, Buyer.id == AuditEvent.entity_id)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.entity_type == "buyer",
            AuditEvent.field.in_(ACCESS_FIELDS),
            Buyer.shop_id == shop_id,
            AuditEvent.occurred_at >= period.start_utc,
            AuditEvent.occurred_at < period.end_utc,
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    if field is not None:
        query = query.where(AuditEvent.field == field)
    if who == BY_STAFF:
        query = query.where(AuditEvent.actor_id.is_not(None))
    elif who == BY_SYSTEM:
        query = query.where(AuditEvent.actor_id.is_(None))
    elif isinstance(who, int):
        query = query.where(AuditEvent.actor_id == who)
    return [
        Access(
            at=at,
            who=who or "系统",
            what=ACCESS_FIELDS[field],
            buyer=nick,
            case_id=case_id,
            detail=(new or "").partition(" · ")[2],
        )
        for at, who, field, nick, case_id, new in session.execute(query)
    ]


def staff(session: Session, shop_id: int) -> list[tuple[int, str]]:
    """Who may appear in the shop's log, to pick one: its staff, those since deactivated
    too (a leaver's accesses are what one looks for), and the admins."""
    return [
        (user_id, name + ("" if active else "（已停用）"))
        for user_id, name, active in session.execute(
            sa.select(User.id, User.display_name, User.is_active)
            .where(works_for(shop_id))
            .order_by(User.is_active.desc(), User.display_name)
        )
    ]


def rows(entries_: list[Access], period: Period) -> list[tuple[object, ...]]:
    return [
        (
            e.at.astimezone(period.tz).strftime("%Y-%m-%d %H:%M:%S"),
            e.who,
            e.what,
            e.buyer,
            e.case_id or "",
            e.detail,
        )
        for e in entries_
    ]
