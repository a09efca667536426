"""Per-shop tokens for the push API. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Shop
from tracker.services.audit import record_shop_change
from tracker.services.transaction import transaction


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, shop: Shop, *, actor_id: int | None, now: datetime) -> str:
    """A new token for the shop (the old one stops working); shown once, never stored."""
    with transaction(session):
        token = f"trk_{secrets.token_urlsafe(32)}"
        shop.api_token_hash = _digest(token)
        shop.api_token_hint = token[-4:]
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field="api_token",
            old=None,
            new=f"…{shop.api_token_hint}",
        )
        return token


def shop_for_token(session: Session, token: str) -> Shop | None:
    if not token or len(token) > 200:
        return None
    shop = session.scalar(sa.select(Shop).where(Shop.api_token_hash == _digest(token)))
    return shop if shop is not None and shop.is_active else None
