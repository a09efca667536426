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

from tracker.models import Shop, User
from tracker.models.enums import Role
from tracker.services.audit import record_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

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
        session.add(user)
        session.flush()
        record_change(
            session,
            now=now,
            actor_id=actor_id,
            entity_type="user",
            entity_id=user.id,
            field="created",
            old=None,
            new=f"{user.username} ({user.role.value})",
        )
        return user


def update_user(
    session: Session, user: User, changes: UserChanges, *, actor: User, now: datetime
) -> None:
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
            record_change(
                session,
                now=now,
                actor_id=actor.id,
                entity_type="user",
                entity_id=user.id,
                field=field,
                old=old,
                new=new,
            )
        user.display_name = changes.display_name.strip()
        user.email = email
        user.role = changes.role
        user.is_active = changes.is_active
        user.shops = shops


def reset_password(
    session: Session, user: User, password: str, *, actor_id: int | None, now: datetime
) -> None:
    with transaction(session):
        check_password_strength(password)
        user.set_password(password)
        # The hash itself never goes into the audit trail.
        record_change(
            session,
            now=now,
            actor_id=actor_id,
            entity_type="user",
            entity_id=user.id,
            field="password",
            old="***",
            new="reset",
        )


def authenticate(
    session: Session, username: str, password: str, *, now: datetime
) -> User | LoginFailure:
    """Check a login. After ``MAX_FAILED_LOGINS`` wrong passwords in a row the account is
    locked for ``LOCKOUT`` (even the right password is refused meanwhile, with the same
    message, so guessing cannot tell); unknown names cost the same hashing time as known
    ones, so timing does not tell which names exist."""
    with transaction(session):
        user = session.scalar(
            sa.select(User).where(sa.func.lower(User.username) == username.strip().lower())
        )
        if user is None:
            check_password_hash(_dummy_hash(), password)
            return LoginFailure.BAD_CREDENTIALS
        if user.locked_until is not None and user.locked_until > now:
            user.check_password(password)  # same work as any other attempt
            return LoginFailure.LOCKED
        if not user.check_password(password):
            user.failed_logins += 1
            locked = user.failed_logins >= MAX_FAILED_LOGINS
            if locked:
                user.locked_until, user.failed_logins = now + LOCKOUT, 0
                record_change(
                    session,
                    now=now,
                    actor_id=None,
                    entity_type="user",
                    entity_id=user.id,
                    field="locked_until",
                    old=None,
                    new=user.locked_until.isoformat(),
                )
            return LoginFailure.LOCKED if locked else LoginFailure.BAD_CREDENTIALS
        if not user.is_active:
            return LoginFailure.INACTIVE
        user.last_login_at = now
        user.failed_logins, user.locked_until = 0, None
        return user
