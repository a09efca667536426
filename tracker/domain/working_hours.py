"""Deadlines counted in a shop's working hours.

A shop works in several periods a day (e.g. 09:00-12:00 and 13:30-22:00) on chosen
weekdays, except holidays, plus make-up working days (调休). Arithmetic happens in the
shop's time zone; results are aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MAX_DAYS = 3660  # a policy with no working time at all must not loop forever


class PolicyError(ValueError):
    """A working-hours setting is malformed; the message names the setting."""


@dataclass(frozen=True)
class WorkingHours:
    tz: ZoneInfo
    periods: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13, 30), time(22)))
    weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # make-up days (调休)

    def __post_init__(self) -> None:
        previous_end = time(0)
        for start, end in self.periods:
            if not start < end:
                raise PolicyError(f"working period {start:%H:%M}-{end:%H:%M} ends before it starts")
            if start < previous_end:
                raise PolicyError("working periods must be in order and must not overlap")
            previous_end = end
        if not self.periods:
            raise PolicyError("at least one working period is needed")
        if not self.weekdays:
            # 调休 make-up days are exceptions to a week, not a week: without a weekday the
            # deadlines of every case after the last of them could never be computed
            raise PolicyError("至少要有一个工作日（星期几）。")

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans from ``start`` on, in order, clipped to begin no earlier than it."""
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                for begin, end in self.periods:
                    span_start = datetime.combine(day, begin, tzinfo=self.tz)
                    span_end = datetime.combine(day, end, tzinfo=self.tz)
                    if span_end <= local:
                        continue
                    yield max(span_start, local), span_end
            day += timedelta(days=1)
        raise PolicyError(f"no working time within {MAX_DAYS} days")

    def check_reachable(self, start: datetime) -> None:
        """PolicyError unless working time comes within reach of ``start`` (holidays over a
        whole year would leave every deadline uncomputable)."""
        next(self._spans(start))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``start``."""
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        remaining = duration
        for span_start, span_end in self._spans(start):
            length = span_end - span_start
            if remaining <= length:
                if remaining == timedelta(0):
                    return span_start
                return span_start + remaining
            remaining -= length
        raise AssertionError("unreachable")  # _spans raises first

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end`` (zero when end is not after start)."""
        total = timedelta(0)
        if end <= start:
            return total
        for span_start, span_end in self._spans(start):
            if span_start >= end:
                break
            total += min(span_end, end) - span_start
        return total

    # -- stored form --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "periods": [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in self.periods],
            "weekdays": sorted(self.weekdays),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, tz: ZoneInfo) -> WorkingHours:
        if not data:
            return cls(tz=tz)
        try:
            periods = tuple((_time(a), _time(b)) for a, b in data.get("periods", []))
            return cls(
                tz=tz,
                periods=periods,
                weekdays=frozenset(int(d) for d in data.get("weekdays", range(7))),
                holidays=_dates(data.get("holidays", [])),
                workdays=_dates(data.get("workdays", [])),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, PolicyError):
                raise
            raise PolicyError(f"working hours setting is malformed: {exc}") from exc


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text) if text != "24:00" else time(23, 59, 59, 999999)
    except ValueError as exc:
        raise PolicyError(f"{text!r} is not a time of day (HH:MM)") from exc


def _dates(values: Iterable[str]) -> frozenset[date]:
    out = set()
    for value in values:
        try:
            out.add(date.fromisoformat(value))
        except ValueError as exc:
            raise PolicyError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return frozenset(out)
