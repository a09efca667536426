"""Shops: create and change their settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Shop
from tracker.models.enums import Platform
from tracker.services.audit import record_shop_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")


@dataclass(frozen=True)
class ShopDraft:
    code: str
    name: str
    platform: Platform
    platform_seller_id: str | None
    is_active: bool = True


def _check(session: Session, draft: ShopDraft, shop_id: int | None) -> None:
    if not CODE_PATTERN.fullmatch(draft.code):
        raise FieldError(
            "code", "店铺代码只能包含小写字母、数字、_ 和 -，长度 2-32，以字母或数字开头。"
        )
    clash = session.scalar(sa.select(Shop.id).where(Shop.code == draft.code, Shop.id != shop_id))
    if clash is not None:
        raise FieldError("code", f"店铺代码 {draft.code} 已被使用。")
    if not draft.name.strip():
        raise FieldError("name", "请填写店铺名称。")


def create_shop(session: Session, draft: ShopDraft, *, actor_id: int | None, now: datetime) -> Shop:
    with transaction(session):
        _check(session, draft, None)
        shop = Shop(
            code=draft.code,
            name=draft.name.strip(),
            platform=draft.platform,
            platform_seller_id=(draft.platform_seller_id or "").strip() or None,
            is_active=draft.is_active,
            created_at=now,
        )
        session.add(shop)
        session.flush()
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field="created",
            old=None,
            new=shop.code,
        )
        return shop


def update_shop(
    session: Session, shop: Shop, draft: ShopDraft, *, actor_id: int | None, now: datetime
) -> None:
    with transaction(session):
        _check(session, draft, shop.id)
        new = {
            "code": draft.code,
            "name": draft.name.strip(),
            "platform": draft.platform,
            "platform_seller_id": (draft.platform_seller_id or "").strip() or None,
            "is_active": draft.is_active,
        }
        for field, value in new.items():
            record_shop_change(
                session,
                shop.id,
                now=now,
                actor_id=actor_id,
                field=field,
                old=getattr(shop, field),
                new=value,
            )
            setattr(shop, field, value)
