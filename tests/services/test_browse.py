"""Finding orders on a shop's lists: each way of searching, and a search that finds many."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tracker.models import Buyer, Order, Product, Shop
from tracker.services import browse
from tracker.sql_text import contains_text


def _orders(session: Session, shop: Shop, numbers: dict[str, str]) -> None:
    """Orders by number → buyer nick, one minute apart in the given order (last newest),
    written as imports and the demo write them: a Core insert that names no
    ``tid_reversed``."""
    buyers = {}
    for nick in dict.fromkeys(numbers.values()):
        buyer = Buyer(shop_id=shop.id, platform_nick=nick, created_at=NOW, tags=[])
        session.add(buyer)
        session.flush()
        buyers[nick] = buyer.id
    session.execute(
        sa.insert(Order),
        [
            {
                "shop_id": shop.id,
                "tid": tid,
                "buyer_id": buyers[nick],
                "payment": Decimal("10.00"),
                "paid_at": NOW + timedelta(minutes=i),
            }
            for i, (tid, nick) in enumerate(numbers.items())
        ],
    )
    session.flush()


def _found(session: Session, shop: Shop, q: str) -> list[str]:
    search = browse.orders(session, shop.id, q=q)
    return [o.tid for o in session.scalars(search.stmt)]


NUMBERS = {
    "3901234567890128321": "小鱼Fish",
    "3901234500000000001": "大橙子",
    "4177700000000008321": "小鱼Fish",
    "T20261129": "lily_2020",
}


def test_an_order_is_found_by_its_start_its_last_digits_or_its_buyers_nick(
    session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    shop, other = make_shop(), make_shop()
    _orders(session, shop, NUMBERS)
    _orders(session, other, {"3901234567890128321": "小鱼Fish"})  # never another shop's
    assert _found(session, shop, "3901234567890128321") == ["3901234567890128321"]
    assert _found(session, shop, "39012345") == ["3901234500000000001", "3901234567890128321"]
    # 尾号: newest first, whichever way each was found
    assert _found(session, shop, "8321") == ["4177700000000008321", "3901234567890128321"]
    assert _found(session, shop, "1129") == ["T20261129"]
    assert _found(session, shop, "fish") == ["4177700000000008321", "3901234567890128321"]
    assert _found(session, shop, "_2020") == ["T20261129"]  # _ is a character, not a wildcard
    assert _found(session, shop, "%") == []
    assert _found(session, shop, "832") == []  # three digits: only the start of a number
    assert _found(session, shop, "6789012") == []  # the middle of a number is neither
    search = browse.orders(session, shop.id, q="8321")
    assert search.total == 2 and not search.broad


def test_a_search_matching_more_than_the_limit_walks_the_newest_orders(
    session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(browse, "SEARCH_LIMIT", 2)
    shop = make_shop()
    _orders(session, shop, NUMBERS)
    search = browse.orders(session, shop.id, q="39")  # two numbers start so: still exact
    assert search.total == 2 and not search.broad
    search = browse.orders(session, shop.id, q="小鱼")  # two orders, and one more way
    assert not search.broad
    search = browse.orders(session, shop.id, q="i")  # three orders' nicks have an i
    assert search.broad and search.total is None
    assert _found(session, shop, "i") == ["T20261129", "4177700000000008321", "3901234567890128321"]
    monkeypatch.setattr(browse, "SEARCH_LIMIT", 0)  # every search that finds one is broad
    # the walk matches the same ways: a number's start or end, a nick; not its middle
    # (two numbers have a 4 inside)
    assert browse.orders(session, shop.id, q="4").broad
    assert _found(session, shop, "4") == ["4177700000000008321"]
    assert browse.orders(session, shop.id, q="fish").broad
    assert _found(session, shop, "fish") == ["4177700000000008321", "3901234567890128321"]
    assert _found(session, shop, "8321") == ["4177700000000008321", "3901234567890128321"]


def test_orders_keep_their_number_backwards_however_written(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    _orders(session, shop, {"3901": "甲"})  # Core
    buyer = session.scalar(sa.select(Buyer).where(Buyer.shop_id == shop.id))
    order = Order(shop_id=shop.id, tid="ab12", buyer_id=buyer.id, payment=1, paid_at=NOW)
    session.add(order)  # ORM
    session.flush()
    order.tid = "ab123"
    session.flush()
    order.shipped_at = NOW  # an update that leaves the number alone leaves it alone
    session.flush()
    backwards = session.scalars(
        sa.select(Order.tid_reversed).where(Order.shop_id == shop.id).order_by(Order.id)
    ).all()
    assert backwards == ["1093", "321ba"]


def test_contains_text_ignores_case_and_takes_wildcards_literally(
    session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    titles = ["Apple 苹果 100%", "apple_pie", "APPLEXPIE", "梨"]
    for i, title in enumerate(titles):
        session.add(
            Product(
                shop_id=shop.id,
                platform_item_id=str(i),
                title=title,
                category="水果",
                price=Decimal("1.00"),
            )
        )
    session.flush()

    def titled(term: str) -> list[str]:
        return session.scalars(
            sa.select(Product.title)
            .where(Product.shop_id == shop.id, contains_text(Product.title, term))
            .order_by(Product.id)
        ).all()

    assert titled("aPPle") == titles[:3]
    assert titled("e_p") == ["apple_pie"]
    assert titled("0%") == ["Apple 苹果 100%"]
    assert titled("苹果") == ["Apple 苹果 100%"]
    assert titled("\\") == []


def test_a_list_of_distinct_rows_is_counted_by_its_rows(app, session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    """The count selects a constant only where that leaves the rows as they are."""
    from tracker.web.inputs import requested_page

    shop = make_shop()
    _orders(session, shop, NUMBERS)  # three buyers, four orders
    with app.test_request_context("/?page=1"):
        nicks = sa.select(Buyer.platform_nick).join(Order, Order.buyer_id == Buyer.id)
        nicks = nicks.where(Order.shop_id == shop.id)
        assert requested_page(nicks).rows == 4
        assert requested_page(nicks.distinct()).rows == 3
        assert requested_page(nicks.group_by(Buyer.platform_nick)).rows == 3


def test_an_orders_cases_are_found_through_its_lines_reviews_index(
    session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    """订单 links each order to its cases through its lines' reviews: by the index on a
    review's line, not by an index SQLite would build over every review for each page
    (its plan says AUTOMATIC). PostgreSQL's plan is read on bench/lists.py's millions."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan of a near-empty PostgreSQL table says nothing")
    from tracker.database import query_plans

    shop = make_shop()
    _orders(session, shop, NUMBERS)
    ids = session.scalars(sa.select(Order.id).where(Order.shop_id == shop.id)).all()
    plans = query_plans(session, lambda: browse.cases_of_orders(session, ids), "order_lines")
    assert len(plans) == 1 and "ix_reviews_order_line_id" in plans[0], plans
    assert "AUTOMATIC" not in plans[0], plans


