"""Staff accounts: create, change, authenticate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.database import upsert
from tracker.domain import case_flow
from tracker.domain.phone_numbers import NumberError, masked, parse_number
from tracker.models import Case, LoginFailures, Shop, User
from tracker.models.enums import Role
from tracker.services.audit import record_user_change
from tracker.services.cases import hand_over
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction
from tracker.vault import personal_vault

MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


@dataclass(frozen=True)
class UserDraft:
    username: str
    display_name: str
    role: Role
    shop_ids: frozenset[int]
    password: str
    is_active: bool = True
    email: str = ""


@dataclass(frozen=True)
class UserChanges:
    display_name: str
    role: Role
    shop_ids: frozenset[int]
    is_active: bool
    email: str = ""


class LoginFailure(StrEnum):
    BAD_CREDENTIALS = "用户名或密码错误。"
    INACTIVE = "该账号已停用，请联系店铺管理员。"
    LOCKED = "密码错误次数过多，账号已暂时锁定，请 15 分钟后再试或联系管理员。"


MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password-0")


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError(field, f"密码至少 {MIN_PASSWORD_LENGTH} 个字符。")
    if password.isdigit() or password.isalpha():
        raise FieldError(field, "密码需同时包含字母和数字。")


EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email(text: str) -> str | None:
    """Where alerts go by e-mail; optional. Only the shape is checked, not the mailbox."""
    email = text.strip()
    if not email:
        return None
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise FieldError("email", f"邮箱 {email} 格式不正确。")
    return email


def _load_shops(session: Session, shop_ids: frozenset[int]) -> list[Shop]:
    shops = list(session.scalars(sa.select(Shop).where(Shop.id.in_(shop_ids))))
    if len(shops) != len(shop_ids):
        raise FieldError("shop_ids", "所选店铺不存在。")
    return shops


def create_user(session: Session, draft: UserDraft, *, actor_id: int | None, now: datetime) -> User:
    with transaction(session):
        username = draft.username.strip()
        if not USERNAME_PATTERN.fullmatch(username):
            raise FieldError("username", "用户名只能包含字母、数字和 _ . -，长度 3-64。")
        if session.scalar(
            sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
        ):
            raise FieldError("username", f"用户名 {username} 已被使用。")
        if not draft.display_name.strip():
            raise FieldError("display_name", "请填写姓名。")
        check_password_strength(draft.password)
        user = User(
            username=username,
            display_name=draft.display_name.strip(),
            email=_email(draft.email),
            role=draft.role,
            is_active=draft.is_active,
            created_at=now,
            shops=_load_shops(session, draft.shop_ids),
        )
        user.set_password(draft.password)
        if actor_id is not None:  # an admin chose it: the owner replaces it at first login
            user.temporary_password_at = now
        session.add(user)
        session.flush()
        record_user_change(
            session,
            user.id,
            now=now,
            actor_id=actor_id,
            field="created",
            old=None,
            new=f"{user.username} ({user.role.value})",
        )
        return user


def update_user(
    session: Session, user: User, changes: UserChanges, *, actor: User, now: datetime
) -> int:
    """Returns how many open cases went back to 未分配: a deactivated account's, or those of
    a shop the user no longer works for (:func:`_release_cases`)."""
    with transaction(session):
        if user.id == actor.id and (changes.role != user.role or not changes.is_active):
            raise FieldError("role", "不能修改自己的角色或停用自己的账号。")
        if not changes.display_name.strip():
            raise FieldError("display_name", "请填写姓名。")
        shops = _load_shops(session, changes.shop_ids)
        email = _email(changes.email)
        updates = {
            "display_name": (user.display_name, changes.display_name.strip()),
            "email": (user.email, email),
            "role": (user.role.value, changes.role.value),
            "is_active": (user.is_active, changes.is_active),
            "shops": (sorted(s.code for s in user.shops), sorted(s.code for s in shops)),
        }
        for field, (old, new) in updates.items():
            record_user_change(
                session, user.id, now=now, actor_id=actor.id, field=field, old=old, new=new
            )
        user.display_name = changes.display_name.strip()
        user.email = email
        user.role = changes.role
        user.is_active = changes.is_active
        user.shops = shops
        if changes.is_active and changes.role is Role.ADMIN:
            return 0  # an admin works every shop, assigned to it or not
        return _release_cases(
            session, user, {s.id for s in shops} if changes.is_active else set(), actor, now
        )


def _release_cases(
    session: Session, user: User, keeps: set[int], actor: User, now: datetime
) -> int:
    """The user's open cases outside the shops they still work for go back to 未分配: nobody
    would call those buyers while the cases sat with someone who cannot log in or no longer
    sees the shop, and they showed on no one's "mine + unassigned" board. Audited per case."""
    released = session.scalars(
        sa.select(Case).where(
            Case.owner_id == user.id,
            Case.status.in_(case_flow.OPEN),
            Case.shop_id.not_in(keeps) if keeps else sa.true(),
        )
    ).all()
    why = "账号已停用" if not user.is_active else "不再负责该店铺"
    for case in released:
        hand_over(
            session,
            case,
            None,
            actor_id=actor.id,
            now=now,
            old=user.display_name,
            new=f"未分配（{why}）",
        )
    return len(released)


