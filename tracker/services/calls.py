"""Click-to-call through a privacy binding (Aliyun 号码隐私保护, AXB).

The agent's own phone is A, the buyer's number is B, the provider binds both to an X from
the shop's pool for the call window. The agent dials X from their phone; neither side sees
the other's number. The call is an attempt under the contact policy; the provider's call
record (answered, duration) comes back into that attempt, and the binding is released
when the window ends.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.domain.phone_numbers import PhoneNumber
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, ContactAttempt, ContactHandle, Shop, User
from tracker.models.enums import AttemptOutcome, Channel, HandleKind
from tracker.providers.aliyun import pushed_time
from tracker.providers.contract import Binding, PrivacyCalls, ProviderError
from tracker.services import contact_handles
from tracker.services.cases import (
    AttemptDraft,
    case_transaction,
    check_can_work,
    note_first_conversation,
    record_attempt,
)
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction
from tracker.vault import personal_vault

log = logging.getLogger(__name__)

CALL_WINDOW = timedelta(minutes=30)  # how long the X number connects agent and buyer


def place_call(
    session: Session,
    case: Case,
    *,
    actor: User,
    now: datetime,
    hours: WorkingHours,
    calls: PrivacyCalls,
    override_reason: str = "",
) -> ContactHandle:
    """Bind agent and buyer to an X number for the call window and record the attempt;
    nothing is recorded when the contact policy or the provider refuses."""
    with case_transaction(session):
        check_can_work(case, actor, session)
        if actor.phone_sealed is None:
            raise FieldError(
                "call",
                "还没有你的外呼手机号：点导航栏里自己的名字，在“我的账号”里填写"
                "（隐私号外呼从你的手机拨出）。",
            )
        if case.buyer_id is None:
            raise FieldError("call", "这条评价没有买家档案。")
        buyer_handle = contact_handles.sms_handle(session, case.buyer_id, now)
        if buyer_handle is None:
            raise FieldError(
                "call",
                "没有可绑定的真实号码（平台虚拟号不能再绑定）：请直接拨打虚拟号或发平台短信。",
            )
        attempt = record_attempt(
            session,
            case,
            AttemptDraft(
                channel=Channel.PHONE,
                attempted_at=now,
                outcome=AttemptOutcome.CALL_PLACED,
                notes="隐私号外呼",
                override_reason=override_reason,
            ),
            actor=actor,
            now=now,
            hours=hours,
        )
        session.flush()
        agent_number = str(personal_vault().open(actor.phone_sealed)["number"])
        buyer_number = contact_handles.opened(buyer_handle).number
        try:
            binding = calls.bind(agent_number, buyer_number, now + CALL_WINDOW, f"a{attempt.id}")
        except ProviderError as exc:
            raise FieldError("call", f"隐私号绑定失败（{exc.code}）：{exc.message}") from exc
        x = PhoneNumber(binding.secret_no, binding.extension)
        handle = ContactHandle(
            shop_id=case.shop_id,
            buyer_id=case.buyer_id,
            case_id=case.id,
            kind=HandleKind.BINDING,
            source="aliyun-axb",
            sealed=personal_vault().seal({"number": x.number, "extension": x.extension}),
            hint=x.written(),  # X is the shop's pool number: the agent must see it to dial
            expires_at=now + CALL_WINDOW,
            provider_ref=binding.subs_id,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(handle)
        attempt.notes = f"隐私号外呼：请用本人手机拨打 {x.written()}"
        contact_handles.audit_access(session, case, actor, "call_bound", f"X {x.written()}", now)
        return handle


def current_binding(session: Session, case_id: int, now: datetime) -> ContactHandle | None:
    return session.scalar(
        sa.select(ContactHandle)
        .where(
            ContactHandle.case_id == case_id,
            ContactHandle.kind == HandleKind.BINDING,
            ContactHandle.released_at.is_(None),
            ContactHandle.expires_at > now,
        )
        .order_by(ContactHandle.created_at.desc())
    )


def release_ended(
    session: Session, *, now: datetime, calls_for: Callable[[Shop], PrivacyCalls]
) -> int:
    """Give back the X numbers whose call window is over."""
    released = 0
    with transaction(session):
        ended = list(
            session.scalars(
                sa.select(ContactHandle).where(
                    ContactHandle.kind == HandleKind.BINDING,
                    ContactHandle.released_at.is_(None),
                    ContactHandle.expires_at <= now,
                )
            )
        )
        for handle in ended:
            number = contact_handles.opened(handle) if handle.sealed else None
            try:
                if number is not None and handle.provider_ref:
                    calls_for(session.get(Shop, handle.shop_id)).unbind(
                        Binding(handle.provider_ref, number.number, number.extension)
                    )
            except ProviderError as exc:
                if exc.retryable:
                    log.warning("binding %s not released yet: %s", handle.id, exc)
                    continue
                # the provider no longer knows it (it lapsed by itself): released anyway
            handle.released_at, handle.sealed = now, None
            released += 1
    return released


# -- the provider's call records --------------------------------------------------------------
def receipt_token(secret_key: str, shop_id: int, purpose: str = "axb-calls") -> str:
    """The secret part of a URL a provider pushes to (call records, SMS replies): Aliyun
    signs nothing it pushes, so only the URL is secret."""
    message = f"{purpose}:{shop_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def token_matches(secret_key: str, shop_id: int, token: str, purpose: str = "axb-calls") -> bool:
    return hmac.compare_digest(receipt_token(secret_key, shop_id, purpose), token)


def record_reports(
    session: Session,
    shop_id: int,
    reports: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    hours: WorkingHours,
) -> int:
    """Write the provider's call records into their attempts: answered or not, how long.
    A record seen twice changes nothing; one for another shop or no attempt is ignored."""
    updated = 0
    with transaction(session):
        for report in reports:
            out_id = str(report.get("out_id") or "")
            if not out_id.startswith("a") or not out_id[1:].isdigit():
                continue
            attempt = session.get(ContactAttempt, int(out_id[1:]))
            case = session.get(Case, attempt.case_id) if attempt else None
            if attempt is None or case is None or case.shop_id != shop_id:
                continue
            answered = pushed_time(report.get("start_time"))
            ended = pushed_time(report.get("release_time"))
            placed = attempt.outcome is AttemptOutcome.CALL_PLACED
            # the agent may have logged what the buyer said before the record came
            described = attempt.outcome not in case_flow.PRIVACY_CALLS
            if not placed and not (described and attempt.duration_seconds is None and answered):
                continue  # recorded already, or no length to add to the agent's word
            if answered is not None:
                length = int((ended - answered).total_seconds()) if ended else None
                attempt.duration_seconds = length
                first = case.first_conversation_at
                # this call's talk began when it was answered, not when it was placed
                if first is None or answered < first or first == attempt.attempted_at:
                    note_first_conversation(case, answered, hours)
            if placed and answered is not None:
                attempt.outcome = AttemptOutcome.CALL_CONNECTED
                logged_last = session.scalar(
                    sa.select(sa.func.max(ContactAttempt.id)).where(
                        ContactAttempt.case_id == case.id
                    )
                )
                if logged_last == attempt.id:  # the try kept for "if unanswered": they talked
                    case.next_follow_up_at = None
            elif placed:
                attempt.outcome = AttemptOutcome.NO_ANSWER
                attempt.duration_seconds = 0
            binding = session.scalar(
                sa.select(ContactHandle).where(
                    ContactHandle.case_id == case.id,
                    ContactHandle.kind == HandleKind.BINDING,
                    ContactHandle.provider_ref == str(report.get("sub_id") or ""),
                )
            )
            if binding is not None and binding.released_at is None:
                binding.expires_at = min(binding.expires_at or now, now)  # release it now
            updated += 1
    return updated
