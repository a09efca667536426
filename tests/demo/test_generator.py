"""The demo shop is deterministic and has the counts and proportions the README states."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from functools import cache

import pytest

from tracker.demo import review_texts as texts
from tracker.demo.catalog_data import CATEGORIES, Family
from tracker.demo.generator import (
    EXPLANATIONS,
    LOGISTICS_EXPLANATION,
    SHOP_TZ,
    DemoShop,
    generate,
)
from tracker.demo.review_texts import SYSTEM_DEFAULT_TEXTS
from tracker.models.enums import Rating, RevisionKind

END = date(2026, 11, 23)


@cache
def full_shop() -> DemoShop:
    return generate(seed=2026, scale=1.0, end=END)


def test_same_seed_same_shop_different_seed_different_shop() -> None:
    a = generate(seed=7, scale=0.05, end=END)
    b = generate(seed=7, scale=0.05, end=END)
    c = generate(seed=8, scale=0.05, end=END)
    assert a == b
    assert a.orders != c.orders


def test_counts() -> None:
    shop = full_shop()
    assert len(shop.products) >= 300
    assert len({p.category for p in shop.products}) >= 8
    assert len(shop.buyers) == 5000
    assert len(shop.orders) == 40000
    assert len({b.nick for b in shop.buyers}) == 5000
    assert len({o.tid for o in shop.orders}) == 40000
    oids = [ln.oid for o in shop.orders for ln in o.lines]
    assert len(set(oids)) == len(oids)


def test_scale_multiplies_buyers_and_orders() -> None:
    small = generate(seed=1, scale=0.1, end=END)
    assert (len(small.buyers), len(small.orders)) == (500, 4000)
    assert len(small.products) == len(full_shop().products)  # the catalogue does not scale


def test_catalogue_has_consumables_new_arrivals_and_delisted_products() -> None:
    shop = full_shop()
    consumable = [p for p in shop.products if p.is_consumable]
    assert {"水果生鲜", "茶叶冲饮", "洗护清洁"} <= {p.category for p in consumable}
    assert all(p.repurchase_days and p.repurchase_days > 0 for p in consumable)
    now = max(o.paid_at for o in shop.orders)
    assert sum(now - p.launched_at < timedelta(days=31) for p in shop.products) >= 10
    assert 0 < sum(not p.is_active for p in shop.products) < len(shop.products) * 0.1
    assert all(p.price > 0 for p in shop.products)
    # a family's own styles where its category's do not fit (no spicy chocolate on a call)
    sweets = [p.title for p in shop.products if "巧克力" in p.title or "大枣" in p.title]
    assert sweets and not any("香辣" in title for title in sweets)
    assert any(p.title.endswith("海盐味") for p in shop.products)


def test_a_product_title_says_nothing_twice() -> None:
    """A style does not repeat the name, selling points or size before it (礼盒装 礼盒款,
    滋润 … 滋润型, 产地直发 … 产地直发 read as pasted)."""
    for category in CATEGORIES:
        for family in category.families:
            for style in family.styles or category.styles:
                stem = style.rstrip("型款装味色")
                for variant in family.variants:
                    before = f"{family.name} {family.selling_points} {variant}"
                    assert stem not in before, f"{before} {style}"


def test_orders_cover_a_year_with_a_double_eleven_peak() -> None:
    shop = full_shop()
    days = Counter(o.paid_at.astimezone(SHOP_TZ).date() for o in shop.orders)
    assert min(days) >= END - timedelta(days=365) and max(days) < END
    average = len(shop.orders) / 365
    assert days[date(2026, 11, 11)] > 4 * average
    assert days.most_common(1)[0][0] == date(2026, 11, 11)
    festival = [days[date(2026, 2, 17) + timedelta(days=i)] for i in range(3)]
    assert max(festival) < average  # the Spring Festival dip


def test_buyers_repeat_and_products_are_bought_together() -> None:
    shop = full_shop()
    per_buyer = Counter(o.buyer for o in shop.orders)
    repeaters = sum(1 for n in per_buyer.values() if n > 1) / len(shop.buyers)
    assert 0.5 < repeaters < 0.85
    family = [p.sku.rsplit("-", 1)[0] for p in shop.products]
    pairs = Counter()
    for order in shop.orders:
        families = sorted({family[ln.product] for ln in order.lines})
        pairs.update((a, b) for i, a in enumerate(families) for b in families[i + 1 :])
    assert pairs[("CL-CONDITIONER", "CL-SHAMPOO-AD")] > 200
    assert pairs[("DG-CASE", "DG-FILM")] > 100
    # repeat purchases of the same consumable happen
    bought = Counter((o.buyer, ln.product) for o in shop.orders for ln in o.lines)
    assert sum(1 for (_, p), n in bought.items() if n > 1 and shop.products[p].is_consumable) > 1000


def test_review_proportions() -> None:
    shop = full_shop()
    reviews = shop.reviews
    n = len(reviews)
    lines = sum(len(o.lines) for o in shop.orders)
    assert 0.85 * lines < n <= lines
    ratings = Counter(r.rating for r in reviews)
    assert 0.01 < ratings[Rating.BAD] / n < 0.04
    assert 0.01 < ratings[Rating.NEUTRAL] / n < 0.04
    system = [r for r in reviews if r.is_system_default]
    assert 0.25 < len(system) / n < 0.40
    assert {r.text for r in system} == set(SYSTEM_DEFAULT_TEXTS)
    assert all(r.rating is Rating.GOOD for r in system)
    hidden = [r for r in reviews if r.is_hidden_negative]
    assert 0.01 < len(hidden) / n < 0.03
    assert all(r.rating is Rating.GOOD and r.reasons for r in hidden)
    kinds = Counter(rev.kind for r in reviews for rev in r.revisions)
    assert kinds[RevisionKind.REVISED] > 300
    assert kinds[RevisionKind.DELETED] > 50
    assert kinds[RevisionKind.FOLLOW_UP] > 300
    revised = [r for r in reviews if r.revisions and r.revisions[0].kind is RevisionKind.REVISED]
    assert all(
        r.rating is Rating.GOOD and r.revisions[0].rating is not Rating.GOOD for r in revised
    )


def test_a_follow_up_is_kept_apart_from_the_review_as_platforms_send_it() -> None:
    """A 追评 is its own field (scored on its own by intake, shown under the review), not
    words appended to the review, where the happy first words would drown it."""
    shop = full_shop()
    followed = [r for r in shop.reviews if r.follow_up_text]
    assert len(followed) > 300
    assert all("\n" not in r.text and "追评" not in r.text for r in shop.reviews)
    for review in followed:
        assert review.first_posted_at == review.posted_at < review.follow_up_at
        assert [rev.kind for rev in review.revisions] == [RevisionKind.FOLLOW_UP]
        assert review.revisions[0].text == review.text  # the review itself did not change
    unhappy = [r for r in followed if r.is_hidden_negative]
    assert 0.1 < len(unhappy) / len(followed) < 0.3  # a good review's buyer came back unhappy
    # the last month has some: the demo's board shows cases whose buyer gave their 追评
    month_start = datetime.combine(END - timedelta(days=30), time(), SHOP_TZ)
    assert sum(r.follow_up_at >= month_start for r in unhappy) >= 5


@pytest.mark.parametrize(
    "reason", ["quality", "logistics", "packaging", "size_fit", "mismatch", "service", "freshness"]
)
def test_every_complaint_reason_occurs(reason: str) -> None:
    shop = full_shop()
    assert sum(reason in r.reasons for r in shop.reviews if r.rating is not Rating.GOOD) > 10


def _family(title: str) -> Family:
    return next(f for c in CATEGORIES for f in c.families if f.name in title)


def test_size_complaints_only_where_sizes_exist() -> None:
    shop = full_shop()
    sized = {
        f.name for c in CATEGORIES for f in c.families if "size_fit" in (f.reasons or c.reasons)
    }
    assert "婴儿纸尿裤" in sized and "婴儿辅食米粉" not in sized
    for review in shop.reviews:
        if "size_fit" in review.reasons:
            product = shop.orders[review.order].lines[review.line].product
            assert _family(shop.products[product].title).name in sized


def test_a_review_speaks_of_the_product_it_is_for() -> None:
    """A phrase written for a family or a category is only found under it: 坚果有哈喇味 under
    靖江猪肉脯, 音质很好 under a cable, 做工粗糙 under apples read as pasted from elsewhere."""
    shop = full_shop()
    under: dict[str, set[str]] = {}  # phrase -> the families and categories it was written for
    for table in (texts.POSITIVE_BY_FAMILY, texts.POSITIVE_BY_CATEGORY, *texts.NEGATIVE.values()):
        for key, phrases in table.items():
            for phrase in phrases:
                under.setdefault(phrase, set()).add(key)
    particular = {phrase: keys for phrase, keys in under.items() if "*" not in keys}
    # a 追评 of what is eaten or drunk is no 用了一段时间 or 有瑕疵, and the reverse
    eaten_only = {*texts.FOLLOW_UP_POSITIVE_EATEN, *texts.FOLLOW_UP_NEGATIVE_EATEN}
    used_only = {*texts.FOLLOW_UP_POSITIVE, *texts.FOLLOW_UP_NEGATIVE}
    eaten_only, used_only = eaten_only - used_only, used_only - eaten_only
    seen = follow_ups = 0
    for review in shop.reviews:
        product = shop.products[shop.orders[review.order].lines[review.line].product]
        own = {_family(product.title).name, product.category}
        for phrase, keys in particular.items():
            if phrase in review.text:
                assert keys & own, (phrase, product.title)
                seen += 1
        if review.follow_up_text:
            wrong = used_only if own & set(texts.EATEN) else eaten_only
            assert review.follow_up_text not in wrong, (review.follow_up_text, product.title)
            follow_ups += 1
    assert seen > 10_000 and follow_ups > 300


def test_the_shops_explanation_answers_the_complaint() -> None:
    """The delivery's excuse (快递爆仓) only under a complaint about the delivery."""
    excuse = EXPLANATIONS[LOGISTICS_EXPLANATION]
    explained = [r for r in full_shop().reviews if r.explanation]
    assert len(explained) > 300
    assert all("logistics" in r.reasons for r in explained if r.explanation == excuse)
    assert any(r.explanation == excuse for r in explained)


def test_reviews_follow_their_orders() -> None:
    shop = full_shop()
    for review in shop.reviews[:5000]:
        order = shop.orders[review.order]
        assert order.received_at is not None
        assert review.first_posted_at >= order.received_at
        assert review.posted_at >= review.first_posted_at
