"""Numbers to reach a buyer, kept as sealed handles.

A number is stored only sealed (tracker.vault) with a keyed fingerprint, so the same number
is kept once and nobody reading the database sees it. Staff working one of the buyer's open
cases may open it, and every opening is audited (who, when, which buyer, which case): that
audit is the personal-data access log a platform asks a seller to keep. A platform's virtual
number is wiped when it lapses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.contact_policy import stopped
from tracker.domain.phone_numbers import (
    EXTENSION_MARK,
    NumberError,
    PhoneNumber,
    masked,
    parse_number,
)
from tracker.domain.privacy import may_take_in
from tracker.models import Buyer, Case, ContactHandle, Order, OrderLine, Review, User
from tracker.models.contacts import HELD_NUMBER
from tracker.models.enums import HandleKind
from tracker.services import buyer_profiles, erasure
from tracker.services.audit import record_access
from tracker.services.case_access import works_case_of
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction
from tracker.sources.contract import DecryptsContacts, ExtendsContacts, SourceError
from tracker.vault import personal_vault

# How soon before it lapses a number is flagged on the case page and the board.
EXPIRES_SOON = timedelta(days=3)
# A real number the platform decrypted is kept for a day: the platforms allow decrypting for
# the after-sales call, not building a file of numbers.
DECRYPTED_KEPT = timedelta(days=1)
# The audit fields that make up the personal-data access log.
ACCESS_FIELDS = {
    "phone_revealed": "查看完整号码",
    "contact_decrypted": "向平台解密号码",
    "call_bound": "隐私号外呼",
    "message_queued": "发送短信",
    buyer_profiles.SHOWN: "查看姓名地址",
    erasure.ERASED: "删除个人信息",
    "personal_data_copied": "导出个人信息副本",  # tracker.services.personal_copy
    "number_extended": "虚拟号延期",
}
SOURCE_LABELS = {
    "import": "导入文件",
    "migration": "原有档案",
    "staff": "客服录入",
    "top": "淘宝/天猫解密",
    "aliyun-axb": "阿里云隐私号",
}


@dataclass(frozen=True)
class HandleView:
    """What a page shows of a handle: never the number."""

    id: int
    kind: HandleKind
    hint: str
    source: str
    expires_at: datetime | None
    works: bool
    expires_soon: bool
    deleted: bool  # wiped before it lapsed: the buyer asked (tracker.services.erasure)


def view(handle: ContactHandle, now: datetime) -> HandleView:
    works = handle.works_at(now)
    return HandleView(
        id=handle.id,
        kind=handle.kind,
        hint=handle.hint,
        source=SOURCE_LABELS.get(handle.source, handle.source),
        expires_at=handle.expires_at,
        works=works,
        expires_soon=works and lapses_soon(handle.expires_at, now),
        deleted=handle.erased_at is not None
        and (handle.expires_at is None or handle.erased_at < handle.expires_at),
    )


def _sealed(number: PhoneNumber) -> tuple[str, str]:
    vault = personal_vault()
    return vault.seal({"number": number.number, "extension": number.extension}), vault.fingerprint(
        number.written()
    )


def opened(handle: ContactHandle) -> PhoneNumber:
    if handle.sealed is None:
        raise FieldError("handle", "这个号码已失效并已删除。")
    values = personal_vault().open(handle.sealed)
    return PhoneNumber(str(values["number"]), values.get("extension"))


def remember(
    session: Session,
    *,
    shop_id: int,
    buyer_id: int,
    number: PhoneNumber,
    source: str,
    now: datetime,
    expires_at: datetime | None = None,
    order_id: int | None = None,
    actor_id: int | None = None,
    kind: HandleKind | None = None,
) -> ContactHandle:
    """Keep ``number`` for the buyer, once: the same number again refreshes its expiry and
    order instead of adding a row. The caller owns the transaction."""
    sealed, fingerprint = _sealed(number)
    kind = kind or (HandleKind.VIRTUAL if number.is_virtual else HandleKind.OWN)
    existing = session.scalar(
        sa.select(ContactHandle).where(
            ContactHandle.buyer_id == buyer_id,
            ContactHandle.fingerprint == fingerprint,
            ContactHandle.kind == kind,
            ContactHandle.erased_at.is_(None),
        )
    )
    if existing is not None:
        existing.expires_at = expires_at
        existing.order_id = order_id or existing.order_id
        return existing
    handle = ContactHandle(
        shop_id=shop_id,
        buyer_id=buyer_id,
        order_id=order_id,
        kind=kind,
        source=source,
        sealed=sealed,
        fingerprint=fingerprint,
        hint=masked(number),
        expires_at=expires_at,
        created_by_id=actor_id,
        created_at=now,
    )
    session.add(handle)
    return handle


def of_buyer(session: Session, buyer_id: int, now: datetime) -> list[HandleView]:
    """The buyer's numbers, working ones first (a binding is shown with its call)."""
    handles = session.scalars(
        sa.select(ContactHandle)
        .where(ContactHandle.buyer_id == buyer_id, ContactHandle.kind != HandleKind.BINDING)
        .order_by(ContactHandle.created_at.desc())
        .limit(10)
    )
    views = [view(h, now) for h in handles]
    return sorted(views, key=lambda v: (not v.works, v.kind is not HandleKind.OWN))


