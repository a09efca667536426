"""Recommendations over the database: the stored model, a case's list, calls, conversions."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import HOURS, NOW
from tests.factories import open_case
from tracker import jobs
from tracker.models import (
    Buyer,
    Case,
    CaseReason,
    CaseSuggestion,
    Order,
    OrderLine,
    Product,
    RecommenderModel,
    Shop,
    User,
)
from tracker.models.enums import AttemptOutcome, CaseStatus, Channel, Reason, Role, SuggestionKind
from tracker.services import cases as svc
from tracker.services import recommendations as recs
from tracker.services.errors import FieldError

OPENED = NOW + timedelta(days=3)  # open_case's review is posted three days after the sale
CALL = NOW + timedelta(days=4)


class Shelf:
    """A small shop: a catalogue, other buyers' orders, and a helper to add more."""

    def __init__(self, session: Session, shop: Shop) -> None:
        self.session, self.shop = session, shop
        self.products: dict[str, Product] = {}
        self.orders = 0

    def product(self, key: str, title: str, sku: str, **fields: object) -> Product:
        values: dict[str, object] = {
            "category": "洗护",
            "price": Decimal("30.00"),
            "launched_at": NOW - timedelta(days=400),
        } | fields
        product = Product(
            shop_id=self.shop.id, platform_item_id=key, sku=sku, title=title, **values
        )
        self.session.add(product)
        self.session.flush()
        self.products[key] = product
        return product

    def buyer(self, nick: str) -> Buyer:
        buyer = Buyer(shop_id=self.shop.id, platform_nick=nick, created_at=NOW, tags=[])
        self.session.add(buyer)
        self.session.flush()
        return buyer

    def order(self, buyer: Buyer, at: datetime, *keys: str) -> Order:
        self.orders += 1
        order = Order(
            shop_id=self.shop.id,
            tid=f"S{self.orders}",
            buyer_id=buyer.id,
            payment=Decimal("10.00"),
            paid_at=at,
        )
        for i, key in enumerate(keys):
            product = self.products[key]
            order.lines.append(
                OrderLine(
                    shop_id=self.shop.id,
                    oid=f"S{self.orders}-{i}",
                    product_id=product.id,
                    title=product.title,
                    quantity=1,
                    unit_price=product.price,
                )
            )
        self.session.add(order)
        self.session.flush()
        return order


@pytest.fixture
def agent(make_user, shop: Shop) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.AGENT, shops=[shop])


@pytest.fixture
def shelf(session: Session, shop: Shop) -> Shelf:
    shelf = Shelf(session, shop)
    shelf.product("shampoo", "控油洗发水", "CL-SHAMPOO-1", is_consumable=True, repurchase_days=30)
    shelf.product("conditioner", "护发素", "CL-COND-1", is_consumable=True, repurchase_days=30)
    shelf.product("kettle", "电水壶", "HO-KETTLE-1", category="家居")
    shelf.product("orange10", "赣南脐橙 10斤", "FR-ORANGE-10", category="水果生鲜")
    shelf.product("old", "已下架的旧款", "FR-OLD-1", category="水果生鲜")
    shelf.product(
        "newtea", "新品白茶", "TE-WHITE-1", category="水果生鲜", launched_at=NOW - timedelta(days=5)
    )
    for i in range(10):  # shampoo and conditioner go together
        shelf.order(shelf.buyer(f"洗护{i}"), NOW - timedelta(days=40), "shampoo", "conditioner")
    for i in range(8):  # this week's bestsellers
        shelf.order(shelf.buyer(f"水果{i}"), NOW - timedelta(days=2), "orange10", "old")
    session.commit()
    return shelf


def the_case(session: Session, shelf: Shelf, *, text: str = "质量太差了，坏了") -> Case:
    """A complaint about a 5-jin box of oranges (the FR-ORANGE family), from a buyer who
    buys shampoo every month and once bought a kettle."""
    case = open_case(session, shelf.shop, at=NOW, text=text)
    case.product.sku, case.product.category = "FR-ORANGE-5", "水果生鲜"
    case.product.is_consumable = True  # fruit: another box is no repeat of a durable
    shelf.products["orange"] = case.product
    shelf.order(case.buyer, NOW - timedelta(days=70), "shampoo")
    shelf.order(case.buyer, NOW - timedelta(days=35), "shampoo")
    shelf.order(case.buyer, NOW - timedelta(days=100), "kettle")
    session.commit()
    return case


