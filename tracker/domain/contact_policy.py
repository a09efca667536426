"""How often and when a buyer may be contacted: 锲而不舍 without harassment.

Per shop: quiet hours (no calls or messages outside the day, shop time), at most so many
attempts per buyer per day and per week across all that buyer's cases, a minimum gap
between attempts, and a stop when the buyer asks for it (买家要求勿扰). A buyer's own message
(买家已回复) is never refused: they reached us. Nor are the caps and the gap for our
answer to it: a buyer who wrote after our last contact is waiting to hear back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.clock import whole_minute
from tracker.domain.working_hours import PolicyError, clock_text, clock_time


@dataclass(frozen=True)
class ContactPolicy:
    day_starts: time = time(9, 0)
    day_ends: time = time(21, 0)  # 24:00 (working_hours.MIDNIGHT): until the day ends
    per_day: int = 2
    per_week: int = 5
    min_gap: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if not self.day_starts < self.day_ends:
            raise PolicyError("可联系时段的开始必须早于结束。")
        if not 1 <= self.per_day <= self.per_week <= 50:
            raise PolicyError("每天最多次数应为 1 到每周最多次数之间，每周最多 50 次。")
        if not timedelta(0) <= self.min_gap <= timedelta(days=2):
            raise PolicyError("两次联系的最短间隔应在 0 到 48 小时之间。")

    def to_dict(self) -> dict[str, Any]:
        return {
            "day_starts": clock_text(self.day_starts),
            "day_ends": clock_text(self.day_ends),
            "per_day": self.per_day,
            "per_week": self.per_week,
            "min_gap_minutes": int(self.min_gap.total_seconds() // 60),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ContactPolicy:
        if not data:
            return cls()
        return cls(
            day_starts=clock_time(data["day_starts"]),
            day_ends=clock_time(data["day_ends"]),
            per_day=int(data["per_day"]),
            per_week=int(data["per_week"]),
            min_gap=timedelta(minutes=int(data["min_gap_minutes"])),
        )

    @property
    def hours_text(self) -> str:
        """The day's contact hours as staff read them: 09:00–21:00."""
        return f"{clock_text(self.day_starts)}–{clock_text(self.day_ends)}"

    def in_hours(self, at: datetime, tz: ZoneInfo) -> bool:
        """Within the day's contact hours, shop time (calls, messages, campaigns)."""
        return self.day_starts <= at.astimezone(tz).time().replace(tzinfo=None) < self.day_ends

    def refusals(
        self,
        at: datetime,
        earlier: Sequence[datetime],
        *,
        tz: ZoneInfo,
        do_not_contact_since: datetime | None = None,
        answering: bool = False,
    ) -> list[str]:
        """Why contacting the buyer at ``at`` breaks the policy (empty: it does not).
        ``earlier``: the buyer's earlier attempts, on any of their cases. ``answering``:
        the buyer waits for this contact — it answers their own message
        (:func:`answers_buyer`) or brings a remedy's notice; only quiet hours and 勿扰
        refuse it."""
        reasons = []
        if stopped(do_not_contact_since, at):
            reasons.append("买家已要求勿扰，不再联系")
        local = at.astimezone(tz)
        if not self.in_hours(at, tz):
            reasons.append(f"休息时间：只在 {self.hours_text} 联系买家")
        if answering:
            return reasons
        day_start = datetime.combine(local.date(), time(0), tzinfo=tz)
        same_day = [
            e for e in earlier if day_start <= e.astimezone(tz) < day_start + timedelta(days=1)
        ]
        if len(same_day) >= self.per_day:
            reasons.append(f"这位买家今天已联系 {len(same_day)} 次（每天最多 {self.per_day} 次）")
        week = [e for e in earlier if at - timedelta(days=7) < e <= at]
        if len(week) >= self.per_week:
            reasons.append(f"这位买家 7 天内已联系 {len(week)} 次（最多 {self.per_week} 次）")
        if any(e <= at and at - e < self.min_gap for e in earlier):
            minutes = int(self.min_gap.total_seconds() // 60)
            gap = f"{minutes // 60} 小时" + (f" {minutes % 60} 分钟" if minutes % 60 else "")
            reasons.append(f"距上次联系不足 {gap}")
        return reasons

    def earliest(self, after: datetime, earlier: Sequence[datetime], *, tz: ZoneInfo) -> datetime:
        """The first whole minute from ``after`` the policy allows (ignoring 勿扰: never)."""
        moment = whole_minute(after)
        for _ in range(60):  # at most a couple of weeks of 30-minute steps' worth of days
            if not self.refusals(moment, earlier, tz=tz):
                return moment
            local = moment.astimezone(tz)
            t = local.time().replace(tzinfo=None)
            if t < self.day_starts:
                moment = datetime.combine(local.date(), self.day_starts, tzinfo=tz)
            elif t >= self.day_ends or self._day_full(moment, earlier, tz):
                moment = datetime.combine(
                    local.date() + timedelta(days=1), self.day_starts, tzinfo=tz
                )
            else:
                last = max((e for e in earlier if e <= moment), default=moment)
                moment = whole_minute(max(moment + timedelta(minutes=30), last + self.min_gap))
                week = sorted(e for e in earlier if moment - timedelta(days=7) < e <= moment)
                if len(week) >= self.per_week:  # wait until enough of them are a week old
                    oldest = week[len(week) - self.per_week]
                    moment = whole_minute(max(moment, oldest + timedelta(days=7, seconds=1)))
        return moment

    def _day_full(self, at: datetime, earlier: Sequence[datetime], tz: ZoneInfo) -> bool:
        local = at.astimezone(tz).date()
        return sum(1 for e in earlier if e.astimezone(tz).date() == local) >= self.per_day


def stopped(do_not_contact_since: datetime | None, at: datetime) -> bool:
    """Whether the buyer had asked us to stop (买家要求勿扰) by ``at``: a contact made
    before they asked stands, and one logged later for it (补记) is no new contact."""
    return do_not_contact_since is not None and do_not_contact_since <= at


def stop_refusal(since: datetime, tz: ZoneInfo, *, leads: bool) -> str:
    """Why nobody contacts a buyer who asked us to stop, and the one way back: no reason
    typed on a single call or message goes past it (a message queued so would be dropped
    by the sender anyway); a supervisor lifts the stop, with the reason, audited."""
    way_back = (
        "买家同意再联系时，先在本页写明原因解除勿扰。"
        if leads
        else "买家同意再联系时，请主管解除勿扰。"
    )
    return (
        f"买家已于 {since.astimezone(tz):%Y-%m-%d %H:%M} 要求勿扰，不再电话、短信联系；"
        f"买家主动联系时，记“买家已回复”。{way_back}"
    )


ANSWER_WITHIN = timedelta(days=1)


def answers_buyer(at: datetime, earlier: Sequence[datetime], replies: Sequence[datetime]) -> bool:
    """Whether contacting the buyer at ``at`` answers them: they wrote to us (买家已回复)
    in the day before, and we have not contacted them since."""
    last = max((r for r in replies if r <= at), default=None)
    if last is None or at - last > ANSWER_WITHIN:
        return False
    return not any(last < e <= at for e in earlier)
