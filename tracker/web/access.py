"""Who may see what: roles per route, shops per user."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from flask import abort, session
from flask_login import current_user

from tracker.extensions import db
from tracker.models import Shop
from tracker.models.enums import Role

P = ParamSpec("P")
R = TypeVar("R")


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """403 for a logged-in user without one of ``roles`` (login itself is enforced globally)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated or current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def accessible_shops() -> list[Shop]:
    """Admins see every shop; everyone else the shops they are assigned to."""
    if current_user.role == Role.ADMIN:
        return list(db.session.scalars(sa.select(Shop).order_by(Shop.name)))
    return [shop for shop in current_user.shops if shop.is_active]


def current_shop() -> Shop | None:
    """The shop chosen in the navigation bar, defaulting to the first one the user may see."""
    shops = accessible_shops()
    chosen = session.get("shop_id")
    for shop in shops:
        if shop.id == chosen:
            return shop
    return shops[0] if shops else None


def shop_or_404(shop_id: int) -> Shop:
    """Another shop's data is answered with 404, so its existence is not revealed."""
    for shop in accessible_shops():
        if shop.id == shop_id:
            return shop
    abort(404)
