"""Buyers' names, addresses and birthdays: sealed at rest with the personal-data key, opened
for staff working the buyer's open case (their first look each day written to the access
log), shown elsewhere as hints (郑**, 浙江省).

Platforms hand sellers this data for after-sales only and ask them to keep it encrypted and
every access on record (as they do for numbers: tracker.services.contact_handles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.privacy import coarse_area, mask_name
from tracker.models import AuditEvent, Buyer, Case, User
from tracker.sealing import Sealer
from tracker.services.audit import record_access
from tracker.services.transaction import transaction
from tracker.vault import personal_vault

SHOWN = "profile_shown"  # the access log's field for a look at name/address/birthday


@dataclass(frozen=True)
class Profile:
    """What the viewer may see: the opened values, or the hints (``full`` False)."""

    name: str | None = None
    region: str | None = None
    birthday: date | None = None
    full: bool = True


def hints(buyer: Buyer) -> Profile:
    return Profile(name=buyer.name_hint, region=buyer.area, birthday=None, full=False)


def opened(buyer: Buyer, vault: Sealer | None = None) -> Profile:
    return from_token(buyer.profile_sealed, vault)


def from_token(token: str | None, vault: Sealer | None = None) -> Profile:
    """The values a ``profile_sealed`` token carries (an empty profile for none)."""
    if not token:
        return Profile()
    values = (vault or personal_vault()).open(token)
    born = values.get("birthday")
    return Profile(
        name=values.get("name"),
        region=values.get("region"),
        birthday=date.fromisoformat(born) if born else None,
    )


def name_fingerprint(name: str, vault: Sealer | None = None) -> str:
    """What an exact-name search compares (the name itself is never in clear)."""
    return (vault or personal_vault()).fingerprint("name:" + name.strip())


# The buyer's columns a profile fills (the sealed token and its hints); an erasure empties them.
COLUMNS = ("profile_sealed", "name_hint", "name_fingerprint", "area", "birthday_md")


def columns(profile: Profile, vault: Sealer | None = None) -> dict[str, Any]:
    """The buyer's stored columns for ``profile``: the sealed token and the hints. Bulk
    loads (the demo, the migration that sealed the old columns) insert these directly."""
    vault = vault or personal_vault()
    values = {
        "name": (profile.name or "").strip() or None,
        "region": (profile.region or "").strip() or None,
        "birthday": profile.birthday.isoformat() if profile.birthday else None,
    }
    if not any(values.values()):
        return dict.fromkeys(COLUMNS)
    name = values["name"]
    return {
        "profile_sealed": vault.seal(values),
        "name_hint": mask_name(name) or None,
        "name_fingerprint": name_fingerprint(name, vault) if name else None,
        "area": coarse_area(values["region"]) or None,
        "birthday_md": (
            profile.birthday.month * 100 + profile.birthday.day if profile.birthday else None
        ),
    }


def keep(
    buyer: Buyer,
    *,
    name: str | None = None,
    region: str | None = None,
    birthday: date | None = None,
    vault: Sealer | None = None,
) -> None:
    """Merge what an import brings into the buyer's sealed profile (None keeps what is
    there); sealed again only when something changed. Without anything to keep, no key is
    needed."""
    if not (name or region or birthday):
        return
    vault = vault or personal_vault()
    current = opened(buyer, vault)
    merged = Profile(
        name=name or current.name,
        region=region or current.region,
        birthday=birthday or current.birthday,
    )
    if merged != current:
        for column, value in columns(merged, vault).items():
            setattr(buyer, column, value)


def for_viewer(
    session: Session,
    buyer: Buyer,
    viewer: User,
    *,
    works: bool,
    now: datetime,
    tz: ZoneInfo,
    case: Case | None = None,
) -> Profile:
    """The profile as ``viewer`` may see it: opened when they work the buyer's open case
    (``works``, tracker.services.case_access), hints otherwise. Each viewer's first look at
    a buyer on a local day is a line of the access log; later looks that day are not (a
    case page is reloaded after every attempt logged)."""
    if not works or not buyer.profile_sealed:
        return hints(buyer)
    profile = opened(buyer)
    day_start = datetime.combine(now.astimezone(tz).date(), time(), tz)
    seen_today = session.scalar(
        sa.select(
            sa.exists().where(
                AuditEvent.entity_type == "buyer",
                AuditEvent.entity_id == buyer.id,
                AuditEvent.field == SHOWN,
                AuditEvent.actor_id == viewer.id,
                AuditEvent.occurred_at >= day_start,
            )
        )
    )
    if not seen_today:
        with transaction(session):
            record_access(
                session,
                now=now,
                actor_id=viewer.id,
                buyer_id=buyer.id,
                field=SHOWN,
                what=f"姓名 {buyer.name_hint or '—'}",
                case_id=case.id if case is not None else None,
            )
    return profile


def matching_name(name: str) -> sa.ColumnElement[bool]:
    """A where-clause finding buyers by their exact full name."""
    return Buyer.name_fingerprint == name_fingerprint(name)


def reseal_all(session: Session, vault: Sealer | None = None) -> int:
    """Every profile sealed again with the first key, fingerprints recomputed (a key
    rotation). The caller owns the transaction (it runs with the numbers' rotation)."""
    vault = vault or personal_vault()
    count = 0
    for buyer in session.scalars(sa.select(Buyer).where(Buyer.profile_sealed.is_not(None))):
        profile = opened(buyer, vault)
        buyer.profile_sealed = vault.reseal(buyer.profile_sealed)
        buyer.name_fingerprint = name_fingerprint(profile.name, vault) if profile.name else None
        count += 1
    return count
