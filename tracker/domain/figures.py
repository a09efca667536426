"""The supervisors' figures from per-case facts. Pure: no database, no Flask.

Every figure is defined here once, so the dashboard, the trends, the agent view and the
exports cannot disagree. The facts are columns (numpy arrays, one row per case) because a
dashboard reads tens of thousands of cases per view and groups them many ways. Quantiles
interpolate linearly between order statistics (numpy's default, Excel's PERCENTILE.INC):
the median of 1, 2, 3, 10 hours is 2.5 hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

NAN = float("nan")


@dataclass(frozen=True)
class FactTable:
    """Per-case facts as columns. Durations are seconds, NaN when it has not happened."""

    wait_s: np.ndarray  # opened -> first attempt, wall clock
    wait_work_s: np.ndarray  # the same in the shop's working time
    talk_s: np.ndarray  # opened -> first real conversation
    talk_work_s: np.ndarray
    recovery_s: np.ndarray  # opened -> closed, recovered cases only
    on_time: np.ndarray  # 1 first attempt by its deadline, 0 missed, NaN still undecided
    is_open: np.ndarray  # bool
    recovered: np.ndarray  # bool: the platform shows it revised, deleted or followed up happily
    overdue_now: np.ndarray  # bool: open, never attempted, deadline passed
    attempts: np.ndarray
    manual: np.ndarray  # bool: closed as recovered on a supervisor's word (not verified)
    promise_broken: np.ndarray  # bool: promised, and the window ended without the change
    satisfied: np.ndarray  # bool: problem solved, the review unchanged (买家满意但未改评)
    false_alarm: np.ndarray  # bool: dismissed as 误报: outside every other figure
    removed: np.ndarray  # bool: removed by the platform on appeal: outside every other figure
    remedy_cost: np.ndarray
    suggested: np.ndarray
    mentioned: np.ndarray
    converted: np.ndarray  # mentioned and ordered within 30 days after the call

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[float | None]] | np.ndarray) -> FactTable:
        """Rows in field order; None becomes NaN."""
        names = list(cls.__dataclass_fields__)
        columns = np.array(rows, dtype=float).reshape(len(rows), len(names)).T
        values = dict(zip(names, columns, strict=True))
        for flag in (
            "is_open",
            "recovered",
            "overdue_now",
            "manual",
            "promise_broken",
            "satisfied",
        ):
            values[flag] = values[flag] == 1
        return cls(**values)

    def __len__(self) -> int:
        return len(self.attempts)


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile, in hours, over ``n`` cases."""

    n: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Figures:
    cases: int
    wait: Spread
    wait_work: Spread
    talk: Spread
    talk_work: Spread
    on_time: int
    judged: int  # cases whose first-contact deadline is decided (met or missed)
    overdue_now: int
    closed: int
    recovered: int  # verified by the platform
    recovery: Spread
    attempts: int
    remedy_cost: Decimal
    suggested: int
    mentioned: int
    converted: int
    recovered_manual: int = 0  # a supervisor's word: reported apart, never in the rates
    promises_broken: int = 0
    satisfied_unchanged: int = 0
    false_alarms: int = 0  # not in ``cases`` nor any figure above
    appeals_removed: int = 0  # likewise

    @property
    def on_time_share(self) -> float | None:
        return _share(self.on_time, self.judged)

    @property
    def recovery_rate_closed(self) -> float | None:
        return _share(self.recovered, self.closed)

    @property
    def recovery_rate_all(self) -> float | None:
        return _share(self.recovered, self.cases)

    @property
    def attempts_per_case(self) -> float | None:
        return self.attempts / self.cases if self.cases else None

    @property
    def cost_per_recovered(self) -> Decimal | None:
        if not self.recovered:
            return None
        return (self.remedy_cost / self.recovered).quantize(Decimal("0.01"))

    @property
    def mention_rate(self) -> float | None:
        return _share(self.mentioned, self.suggested)

    @property
    def conversion_rate(self) -> float | None:
        """Of the suggestions mentioned on a call, the share the buyer ordered within 30 days."""
        return _share(self.converted, self.mentioned)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def quantile(ordered: np.ndarray, q: float) -> float:
    """Linear interpolation between order statistics of an ascending, non-empty array
    (np.quantile's default, without its per-call overhead: trends call this hundreds of
    times per view)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def spread(seconds: np.ndarray) -> Spread:
    hours = np.sort(seconds[~np.isnan(seconds)]) / 3600
    if not len(hours):
        return Spread(0, None, None)
    return Spread(len(hours), quantile(hours, 0.5), quantile(hours, 0.9))


def figures(table: FactTable, rows: np.ndarray | slice | None = None) -> Figures:
    """The figures over all cases, or over ``rows`` (a mask, row indexes or a slice). False
    alarms and reviews removed on appeal are counted, and left out of everything else."""
    every = table if rows is None else _take(table, rows)
    apart = every.false_alarm.astype(bool) | every.removed.astype(bool)
    t = _take(every, ~apart) if apart.any() else every
    decided = ~np.isnan(t.on_time)
    return Figures(
        cases=len(t),
        wait=spread(t.wait_s),
        wait_work=spread(t.wait_work_s),
        talk=spread(t.talk_s),
        talk_work=spread(t.talk_work_s),
        on_time=int(np.sum(t.on_time[decided] == 1)),
        judged=int(np.sum(decided)),
        overdue_now=int(np.sum(t.overdue_now)),
        closed=int(np.sum(~t.is_open)),
        recovered=int(np.sum(t.recovered)),
        recovery=spread(t.recovery_s[t.recovered]),
        attempts=int(np.sum(t.attempts)),
        remedy_cost=Decimal(f"{float(np.sum(t.remedy_cost)):.2f}"),
        suggested=int(np.sum(t.suggested)),
        mentioned=int(np.sum(t.mentioned)),
        converted=int(np.sum(t.converted)),
        recovered_manual=int(np.sum(t.manual)),
        promises_broken=int(np.sum(t.promise_broken)),
        satisfied_unchanged=int(np.sum(t.satisfied)),
        false_alarms=int(np.sum(every.false_alarm)),
        appeals_removed=int(np.sum(every.removed)),
    )


def per_bucket(table: FactTable, buckets: np.ndarray, count: int) -> list[Figures]:
    """Figures for each bucket 0..count-1 (days, weeks): one reordering, then slices."""
    order = np.argsort(buckets, kind="stable")
    ordered = _take(table, order)
    bounds = np.searchsorted(buckets[order], np.arange(count + 1))
    return [figures(ordered, slice(bounds[b], bounds[b + 1])) for b in range(count)]


def _take(table: FactTable, rows: np.ndarray | slice) -> FactTable:
    return FactTable(**{name: getattr(table, name)[rows] for name in table.__dataclass_fields__})
