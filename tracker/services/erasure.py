"""A buyer's request to delete their personal data (个人信息保护法 art. 47; the platforms
pass such requests on to the seller): the sealed name, address and birthday, every number
kept to reach them, and staff's free-text notes about them (with their earlier texts in
the audit trail) go at once. Orders, reviews, cases and their log stay, under the platform
nick: they are the shop's own records, and a case's attempts are evidence of how the buyer
was treated; what staff wrote in them keeps its words, less the numbers, the name and the
address written there. The same erasure runs at night for buyers past the shop's retention
period (tracker.services.retention)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.privacy import identifying_parts, redact
from tracker.domain.retention import REQUEST, RETENTION
from tracker.models import (
    AuditEvent,
    Buyer,
    Case,
    CaseSurvey,
    ContactAttempt,
    ContactHandle,
    Remedy,
    User,
)
from tracker.models.contacts import HELD_NUMBER
from tracker.services import buyer_profiles
from tracker.services.audit import record_access
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

ERASED = "personal_data_erased"  # the access log's field
REDACTED = {REQUEST: "（已按买家要求删除）", RETENTION: "（保存期满，已删除）"}  # by why


@dataclass(frozen=True)
class Wiped:
    hint: str  # the masked name, for the access log
    numbers: int
    notes: int  # texts that named the buyer's numbers, name or address

    def describe(self) -> str:
        return f"姓名 {self.hint}、地址、生日、备注、号码 {self.numbers} 个" + (
            f"，记录中写到的号码姓名地址 {self.notes} 处" if self.notes else ""
        )


def erase(session: Session, buyer: Buyer, actor: User, *, reason: str, now: datetime) -> int:
    """Erase what identifies the buyer; ``reason`` (who asked, when, how) goes to the access
    log. Returns how many numbers were wiped. Only an order paid after it brings a name
    and a number again (tracker.domain.privacy.may_take_in): the buyer gave them anew."""
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", "请写明依据：谁、何时、通过什么渠道要求删除。")
    with transaction(session):
        wiped = wipe(session, [buyer], now=now, why=REQUEST)[buyer.id]
        record_access(
            session,
            now=now,
            actor_id=actor.id,
            buyer_id=buyer.id,
            field=ERASED,
            what=f"{wiped.describe()} · 依据：{reason}",
        )
        return wiped.numbers


def wipe(session: Session, buyers: list[Buyer], *, now: datetime, why: str) -> dict[int, Wiped]:
    """Within the caller's transaction, for each buyer: the name, address, birthday, staff's
    偏好备注 (and its earlier texts), every number but a privacy binding's, and their
    identifiers in what staff wrote on their cases. Statements go by the batch, so the
    nightly retention run costs a few per hundred buyers, not per buyer."""
    ids = [b.id for b in buyers]
    cases: dict[int, list[int]] = {}
    for case_id, buyer_id in session.execute(
        sa.select(Case.id, Case.buyer_id).where(Case.buyer_id.in_(ids))
    ):
        cases.setdefault(buyer_id, []).append(case_id)
    kept_numbers = (ContactHandle.buyer_id.in_(ids), *HELD_NUMBER)
    numbers = dict(
        session.execute(
            sa.select(ContactHandle.buyer_id, sa.func.count())
            .where(*kept_numbers)
            .group_by(ContactHandle.buyer_id)
        ).all()
    )
    wiped = {}
    for buyer in buyers:
        notes = 0
        if buyer.id in cases or buyer.flag_reason:
            profile = buyer_profiles.opened(buyer)
            known = identifying_parts(profile.name, profile.region)
            notes = _redact_notes(session, buyer, cases.get(buyer.id, []), known)
        wiped[buyer.id] = Wiped(buyer.name_hint or "—", numbers.get(buyer.id, 0), notes)
        for column in buyer_profiles.COLUMNS:
            setattr(buyer, column, None)
        buyer.preferences = ""
        buyer.personal_data_erased_at = now  # what they gave before stays out of imports
        buyer.personal_data_erased_why = why
    # the notes' earlier texts live on in the audit trail: who changed them and when
    # stays, what they said goes
    session.execute(
        sa.update(AuditEvent)
        .where(
            AuditEvent.entity_type == "buyer",
            AuditEvent.entity_id.in_(ids),
            AuditEvent.field == "preferences",
        )
        .values(old_value=None, new_value=REDACTED[why])
    )
    session.execute(
        sa.update(ContactHandle)
        .where(*kept_numbers)
        .values(sealed=None, fingerprint=None, erased_at=now)
    )
    return wiped


def _redact_notes(session: Session, buyer: Buyer, cases: list[int], known: list[str]) -> int:
    """Take the buyer's numbers, name and address out of what staff wrote on their cases
    (attempt notes, remedies, decisions, appeals, the survey's comment, a caution's reason)
    and out of those texts' earlier versions in the audit trail. Returns how many texts
    changed."""
    texts: list[tuple[object, str]] = [(buyer, "flag_reason")]
    if cases:
        for case in session.scalars(sa.select(Case).where(Case.id.in_(cases))):
            texts += [(case, "outcome_note"), (case, "appeal_note")]
        for model, column in (
            (ContactAttempt, "notes"),
            (Remedy, "note"),
            (CaseSurvey, "comment"),
        ):
            for row in session.scalars(sa.select(model).where(model.case_id.in_(cases))):
                texts.append((row, column))
        for event in session.scalars(sa.select(AuditEvent).where(AuditEvent.case_id.in_(cases))):
            texts += [(event, "old_value"), (event, "new_value")]
    changed = 0
    for row, column in texts:
        before = getattr(row, column)
        after = redact(before, known)
        if after != before:
            setattr(row, column, after)
            changed += 1
    return changed
