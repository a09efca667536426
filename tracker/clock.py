"""The one clock: UTC in storage, the shop's time zone on screen.

Services take ``now`` as an argument; only the edges (views, CLI, jobs) call
:func:`utcnow`, so tests can set the time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(value: datetime, tz: str | ZoneInfo) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return value.astimezone(zone)


def last_day_before(end: datetime, tz: tzinfo | None) -> date:
    """The last shop-time day of a period that ends at ``end`` (a midnight: a leave's
    moment back is the start of the day after its last day)."""
    return (end.astimezone(tz) - timedelta(microseconds=1)).date()


def whole_minute(moment: datetime) -> datetime:
    """``moment`` or the next whole minute: a time offered to staff (a next try, the first
    moment the contact policy allows) is shown and typed to the minute, so one carrying
    seconds read 15:48 while at 15:48 the two hours since 13:48:23 had not passed."""
    if moment.second or moment.microsecond:
        return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return moment


# The dates the tracker accepts from people and files. Beyond them lie no reviews, orders
# or periods of ours, only typos and probes (year 1, year 9999), which would overflow the
# arithmetic around them (a period's end plus a day, a local time made UTC).
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


OUT_OF_CALENDAR = f"日期应在 {EARLIEST} 到 {LATEST} 之间。"  # a form's or a report's date


def within_calendar(day: date) -> bool:
    return EARLIEST <= day <= LATEST


# Clocks drift: a review time up to this far ahead of ours is taken as it is; later, it is
# a broken record (its 30-day window would end in the future).
FUTURE_SLACK = timedelta(hours=1)