def listed(session: Session, case: Case, k: int = 10) -> list[recs.ShownProduct]:
    return recs.suggestions_for(session, case, now=CALL, k=k)


def keys(shown: list[recs.ShownProduct]) -> list[str]:
    return [s.product.platform_item_id for s in shown]


def test_the_complaint_its_variants_inactive_and_owned_durables_never_appear(
    session: Session, shelf: Shelf
) -> None:
    case = the_case(session, shelf)
    assert {r.reason for r in case.reasons} >= {Reason.QUALITY}
    recs.build_model(session, shelf.shop, now=CALL)
    picks = keys(listed(session, case))
    assert picks and "item-1" not in picks  # the complained-about 5-jin box
    assert "orange10" not in picks  # its variant, for a quality complaint
    assert "old" in picks
    shelf.products["old"].is_active = False  # delisted after the build
    session.commit()
    picks = keys(listed(session, case))
    assert "old" not in picks and "kettle" not in picks and "item-1" not in picks


def test_what_the_buyer_complains_of_on_another_open_case_is_not_suggested(
    session: Session, shelf: Shelf
) -> None:
    """One call settles all the buyer's open cases: the shampoo they buy every month is
    not offered while another of their cases complains of it, and is again once it closes."""
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    assert "shampoo" in keys(listed(session, case))  # their staple, due again
    other = open_case(session, shelf.shop, key="2", nick="同一买家", at=NOW)
    other.buyer_id = other.review.buyer_id = case.buyer_id
    other.product_id = shelf.products["shampoo"].id
    session.commit()
    assert "shampoo" not in keys(listed(session, case))
    other.status, other.closed_at = CaseStatus.UNRECOVERED, CALL
    session.commit()
    assert "shampoo" in keys(listed(session, case))


def test_variants_stay_for_complaints_that_are_not_about_quality(
    session: Session, shelf: Shelf
) -> None:
    case = the_case(session, shelf, text="快递太慢了")
    case.reasons = [CaseReason(reason=Reason.LOGISTICS)]
    session.commit()
    recs.build_model(session, shelf.shop, now=CALL)
    picks = keys(listed(session, case))
    assert "orange10" in picks and "item-1" not in picks


def test_a_family_is_suggested_in_the_size_the_buyer_bought(session: Session, shelf: Shelf) -> None:
    """The shirt sells best in M; the buyer bought a hoodie in XL: the call brings up the XL
    shirt, its title as the shop lists it, and it converts as the family does."""
    for size in ("M", "L", "XL"):
        shelf.product(
            f"shirt-{size}", f"真丝衬衫 通勤 {size} 黑色", f"WO-SHIRT-{size}", category="女装"
        )
    shelf.product("hoodie-XL", "加绒连帽卫衣 XL 黑色", "WO-HOODIE-XL", category="女装")
    for i in range(6):
        shelf.order(shelf.buyer(f"衬衫{i}"), NOW - timedelta(days=2), "shirt-M")
    shelf.order(shelf.buyer("衬衫L"), NOW - timedelta(days=2), "shirt-L")
    case = the_case(session, shelf, text="快递太慢了")
    shelf.order(case.buyer, NOW - timedelta(days=20), "hoodie-XL")
    session.commit()
    recs.build_model(session, shelf.shop, now=CALL)
    picks = keys(listed(session, case))
    assert "shirt-XL" in picks and not {"shirt-M", "shirt-L"} & set(picks)
    stranger = open_case(session, shelf.shop, at=NOW, key="9", nick="新客")
    session.commit()
    assert "shirt-M" in keys(listed(session, stranger))  # no size known: the best seller


def test_the_size_a_size_complaint_is_about_is_not_taken_for_the_buyers(
    session: Session, shelf: Shelf
) -> None:
    """尺码不合 about the XL hoodie: XL is what did not fit, so the shirt comes up as it
    sells best, not in XL; the same case about its colour brings the XL shirt."""
    for size in ("M", "XL"):
        shelf.product(
            f"shirt-{size}", f"真丝衬衫 通勤 {size} 黑色", f"WO-SHIRT-{size}", category="女装"
        )
    for i in range(4):
        shelf.order(shelf.buyer(f"衬衫{i}"), NOW - timedelta(days=2), "shirt-M")
    case = open_case(
        session, shelf.shop, at=NOW, key="7", title="加绒连帽卫衣 XL 黑色", text="偏小"
    )
    case.product.sku, case.product.category = "WO-HOODIE-XL", "女装"
    case.reasons = [CaseReason(reason=Reason.SIZE_FIT)]
    session.commit()
    recs.build_model(session, shelf.shop, now=CALL)
    picks = keys(listed(session, case))
    assert "shirt-M" in picks and "shirt-XL" not in picks
    case.reasons = [CaseReason(reason=Reason.MISMATCH)]
    session.commit()
    picks = keys(listed(session, case))
    assert "shirt-XL" in picks and "shirt-M" not in picks


