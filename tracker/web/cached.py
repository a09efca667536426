"""Figures that cost a lot to compute and may be a minute old, kept in the app's cache
(per worker, or shared through Redis: README "Production"), each stamped with when it
was computed so that the page can say so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from tracker.clock import utcnow
from tracker.extensions import cache


class Computed(NamedTuple):
    value: Any
    at: datetime


def computed(key: str, timeout: int, compute: Callable[[], Any]) -> Computed:
    """The cached value under ``key``, or ``compute()`` stored there for ``timeout`` s."""
    hit = cache.get(key)
    if hit is None:
        hit = Computed(compute(), utcnow())
        cache.set(key, hit, timeout=timeout)
    return hit