def reset_password(
    session: Session, user: User, password: str, *, actor_id: int | None, now: datetime
) -> None:
    with transaction(session):
        check_password_strength(password)
        user.set_password(password)
        if actor_id is not None and actor_id != user.id:  # told to its owner: temporary
            user.temporary_password_at = now
        # a new password ends every session the old one opened, and lifts the locks
        _new_generation(session, user, actor_id=actor_id, now=now, why="password reset")
        session.execute(sa.delete(LoginFailures).where(LoginFailures.name == user.username.lower()))
        # The hash itself never goes into the audit trail.
        record_user_change(
            session, user.id, now=now, actor_id=actor_id, field="password", old="***", new="reset"
        )


def set_agent_phone(session: Session, user: User, text: str, *, actor: User, now: datetime) -> None:
    """The agent's own phone (A of a privacy call), sealed; blank removes it."""
    with transaction(session):
        _write_phone(session, user, text, actor_id=actor.id, now=now)


def _write_phone(session: Session, user: User, text: str, *, actor_id: int, now: datetime) -> None:
    if not text.strip():
        old, user.phone_sealed, user.phone_hint = user.phone_hint, None, None
    else:
        try:
            number = parse_number(text)
        except NumberError as exc:
            raise FieldError("phone", str(exc)) from exc
        if number.is_virtual:
            raise FieldError("phone", "请填写自己的手机号，不要带分机号。")
        old = user.phone_hint
        user.phone_sealed = personal_vault().seal({"number": number.number})
        user.phone_hint = masked(number)
    record_user_change(
        session, user.id, now=now, actor_id=actor_id, field="phone", old=old, new=user.phone_hint
    )


def update_own_contact(
    session: Session, user: User, *, email: str, phone: str | None, now: datetime
) -> None:
    """A user's own e-mail (where alerts go) and phone (the A of their privacy calls), in
    one transaction: nothing is half saved. ``phone`` None keeps the one on file (the page
    never shows it whole, so a blank field means "unchanged"); "" removes it."""
    with transaction(session):
        email_now = _email(email)
        if email_now != user.email:
            record_user_change(
                session,
                user.id,
                now=now,
                actor_id=user.id,
                field="email",
                old=user.email,
                new=email_now,
            )
            user.email = email_now
        if phone is not None:
            _write_phone(session, user, phone, actor_id=user.id, now=now)


def change_own_password(
    session: Session, user: User, current: str, new: str, *, address: str, now: datetime
) -> None:
    """A user's own new password, given the current one. A wrong current password counts
    as a failed login of the name from this address (a session left open is not a way to
    guess the password, nor around the lockout); the right one clears the count, as a
    login does. The new password ends every other session; the caller logs this one in
    again."""
    name = user.username.lower()
    address = (address or "unknown")[:64]
    with transaction(session):
        attempt = _count_attempt(session, name, address, now=now)
    if attempt > MAX_FAILED_LOGINS:
        raise FieldError("current", LoginFailure.LOCKED.value)
    if not check_password_hash(user.password_hash, current):
        if attempt >= MAX_FAILED_LOGINS:
            with transaction(session):
                _lock(session, name, address, user.id, now=now)
            raise FieldError("current", LoginFailure.LOCKED.value)
        raise FieldError("current", "当前密码不正确。")
    with transaction(session):
        session.execute(
            sa.delete(LoginFailures).where(
                LoginFailures.name == name, LoginFailures.address == address
            )
        )
    if new == current:
        raise FieldError("password", "新密码不能与当前密码相同。")
    with transaction(session):
        check_password_strength(new)
        user.set_password(new)
        user.temporary_password_at = None
        _new_generation(session, user, actor_id=user.id, now=now, why="password changed")
        record_user_change(
            session,
            user.id,
            now=now,
            actor_id=user.id,
            field="password",
            old="***",
            new="changed by the user",
        )


