"""A shop's platform credentials: saved sealed from the admin page, or given in the
environment for automation (``TRACKER_SHOP_CREDENTIALS``); the database wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Shop, SourceCredential
from tracker.sealing import Sealer, SealError
from tracker.services.audit import record_shop_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction
from tracker.sources import registry
from tracker.sources.contract import Adapter, CredentialField, SourceError

EnvCredentials = Mapping[str, Mapping[str, str]]  # shop code -> values


@dataclass(frozen=True)
class ShopCredentials:
    adapter: Adapter
    values: dict[str, str]
    origin: str  # "database" or "environment"


class HasFields(Protocol):
    """A platform adapter or a message/call provider: the credential fields it needs."""

    @property
    def fields(self) -> tuple[CredentialField, ...]: ...


def merged(
    owner: HasFields, submitted: Mapping[str, str], sealed: str | None, *, sealer: Sealer
) -> dict[str, str]:
    """The submitted values, a secret left blank keeping its stored value (the page never
    shows one back); stored values sealed with a retired key count as none."""
    kept: dict[str, Any] = {}
    if sealed is not None:
        try:
            kept = sealer.open(sealed)
        except SealError:
            kept = {}  # sealed with a retired key: everything must be entered again
    return {
        f.name: (str(submitted.get(f.name) or "").strip() or str(kept.get(f.name) or ""))
        for f in owner.fields
    }


def hint(adapter: HasFields, values: Mapping[str, str]) -> str:
    """What the page may show: non-secret values in full, secrets by their last 4 signs."""
    parts = []
    for f in adapter.fields:
        value = str(values.get(f.name) or "")
        if not value:
            continue
        shown = value if not f.secret else "•••• " + (value[-4:] if len(value) > 8 else "")
        parts.append(f"{f.label} {shown.strip()}")
    return "；".join(parts)[:200]


def save(
    session: Session,
    shop: Shop,
    submitted: Mapping[str, str],
    *,
    sealer: Sealer,
    actor_id: int | None,
    now: datetime,
) -> SourceCredential:
    """Seal and store the shop's credentials; a secret left blank keeps its stored value
    (the page never shows one back). Audited with the hint only."""
    adapter = registry.for_platform(shop.platform)
    if adapter is None:
        raise FieldError("platform", f"{shop.platform.label}没有可接入的评价接口，请用文件导入。")
    row = session.get(SourceCredential, shop.id)
    stored = row.sealed if row is not None and row.source == adapter.name else None
    values = merged(adapter, submitted, stored, sealer=sealer)
    problems = adapter.problems(values)
    if problems:
        raise FieldError(*problems[0])  # next to the first field that needs a fix
    values = adapter.complete(values)
    with transaction(session):
        old_hint = row.hint if row is not None else None
        if row is None:
            row = SourceCredential(shop_id=shop.id)
            session.add(row)
        row.source, row.sealed, row.hint = adapter.name, sealer.seal(values), hint(adapter, values)
        row.updated_at, row.updated_by_id = now, actor_id
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field="credentials",
            old=old_hint,
            new=row.hint,
        )
    return row


def delete(session: Session, shop: Shop, *, actor_id: int | None, now: datetime) -> bool:
    row = session.get(SourceCredential, shop.id)
    if row is None:
        return False
    with transaction(session):
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field="credentials",
            old=row.hint,
            new=None,
        )
        session.delete(row)
    return True


def for_shop(
    session: Session, shop: Shop, *, sealer: Sealer, env: EnvCredentials
) -> ShopCredentials | None:
    """The shop's adapter and its complete credentials, or None where it has none.
    :class:`SourceError` when they are there but unusable (a retired key, a gap)."""
    adapter = registry.for_platform(shop.platform)
    if adapter is None:
        return None
    row = session.get(SourceCredential, shop.id)
    if row is not None and row.source == adapter.name:
        try:
            values = sealer.open(row.sealed)
        except SealError as exc:
            raise SourceError("credentials", f"保存的凭据无法解密：{exc}") from exc
        return ShopCredentials(adapter, adapter.complete(values), "database")
    entry = env.get(shop.code)
    if not entry:
        return None
    return ShopCredentials(adapter, adapter.complete(entry), "environment")


def configured(session: Session, shops: Iterable[Shop], env: EnvCredentials) -> dict[int, str]:
    """Which shops have credentials and where from ("database" / "environment"), without
    opening any: for pages and for the scheduler's list of shops to pull."""
    shops = list(shops)
    stored = set(
        session.scalars(
            sa.select(SourceCredential.shop_id).where(
                SourceCredential.shop_id.in_([s.id for s in shops])
            )
        )
    )
    out = {}
    for shop in shops:
        if registry.for_platform(shop.platform) is None:
            continue
        if shop.id in stored:
            out[shop.id] = "database"
        elif env.get(shop.code):
            out[shop.id] = "environment"
    return out


def shown_values(session: Session, shop: Shop, *, sealer: Sealer) -> dict[str, str]:
    """The stored values a form may show again: the non-secret ones (App Key, AppID, the
    signing method), never a secret."""
    adapter = registry.for_platform(shop.platform)
    row = session.get(SourceCredential, shop.id)
    if adapter is None or row is None or row.source != adapter.name:
        return {}
    try:
        values = sealer.open(row.sealed)
    except SealError:
        return {}
    return {f.name: str(values.get(f.name) or "") for f in adapter.fields if not f.secret}


def stored_hint(session: Session, shop: Shop) -> str | None:
    row = session.get(SourceCredential, shop.id)
    return row.hint if row is not None else None


def reseal_all(session: Session, *, sealer: Sealer) -> int:
    """Seal every stored credential again with the newest key (after adding one)."""
    with transaction(session):
        rows = list(session.scalars(sa.select(SourceCredential)))
        for row in rows:
            row.sealed = sealer.reseal(row.sealed)
    return len(rows)
