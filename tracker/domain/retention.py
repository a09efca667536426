"""How long a shop keeps a buyer's personal data (个人信息保护法 art. 19: no longer than the
purpose needs; art. 47: delete it once the period is over). The purpose is after-sales and
the shop's own customer care, so the period runs from the buyer's last order, review or
case; a buyer with a case still open keeps theirs whatever the dates."""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_RETENTION_DAYS = 1095  # three years, what shops' privacy notices commonly promise
# A year at least: a review may be added to (追评) up to 180 days after the order on Taobao,
# and a case runs after that; ten years at most, since a longer period is no period.
MIN_RETENTION_DAYS = 365
MAX_RETENTION_DAYS = 3650
OUT_OF_RANGE = f"应在 {MIN_RETENTION_DAYS} 到 {MAX_RETENTION_DAYS} 天之间；留空表示不自动删除。"

REQUEST = "request"  # the buyer asked (tracker.services.erasure)
RETENTION = "retention"  # the shop's period passed (tracker.services.retention)


class RetentionError(ValueError):
    """A retention period out of bounds; the message says which."""


def checked_days(days: int | None) -> int | None:
    """The period to store, or None: kept until the buyer asks (not recommended)."""
    if days is None:
        return None
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise RetentionError(f"保存期限{OUT_OF_RANGE}")
    return days


def cutoff(now: datetime, days: int | None) -> datetime | None:
    """Activity before this moment no longer justifies keeping a buyer's data (None: the
    shop keeps it)."""
    return None if days is None else now - timedelta(days=days)


def why_label(why: str | None) -> str:
    """What the buyer page says about an erasure."""
    return "保存期满，自动删除" if why == RETENTION else "买家要求删除"
