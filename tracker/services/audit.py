"""The audit trail: one row per changed field."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tracker.models import AuditEvent


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, list | tuple | set):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)


def record_change(
    session: Session,
    *,
    now: datetime,
    actor_id: int | None,
    entity_type: str,
    entity_id: int,
    field: str,
    old: Any,
    new: Any,
    case_id: int | None = None,
) -> AuditEvent | None:
    """Add an audit row when the value really changed; return it (or None)."""
    old_text, new_text = _text(old), _text(new)
    if old_text == new_text:
        return None
    event = AuditEvent(
        occurred_at=now,
        actor_id=actor_id,
        entity_type=entity_type,
        entity_id=entity_id,
        case_id=case_id,
        field=field,
        old_value=old_text,
        new_value=new_text,
    )
    session.add(event)
    return event


def record_case_change(
    session: Session,
    case: Any,
    *,
    now: datetime,
    actor_id: int | None,
    field: str,
    old: Any,
    new: Any,
) -> AuditEvent | None:
    """A case's own field changed: the row every case page shows in its history."""
    return record_change(
        session,
        now=now,
        actor_id=actor_id,
        entity_type="case",
        entity_id=case.id,
        case_id=case.id,
        field=field,
        old=old,
        new=new,
    )


def record_user_change(
    session: Session,
    user_id: int,
    *,
    now: datetime,
    actor_id: int | None,
    field: str,
    old: Any,
    new: Any,
) -> AuditEvent | None:
    """A staff account's field changed: the row its user page shows in its history."""
    return record_change(
        session,
        now=now,
        actor_id=actor_id,
        entity_type="user",
        entity_id=user_id,
        field=field,
        old=old,
        new=new,
    )


def record_shop_change(
    session: Session,
    shop_id: int,
    *,
    now: datetime,
    actor_id: int | None,
    field: str,
    old: Any,
    new: Any,
) -> AuditEvent | None:
    """A shop's setting changed (policy, credentials, models, 自动分配, ...)."""
    return record_change(
        session,
        now=now,
        actor_id=actor_id,
        entity_type="shop",
        entity_id=shop_id,
        field=field,
        old=old,
        new=new,
    )


def record_access(
    session: Session,
    *,
    now: datetime,
    actor_id: int | None,  # None: the tracker itself (a retention period's end)
    buyer_id: int,
    field: str,
    what: str,
    case_id: int | None = None,
) -> None:
    """One line of the personal-data access log (tracker.services.access_log): who touched
    which buyer's data, from which case (else from the buyer's archive), and what — written
    "case 3 · 177****5004", the part after the dot being what the log shows."""
    where = f"case {case_id}" if case_id is not None else "客户档案"
    record_change(
        session,
        now=now,
        actor_id=actor_id,
        entity_type="buyer",
        entity_id=buyer_id,
        field=field,
        old=None,
        new=f"{where} · {what}",
        case_id=case_id,
    )
