"""RFM, classes, big customers, the 80/20 figure and member levels on a hand-built shop."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from tracker.domain.segments import (
    BuyerClass,
    LevelBasis,
    MemberLevels,
    Purchases,
    classify,
    level_problems,
    quintile_edges,
    score,
    segment_all,
    top_share,
)


def p(buyer_id: int, days: int | None, orders: int, spent: str) -> Purchases:
    return Purchases(buyer_id, days, orders, Decimal(spent))


@pytest.mark.parametrize(
    ("purchases", "klass"),
    [
        (p(1, None, 0, "0"), BuyerClass.PROSPECT),
        (p(1, 10, 1, "50"), BuyerClass.NEW),
        (p(1, 90, 2, "80"), BuyerClass.REPEAT),
        (p(1, 30, 3, "300"), BuyerClass.LOYAL),
        (p(1, 91, 9, "900"), BuyerClass.DORMANT),
        (p(1, 365, 1, "10"), BuyerClass.DORMANT),
        (p(1, 366, 5, "500"), BuyerClass.LOST),
    ],
)
def test_classes_follow_the_playbook(purchases: Purchases, klass: BuyerClass) -> None:
    assert classify(purchases) is klass


def test_quintiles_are_the_shops_own_and_ties_share_the_low_score() -> None:
    assert quintile_edges(list(range(1, 11))) == [2, 4, 6, 8]
    assert [score(v, [2, 4, 6, 8]) for v in (1, 2, 3, 8, 9, 10)] == [1, 1, 2, 4, 5, 5]
    orders = [1] * 70 + [2] * 20 + [3] * 10  # most buyers ordered once
    edges = quintile_edges(orders)
    assert [score(v, edges) for v in (1, 2, 3)] == [1, 4, 5]


def test_a_hand_built_shop() -> None:
    buyers = [
        p(1, 5, 6, "3000"),  # loyal, big, the most recent
        p(2, 40, 2, "400"),
        p(3, 60, 1, "100"),
        p(4, 200, 4, "800"),  # dormant
        p(5, 400, 1, "50"),  # lost
        p(6, None, 0, "0"),  # never ordered
    ]
    levels = MemberLevels(LevelBasis.SPEND, (Decimal("100"), Decimal("500"), Decimal("2000")))
    got = {s.buyer_id: s for s in segment_all(buyers, levels)}
    assert [got[i].klass for i in range(1, 7)] == [
        BuyerClass.LOYAL,
        BuyerClass.REPEAT,
        BuyerClass.NEW,
        BuyerClass.DORMANT,
        BuyerClass.LOST,
        BuyerClass.PROSPECT,
    ]
    assert (got[1].r, got[1].f, got[1].m) == (5, 5, 5)
    assert (got[5].r, got[5].f, got[5].m) == (1, 1, 1)
    assert [i for i in got if got[i].big] == [1]  # the top fifth of the five who bought
    assert [got[i].level for i in range(1, 7)] == [3, 1, 1, 2, 0, 0]
    assert top_share([Decimal(x) for x in ("3000", "400", "100", "800", "50")]) == pytest.approx(
        3000 / 4350
    )


def test_member_levels_must_increase_and_count_orders_in_whole_numbers() -> None:
    with pytest.raises(ValueError, match="递增"):
        MemberLevels(LevelBasis.SPEND, (Decimal("500"), Decimal("500")))
    with pytest.raises(ValueError, match="最多 4"):
        MemberLevels(LevelBasis.ORDERS, tuple(Decimal(i) for i in range(1, 6)))
    with pytest.raises(ValueError, match="整数"):
        MemberLevels(LevelBasis.ORDERS, (Decimal("1.5"),))
    by_orders = MemberLevels(LevelBasis.ORDERS, (Decimal(2), Decimal(5)))
    assert [by_orders.level_of(p(1, 1, n, "1")) for n in (1, 2, 4, 5, 9)] == [0, 1, 1, 2, 2]
    assert MemberLevels.from_dict(by_orders.to_dict()) == by_orders


def test_member_discounts_fall_as_the_level_rises_within_the_platforms_range() -> None:
    two = (Decimal("100"), Decimal("500"))
    with pytest.raises(ValueError, match="逐级降低"):
        MemberLevels(LevelBasis.SPEND, two, (Decimal("9.5"), Decimal("9.5")))
    with pytest.raises(ValueError, match="7 折到 10 折"):
        MemberLevels(LevelBasis.SPEND, two, (Decimal("9.5"), Decimal("6.9")))
    with pytest.raises(ValueError, match="7 折到 10 折"):
        MemberLevels(LevelBasis.SPEND, two, (Decimal("9.55"), Decimal("9.125")))
    with pytest.raises(ValueError, match="每个等级"):
        MemberLevels(LevelBasis.SPEND, two, (Decimal("9.5"),))
    with pytest.raises(ValueError, match="到分"):
        MemberLevels(LevelBasis.SPEND, (Decimal("99.999"),))
    priced = MemberLevels(LevelBasis.SPEND, two, (Decimal("9.8"), Decimal("9.5")))
    assert MemberLevels.from_dict(priced.to_dict()) == priced
    assert "discounts" not in MemberLevels(LevelBasis.SPEND, two).to_dict()  # stays as stored


def test_level_problems_name_the_box_where_each_was_typed() -> None:
    """One box per level as typed (None is blank): a skipped level, a threshold not above
    the one before, a discount for a level not set or rising, each at its own box."""

    def at(
        thresholds: Sequence[str | None], discounts: Sequence[str | None] = ()
    ) -> list[tuple[str, int, str]]:
        typed = [None if v is None else Decimal(v) for v in thresholds]
        priced = [None if v is None else Decimal(v) for v in discounts]
        found = level_problems(LevelBasis.SPEND, typed, priced)
        return [(p.box, p.level, p.message) for p in found]

    assert at(["100", "1000", None, None], ["9.8", "9.5", None, None]) == []
    # 1000 typed as VIP会员's with 高级会员's left blank is refused, not closed up
    assert at(["100", None, "1000", None]) == [
        ("threshold", 2, "高级会员的门槛没填：会员等级从普通会员起逐级设置，不能跳过。")
    ]
    assert at(["500", "100"]) == [("threshold", 2, "门槛须逐级严格递增：应高于普通会员的 500")]
    assert at(["100", "1000"], [None, "9.5", "9"]) == [
        ("discount", 3, "VIP会员没有门槛，不能填折扣。"),
        ("discount", 1, "折扣须每个等级各填一个：普通会员的没填"),
    ]
    assert at(["100", "1000"], ["9", "9.5"]) == [
        ("discount", 2, "折扣须随等级升高而逐级降低：应低于普通会员的 9 折")
    ]
    assert at(["0", "99.999"], ["6.5", "9"]) == [
        ("threshold", 1, "门槛须大于 0"),
        ("threshold", 2, "金额门槛最多到分"),
        ("discount", 1, "折扣须在 7 折到 10 折之间，最多两位小数（如 9.5）"),
    ]
    by_orders = level_problems(LevelBasis.ORDERS, [Decimal("2.5")])
    assert [(p.box, p.level, p.message) for p in by_orders] == [
        ("threshold", 1, "按交易笔数时门槛须为整数")
    ]
