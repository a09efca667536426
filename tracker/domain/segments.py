"""Who a shop's buyers are, as the playbooks class them: recency, frequency and money
(RFM) scored against the shop's own buyers, a class (new, repeat, loyal, dormant, lost),
big or small by spend, the shop's own 80/20 figure, and member levels by spend or orders.

Plain Python over plain numbers: the service reads one row per buyer from the database and
writes the answers back.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

ACTIVE_DAYS = 90  # bought within this many days: an active customer
LOST_DAYS = 365  # nothing for longer than this: lost
LOYAL_ORDERS = 3  # active and at least this many orders: loyal
BIG_SHARE = 0.2  # the top fifth of buyers by spend are the big customers


class BuyerClass(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    REPEAT = "repeat"
    LOYAL = "loyal"
    DORMANT = "dormant"
    LOST = "lost"

    @property
    def label(self) -> str:
        return CLASS_LABELS[self]


CLASS_LABELS = {
    BuyerClass.PROSPECT: "未下单",
    BuyerClass.NEW: "新客",
    BuyerClass.REPEAT: "回头客",
    BuyerClass.LOYAL: "忠诚客户",
    BuyerClass.DORMANT: "沉睡客户",
    BuyerClass.LOST: "流失客户",
}


@dataclass(frozen=True)
class Purchases:
    """One buyer's history: days since the last order, orders, money spent."""

    buyer_id: int
    recency_days: int | None  # None: never ordered
    orders: int
    spent: Decimal


@dataclass(frozen=True)
class Segment:
    buyer_id: int
    r: int  # 1–5, 5 the most recent
    f: int
    m: int
    klass: BuyerClass
    big: bool
    level: int  # 0 店铺客户 … 4 至尊VIP


def classify(p: Purchases) -> BuyerClass:
    if p.recency_days is None or p.orders == 0:
        return BuyerClass.PROSPECT
    if p.recency_days > LOST_DAYS:
        return BuyerClass.LOST
    if p.recency_days > ACTIVE_DAYS:
        return BuyerClass.DORMANT
    if p.orders >= LOYAL_ORDERS:
        return BuyerClass.LOYAL
    return BuyerClass.REPEAT if p.orders >= 2 else BuyerClass.NEW


