"""Percentiles as every bench reports them: the nearest rank, never a value below it.

Each bench once spelled its own, and most took the lower of two ranks (of 30 runs, p95 was
the 28th slowest from the bottom instead of the 29th), which reads a target as met a run
sooner than it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The smallest value at or above which a share ``q`` of ``values`` lies (nearest rank:
    p95 of 20 runs is the 19th, of 30 the 29th; p50 of an even count, the lower middle)."""
    if not values:
        raise ValueError("no values: a percentile of nothing is not a figure")
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], not {q}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
