"""The recommender's rules: exclusions, cold start, staples due, reasons that match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain.recommend import ProductInfo, Purchase, build, recommend

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def buys(customer: str, product: str, days_ago: float) -> Purchase:
    return Purchase(customer, product, NOW - timedelta(days=days_ago))


CATALOGUE = {
    "orange": ProductInfo("赣南脐橙", "水果", repurchase_days=14, family="FR-ORANGE"),
    "orange10": ProductInfo("赣南脐橙 10斤", "水果", repurchase_days=14, family="FR-ORANGE"),
    "apple": ProductInfo("红富士苹果", "水果", repurchase_days=14, family="FR-APPLE"),
    "shampoo": ProductInfo("洗发水", "洗护", repurchase_days=60, family="CL-SHAMPOO"),
    "conditioner": ProductInfo("护发素", "洗护", repurchase_days=60, family="CL-COND"),
    "kettle": ProductInfo("电水壶", "家居", is_consumable=False, family="HO-KETTLE"),
    "old": ProductInfo("已下架商品", "水果", is_active=False),
    "newtea": ProductInfo("新品白茶", "水果", launched_at=NOW - timedelta(days=5)),
}


def shop_history() -> list[Purchase]:
    history = []
    for i in range(20):  # shampoo and conditioner go together
        history += [buys(f"c{i}", "shampoo", 40 + i), buys(f"c{i}", "conditioner", 40 + i)]
    for i in range(30):  # oranges and the (delisted) old product sell a lot this week
        history += [buys(f"o{i}", "orange", 2), buys(f"o{i}", "old", 2)]
    history += [buys("k1", "kettle", 3)]
    return history


MODEL = build(shop_history(), now=NOW, catalogue=CATALOGUE)


def products(suggestions) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.product for s in suggestions]


def test_the_complained_about_product_and_its_variants_never_appear() -> None:
    mine = [buys("me", "orange", 20), buys("me", "orange", 35)]
    assert "orange" in products(recommend(MODEL, mine, now=NOW, k=10))
    picks = products(
        recommend(MODEL, mine, now=NOW, k=10, exclude=["orange"], exclude_families=["FR-ORANGE"])
    )
    assert "orange" not in picks and "orange10" not in picks and picks


def test_inactive_and_owned_durables_never_appear() -> None:
    mine = [buys("me", "kettle", 10)]
    picks = products(recommend(MODEL, mine, now=NOW, k=10))
    assert "old" not in picks and "kettle" not in picks


def test_a_buyer_with_no_history_gets_bestsellers() -> None:
    picks = recommend(MODEL, [], now=NOW, k=3)
    assert picks and picks[0].product == "orange" and picks[0].kind == "bestseller"
    assert picks[0].reason == "本店近 7 天热销"


def test_a_consumable_due_for_repurchase_ranks_first_with_its_reason() -> None:
    mine = [buys("me", "shampoo", 70), buys("me", "shampoo", 130)]  # cycle 60 days
    top = recommend(MODEL, mine, now=NOW, k=5)[0]
    assert (top.product, top.kind) == ("shampoo", "staple_due")
    assert top.reason == "您常买的洗发水该补货了"


def test_reasons_match_the_signal_that_put_the_product_there() -> None:
    mine = [buys("me", "shampoo", 3)]
    picks = {s.product: s for s in recommend(MODEL, mine, now=NOW, k=10, only_new=True)}
    assert "shampoo" not in picks  # only new products
    assert picks["conditioner"].kind == "together"
    assert picks["conditioner"].reason == "买过洗发水的顾客常一起买"
    fruit = {
        s.product: s
        for s in recommend(MODEL, [buys("me", "apple", 3)], now=NOW, k=10, only_new=True)
    }
    assert fruit["newtea"].kind == "new_arrival"
    assert fruit["newtea"].reason == "新品 · 与您买过的水果同类"


def test_future_lines_are_ignored_and_an_empty_shop_still_answers() -> None:
    empty = build([buys("x", "orange", -1)], now=NOW)
    assert empty.neighbours == {} and recommend(empty, [], now=NOW) == []


def test_products_far_above_the_buyers_price_range_rank_lower() -> None:
    catalogue = {
        "cheap": ProductInfo("平价纸巾", "日用", price=10.0),
        "dear": ProductInfo("高端礼盒", "日用", price=300.0),
    }
    history = [buys(f"c{i}", "dear", 1) for i in range(10)]
    history += [buys(f"c{i}", "cheap", 1) for i in range(9)]
    model = build(history, now=NOW, catalogue=catalogue)
    assert products(recommend(model, [], now=NOW, k=2)) == ["dear", "cheap"]  # no range yet
    thrifty = [Purchase("me", "soap", NOW - timedelta(days=9), unit_price=12.0)]
    assert products(recommend(model, thrifty, now=NOW, k=3, only_new=True)) == ["cheap", "dear"]


def test_bestsellers_that_fit_the_buyers_categories_rank_first() -> None:
    catalogue = {
        "nappies": ProductInfo("纸尿裤", "母婴"),
        "kiwi": ProductInfo("猕猴桃", "水果"),
        "apple": ProductInfo("红富士苹果", "水果"),
        "mystery": ProductInfo("未分类商品"),
    }
    history = [buys(f"c{i}", "nappies", 1) for i in range(10)]
    history += [buys(f"d{i}", "kiwi", 1) for i in range(6)]
    history += [buys(f"e{i}", "mystery", 1) for i in range(7)]
    model = build(history, now=NOW, catalogue=catalogue)
    assert products(recommend(model, [], now=NOW, k=3)) == ["nappies", "mystery", "kiwi"]
    fruit_buyer = [buys("me", "apple", 20)]
    picks = recommend(model, fruit_buyer, now=NOW, k=4, only_new=True)
    # nappies sell most but the buyer buys fruit; a product with no category is no misfit
    assert products(picks) == ["mystery", "kiwi", "nappies"]
    assert picks[1].reason == "本店近 7 天热销，与您买过的水果同类"
    assert picks[2].reason == "本店近 7 天热销"


def test_a_bestseller_outside_the_buyers_categories_comes_after_all_that_fits() -> None:
    """A hoodie buyer's call: wipes sell five times as much as anything in 女装, and were
    even bought once by a hoodie buyer, but all there is to say of them is that they sell."""
    catalogue = {
        "hoodie": ProductInfo("连帽卫衣", "女装", is_consumable=False),
        "cardigan": ProductInfo("针织开衫", "女装", is_consumable=False),
        "jeans": ProductInfo("直筒牛仔裤", "女装", launched_at=NOW - timedelta(days=3)),
        "wipes": ProductInfo("婴儿湿巾", "母婴"),
        "nuts": ProductInfo("每日坚果", "零食"),
    }
    history = [buys(f"w{i}", "wipes", 1) for i in range(50)]
    history += [buys(f"n{i}", "nuts", 2) for i in range(40)]
    history += [buys(f"c{i}", "cardigan", 3) for i in range(10)]
    history += [buys("h1", "hoodie", 30), buys("h1", "cardigan", 30), buys("h2", "hoodie", 20)]
    history += [buys("h2", "wipes", 20)]
    model = build(history, now=NOW, catalogue=catalogue)
    picks = recommend(model, [buys("me", "hoodie", 9)], now=NOW, k=5)
    assert products(picks) == ["jeans", "cardigan", "wipes", "nuts"]
    assert [s.kind for s in picks[:2]] == ["new_arrival", "bestseller"]
    assert picks[1].reason == "本店近 7 天热销，与您买过的女装同类"
    assert picks[2].reason == "本店近 7 天热销"
    # no category known for the buyer: selling is reason enough, best first
    assert products(recommend(model, [], now=NOW, k=2)) == ["wipes", "nuts"]


def test_one_size_of_a_product_and_none_of_a_durable_the_buyer_owns() -> None:
    catalogue = {
        "hoodie-m": ProductInfo("连帽卫衣 M", "女装", is_consumable=False, family="WM-HOODIE"),
        "hoodie-l": ProductInfo("连帽卫衣 L", "女装", is_consumable=False, family="WM-HOODIE"),
        "shoe-39": ProductInfo("跑步鞋 39", "女装", is_consumable=False, family="SH-RUN"),
        "shoe-40": ProductInfo("跑步鞋 40", "女装", is_consumable=False, family="SH-RUN"),
        "rice-1": ProductInfo("米粉 1罐", "女装", repurchase_days=200, family="BB-RICE"),
        "rice-2": ProductInfo("米粉 2罐", "女装", repurchase_days=200, family="BB-RICE"),
    }
    history = [buys(f"c{i}", product, 1) for i in range(5) for product in catalogue]
    model = build(history, now=NOW, catalogue=catalogue)
    mine = [buys("me", "hoodie-m", 30), buys("me", "rice-1", 30)]
    picks = products(recommend(model, mine, now=NOW, k=6))
    assert "hoodie-l" not in picks  # the hoodie they have, in another size
    assert len({p for p in picks if p.startswith("shoe-")}) == 1  # one shoe, not two sizes
    assert picks[0] == "rice-1"  # their staple, not its bigger tin as well
    assert "rice-2" not in picks and len(picks) == 2


def test_a_family_is_brought_up_in_the_size_the_buyer_bought_in_its_category() -> None:
    """The best-selling listing of a family is an M; a buyer who bought an XL hoodie hears
    of the shirt in XL, a 38 runner of the boots in 38 and the slippers in 38-39, a 40 runner
    of the boots in 40 though none sold this week, an iPhone 16 film buyer of the iPhone 16
    case; of two sizes bought, the latest; not the size a 尺码不合 complaint is about; a
    letter size bought in 女装 says nothing of nappies; a family sized the buyer's way but
    not in their size is left out (a coat only in M for an XL buyer, slippers up to 39 for a
    40), and a buyer without a size gets its best."""

    def sized(title: str, category: str, family: str, durable: bool = True) -> ProductInfo:
        return ProductInfo(title, category, is_consumable=not durable, family=family)

    catalogue = {
        "hoodie-xl": sized("连帽卫衣 XL 黑色", "女装", "WO-HOODIE"),
        "hoodie-l": sized("连帽卫衣 L 黑色", "女装", "WO-HOODIE"),
        "shirt-m": sized("真丝衬衫 M 米白色", "女装", "WO-SHIRT"),
        "shirt-l": sized("真丝衬衫 L 米白色", "女装", "WO-SHIRT"),
        "shirt-xl": sized("真丝衬衫 XL 黑色", "女装", "WO-SHIRT"),
        "coat-m": sized("羽绒服 M 黑色", "女装", "WO-COAT"),
        "run-38": sized("跑步鞋 38 白色", "鞋靴", "SH-RUN"),
        "boot-37": sized("马丁靴 37 黑色", "鞋靴", "SH-BOOT"),
        "boot-38": sized("马丁靴 38 黑色", "鞋靴", "SH-BOOT"),
        "boot-40": sized("马丁靴 40 黑色", "鞋靴", "SH-BOOT"),  # nobody bought one this week
        "run-40": sized("跑步鞋 40 白色", "鞋靴", "SH-RUN"),
        "slipper-36": sized("棉拖鞋 36-37 白色", "鞋靴", "SH-SLIP"),
        "slipper-38": sized("棉拖鞋 38-39 白色", "鞋靴", "SH-SLIP"),
        "film-16": sized("钢化膜 iPhone 16 黑色", "数码", "DG-FILM", durable=False),
        "case-mate": sized("手机壳 华为 Mate 70 黑色", "数码", "DG-CASE"),
        "case-16": sized("手机壳 iPhone 16 黑色", "数码", "DG-CASE"),
        "nappy-m": sized("纸尿裤 M码 日常款", "母婴", "BB-NAPPY", durable=False),
        "nappy-l": sized("纸尿裤 L码 日常款", "母婴", "BB-NAPPY", durable=False),
    }
    history = []
    for product, buyers in (("shirt-m", 9), ("shirt-l", 3), ("shirt-xl", 2), ("coat-m", 4)):
        history += [buys(f"{product}{i}", product, 1) for i in range(buyers)]
    for product, buyers in (("boot-37", 8), ("boot-38", 2), ("slipper-36", 6), ("slipper-38", 1)):
        history += [buys(f"{product}{i}", product, 1) for i in range(buyers)]
    history += [buys(f"n{i}", "nappy-m", 1) for i in range(6)] + [buys("n9", "nappy-l", 1)]
    history += [buys(f"p{i}", "case-mate", 1) for i in range(5)] + [buys("p9", "case-16", 1)]
    model = build(history, now=NOW, catalogue=catalogue)

    def picks(*bought: tuple[str, float]) -> list[str]:
        mine = [buys("me", product, days) for product, days in bought]
        return products(recommend(model, mine, now=NOW, k=8))

    clothes = picks(("hoodie-xl", 30))
    assert "shirt-xl" in clothes and not {"shirt-m", "shirt-l"} & set(clothes)
    assert "coat-m" not in clothes  # no XL coat: nothing they could buy
    shoes = picks(("run-38", 30))
    assert {"boot-38", "slipper-38"} <= set(shoes)
    assert not {"boot-37", "slipper-36"} & set(shoes)
    forty = recommend(model, [buys("me", "run-40", 30)], now=NOW, k=8)
    boot = next(s for s in forty if s.product.startswith("boot-"))
    assert boot.product == "boot-40"  # unsold this week: said as the family's best
    assert (boot.kind, boot.reason) == ("bestseller", "本店近 7 天热销，与您买过的鞋靴同类")
    assert "shirt-m" in picks(("hoodie-xl", 300), ("coat-m", 30))  # the latest size bought
    assert "shirt-xl" in picks(("coat-m", 300), ("hoodie-xl", 30))
    nappies = picks(("hoodie-l", 30))  # an L in 女装 is no nappy size
    assert "shirt-l" in nappies and "nappy-m" in nappies and "nappy-l" not in nappies
    # the boots in 38 did not fit (a 尺码不合 complaint): their size is not the buyer's
    returned = [buys("me", "run-40", 200), buys("me", "boot-38", 10)]
    assert "slipper-38" in products(recommend(model, returned, now=NOW, k=8))
    told = recommend(model, returned, now=NOW, k=8, exclude=["boot-38"], wrong_size=["boot-38"])
    assert not {"slipper-36", "slipper-38"} & set(products(told))  # no 40 among them
    assert "slipper-36" in picks(("coat-m", 30))  # no shoe size known: the family's best
    phone = picks(("film-16", 30))  # a case for the phone they bought a film for
    assert "case-16" in phone and "case-mate" not in phone
    unknown = picks()  # a buyer with no history: each family's best seller
    assert {"shirt-m", "boot-37", "slipper-36", "nappy-m", "case-mate"} <= set(unknown)


def test_the_model_survives_a_round_trip_through_json() -> None:
    import json

    again = type(MODEL).from_dict(json.loads(json.dumps(MODEL.to_dict())))
    assert again.built_at == MODEL.built_at and again.popular == pytest.approx(
        MODEL.popular, abs=1e-4
    )
    assert again.neighbours["shampoo"][0][0] == "conditioner"
    assert "kettle" in again.products() and "orange" in again.products()
    mine = [buys("me", "shampoo", 3)]
    again.catalogue = CATALOGUE
    assert products(recommend(again, mine, now=NOW, k=5)) == products(
        recommend(MODEL, mine, now=NOW, k=5)
    )