def quintile_edges(values: Sequence[float]) -> list[float]:
    """The shop's own cut points: the highest value of each of its lower four fifths."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return []
    return [ordered[max(0, n * q // 5 - 1)] for q in (1, 2, 3, 4)]


def score(value: float, edges: Sequence[float]) -> int:
    """1–5 by the shop's quintiles, 5 for the top fifth; a value is scored above a cut only
    when it is above it, so the many one-order buyers share the lowest F score."""
    return 1 + bisect_left(list(edges), value) if edges else 3


# -- member levels ----------------------------------------------------------------------------
LEVEL_NAMES = ("店铺客户", "普通会员", "高级会员", "VIP会员", "至尊VIP")
MIN_DISCOUNT = Decimal(7)  # the platform refuses member prices below 7 折


class LevelBasis(StrEnum):
    SPEND = "spend"  # 累计消费金额
    ORDERS = "orders"  # 累计交易笔数


@dataclass(frozen=True)
class MemberLevels:
    """Up to four thresholds, strictly increasing, as the platform's 客户运营平台 sets them:
    reaching thresholds[i] makes a buyer level i + 1. ``discounts`` (optional, in 折: 9.5)
    are each level's member price; the platform wants one per level, lower as the level
    rises, and never below 7 折. A member discount is for every purchase of the level, never
    tied to a review."""

    basis: LevelBasis = LevelBasis.SPEND
    thresholds: tuple[Decimal, ...] = ()
    discounts: tuple[Decimal, ...] = ()

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("；".join(problems))

    def problems(self) -> list[str]:
        found = level_problems(self.basis, self.thresholds, self.discounts)
        return list(dict.fromkeys(p.message for p in found))

    def level_of(self, p: Purchases) -> int:
        value = p.spent if self.basis is LevelBasis.SPEND else Decimal(p.orders)
        return bisect_right(list(self.thresholds), value)

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "basis": self.basis.value,
            "thresholds": [str(t) for t in self.thresholds],
        }
        if self.discounts:
            found["discounts"] = [str(d) for d in self.discounts]
        return found

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> MemberLevels:
        if not data:
            return cls()
        raw = data.get("thresholds") or []
        discounts = data.get("discounts") or []
        assert isinstance(raw, list) and isinstance(discounts, list)
        return cls(
            LevelBasis(str(data.get("basis") or "spend")),
            tuple(Decimal(str(t)) for t in raw),
            tuple(Decimal(str(d)) for d in discounts),
        )


@dataclass(frozen=True)
class LevelProblem:
    """A rule one box of the level form breaks: ``box`` is "threshold" or "discount" and
    ``level`` 1–4, so the form can say it under the box where it was typed."""

    box: str
    level: int
    message: str


def level_problems(
    basis: LevelBasis,
    thresholds: Sequence[Decimal | None],
    discounts: Sequence[Decimal | None] = (),
) -> list[LevelProblem]:
    """Every rule the boxes break, one box per level as typed (``None`` is a blank box).
    Blank boxes after the last filled one are levels not set; a blank before a filled one is
    refused, not closed up (a VIP会员 threshold typed with 高级会员's blank became 高级会员's)."""
    found: list[LevelProblem] = []
    most = len(LEVEL_NAMES) - 1
    filled = [level for level, t in enumerate(thresholds, start=1) if t is not None]
    previous: tuple[int, Decimal] | None = None
    for level, value in enumerate(thresholds, start=1):
        problem = functools.partial(LevelProblem, "threshold", level)
        if level > most:
            if value is not None:
                found.append(problem(f"最多 {most} 个会员等级"))
            continue
        if value is None:
            if filled and level < filled[-1]:
                found.append(
                    problem(
                        f"{LEVEL_NAMES[level]}的门槛没填：会员等级从普通会员起逐级设置，不能跳过。"
                    )
                )
            continue
        if value <= 0:
            found.append(problem("门槛须大于 0"))
        elif previous is not None and value <= previous[1]:
            name, below = LEVEL_NAMES[previous[0]], previous[1]
            found.append(problem(f"门槛须逐级严格递增：应高于{name}的 {below}"))
        else:
            previous = (level, value)  # the next level is held to the last good one
        if basis is LevelBasis.ORDERS and value != int(value):
            found.append(problem("按交易笔数时门槛须为整数"))
        if basis is LevelBasis.SPEND and value != round(value, 2):
            found.append(problem("金额门槛最多到分"))
    return found + _discount_problems([level for level in filled if level <= most], discounts)


def _discount_problems(
    levels: list[int], discounts: Sequence[Decimal | None]
) -> list[LevelProblem]:
    """Member prices: none at all, or one for each level set, falling as the level rises,
    from 7 to 10 折 as the platform takes them."""
    found: list[LevelProblem] = []
    priced = {level: d for level, d in enumerate(discounts, start=1) if d is not None}
    previous: tuple[int, Decimal] | None = None
    for level, value in priced.items():
        problem = functools.partial(LevelProblem, "discount", level)
        if level not in levels:
            name = LEVEL_NAMES[level] if level < len(LEVEL_NAMES) else f"第 {level} 级"
            found.append(problem(f"{name}没有门槛，不能填折扣。"))
            continue
        if not MIN_DISCOUNT <= value <= 10 or value != round(value, 2):
            found.append(problem("折扣须在 7 折到 10 折之间，最多两位小数（如 9.5）"))
        elif previous is not None and value >= previous[1]:
            name, above = LEVEL_NAMES[previous[0]], previous[1]
            found.append(problem(f"折扣须随等级升高而逐级降低：应低于{name}的 {above} 折"))
        else:
            previous = (level, value)  # the next level is held to the last good one
    if priced:
        found += [
            LevelProblem("discount", level, f"折扣须每个等级各填一个：{LEVEL_NAMES[level]}的没填")
            for level in levels
            if level not in priced
        ]
    return found


def segment_all(buyers: Sequence[Purchases], levels: MemberLevels) -> list[Segment]:
    """Every buyer's scores, class, size and level, against the shop's own buyers."""
    ordered = [p for p in buyers if p.orders > 0]
    r_edges = quintile_edges([-(p.recency_days or 0) for p in ordered])  # recent is high
    f_edges = quintile_edges([p.orders for p in ordered])
    m_edges = quintile_edges([float(p.spent) for p in ordered])
    big_from = big_customer_threshold([p.spent for p in ordered])
    out = []
    for p in buyers:
        if p.orders == 0:
            out.append(Segment(p.buyer_id, 0, 0, 0, BuyerClass.PROSPECT, False, 0))
            continue
        out.append(
            Segment(
                p.buyer_id,
                score(-(p.recency_days or 0), r_edges),
                score(p.orders, f_edges),
                score(float(p.spent), m_edges),
                classify(p),
                big_from is not None and p.spent >= big_from,
                levels.level_of(p),
            )
        )
    return out


def big_customer_threshold(spends: Sequence[Decimal]) -> Decimal | None:
    """The spend from which a buyer is in the top fifth (大客户); None without buyers."""
    if not spends:
        return None
    ordered = sorted(spends, reverse=True)
    return ordered[max(0, int(len(ordered) * BIG_SHARE) - 1)]


def top_share(spends: Sequence[Decimal], share: float = 0.2) -> float | None:
    """The part of revenue the top ``share`` of buyers bring: the shop's own 80/20 figure."""
    ordered = sorted(spends, reverse=True)
    total = sum(ordered, Decimal(0))
    if not ordered or total <= 0:
        return None
    top = max(1, round(len(ordered) * share))
    return float(sum(ordered[:top], Decimal(0)) / total)
