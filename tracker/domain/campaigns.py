"""Campaigns as plain rules: who is in, who is left out and why, the random control group,
and the honest answer to "did it work" — the uplift over the control group with its
confidence interval."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from tracker.domain.segments import BuyerClass

Z95 = 1.959964  # two-sided 95 %


@dataclass(frozen=True)
class Audience:
    """Who a campaign is for; every condition given must hold."""

    classes: frozenset[BuyerClass] = frozenset()  # empty: any class
    big: bool | None = None
    min_level: int | None = None
    days_since_order: tuple[int, int] | None = None  # e.g. (90, 180): dormant 90–180 days
    birthday_within_days: int | None = None
    received_days_ago: int | None = None  # received an order exactly that many days ago
    delivered_late_days: int | None = None  # an order of the last 30 days took longer to arrive

    def to_dict(self) -> dict[str, object]:
        return {
            "classes": sorted(c.value for c in self.classes),
            "big": self.big,
            "min_level": self.min_level,
            "days_since_order": list(self.days_since_order) if self.days_since_order else None,
            "birthday_within_days": self.birthday_within_days,
            "received_days_ago": self.received_days_ago,
            "delivered_late_days": self.delivered_late_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Audience:
        days = data.get("days_since_order")
        return cls(
            classes=frozenset(BuyerClass(str(c)) for c in data.get("classes") or []),  # type: ignore[union-attr]
            big=data.get("big"),  # type: ignore[arg-type]
            min_level=data.get("min_level"),  # type: ignore[arg-type]
            days_since_order=(int(days[0]), int(days[1])) if days else None,  # type: ignore[index]
            birthday_within_days=data.get("birthday_within_days"),  # type: ignore[arg-type]
            received_days_ago=data.get("received_days_ago"),  # type: ignore[arg-type]
            delivered_late_days=data.get("delivered_late_days"),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Exclusions:
    """Who is never messaged: a buyer with an open case, a recent 中/差评, a recent refund, or
    contacted recently. A buyer who asked not to be contacted or unsubscribed is always
    left out, whatever the campaign says."""

    open_case: bool = True
    unhappy_review_days: int | None = 30
    refund_days: int | None = 30
    contacted_days: int | None = 7

    def to_dict(self) -> dict[str, object]:
        return {
            "open_case": self.open_case,
            "unhappy_review_days": self.unhappy_review_days,
            "refund_days": self.refund_days,
            "contacted_days": self.contacted_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Exclusions:
        return cls(**{k: data[k] for k in cls().to_dict() if k in data})  # type: ignore[arg-type]


def split_control(buyer_ids: Sequence[int], share: float, seed: int) -> tuple[list[int], list[int]]:
    """(sent, control): a random ``share`` held back, the same for the same seed and
    buyers whatever order they came in."""
    if not 0 <= share < 1:
        raise ValueError("对照组比例应在 0 到 1 之间")
    ordered = sorted(buyer_ids)
    random.Random(seed).shuffle(ordered)
    held = held_back(len(ordered), share)
    return sorted(ordered[held:]), sorted(ordered[:held])


def held_back(chosen: int, share: float) -> int:
    """How many of ``chosen`` buyers the control group keeps: the preview's count before
    the launch is the launch's own."""
    return round(chosen * share)


@dataclass(frozen=True)
class Uplift:
    sent_mean: float
    control_mean: float
    difference: float
    low: float  # the 95 % interval of the difference
    high: float
    n_sent: int
    n_control: int

    @property
    def direction(self) -> int:
        """1 where the whole interval is above 0 (a lift), -1 below (a drop), 0 where it
        holds 0: the one reading behind the words and the page's colours."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    @property
    def significant(self) -> bool:
        return self.direction != 0

    @property
    def verdict(self) -> str:
        """What the interval lets a supervisor say, in words."""
        return {1: "确有提升", -1: "确有下降", 0: "无可靠差别"}[self.direction]


def uplift(sent: Sequence[float], control: Sequence[float]) -> Uplift | None:
    """Mean per buyer, sent minus control, with Welch's normal 95 % interval; None when a
    group has fewer than two buyers (nothing to compare)."""
    if len(sent) < 2 or len(control) < 2:
        return None
    m1, m0 = _mean(sent), _mean(control)
    se = math.sqrt(_var(sent, m1) / len(sent) + _var(control, m0) / len(control))
    diff = m1 - m0
    return Uplift(m1, m0, diff, diff - Z95 * se, diff + Z95 * se, len(sent), len(control))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _var(values: Sequence[float], mean: float) -> float:
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


@dataclass
class Tally:
    """How many matched and why the others were left out."""

    matched: int = 0
    excluded: dict[str, int] = field(default_factory=dict)

    def leave_out(self, why: str, n: int) -> None:
        if n:
            self.excluded[why] = self.excluded.get(why, 0) + n
