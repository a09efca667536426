"""变更记录 of a staff account or a shop, as people read it.

The audit trail stores what changed as the code names it (``role``: agent → supervisor,
``away``: two ISO moments, ``deadline_policy``: a JSON object), so that it stays exact and
machine-readable. The user and shop pages show the same rows in words, in shop time, with
who did it: 角色：客服 → 主管, 不在岗：12-09 至 12-11（含）, 首次联系时限：差评 4 → 2 小时.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.clock import last_day_before
from tracker.domain.working_hours import (
    WEEKDAY_NAMES,
    PolicyError,
    day_label,
    describe_periods,
    parse_periods,
)
from tracker.models import AuditEvent, MessageTemplate, User
from tracker.models.enums import Platform, Role
from tracker.services.shifts import DAY_OFF, SHIFT_DAY, describe


@dataclass(frozen=True)
class Change:
    at: datetime
    by: str  # who did it, or 系统
    what: str
    old: str | None
    new: str | None


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def local_moment(value: str, tz: ZoneInfo) -> str:
    """An ISO moment as a person reads it in shop time (2026-12-01T03:00:00+00:00 →
    12-01 11:00); any other text as it is."""
    if not _ISO.match(value):
        return value
    try:
        return datetime.fromisoformat(value).astimezone(tz).strftime("%m-%d %H:%M")
    except ValueError:
        return value


def _day_before(value: str, tz: ZoneInfo) -> str:
    """The last day of a period ending at the midnight ``value``, as 12-11."""
    return f"{last_day_before(datetime.fromisoformat(value), tz):%m-%d}"


def _leave(value: str, tz: ZoneInfo) -> str:
    """``start/back`` (``availability.period_text``) → 12-09 至 12-11（含）."""
    start, _, back = value.partition("/")
    try:
        first = f"{datetime.fromisoformat(start).astimezone(tz):%m-%d} 至 " if start else "至 "
        return f"{first}{_day_before(back, tz)}（含）"
    except ValueError:
        return value


def _back_at(value: str, tz: ZoneInfo) -> str:
    """Leave stored before bookings (``away_until``: the moment back) → 至 12-11（含）."""
    try:
        return f"至 {_day_before(value, tz)}（含）"
    except ValueError:
        return value


def _lock(value: str, tz: ZoneInfo) -> str:
    """``<until> (<address>)`` → 锁定至 12-01 11:30（来自 1.2.3.4）; ``unlocked`` → 已解除."""
    if value == "unlocked":
        return "已解除"
    until, _, address = value.partition(" (")
    if not _ISO.match(until):
        return value
    where = f"（来自 {address.rstrip(')')}）" if address else ""
    return f"锁定至 {local_moment(until, tz)}{where}"


def _shift(value: str | None) -> str:
    """A stored shift (JSON) or none → 周一至周五 09:00–15:00 / 按店铺工作时间."""
    try:
        shift = json.loads(value) if value else None
    except ValueError:
        return value or ""
    return describe(shift if isinstance(shift, dict) else None)


def _day_label(value: str) -> str:
    """2026-12-05 → 12-05 周六 (anything else as it is)."""
    try:
        return day_label(date.fromisoformat(value))
    except ValueError:
        return value


def _shift_day(value: str | None) -> str:
    """A 调班's stored value → 休息 / 09:00–18:00 / 按班次 (none: the day follows the 班次)."""
    if value is None:
        return "按班次"
    if value == DAY_OFF:
        return "休息"
    try:
        return describe_periods(parse_periods(value))  # stored as periods_text() wrote it
    except PolicyError:
        return value


def _enum(kind: type[Role] | type[Platform]) -> Callable[[str, ZoneInfo], str]:
    def label(value: str, tz: ZoneInfo) -> str:
        try:
            return kind(value).label
        except ValueError:
            return value

    return label


def _words(table: dict[str, str]) -> Callable[[str, ZoneInfo], str]:
    return lambda value, tz: table.get(value, value)


def _created_user(value: str, tz: ZoneInfo) -> str:
    """``kefu1 (agent)`` → kefu1（客服）."""
    name, _, role = value.partition(" (")
    return f"{name}（{_enum(Role)(role.rstrip(')'), tz)}）" if role else value


_ON_OFF = _words({"True": "开", "False": "关"})
_ACTIVE = _words({"True": "启用", "False": "停用"})

# Keys of the shop settings kept as JSON objects, and how each reads.
_KEYS: dict[str, dict[str, str]] = {
    "working_hours": {
        "periods": "时段",
        "weekdays": "工作日",
        "holidays": "休息日",
        "workdays": "调休上班",
        "dated": "特殊营业时间",
    },
    "deadline_policy": {
        "bad_hours": "差评（工作小时）",
        "neutral_hours": "中评（工作小时）",
        "hidden_negative_hours": "隐性差评（工作小时）",
    },
    "contact_policy": {
        "day_starts": "最早",
        "day_ends": "最晚",
        "per_day": "每天最多",
        "per_week": "每周最多",
        "min_gap_minutes": "间隔（分钟）",
    },
    "member_levels": {"basis": "依据", "thresholds": "门槛", "discounts": "折扣"},
}


