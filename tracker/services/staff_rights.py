"""Who may change whose working arrangements (不在岗, 班次, 调班): oneself; a supervisor, the
agents of the shops they work for; an admin, anyone. One rule for all, so a page that
offers one never refuses another."""

from __future__ import annotations

from datetime import timedelta

from tracker.models import User
from tracker.models.enums import Role
from tracker.services.errors import FieldError

# How far ahead leave and 调班 can be planned (a quarter: the holiday plan of a season).
FURTHEST_AHEAD = timedelta(days=92)


def check_may_set(
    user: User, actor: User, *, field: str = "last_day", what: str = "不在岗"
) -> None:
    """FieldError on ``field`` unless ``actor`` may set ``what`` for ``user``."""
    if actor.id == user.id or actor.role is Role.ADMIN:
        return
    if actor.role is Role.SUPERVISOR and user.role is Role.AGENT and user.shop_ids & actor.shop_ids:
        return
    raise FieldError(field, f"只能为自己，或为自己店铺的客服设置{what}。")
