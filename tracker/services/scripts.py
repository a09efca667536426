"""Supervisors write and edit the call scripts (话术)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tracker.domain import compliance
from tracker.models import Script
from tracker.models.enums import Reason
from tracker.services.audit import record_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction


@dataclass(frozen=True)
class ScriptDraft:
    title: str
    body: str
    reason: Reason | None
    shop_id: int | None


def save_script(
    session: Session,
    script: Script | None,
    draft: ScriptDraft,
    *,
    actor_id: int,
    actor_is_admin: bool,
    now: datetime,
) -> Script:
    """A script applies to one shop or, written by an admin, to all; only an admin may
    write or change one for all shops (moving it would take it from every other shop)."""
    with transaction(session):
        for_all = draft.shop_id is None or (script is not None and script.shop_id is None)
        if for_all and not actor_is_admin:
            raise FieldError("shop_id", "只有管理员可以编写或修改适用于所有店铺的话术。")
        if not draft.title.strip():
            raise FieldError("title", "请填写标题。")
        if not draft.body.strip():
            raise FieldError("body", "请填写话术内容。")
        for finding in compliance.check(f"{draft.title}。{draft.body}"):
            raise FieldError("body", f"{finding.describe()}。请改写后再保存。")
        if script is None:
            script = Script(title="", body="", updated_at=now)
            session.add(script)
            session.flush()
        for field, value in (
            ("title", draft.title.strip()),
            ("body", draft.body.strip()),
            ("reason", draft.reason),
            ("shop_id", draft.shop_id),
        ):
            record_change(
                session,
                now=now,
                actor_id=actor_id,
                entity_type="script",
                entity_id=script.id,
                field=field,
                old=getattr(script, field),
                new=value,
            )
            setattr(script, field, value)
        script.updated_at, script.updated_by_id = now, actor_id
        return script


def delete_script(session: Session, script: Script, *, actor_id: int, now: datetime) -> None:
    with transaction(session):
        record_change(
            session,
            now=now,
            actor_id=actor_id,
            entity_type="script",
            entity_id=script.id,
            field="deleted",
            old=script.title,
            new=None,
        )
        session.delete(script)