def _item(key: str, value: object) -> str:
    if value is None or value == []:
        return "无"
    if key == "weekdays" and isinstance(value, list):
        return "、".join(
            f"周{WEEKDAY_NAMES[d]}" for d in value if isinstance(d, int) and 0 <= d < 7
        )
    if key == "dated" and isinstance(value, dict):  # 特殊营业时间: a day and its periods
        return "；".join(f"{day} {describe_periods(p)}" for day, p in value.items())
    if key == "basis":
        return {"spend": "消费金额", "orders": "订单数"}.get(str(value), str(value))
    if isinstance(value, list):
        return "、".join("–".join(map(str, v)) if isinstance(v, list) else str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _settings_diff(field: str, old: str | None, new: str | None) -> tuple[str | None, str | None]:
    """Only the keys that changed, each in words: 差评（工作小时） 4 → 2."""
    try:
        before = json.loads(old) if old else {}
        after = json.loads(new) if new else {}
    except ValueError:
        return old, new
    if not isinstance(before, dict) or not isinstance(after, dict):
        return old, new
    labels = _KEYS.get(field, {})
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]

    def side(values: dict[str, object]) -> str | None:
        if not values:
            return None
        return "；".join(f"{labels.get(k, k)} {_item(k, values.get(k))}" for k in keys) or None

    return side(before), side(after)


# field → (label, how a stored value reads); fields not listed show as stored.
_USER_FIELDS: dict[str, tuple[str, Callable[[str, ZoneInfo], str] | None]] = {
    "created": ("创建账号", _created_user),
    "display_name": ("姓名", None),
    "email": ("邮箱", None),
    "role": ("角色", _enum(Role)),
    "is_active": ("账号", _ACTIVE),
    "shops": ("店铺", None),
    "password": (
        "密码",
        _words({"***": "（旧密码）", "reset": "管理员重置", "changed by the user": "本人修改"}),
    ),
    "phone": ("本人手机（隐私号外呼）", None),
    "locked_until": ("登录锁定", _lock),
    "sessions": (
        "登录",
        _words(
            {
                "signed out everywhere: admin": "管理员让所有登录失效",
                "signed out everywhere: logout": "退出登录（所有设备）",
                "signed out everywhere: password reset": "重置密码，所有登录失效",
                "signed out everywhere: password changed": "修改密码，其他登录失效",
            }
        ),
    ),
    "away": ("不在岗", _leave),
    "shift": ("班次", None),
    "away_until": ("不在岗", _back_at),
}
_SHOP_FIELDS: dict[str, tuple[str, Callable[[str, ZoneInfo], str] | None]] = {
    "created": ("创建店铺", None),
    "code": ("店铺代码", None),
    "name": ("名称", None),
    "platform": ("平台", _enum(Platform)),
    "platform_seller_id": ("平台卖家 ID", None),
    "is_active": ("店铺", _ACTIVE),
    "working_hours": ("工作时间", None),
    "deadline_policy": ("首次联系时限", None),
    "contact_policy": ("联系买家的规则", None),
    "member_levels": ("会员等级", None),
    "pull_interval_minutes": ("拉取评价间隔（分钟）", None),
    "personal_data_retention_days": ("个人信息保存（天）", None),
    "survey_template_id": ("回访短信模板", None),
    "api_token": ("推送接口令牌", None),
    "credentials": ("平台授权", None),
    "sentiment_model": ("本店情感模型", None),
    "auto_assign": ("自动分配", _ON_OFF),
    "level_sync": ("会员等级同步到平台", _ON_OFF),
}
_PROVIDER = "provider:"
_TEMPLATE = "survey_template_id"


def _entry(
    fields: dict[str, tuple[str, Callable[[str, ZoneInfo], str] | None]],
    event: AuditEvent,
    by: str | None,
    tz: ZoneInfo,
) -> Change:
    field, old, new = event.field, event.old_value, event.new_value
    if field.startswith(_PROVIDER):
        label, reads = f"服务商账号（{field.removeprefix(_PROVIDER)}）", None
    elif field.startswith(SHIFT_DAY):
        label = f"调班（{_day_label(field.removeprefix(SHIFT_DAY))}）"
        return Change(event.occurred_at, by or "系统", label, *map(_shift_day, (old, new)))
    else:
        label, reads = fields.get(field, (field, None))
    if field in _KEYS:
        old, new = _settings_diff(field, old, new)
    elif field == "shift":  # none is a setting too: the shop's hours
        old, new = (_shift(v) for v in (old, new))
    else:
        say = reads or local_moment
        old, new = (say(v, tz) if v is not None else None for v in (old, new))
    return Change(event.occurred_at, by or "系统", label, old, new)


def _changes(
    session: Session,
    entity_type: str,
    entity_id: int,
    fields: dict[str, tuple[str, Callable[[str, ZoneInfo], str] | None]],
    tz: ZoneInfo,
    limit: int,
) -> list[Change]:
    rows = session.execute(
        sa.select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    # the survey's message template is stored by id: say its name
    ids = {
        int(v)
        for event, _ in rows
        if event.field == _TEMPLATE
        for v in (event.old_value, event.new_value)
        if v and v.isdigit()
    }
    names = {
        str(i): f"{name}（#{i}）"
        for i, name in session.execute(
            sa.select(MessageTemplate.id, MessageTemplate.name).where(MessageTemplate.id.in_(ids))
        )
    }
    fields = {**fields, _TEMPLATE: (fields[_TEMPLATE][0], _words(names))} if names else fields
    return [_entry(fields, event, by, tz) for event, by in rows]


def of_user(session: Session, user_id: int, tz: ZoneInfo, *, limit: int = 50) -> list[Change]:
    """A staff account's changes, newest first."""
    return _changes(session, "user", user_id, _USER_FIELDS, tz, limit)


def of_shop(session: Session, shop_id: int, tz: ZoneInfo, *, limit: int = 50) -> list[Change]:
    """A shop's setting changes, newest first."""
    return _changes(session, "shop", shop_id, _SHOP_FIELDS, tz, limit)
