"""Deadlines counted in a shop's working hours.

A shop works in several periods a day (e.g. 09:00-12:00 and 13:30-22:00) on chosen
weekdays, except holidays, plus make-up working days (调休). A day may also have periods of
its own (an agent's 调班: this Saturday 09:00-18:00, or off). An agent's weeks may take
turns (轮班: the early shift one week, the late one the next; 大小周). Arithmetic happens in
the shop's time zone; results are aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.clock import EARLIEST, LATEST, within_calendar

MAX_DAYS = 3660  # a policy with no working time at all must not loop forever

Periods = tuple[tuple[time, time], ...]


class PolicyError(ValueError):
    """A working-hours setting is malformed; the message names the setting, ``about`` which
    part of it (``periods``, ``weekdays``) a form shows it under."""

    def __init__(self, message: str, about: str = "periods") -> None:
        super().__init__(message)
        self.about = about


def check_periods(periods: Periods) -> None:
    """PolicyError unless each period ends after it starts, in order, without overlap."""
    previous_end = time(0)
    for start, end in periods:
        if not start < end:
            raise PolicyError(f"时段 {start:%H:%M}-{end:%H:%M} 的结束早于开始。")
        if start < previous_end:
            raise PolicyError("时段须按先后顺序填写，且不能重叠。")
        previous_end = end


LONGEST_ROTATION = 4  # weeks: 早/晚 is two, 早/中/晚 three; a team plans no further ahead


@dataclass(frozen=True)
class Week:
    """One week's shape in a rotation: its periods on its weekdays."""

    periods: Periods
    weekdays: frozenset[int]


