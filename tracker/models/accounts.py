"""Staff accounts and the shops each one works for."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.dbtypes import JSONDocument
from tracker.extensions import db
from tracker.models.enums import LEADS, Role, ShiftRequestState

if TYPE_CHECKING:
    from tracker.models.shop import Shop

user_shops = sa.Table(
    "user_shops",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("shop_id", sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    email: Mapped[str | None] = mapped_column(sa.String(254))  # alerts by e-mail, if set
    # The agent's own phone, the A side of a privacy-number call (sealed like buyers'
    # numbers); the hint is what pages show.
    phone_sealed: Mapped[str | None] = mapped_column(sa.Text)
    phone_hint: Mapped[str | None] = mapped_column(sa.String(40))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Part of every session's and remember-me cookie's identity: raising it (logout, a
    # password reset, an admin's "sign out everywhere") makes every copy of them void.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when an admin chose the password (a new account, a reset): its owner must choose
    # their own before anything else; cleared by 修改密码.
    temporary_password_at: Mapped[datetime | None]
    # Away (leave, sick, training) until this moment, the start of the shop-time day after
    # their last day away: while it lies ahead, intake gives them no buyer's new case, nobody
    # can assign them one, and the alerts for their cases go to the supervisors
    # (tracker.services.availability).
    away_until: Mapped[datetime | None]
    # When that leave starts: the moment it was set, or the shop-time midnight of a first
    # day booked ahead (None on leave set before bookings existed: already started).
    away_from: Mapped[datetime | None]
    # A leave booked ahead hands the open cases over when it starts (the scheduler's
    # ``leave`` unit), not when it is booked: the agent works them until then.
    away_hand_over: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # 班次: the agent's own working periods and weekdays ({"periods": [["09:00", "15:00"]],
    # "weekdays": [0, 1, 2, 3, 4]}), on the shop's calendar of holidays; None works the
    # shop's hours. 自动分配 prefers whoever is on shift (tracker.services.shifts).
    shift: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)

    shops: Mapped[list[Shop]] = relationship(secondary=user_shops, order_by="Shop.name")
    # 调班: days worked otherwise than the 班次 says (today and ahead; earlier ones are
    # pruned as days are set). Loaded when a shift is read (tracker.services.shifts).
    shift_days: Mapped[list[ShiftDay]] = relationship(
        foreign_keys="ShiftDay.user_id",
        order_by="ShiftDay.day",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and signs into the remember cookie."""
        return f"{self.id}.{self.session_generation}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def leads(self) -> bool:
        """A supervisor or the admin (tracker.models.enums.LEADS)."""
        return self.role in LEADS

    @property
    def shop_ids(self) -> set[int]:
        return {shop.id for shop in self.shops}

    def is_away(self, now: datetime) -> bool:
        return (
            self.away_until is not None
            and self.away_until > now
            and (self.away_from is None or self.away_from <= now)
        )

    def is_booked_away(self, now: datetime) -> bool:
        """A leave is booked ahead: it starts after ``now``."""
        return (
            self.away_until is not None
            and self.away_until > now
            and self.away_from is not None
            and self.away_from > now
        )


class ShiftDay(db.Model):
    """One day an agent works otherwise than their 班次 (or the shop's hours) says: a
    Saturday of a sale worked 09:00-18:00, a swapped day off. A roster by date on top of a
    weekly pattern, the way a team plans its weeks."""

    __tablename__ = "shift_days"
    __table_args__ = (sa.UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date]  # in shop time
    # [["09:00", "18:00"]] worked that day; [] is a day off
    periods: Mapped[list[list[str]]] = mapped_column(JSONDocument)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime]


class ShiftRequest(db.Model):
    """An agent asking for a day worked otherwise (调班申请): a day off, other hours, or a
    swap of the day with a colleague, who agrees first. A supervisor decides; only then is
    the day set (:class:`ShiftDay`), so the roster never shows a wish as a plan."""

    __tablename__ = "shift_requests"
    __table_args__ = (
        sa.Index("ix_shift_requests_shop_id_state", "shop_id", "state"),
        sa.Index("ix_shift_requests_user_id_day", "user_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date]  # in shop time
    # the periods asked for that day ([] a day off); None for a swap, whose periods are the
    # two agents' own that day when it is decided
    periods: Mapped[list[list[str]] | None] = mapped_column(JSONDocument)
    swap_with_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # 换休: a second day the two swap in return (the asker works the colleague's hours
    # then); None for a swap of one day, and for other requests
    swap_day: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    state: Mapped[ShiftRequestState]
    created_at: Mapped[datetime]
    # who last moved it on (the colleague who said no, the supervisor who decided) and why
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    answer: Mapped[str] = mapped_column(sa.String(200), default="")

    shop: Mapped[Shop] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    swap_with: Mapped[User | None] = relationship(foreign_keys=[swap_with_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def days(self) -> tuple[date, ...]:
        """The days approving it would set: the day, and a 换休's day in return."""
        return (self.day,) if self.swap_day is None else (self.day, self.swap_day)


def at_work(now: datetime) -> sa.ColumnElement[bool]:
    """SQL: the user is not away at ``now`` (:attr:`User.away_until`, :attr:`User.away_from`);
    never NULL, so it can be negated."""
    return sa.or_(
        User.away_until.is_(None),
        User.away_until <= now,
        sa.and_(User.away_from.is_not(None), User.away_from > now),
    )


def agent_at_work(shop_id: int, now: datetime) -> sa.ColumnElement[bool]:
    """SQL: an active agent assigned to the shop ``shop_id`` and not away at ``now``: who
    can take its cases (自动分配) or be handed one (an alert whose owner is off)."""
    return sa.and_(
        User.role == Role.AGENT,
        User.is_active.is_(True),
        sa.exists().where(user_shops.c.user_id == User.id, user_shops.c.shop_id == shop_id),
        at_work(now),
    )


def works_for(shop_id: int | sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    """SQL: the user works for the shop ``shop_id`` (a value, or a column such as a case's
    shop): assigned to it, or an admin, who works every shop."""
    return sa.or_(
        User.role == Role.ADMIN,
        sa.exists().where(user_shops.c.user_id == User.id, user_shops.c.shop_id == shop_id),
    )


class LoginFailures(db.Model):
    """Wrong passwords in a row for one user name from one address (known names or not, so
    the answers cannot tell which names exist). Locking per address means an attacker
    locks out only themselves, never the real user logging in from elsewhere."""

    __tablename__ = "login_failures"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # lower-case
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
