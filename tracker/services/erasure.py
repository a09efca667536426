"""A buyer's request to delete their personal data (个人信息保护法 art. 47; the platforms
pass such requests on to the seller): the sealed name, address and birthday, every number
kept to reach them, and staff's free-text notes about them (with their earlier texts in
the audit trail) go at once. Orders, reviews, cases and their log stay, under the platform
nick: they are the shop's own records, and a case's attempts are evidence of how the buyer
was treated; what staff wrote in them keeps its words, less the numbers, the name and the
address written there."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.privacy import identifying_parts, redact
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
from tracker.models.enums import HandleKind
from tracker.services import buyer_profiles
from tracker.services.audit import record_access
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

ERASED = "personal_data_erased"  # the access log's field
REDACTED = "（已按买家要求删除）"


def erase(session: Session, buyer: Buyer, actor: User, *, reason: str, now: datetime) -> int:
    """Erase what identifies the buyer; ``reason`` (who asked, when, how) goes to the access
    log. Returns how many numbers were wiped. Only an order paid after it brings a name
    and a number again (tracker.domain.privacy.may_take_in): the buyer gave them anew."""
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", "请写明依据：谁、何时、通过什么渠道要求删除。")
    with transaction(session):
        hint = buyer.name_hint or "—"
        profile = buyer_profiles.opened(buyer)
        notes = _redact_notes(session, buyer, identifying_parts(profile.name, profile.region))
        for column, value in buyer_profiles.columns(buyer_profiles.Profile()).items():
            setattr(buyer, column, value)
        buyer.preferences = ""
        buyer.personal_data_erased_at = now  # what they gave before stays out of imports
        # the notes' earlier texts live on in the audit trail: who changed them and when
        # stays, what they said goes
        session.execute(
            sa.update(AuditEvent)
            .where(
                AuditEvent.entity_type == "buyer",
                AuditEvent.entity_id == buyer.id,
                AuditEvent.field == "preferences",
            )
            .values(old_value=None, new_value=REDACTED)
        )
        wiped = session.execute(
            sa.update(ContactHandle)
            .where(
                ContactHandle.buyer_id == buyer.id,
                # a privacy-number binding holds the pool's number, released by its own job
                ContactHandle.kind != HandleKind.BINDING,
                ContactHandle.sealed.is_not(None),
            )
            .values(sealed=None, fingerprint=None, erased_at=now)
        ).rowcount
        record_access(
            session,
            now=now,
            actor_id=actor.id,
            buyer_id=buyer.id,
            field=ERASED,
            what=(
                f"姓名 {hint}、地址、生日、备注、号码 {wiped} 个"
                + (f"，记录中写到的号码姓名地址 {notes} 处" if notes else "")
                + f" · 依据：{reason}"
            ),
        )
        return wiped or 0


def _redact_notes(session: Session, buyer: Buyer, known: list[str]) -> int:
    """Take the buyer's numbers, name and address out of what staff wrote on their cases
    (attempt notes, remedies, decisions, appeals, the survey's comment, a caution's reason)
    and out of those texts' earlier versions in the audit trail. Returns how many texts
    changed."""
    cases = list(session.scalars(sa.select(Case.id).where(Case.buyer_id == buyer.id)))
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
