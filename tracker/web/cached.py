"""Figures that cost a lot to compute and may be a minute old, kept in the app's cache
(per worker, or shared through Redis: README "Production"), each stamped with when it
was computed so that the page can say so."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from redis.exceptions import RedisError

from tracker.clock import utcnow
from tracker.extensions import cache

log = logging.getLogger(__name__)
CACHE_DOWN = (RedisError, OSError)


class Computed(NamedTuple):
    value: Any
    at: datetime


def read(*keys: str) -> list[Any]:
    """The values under ``keys`` (None where missing). A shared cache that does not answer
    costs the page its speed, never the page itself: everything reads as missing."""
    try:
        return list(cache.get_many(*keys))
    except CACHE_DOWN as exc:
        log.warning("cache unreachable, computing directly: %s", exc)
        return [None] * len(keys)


def keep(values: dict[str, Any], timeout: int) -> None:
    try:
        cache.set_many(values, timeout=timeout)
    except CACHE_DOWN as exc:
        log.warning("cache unreachable, %d values not kept: %s", len(values), exc)


def computed(key: str, timeout: int, compute: Callable[[], Any]) -> Computed:
    """The cached value under ``key``, or ``compute()`` kept there for ``timeout`` s."""
    (hit,) = read(key)
    if hit is None:
        hit = Computed(compute(), utcnow())
        keep({key: hit}, timeout)
    return hit