def test_a_consumable_due_for_repurchase_ranks_first_and_reasons_match(
    session: Session, shelf: Shelf
) -> None:
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    shown = {s.product.platform_item_id: s.shown for s in listed(session, case)}
    first = listed(session, case, k=1)[0]
    assert first.product.platform_item_id == "shampoo"
    assert (first.shown.kind, first.shown.reason) == (
        SuggestionKind.STAPLE_DUE,
        "您常买的控油洗发水该补货了",
    )
    assert shown["conditioner"].kind is SuggestionKind.TOGETHER
    assert shown["conditioner"].reason == "买过控油洗发水的顾客常一起买"
    assert shown["newtea"].kind is SuggestionKind.NEW_ARRIVAL
    assert shown["newtea"].reason == "新品 · 与您买过的水果生鲜同类"
    assert shown["old"].kind is SuggestionKind.BESTSELLER
    assert [s.rank for s in shown.values()] == list(range(1, len(shown) + 1))


def test_a_buyer_with_no_other_history_gets_bestsellers_and_new_arrivals(
    session: Session, shelf: Shelf
) -> None:
    case = open_case(session, shelf.shop, at=NOW, key="9", nick="新客")
    case.product.category = "水果生鲜"
    session.commit()
    assert keys(listed(session, case)) == ["newtea"]  # no model yet: the catalogue alone
    recs.build_model(session, shelf.shop, now=CALL)
    shown = listed(session, case)
    assert {s.shown.kind for s in shown} == {SuggestionKind.BESTSELLER, SuggestionKind.NEW_ARRIVAL}
    assert "item-9" not in keys(shown)


def test_the_list_size_is_the_shops_setting(session: Session, shelf: Shelf) -> None:
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    assert shelf.shop.suggestions_per_call == 5 and len(listed(session, case)) == 4
    recs.set_suggestions_per_call(session, shelf.shop, 3)
    assert len(recs.suggestions_for(session, case, now=CALL)) == 3
    recs.set_suggestions_per_call(session, shelf.shop, 2)
    assert len(recs.suggestions_for(session, case, now=CALL)) == 2
    with pytest.raises(FieldError, match="1 到 20"):
        recs.set_suggestions_per_call(session, shelf.shop, 0)