def authenticate(
    session: Session, username: str, password: str, *, address: str, now: datetime
) -> User | LoginFailure:
    """Check a login. Wrong passwords are counted per user name and client address, for
    known and unknown names alike, so the answers never tell which names exist; after
    ``MAX_FAILED_LOGINS`` in a row that name is locked *from that address* for ``LOCKOUT``
    (an attacker locks out only themselves). The count goes up before the password is
    checked, in one statement, so a burst of guesses gets at most ``MAX_FAILED_LOGINS``
    checks however many arrive at once. Unknown names cost the same hashing time."""
    name = username.strip().lower()[:64]
    address = (address or "unknown")[:64]
    with transaction(session):
        attempt = _count_attempt(session, name, address, now=now)
        found = session.execute(
            sa.select(User.id, User.password_hash).where(sa.func.lower(User.username) == name)
        ).one_or_none()
    # The count is committed before any hashing: a burst of guesses queues on one short
    # statement each, not on each other's password checks (SQLite has a single writer,
    # and 30 hashes in a row outlasted its lock timeout).
    if attempt > MAX_FAILED_LOGINS:
        check_password_hash(_dummy_hash(), password)  # the same work as any attempt
        return LoginFailure.LOCKED
    if found is None or not check_password_hash(found.password_hash, password):
        if found is None:
            check_password_hash(_dummy_hash(), password)
        if attempt < MAX_FAILED_LOGINS:
            return LoginFailure.BAD_CREDENTIALS
        with transaction(session):
            _lock(session, name, address, found.id if found else None, now=now)
        return LoginFailure.LOCKED
    with transaction(session):
        session.execute(
            sa.delete(LoginFailures).where(
                LoginFailures.name == name, LoginFailures.address == address
            )
        )
        user = session.get(User, found.id)
        if user is None or not user.is_active:
            return LoginFailure.INACTIVE
        user.last_login_at = now
        return user


def _count_attempt(session: Session, name: str, address: str, *, now: datetime) -> int:
    """This attempt's number in the current run of failures, counted atomically; a lock or
    a run older than ``LOCKOUT`` starts over."""
    table = LoginFailures.__table__
    stale = sa.or_(
        sa.and_(table.c.locked_until.is_not(None), table.c.locked_until <= now),
        table.c.last_failed_at < now - LOCKOUT,
    )
    statement = upsert(session, table).values(
        name=name, address=address, failures=1, last_failed_at=now, locked_until=None
    )
    statement = statement.on_conflict_do_update(
        index_elements=["name", "address"],
        set_={
            "failures": sa.case((stale, 1), else_=table.c.failures + 1),
            "locked_until": sa.case((stale, None), else_=table.c.locked_until),
            "last_failed_at": now,
        },
    ).returning(table.c.failures, table.c.locked_until)
    failures, locked_until = session.execute(statement).one()
    if locked_until is not None and locked_until > now:
        return MAX_FAILED_LOGINS + failures  # locked: no password is checked
    return int(failures)


def _lock(session: Session, name: str, address: str, user_id: int | None, *, now: datetime) -> None:
    until = now + LOCKOUT
    session.execute(
        sa.update(LoginFailures)
        .where(LoginFailures.name == name, LoginFailures.address == address)
        .values(locked_until=until)
    )
    if user_id is not None:
        record_user_change(
            session,
            user_id,
            now=now,
            actor_id=None,
            field="locked_until",
            old=None,
            new=f"{until.isoformat()} ({address})",
        )


def unlock(session: Session, user: User, *, actor_id: int | None, now: datetime) -> int:
    """An admin lifts every lock on the user's name (from every address)."""
    with transaction(session):
        lifted = session.execute(
            sa.delete(LoginFailures).where(LoginFailures.name == user.username.lower())
        ).rowcount
        record_user_change(
            session,
            user.id,
            now=now,
            actor_id=actor_id,
            field="locked_until",
            old=f"{lifted} 处锁定" if lifted else None,
            new="unlocked",
        )
        return int(lifted)


def is_locked(session: Session, user: User, *, now: datetime) -> bool:
    return bool(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginFailures)
            .where(LoginFailures.name == user.username.lower(), LoginFailures.locked_until > now)
        )
    )


def sign_out_everywhere(
    session: Session, user: User, *, actor_id: int | None, now: datetime, why: str
) -> None:
    """Void every session and remember-me cookie of the user, wherever they are."""
    with transaction(session):
        _new_generation(session, user, actor_id=actor_id, now=now, why=why)


def _new_generation(
    session: Session, user: User, *, actor_id: int | None, now: datetime, why: str
) -> None:
    user.session_generation += 1
    record_user_change(
        session,
        user.id,
        now=now,
        actor_id=actor_id,
        field="sessions",
        old=None,
        new=f"signed out everywhere: {why}",
    )