# When the buyer's first number that lapses lapses, for a case query (numbers are wiped
# once lapsed, so a sealed one with a date still works, give or take the wiping job).
FIRST_LAPSE = (
    sa.select(sa.func.min(ContactHandle.expires_at))
    .where(
        ContactHandle.buyer_id == Case.buyer_id,
        *HELD_NUMBER,
    )
    .correlate(Case)
    .scalar_subquery()
)


def lapses_soon(expires_at: datetime | None, now: datetime) -> bool:
    """Still works, but not for more than EXPIRES_SOON: the board and the page say so."""
    return expires_at is not None and now < expires_at <= now + EXPIRES_SOON


def takes_sms(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """A buyer's number that works now and has no extension (a virtual number's extension
    can take neither an SMS nor a privacy binding), told from its masked hint without
    opening a sealed number."""
    return (
        *HELD_NUMBER,
        sa.or_(ContactHandle.expires_at.is_(None), ContactHandle.expires_at > now),
        ~ContactHandle.hint.contains(EXTENSION_MARK),
    )


def sms_handle(session: Session, buyer_id: int, now: datetime) -> ContactHandle | None:
    """The buyer's newest number that takes an SMS (or a binding), or None."""
    return session.scalar(
        sa.select(ContactHandle)
        .where(ContactHandle.buyer_id == buyer_id, *takes_sms(now))
        .order_by(ContactHandle.created_at.desc(), ContactHandle.id.desc())
        .limit(1)
    )


def sms_handles(session: Session, buyer_ids: set[int], now: datetime) -> dict[int, int]:
    """Each buyer's newest number that takes an SMS, by buyer: handle id."""
    found: dict[int, int] = {}
    ordered = sorted(buyer_ids)
    for start in range(0, len(ordered), 5_000):
        rows = session.execute(
            sa.select(ContactHandle.buyer_id, ContactHandle.id)
            .where(ContactHandle.buyer_id.in_(ordered[start : start + 5_000]), *takes_sms(now))
            .order_by(ContactHandle.created_at, ContactHandle.id)
        )
        for buyer_id, handle_id in rows:
            found[buyer_id] = handle_id  # the newest wins
    return found


def audit_access(
    session: Session, case: Case, viewer: User, field: str, what: str, now: datetime
) -> None:
    """One line of the personal-data access log, from this case."""
    record_access(
        session,
        now=now,
        actor_id=viewer.id,
        buyer_id=case.buyer_id or 0,
        field=field,
        what=what,
        case_id=case.id,
    )


def reveal(
    session: Session, case: Case, handle_id: int, viewer: User, *, now: datetime
) -> PhoneNumber:
    """The full number, for staff working one of the buyer's open cases; audited."""
    with transaction(session):
        handle = _workable(session, case, handle_id, viewer, now)
        number = opened(handle)
        audit_access(session, case, viewer, "phone_revealed", handle.hint, now)
        return number


def _workable(
    session: Session, case: Case, handle_id: int, viewer: User, now: datetime
) -> ContactHandle:
    """The case buyer's number ``handle_id``, still working, for staff working the case."""
    handle = session.get(ContactHandle, handle_id)
    if handle is None or case.buyer_id is None or handle.buyer_id != case.buyer_id:
        raise FieldError("handle", "这个号码不属于本案件的买家。")
    if not works_case_of(session, viewer, case):
        raise PermissionError("phone")
    _not_stopped(case, now)
    if not handle.works_at(now):
        raise FieldError("handle", _lapsed(handle))
    return handle


def _not_stopped(case: Case, now: datetime) -> None:
    """A number is shown on need: a buyer who asked us to stop is not called, so nobody
    needs theirs (nor asks the platform for it) until a supervisor lifts the stop."""
    if case.buyer is not None and stopped(case.buyer.do_not_contact_at, now):
        raise FieldError("handle", "买家已要求勿扰，不再联系，不显示号码；主管解除勿扰后才能查看。")


def _lapsed(handle: ContactHandle) -> str:
    if handle.released_at is not None:
        return "这个隐私号绑定已释放。"
    return "这个号码已失效，请向平台重新解密或换用其他渠道。"


def decrypt(
    session: Session, case: Case, viewer: User, *, platform: DecryptsContacts, now: datetime
) -> tuple[int, PhoneNumber]:
    """Ask the shop's platform for a number to call for this case's order (the after-sales
    scene), keep it sealed until it lapses, and show it: audited like a reveal. Returns the
    handle's id with the number."""
    with transaction(session):
        if not works_case_of(session, viewer, case):
            raise PermissionError("phone")
        _not_stopped(case, now)
        order = order_of(session, case)
        if order is None or not order.oaid:
            raise FieldError(
                "decrypt", "没有这笔订单的 OAID（请导入含 OAID 的订单），无法向平台解密。"
            )
        buyer = session.get(Buyer, order.buyer_id)
        if buyer is not None and not may_take_in(buyer.personal_data_erased_at, order.paid_at):
            raise FieldError(
                "decrypt",
                "买家已要求删除个人信息，不再为此前的订单向平台取号；请改用平台短信或平台消息联系。",
            )
        try:
            answer = platform.decrypt_contact(order.tid, order.oaid)
        except SourceError as exc:
            raise FieldError("decrypt", f"平台拒绝解密（{exc.code}）：{exc.message}") from exc
        try:
            number = parse_number(answer.number)
        except NumberError as exc:
            raise FieldError("decrypt", f"平台返回的号码无法使用：{exc}") from exc
        protected = answer.protected or number.is_virtual
        expires_at = answer.expires_at if protected else now + DECRYPTED_KEPT
        if expires_at is not None and expires_at <= now:
            raise FieldError("decrypt", "平台返回的虚拟号已经失效，请稍后重试或改用平台短信。")
        handle = remember(
            session,
            shop_id=case.shop_id,
            buyer_id=order.buyer_id,
            number=number,
            source=answer.source,
            now=now,
            expires_at=expires_at or now + DECRYPTED_KEPT,
            order_id=order.id,
            actor_id=viewer.id,
            kind=HandleKind.VIRTUAL if protected else HandleKind.OWN,
        )
        audit_access(session, case, viewer, "contact_decrypted", handle.hint, now)
        session.flush()
        return handle.id, number


EXTEND_DAYS = 7  # TOP extends by 7, 15 or 30 days: the least, asked again if need be


def extend(
    session: Session,
    case: Case,
    handle_id: int,
    viewer: User,
    *,
    platform: ExtendsContacts,
    now: datetime,
) -> datetime:
    """Ask the platform to keep a virtual number about to lapse (a case often outlives the
    number the platform gave), for staff working the case; audited like a decrypt. A number
    the platform changes on the way is kept as a new handle. Returns the new expiry."""
    with transaction(session):
        handle = _workable(session, case, handle_id, viewer, now)
        if handle.kind is not HandleKind.VIRTUAL:
            raise FieldError("handle", "只有平台给的虚拟号可以向平台延期。")
        order = session.get(Order, handle.order_id) if handle.order_id else order_of(session, case)
        if order is None or not order.oaid:
            raise FieldError(
                "extend", "没有这笔订单的 OAID（请导入含 OAID 的订单），无法向平台延期。"
            )
        try:
            answer = platform.extend_contact(order.tid, order.oaid, EXTEND_DAYS)
        except SourceError as exc:
            raise FieldError("extend", f"平台拒绝延期（{exc.code}）：{exc.message}") from exc
        if answer.expires_at is None or answer.expires_at <= (handle.expires_at or now):
            raise FieldError("extend", "平台没有延长这个号码的有效期。")
        if answer.number:
            try:
                number = parse_number(answer.number)
            except NumberError as exc:
                raise FieldError("extend", f"平台返回的号码无法使用：{exc}") from exc
            handle = remember(  # the same number: its expiry moves; another: a new handle
                session,
                shop_id=case.shop_id,
                buyer_id=handle.buyer_id,
                number=number,
                source=answer.source,
                now=now,
                expires_at=answer.expires_at,
                order_id=order.id,
                actor_id=viewer.id,
                kind=HandleKind.VIRTUAL,
            )
        else:
            handle.expires_at = answer.expires_at
        session.flush()
        audit_access(
            session, case, viewer, "number_extended", f"{handle.hint} 延长 {EXTEND_DAYS} 天", now
        )
        return answer.expires_at


def order_of(session: Session, case: Case) -> Order | None:
    """The order the case's review is about (its OAID is what the platform decrypts)."""
    return session.scalar(
        sa.select(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Review, Review.order_line_id == OrderLine.id)
        .where(Review.id == case.review_id)
    )


def erase_lapsed(session: Session, *, now: datetime) -> int:
    """Wipe the numbers that stopped working: a platform's number may not be kept past its
    expiry. The row stays (kind, source, when) with its masked hint."""
    with transaction(session):
        result = session.execute(
            sa.update(ContactHandle)
            .where(
                *HELD_NUMBER,
                ContactHandle.expires_at <= now,
            )
            .values(sealed=None, fingerprint=None, erased_at=now)
        )
        return result.rowcount or 0


def reseal_all(session: Session) -> tuple[int, int]:
    """Seal every number (and agents' phones) and every buyer's name, address and birthday
    again with the first key, in one transaction; a key rotation. Returns how many numbers
    and how many buyers' profiles."""
    vault = personal_vault()
    count = 0
    with transaction(session):
        profiles = buyer_profiles.reseal_all(session, vault)
        for handle in session.scalars(
            sa.select(ContactHandle).where(ContactHandle.sealed.is_not(None))
        ):
            handle.sealed = vault.reseal(handle.sealed)
            handle.fingerprint = vault.fingerprint(opened(handle).written())
            count += 1
        for user in session.scalars(sa.select(User).where(User.phone_sealed.is_not(None))):
            user.phone_sealed = vault.reseal(user.phone_sealed)
            count += 1
    return count, profiles
