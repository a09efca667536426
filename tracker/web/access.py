"""Who may see what: roles per route, shops per user."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from flask import abort, g, has_request_context, request, session, url_for
from flask_login import current_user

from tracker.extensions import db
from tracker.models import Shop
from tracker.models.accounts import user_shops
from tracker.models.enums import Role
from tracker.models.shop import shop_matches
from tracker.web.inputs import parse_id

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


def shops_query(q: str = "") -> sa.Select[tuple[Shop]]:
    """The shops the user may see, by name — admins every shop, everyone else the active
    shops they are assigned to — matching ``q`` (name or code). The one statement of who
    sees which shop: listing, switching and every shop_or_404 go through it."""
    stmt = sa.select(Shop).order_by(Shop.name, Shop.id)
    if current_user.role != Role.ADMIN:
        stmt = stmt.join(user_shops, user_shops.c.shop_id == Shop.id).where(
            user_shops.c.user_id == current_user.id, Shop.is_active.is_(True)
        )
    if q:
        stmt = stmt.where(shop_matches(q))
    return stmt


SWITCHER_LIMIT = 30  # more shops than this: the bar links to a searchable list instead


def switcher_shops() -> tuple[list[Shop], int]:
    """For the navigation bar: the shops to offer in its drop-down (none when there are
    more than ``SWITCHER_LIMIT``) and how many the user may see. Once per request: a page
    that offers the same shops in a form (话术) asks too."""
    key = current_user.get_id()
    cached = g.get("switcher_shops")
    if cached is None or cached[0] != key:
        shops = db.session.scalars(shops_query().limit(SWITCHER_LIMIT + 1)).all()
        if len(shops) <= SWITCHER_LIMIT:
            found = (list(shops), len(shops))
        else:
            count = db.session.scalar(
                sa.select(sa.func.count()).select_from(shops_query().subquery())
            )
            found = ([], int(count or 0))
        cached = g.switcher_shops = (key, found)
    return cached[1]


def current_shop() -> Shop | None:
    """The shop chosen in the navigation bar, defaulting to the first one the user may see
    (by name). Looked up by its id, once per request: every page asks, and an admin of a
    host with thousands of shops must not load them all for it."""
    chosen = session.get("shop_id")
    key = (current_user.get_id(), chosen)  # an app context may outlive a request (tests)
    cached = g.get("current_shop")
    if cached is None or cached[0] != key:
        shop = shop_if_visible(chosen) if isinstance(chosen, int) else None
        cached = g.current_shop = (key, shop or db.session.scalar(shops_query().limit(1)))
    return cached[1]


def visible_shop_ids() -> sa.Select[tuple[int]]:
    """The ids of the shops the user may see, as a subquery for ``in_``: filtering by them
    loads no shop (an admin of a host with thousands of shops)."""
    return shops_query().with_only_columns(Shop.id).order_by(None)


def shop_if_visible(shop_id: int) -> Shop | None:
    if parse_id(shop_id) is None:  # a form's number may be any size; a row id is not
        return None
    return db.session.scalar(shops_query().where(Shop.id == shop_id))


PAGE_SHOP = "tracker.page_shop"  # WSGI environ key: per request, even where tests share ``g``


def shop_or_404(shop_id: int) -> Shop:
    """Another shop's data is answered with 404, so its existence is not revealed. The shop
    found is the page's: the navigation bar names it (:func:`nav_shop`)."""
    shop = shop_if_visible(shop_id)
    if shop is None:
        abort(404)
    if has_request_context():
        request.environ[PAGE_SHOP] = shop
    return shop


def page_shop() -> Shop | None:
    """The shop this request's page is about, if :func:`shop_or_404` found one."""
    return request.environ.get(PAGE_SHOP) if has_request_context() else None


def nav_shop() -> Shop | None:
    """The shop the navigation bar names: the one the page shows (a case, another shop's
    settings), else the one chosen. Naming the chosen shop above another shop's model page
    read as if the figures were the chosen shop's."""
    return page_shop() or current_shop()


def nav_switch_next() -> str:
    """Where switching shops goes from this page: the chosen shop's home page from a page of
    one of another shop's records (a case, a review), which the switch cannot show for the
    chosen shop; nothing (back to the page) otherwise, as ``switch_shop`` decides."""
    if page_shop() is None or "shop_id" in (request.view_args or {}):
        return ""
    return url_for("home.index")