@dataclass(frozen=True)
class WorkingHours:
    tz: ZoneInfo
    periods: Periods = ((time(9), time(12)), (time(13, 30), time(22)))
    weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # make-up days (调休)
    # A day's own periods instead of the week's, holidays included (empty: no work that
    # day): a shop's 特殊营业时间 (双11 until midnight, 除夕 until noon), an agent's 调班.
    dated: Mapping[date, Periods] = field(default_factory=dict, hash=False)
    # 轮班: the weeks after the first (``periods`` on ``weekdays``), taking turns week by
    # week; the week that begins on ``rotation_from`` (a Monday) is a first week
    rotation: tuple[Week, ...] = ()
    rotation_from: date | None = None

    def __post_init__(self) -> None:
        for week in (Week(self.periods, self.weekdays), *self.rotation):
            check_periods(week.periods)
            if not week.periods:
                raise PolicyError("至少要有一个工作时段。")
            if not week.weekdays:
                # 调休 make-up days are exceptions to a week, not a week: without a weekday
                # the deadlines of every case after the last of them could never be computed
                raise PolicyError("至少要有一个工作日（星期几）。", about="weekdays")
        if self.rotation:
            if len(self.rotation) >= LONGEST_ROTATION:
                raise PolicyError(f"轮班最多 {LONGEST_ROTATION} 周一轮。", about="rotation")
            if self.rotation_from is None or self.rotation_from.weekday() != 0:
                raise PolicyError("轮班要从某个周一算起。", about="rotation")
        for periods in self.dated.values():
            check_periods(periods)

    def week_number(self, day: date) -> int:
        """Which week of the rotation ``day`` falls in, from 1 (always 1 without one)."""
        if not self.rotation or self.rotation_from is None:
            return 1
        return rotation_week(self.rotation_from, day, len(self.rotation) + 1)

    def week_of(self, day: date) -> Week:
        """The shape of the week ``day`` falls in."""
        number = self.week_number(day)
        return Week(self.periods, self.weekdays) if number == 1 else self.rotation[number - 2]

    def is_working_day(self, day: date) -> bool:
        if day in self.dated:
            return bool(self.dated[day])
        if day in self.workdays:
            return True
        return day.weekday() in self.week_of(day).weekdays and day not in self.holidays

    def periods_on(self, day: date) -> Periods:
        """The periods worked on ``day``: none on a day off, its own on a dated day."""
        if not self.is_working_day(day):
            return ()
        return self.dated.get(day, self.week_of(day).periods)

    def from_day(self, today: date) -> WorkingHours:
        """These hours with the holidays, make-up days and special days before ``today``
        left out: what a form lists, so a shop's calendar does not grow year after year."""
        return replace(
            self,
            holidays=frozenset(d for d in self.holidays if d >= today),
            workdays=frozenset(d for d in self.workdays if d >= today),
            dated={d: p for d, p in self.dated.items() if d >= today},
        )

    def past_days(self, today: date) -> int:
        """How many of the calendar's days (holidays, make-up days, special days) are
        before ``today``."""
        days = self.holidays | self.workdays | frozenset(self.dated)
        return sum(1 for d in days if d < today)

    def keeping_past(self, before: WorkingHours, today: date) -> WorkingHours:
        """These hours (as a form typed them, from ``today`` on) with ``before``'s calendar
        days before ``today`` kept: a past holiday still counts for what was measured then
        (a deadline, a response time), though the form no longer lists it."""
        return replace(
            self,
            holidays=self.holidays | {d for d in before.holidays if d < today},
            workdays=self.workdays | {d for d in before.workdays if d < today},
            dated={**{d: p for d, p in before.dated.items() if d < today}, **self.dated},
        )

    def _spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans from ``start`` on, in order, clipped to begin no earlier than it."""
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            for begin, end in self.periods_on(day):
                span_start = datetime.combine(day, begin, tzinfo=self.tz)
                span_end = datetime.combine(day, end, tzinfo=self.tz)
                if span_end <= local:
                    continue
                yield max(span_start, local), span_end
            day += timedelta(days=1)
        raise PolicyError(f"{MAX_DAYS} 天内没有任何工作时间（节假日覆盖了所有工作日）。")

    def check_reachable(self, start: datetime) -> None:
        """PolicyError unless working time comes within reach of ``start`` (holidays over a
        whole year would leave every deadline uncomputable)."""
        next(self._spans(start))

    def next_start(self, moment: datetime) -> datetime:
        """``moment`` itself when it falls in working time, else when working time next
        begins (who can act on a case soonest)."""
        return self.add(moment, timedelta(0))

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
        stored: dict[str, Any] = {
            "periods": stored_periods(self.periods),
            "weekdays": sorted(self.weekdays),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }
        if self.dated:  # absent when none, as settings were stored before it
            days = sorted(self.dated.items())
            stored["dated"] = {day.isoformat(): stored_periods(p) for day, p in days}
        if self.rotation and self.rotation_from is not None:  # absent when none, likewise
            stored["rotation"] = {
                "from": self.rotation_from.isoformat(),
                "weeks": [
                    {"periods": stored_periods(w.periods), "weekdays": sorted(w.weekdays)}
                    for w in self.rotation
                ],
            }
        return stored

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, tz: ZoneInfo) -> WorkingHours:
        if not data:
            return cls(tz=tz)
        try:
            periods = read_periods(data.get("periods", []))
            return cls(
                tz=tz,
                periods=periods,
                weekdays=frozenset(int(d) for d in data.get("weekdays", range(7))),
                holidays=_dates(data.get("holidays", [])),
                workdays=_dates(data.get("workdays", [])),
                dated={
                    _day(day): read_periods(periods)
                    for day, periods in dict(data.get("dated") or {}).items()
                },
                **_rotation(data.get("rotation")),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, PolicyError):
                raise
            raise PolicyError(f"工作时间的设置格式不对：{exc}") from exc


def rotation_week(since: date, day: date, weeks: int) -> int:
    """The week (from 1) of a ``weeks``-week rotation whose first week began on ``since``
    that ``day`` falls in; days before ``since`` count back in the same turn."""
    return (day - since).days // 7 % weeks + 1


def _rotation(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored ``rotation`` ({"from": Monday, "weeks": [{periods, weekdays}]}) as the
    arguments of :class:`WorkingHours`."""
    if not stored:
        return {}
    weeks = tuple(
        Week(read_periods(w.get("periods", [])), frozenset(int(d) for d in w.get("weekdays", [])))
        for w in stored.get("weeks", [])
    )
    return {"rotation": weeks, "rotation_from": _day(stored.get("from", ""))}


def gaps(needed: Periods, worked: Iterable[Periods]) -> Periods:
    """The parts of ``needed`` (a shop's periods on a day) that none of ``worked`` (each
    agent's periods that day) covers: the hours whose new cases nobody on shift takes."""
    covered = sorted(period for periods in worked for period in periods)
    uncovered: list[tuple[time, time]] = []
    for start, end in needed:
        cursor = start
        for begin, finish in covered:
            if finish <= cursor:
                continue
            if begin >= end:
                break
            if begin > cursor:
                uncovered.append((cursor, begin))
            cursor = max(cursor, finish)
            if cursor >= end:
                break
        if cursor < end:
            uncovered.append((cursor, end))
    return tuple(uncovered)


def read_periods(stored: Iterable[Iterable[str]]) -> Periods:
    """[["09:00", "12:00"]] as stored → the periods (not yet checked: :func:`check_periods`)."""
    try:
        return tuple((clock_time(a), clock_time(b)) for a, b in stored)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PolicyError):
            raise
        raise PolicyError(f"时段的格式不对：{exc}") from exc