def test_a_nick_search_can_read_the_nicks_index_on_postgresql(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    """买家 by a part of a nick asks PostgreSQL's index of the nicks' characters and pairs
    (migration 0036) in its own words: asked alone with scans ruled out, the plan shows it
    (on a near-empty table the planner would rather read the shop's few rows). SQLite
    reads the nicks (no such index)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite keeps no index of the nicks' characters")
    from tracker.database import query_plans
    from tracker.text_index import POSTGRES_NICK_INDEX, grams_hold

    shop = make_shop()
    _orders(session, shop, NUMBERS)
    assert [
        b.platform_nick
        for b in session.scalars(
            browse.buyers(session, shop.id, browse.BuyerListing(q="鱼fi")).stmt
        )
    ] == ["小鱼Fish"]
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    probe = sa.select(Buyer.id).where(grams_hold(Buyer.platform_nick, "鱼fi"))
    plans = query_plans(session, lambda: session.scalars(probe).all(), "text_grams")
    assert len(plans) == 1 and POSTGRES_NICK_INDEX in plans[0], plans


def _segmented_buyers(session: Session, shop: Shop, *, added_since: list[str]) -> None:
    """Four buyers apart in spend, order count and last purchase (one never bought), the
    segments computed, then ``added_since``: buyers with no segment yet."""
    from tests.services.test_segments import NOW as SEGMENTED_AT
    from tests.services.test_segments import buyer_with
    from tracker.services import segments

    buyer_with(session, shop, "a_seldom_big", [(200, "900.00")])
    buyer_with(session, shop, "b_recent_small", [(1, "20.00")])
    buyer_with(session, shop, "c_frequent", [(days, "50.00") for days in (5, 40, 80, 120)])
    buyer_with(session, shop, "d_never", [])
    segments.recompute(session, shop, now=SEGMENTED_AT)
    for nick in added_since:
        session.add(Buyer(shop_id=shop.id, platform_nick=nick, created_at=NOW, tags=[]))
    session.commit()


def test_buyers_are_listed_by_what_they_bought_as_the_segments_last_counted_it(
    session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    """An operations lead looks for the shop's best or latest buyers, not for nick ``amy_1``:
    the list sorts by the nightly segments' spend, order count or last purchase. A buyer
    added after the segments were computed has none yet: listed by nick, not in those
    orders until the next computation (the page says as of when); a search sorts too."""
    from tests.services.test_segments import NOW as SEGMENTED_AT
    from tracker.services import segments

    shop = make_shop()
    _segmented_buyers(session, shop, added_since=["0_added_since"])

    def listed(sort: str, **filters: object) -> list[str]:
        asked = browse.BuyerListing(sort=sort, **filters)  # type: ignore[arg-type]
        search = browse.buyers(session, shop.id, asked)
        found = [b.platform_nick for b in session.scalars(search.stmt)]
        assert search.total in (None, len(found))  # the count a page shows is the list's
        return found

    every = ["a_seldom_big", "b_recent_small", "c_frequent", "d_never"]
    assert listed("nick") == ["0_added_since", *every]
    assert listed("spent") == ["a_seldom_big", "c_frequent", "b_recent_small", "d_never"]
    assert listed("orders") == ["c_frequent", "a_seldom_big", "b_recent_small", "d_never"]
    assert listed("recent") == ["b_recent_small", "c_frequent", "a_seldom_big", "d_never"]
    # a segment filter picks, the sort orders; a search finds, then sorts what it found
    assert listed("spent", klass="loyal") == ["c_frequent"]
    assert listed("nick", klass="loyal") == ["c_frequent"]
    assert listed("recent", q="_") == ["b_recent_small", "c_frequent", "a_seldom_big", "d_never"]
    assert listed("spent", q="a_s") == ["a_seldom_big"]
    segments.recompute(session, shop, now=SEGMENTED_AT + timedelta(days=1))  # the next night
    assert listed("spent")[-2:] == ["0_added_since", "d_never"]  # nothing spent: by nick


def test_a_class_is_read_from_its_own_index_when_sorted_on_sqlite(
    session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A class alone by 最近购买 reads the class's index in that order (migration 0053): it
    walked the shop's 最近购买 index testing every segment, 364–424 ms for 沉睡客户 on SQLite.
    A small class sorted another way is read whole and sorted, not found by walking the
    sort's index past every richer buyer (a class of 1,650 by 累计消费: 185–250 ms). SQLite
    keeps no statistics, so its plan is the same for a few rows as for 400,000;
    PostgreSQL plans from its statistics."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan of a near-empty PostgreSQL table says nothing")
    from tests.services.test_segments import NOW as SEGMENTED_AT
    from tests.services.test_segments import buyer_with
    from tracker.database import query_plans
    from tracker.services import segments

    shop = make_shop()
    buyer_with(session, shop, "a_dormant", [(200, "900.00")])
    buyer_with(session, shop, "b_new", [(1, "20.00")])
    segments.recompute(session, shop, now=SEGMENTED_AT)

    def plan(**asked: object) -> str:
        listing = browse.BuyerListing(**asked)  # type: ignore[arg-type]
        search = browse.buyers(session, shop.id, listing)
        plans = query_plans(session, lambda: session.scalars(search.stmt).all(), "ORDER BY")
        assert len(plans) == 1, plans
        return plans[0]

    assert "ix_buyer_segments_shop_id_klass_recency_days" in plan(klass="dormant", sort="recent")
    assert "ix_buyer_segments_shop_id_klass_big" in plan(klass="new", sort="spent")
    monkeypatch.setattr(browse, "FEW_TO_SORT", 0)  # a big class: walked down the sort's index
    assert "ix_buyer_segments_shop_id_spent_level" in plan(klass="new", sort="spent")


def test_a_buyer_search_matching_more_than_the_limit_walks_the_list_in_its_order(
    session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A part of every nick (买家 in a big shop) is not counted to the end: past
    ``SEARCH_LIMIT`` matches the list walks in its own order, testing each buyer, and says
    超过. A filter that leaves no more than the limit is counted exactly, and so is a sort
    that leaves out the buyers added since the segments were computed."""
    from tests.services.test_segments import buyer_with

    monkeypatch.setattr(browse, "SEARCH_LIMIT", 2)
    shop = make_shop()
    _segmented_buyers(session, shop, added_since=["0_added_since", "1_added_since"])
    buyer_with(session, make_shop(), "e_elsewhere", [(1, "99.00")])  # never another shop's

    def searched(q: str, sort: str = "nick", **filters: object) -> tuple[list[str], object]:
        asked = browse.BuyerListing(q=q, sort=sort, **filters)  # type: ignore[arg-type]
        search = browse.buyers(session, shop.id, asked)
        found = [b.platform_nick for b in session.scalars(search.stmt)]
        return found, "broad" if search.broad else search.total

    every = ["a_seldom_big", "b_recent_small", "c_frequent", "d_never"]
    assert searched("_") == (["0_added_since", "1_added_since", *every], "broad")
    assert searched("_", "spent") == (
        ["a_seldom_big", "c_frequent", "b_recent_small", "d_never"],
        "broad",
    )
    # four nicks hold _s (any case), two of them added since: the sorted list holds two
    assert searched("_S", "recent") == (["b_recent_small", "a_seldom_big"], 2)
    assert searched("_", "spent", klass="loyal") == (["c_frequent"], 1)  # counted: one
    assert searched("_", "nick", big=True) == (["a_seldom_big"], 1)
    assert searched("added_since") == (["0_added_since", "1_added_since"], 2)
    assert searched("added_since", "spent") == ([], None)  # not segmented yet: counted, none
    assert searched("n", "orders") == (["c_frequent", "b_recent_small", "d_never"], "broad")
    assert searched("%") == ([], 0) and searched("fi") == ([], 0)  # no wildcards, no strangers
