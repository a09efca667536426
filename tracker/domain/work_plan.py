"""When background work is due, and how it backs off: plain arithmetic, no database.

Pulls are spread over each shop's interval by a fixed per-shop phase, so 5,000 shops on a
10-minute interval arrive as about eight pulls a second instead of 5,000 at the top of the
minute. A task carries the time it was due; any run that *started* at or after that time
covered it, which is what makes a redelivered task a no-op.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# A unit that failed this many times in a row is parked until an admin resumes it; by
# then it has been retried for about four hours (1, 2, 4 … 60 minutes apart).
PARK_AFTER = 8
FAILURE_DELAY_FIRST = timedelta(minutes=1)
FAILURE_DELAY_MAX = timedelta(hours=1)
# A platform app that says "too many calls" rests at least this long, doubling while it
# keeps saying so.
THROTTLE_FIRST = timedelta(seconds=15)
THROTTLE_MAX = timedelta(minutes=10)


@dataclass(frozen=True)
class Lease:
    """How long a worker may hold a unit without renewing it before another may take it
    over (the holder is presumed dead). Pulls renew after every stored window."""

    ttl: timedelta


def phase(shop_id: int, interval: timedelta) -> timedelta:
    """The shop's fixed offset inside its interval, the same on every machine."""
    seconds = max(int(interval.total_seconds()), 1)
    return timedelta(seconds=zlib.crc32(f"shop:{shop_id}".encode()) % seconds)


def latest_due(now: datetime, shop_id: int, interval: timedelta) -> datetime:
    """The most recent moment at or before ``now`` that the shop's pull was due."""
    offset = phase(shop_id, interval)
    elapsed = now - EPOCH - offset
    slots = elapsed // interval
    return EPOCH + offset + slots * interval


def tick(now: datetime, every: timedelta) -> datetime:
    """``now`` floored to a whole ``every``: the due time of a periodic job's run."""
    return EPOCH + ((now - EPOCH) // every) * every


def failure_delay(failures: int) -> timedelta:
    """1, 2, 4 … minutes after the n-th failure in a row, at most an hour."""
    if failures <= 0:
        return timedelta(0)
    return min(FAILURE_DELAY_FIRST * (2 ** min(failures - 1, 16)), FAILURE_DELAY_MAX)


def throttle_delay(hits: int, retry_after: float | None) -> timedelta:
    """The platform's own figure when it gives one, else 15 s doubling per hit in a row."""
    guessed = min(THROTTLE_FIRST * (2 ** min(max(hits - 1, 0), 16)), THROTTLE_MAX)
    if retry_after is not None and retry_after > 0:
        return max(timedelta(seconds=retry_after), timedelta(seconds=1))
    return guessed


_BAN_SECONDS = re.compile(r"last for (\d+) more seconds?", re.IGNORECASE)


def ban_seconds(message: str) -> float | None:
    """TOP's sub_msg "This ban will last for 31 more seconds" → 31."""
    match = _BAN_SECONDS.search(message or "")
    return float(match.group(1)) if match else None
