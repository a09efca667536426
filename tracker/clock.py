"""The one clock: UTC in storage, the shop's time zone on screen.

Services take ``now`` as an argument; only the edges (views, CLI, jobs) call
:func:`utcnow`, so tests can set the time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(value: datetime, tz: str | ZoneInfo) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return value.astimezone(zone)