def test_catalogue_edits_reach_the_ranking_within_the_minute_delistings_at_once(
    session: Session, shelf: Shelf, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    fake = SimpleNamespace(monotonic=lambda: clock[0], perf_counter=time.perf_counter)
    monkeypatch.setattr(recs, "time", fake)
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    assert "newjam" not in keys(listed(session, case))
    shelf.product(
        "newjam", "新品果酱", "FR-JAM-1", category="水果生鲜", launched_at=NOW - timedelta(days=1)
    )
    shelf.products["old"].is_active = False
    session.commit()
    picks = keys(listed(session, case))
    assert "old" not in picks  # a delisted product is never shown, cached catalogue or not
    assert "newjam" not in picks  # the catalogue read a moment ago is still used
    clock[0] += recs.CATALOGUE_SECONDS + 1
    picks = keys(listed(session, case))
    assert "newjam" in picks and "old" not in picks


def test_a_rebuild_replaces_the_stored_model_and_the_cache(session: Session, shelf: Shelf) -> None:
    case = the_case(session, shelf)
    first = recs.build_model(session, shelf.shop, now=CALL)
    assert (first.order_lines, first.products) == (40, 6)
    assert "conditioner" in keys(listed(session, case))
    for i in range(30):  # kettles become this week's bestseller
        shelf.order(shelf.buyer(f"家居{i}"), CALL - timedelta(hours=1), "kettle", "newtea")
    session.commit()
    again = recs.build_model(session, shelf.shop, now=CALL)
    assert again.id == first.id and again.order_lines == 100
    assert session.query(RecommenderModel).count() == 1
    assert listed(session, case, k=2)[1].product.platform_item_id == "newtea"


def _call(case: Case, agent: User, shown, mentioned=(), at=CALL) -> svc.AttemptDraft:  # type: ignore[no-untyped-def]
    return svc.AttemptDraft(
        channel=Channel.PHONE,
        attempted_at=at,
        outcome=AttemptOutcome.AGREED,
        shown=tuple(shown),
        mentioned=frozenset(mentioned),
    )


def log_call(session: Session, case: Case, agent: User, shown, mentioned=(), at=CALL):  # type: ignore[no-untyped-def]
    """A call that reached the buyer, logged with these suggestions on the screen."""
    draft = _call(case, agent, shown, mentioned, at)
    return svc.log_attempt(
        session, case, draft, actor=agent, now=at, expected_version=None, hours=HOURS
    )


def test_a_call_records_what_was_shown_and_mentioned_once_per_product(
    session: Session, shelf: Shelf, agent: User
) -> None:
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    shown = [s.shown for s in listed(session, case, k=3)]
    shampoo = shelf.products["shampoo"].id
    log_call(session, case, agent, shown)
    later = CALL + timedelta(days=1)
    second = log_call(session, case, agent, shown, mentioned=[shampoo], at=later)
    rows = {r.product_id: r for r in recs.case_suggestions(session, case.id)}
    assert set(rows) == {s.product_id for s in shown}
    assert rows[shampoo].suggested_at == CALL and rows[shampoo].mentioned_at == later
    assert rows[shampoo].mentioned_attempt_id == second.id
    assert rows[shampoo].kind is SuggestionKind.STAPLE_DUE
    assert sum(r.mentioned_at is not None for r in rows.values()) == 1


def test_only_products_on_screen_can_be_ticked_and_nothing_is_half_written(
    session: Session, shelf: Shelf, agent: User
) -> None:
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    shown = [s.shown for s in listed(session, case, k=2)]
    draft = _call(case, agent, shown, mentioned=[shelf.products["kettle"].id])
    with pytest.raises(FieldError, match="只能勾选"):
        svc.log_attempt(
            session, case, draft, actor=agent, now=CALL, expected_version=None, hours=HOURS
        )
    session.rollback()
    assert case.attempt_count == 0 and recs.case_suggestions(session, case.id) == []


def test_a_conversion_counts_once_within_thirty_days_and_not_after(
    session: Session, shelf: Shelf, agent: User
) -> None:
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    shown = [s.shown for s in listed(session, case, k=5)]
    ids = {s.product.platform_item_id: s.product.id for s in listed(session, case, k=5)}
    assert {"shampoo", "conditioner"} <= set(ids)
    log_call(session, case, agent, shown, mentioned=[ids["shampoo"], ids["conditioner"]])
    buyer = case.buyer
    before = shelf.order(buyer, CALL - timedelta(hours=1), "shampoo")  # before the call
    first = shelf.order(buyer, CALL + timedelta(days=10), "shampoo")
    shelf.order(buyer, CALL + timedelta(days=20), "shampoo")  # same product again
    shelf.order(buyer, CALL + timedelta(days=30, minutes=1), "conditioner")  # too late
    session.commit()
    end = CALL + timedelta(days=45)
    assert recs.record_conversions(session, now=end) == 1
    assert recs.record_conversions(session, now=end) == 0  # a second run adds nothing
    rows = {r.product_id: r for r in recs.case_suggestions(session, case.id)}
    assert rows[ids["shampoo"]].converted_order_id == first.id != before.id
    assert rows[ids["shampoo"]].converted_at == CALL + timedelta(days=10)
    assert rows[ids["conditioner"]].converted_at is None
    assert recs.bought_instead(session, list(rows.values())) == {}  # the product itself
    assert (
        session.query(CaseSuggestion).filter(CaseSuggestion.converted_at.is_not(None)).count() == 1
    )


def test_one_order_converts_one_suggestion_when_two_cases_suggested_it(
    session: Session, shelf: Shelf, agent: User
) -> None:
    first = the_case(session, shelf)
    second = open_case(session, shelf.shop, key="2", nick="同一买家", at=NOW)
    second.buyer_id = second.review.buyer_id = first.buyer_id  # the same buyer, two reviews
    session.commit()
    recs.build_model(session, shelf.shop, now=CALL)
    shampoo = shelf.products["shampoo"].id
    for case, at in ((first, CALL), (second, CALL + timedelta(days=1))):
        shown = [s.shown for s in listed(session, case, k=5)]
        assert shampoo in {s.product_id for s in shown}
        log_call(session, case, agent, shown, mentioned=[shampoo], at=at)
    shelf.order(first.buyer, CALL + timedelta(days=5), "shampoo")
    session.commit()

    def converted() -> dict[int, int | None]:
        return {
            case.id: next(
                r.converted_order_id
                for r in recs.case_suggestions(session, case.id)
                if r.product_id == shampoo
            )
            for case in (first, second)
        }

    assert recs.record_conversions(session, now=CALL + timedelta(days=6)) == 1
    credited = converted()
    assert credited[first.id] is None and credited[second.id] is not None  # the last call
    assert recs.record_conversions(session, now=CALL + timedelta(days=7)) == 0  # not again
    again = shelf.order(first.buyer, CALL + timedelta(days=8), "shampoo")
    session.commit()
    assert recs.record_conversions(session, now=CALL + timedelta(days=9)) == 1
    assert converted() == {first.id: again.id, second.id: credited[second.id]}


def test_another_size_of_the_suggested_product_converts_it_once_per_order(
    session: Session, shelf: Shelf, agent: User
) -> None:
    """The list shows one size or colour of a product; the buyer orders theirs. An order of
    the same family (CL-COND-1 suggested, CL-COND-2 bought) converts the suggestion; one of
    another family does not, and a later order of both sizes converts nothing more."""
    shelf.product("conditioner-big", "护发素 大瓶", "CL-COND-2", is_consumable=True)
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    shown = [s.shown for s in listed(session, case, k=5)]
    conditioner = shelf.products["conditioner"].id
    assert conditioner in {s.product_id for s in shown}
    assert shelf.products["conditioner-big"].id not in {s.product_id for s in shown}
    log_call(session, case, agent, shown, mentioned=[conditioner])
    shelf.order(case.buyer, CALL + timedelta(days=2), "kettle")  # another family: no
    session.commit()
    assert recs.record_conversions(session, now=CALL + timedelta(days=3)) == 0
    theirs = shelf.order(case.buyer, CALL + timedelta(days=4), "conditioner-big")
    shelf.order(case.buyer, CALL + timedelta(days=5), "conditioner-big", "conditioner")
    session.commit()
    assert recs.record_conversions(session, now=CALL + timedelta(days=6)) == 1
    assert recs.record_conversions(session, now=CALL + timedelta(days=7)) == 0
    log = recs.case_suggestions(session, case.id)
    row = next(r for r in log if r.product_id == conditioner)
    assert row.converted_order_id == theirs.id  # the first order of the family, once
    assert recs.bought_instead(session, log) == {row.id: "大瓶"}  # what they chose


def test_conversions_of_unmentioned_suggestions_count_from_the_call_that_showed_them(
    session: Session, shelf: Shelf, agent: User
) -> None:
    case = the_case(session, shelf)
    recs.build_model(session, shelf.shop, now=CALL)
    shown = [s.shown for s in listed(session, case, k=5)]
    log_call(session, case, agent, shown)
    shelf.order(case.buyer, CALL + timedelta(days=29), "conditioner")
    session.commit()
    assert recs.record_conversions(session, now=CALL + timedelta(days=29, hours=1)) == 1
    row = next(r for r in recs.case_suggestions(session, case.id) if r.converted_at)
    assert row.mentioned_at is None and row.product.platform_item_id == "conditioner"


def test_the_scheduler_builds_what_an_admin_asked_for(
    app: Flask, session: Session, shelf: Shelf
) -> None:
    shop_id = shelf.shop.id
    jobs.dispatch_builds(app, jobs.inline(app), "recommender", requested_only=True)
    assert recs.model_status(session, shop_id) is None  # nobody asked
    # a job's app context closes the session when it ends: load the shop afresh
    recs.request_build(session, session.get(Shop, shop_id), now=CALL)
    jobs.dispatch_builds(app, jobs.inline(app), "recommender", requested_only=True)
    status = recs.model_status(session, shop_id)
    assert status is not None and status.order_lines == 36
    assert session.get(Shop, shop_id).recommender_requested_at is None


def test_the_command_line_builds_and_counts(app: Flask, session: Session, shelf: Shelf) -> None:
    runner = app.test_cli_runner()
    code, shop_id = shelf.shop.code, shelf.shop.id
    result = runner.invoke(args=["recommend", "build", "--shop", code])
    assert result.exit_code == 0 and "订单行 36" in result.output, result.output
    assert recs.model_status(session, shop_id) is not None
    result = runner.invoke(args=["recommend", "build", "--shop", "nope"])
    assert result.exit_code != 0 and "unknown shop code" in result.output
    result = runner.invoke(args=["recommend", "conversions"])
    assert result.exit_code == 0 and "新增转化 0 个" in result.output