def stored_periods(periods: Periods) -> list[list[str]]:
    """The inverse of :func:`read_periods`: [["09:00", "12:00"]], as settings keep them."""
    return [[clock_text(a), clock_text(b)] for a, b in periods]


MIDNIGHT = time(23, 59, 59, 999999)  # a period "until 24:00" ends at the day's last instant


def clock_text(moment: time) -> str:
    """A time of day as settings keep it, HH:MM; the day's end is 24:00."""
    return "24:00" if moment == MIDNIGHT else f"{moment:%H:%M}"


def clock_time(text: str) -> time:
    """HH:MM as settings keep it (24:00: the day's last instant), or PolicyError."""
    try:
        return time.fromisoformat(text) if text != "24:00" else MIDNIGHT
    except ValueError as exc:
        raise PolicyError(f"{text!r} 不是时刻，请写成 HH:MM，如 09:00。") from exc


def parse_periods(text: str) -> list[list[str]]:
    """``09:00-12:00, 13:30-22:00`` as a person types it (full-width comma and dash too) →
    ``[["09:00", "12:00"], ["13:30", "22:00"]]``, for :meth:`WorkingHours.from_dict`."""
    parts = text.replace("，", ",").replace("、", ",").replace("—", "-").replace("–", "-")
    periods = [[t.strip() for t in part.split("-")] for part in parts.split(",") if part.strip()]
    if any(len(p) != 2 for p in periods):
        raise PolicyError("每个时段写成 开始-结束，如 09:00-12:00")
    return periods


def periods_text(periods: Iterable[Iterable[str]]) -> str:
    """The inverse of :func:`parse_periods`, for a form to show: ``09:00-12:00, 13:30-22:00``."""
    return ", ".join("-".join(p) for p in periods)


# Monday = 0, as ``date.weekday()`` and :attr:`WorkingHours.weekdays` count
WEEKDAY_NAMES = "一二三四五六日"


def describe_week(weekdays: Iterable[int]) -> str:
    """[0, 1, 2, 3, 4] → 周一至周五; [0, 2, 4] → 周一、三、五; all seven → 每天."""
    days = sorted(set(weekdays))
    if len(days) == 7:
        return "每天"
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    words = [
        f"{WEEKDAY_NAMES[r[0]]}至周{WEEKDAY_NAMES[r[-1]]}"
        if len(r) >= 3
        else "、".join(WEEKDAY_NAMES[d] for d in r)
        for r in runs
    ]
    return "周" + "、".join(words)


def day_label(day: date) -> str:
    """A day as a plan reads it: 12-05 周六."""
    return f"{day:%m-%d} 周{WEEKDAY_NAMES[day.weekday()]}"


def describe_periods(periods: Iterable[Iterable[str]]) -> str:
    """[["09:00", "12:00"], ["13:30", "22:00"]] → 09:00–12:00、13:30–22:00."""
    return "、".join("–".join(p) for p in periods)


def parse_dated(text: str) -> dict[str, list[list[str]]]:
    """特殊营业时间 as a person types it, a day a line (``2026-11-11 09:00-24:00``, several
    periods as in :func:`parse_periods`) → ``{"2026-11-11": [["09:00", "24:00"]]}``; the
    line is named in any error."""
    dated: dict[str, list[list[str]]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        day, _, periods = line.strip().replace("\u3000", " ").partition(" ")
        if not day:
            continue
        try:
            when = _day(day)
            if not within_calendar(when):
                raise PolicyError(f"{day} 不在 {EARLIEST.year}–{LATEST.year} 年之间。")
            if not periods.strip():
                raise PolicyError("请在日期后写上营业时段；整天不上班的日子填在节假日。")
            parsed = parse_periods(periods)
            check_periods(read_periods(parsed))
        except PolicyError as exc:
            raise PolicyError(f"第 {number} 行：{exc}", about="dated") from exc
        if when.isoformat() in dated:
            raise PolicyError(f"第 {number} 行：{when} 写了两次。", about="dated")
        dated[when.isoformat()] = parsed
    return dated


def dated_text(dated: Mapping[str, Iterable[Iterable[str]]]) -> str:
    """The inverse of :func:`parse_dated`, for a form to show: a day a line."""
    return "\n".join(f"{day} {periods_text(periods)}" for day, periods in dated.items())


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{value!r} 不是日期，请写成 YYYY-MM-DD，如 2026-10-01。") from exc


def _dates(values: Iterable[str]) -> frozenset[date]:
    return frozenset(_day(value) for value in values)
