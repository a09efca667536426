"""Recommendations on the case page and the attempt form; the admin's recommender page."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import csrf_token, login, post_form
from tests.factories import open_case
from tracker.clock import utcnow
from tracker.models import Case, Product, Shop, User
from tracker.models.enums import Role
from tracker.services.recommendations import case_suggestions, model_status

PAYLOAD = '<script>alert("x")</script>'


@pytest.fixture
def agent(make_user, shop: Shop) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.AGENT, shops=[shop])


@pytest.fixture
def case_with_new_arrivals(session: Session, shop: Shop) -> tuple[Case, list[Product]]:
    """An open case and two new arrivals in the category its buyer bought: the list the
    page shows needs no built model."""
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1))
    new = [
        Product(
            shop_id=shop.id,
            platform_item_id=f"new-{i}",
            title=title,
            category=case.product.category,
            price=Decimal("19.90"),
            launched_at=utcnow() - timedelta(days=i + 1),
        )
        for i, title in enumerate(["新品冰糖橙", PAYLOAD])
    ]
    session.add_all(new)
    session.commit()
    return case, new


def _attempt(case: Case, page: str, **extra: object) -> dict[str, object]:
    from zoneinfo import ZoneInfo

    shown = re.search(r'name="attempt-shown" type="hidden" value="([^"]*)"', page)
    assert shown, "the attempt form carries the list on screen"
    return {
        "attempt-version": str(case.version),
        "attempt-channel": "phone",
        "attempt-outcome": "agreed",
        "attempt-attempted_at": utcnow()
        .astimezone(ZoneInfo("Asia/Shanghai"))
        .strftime("%Y-%m-%dT%H:%M"),
        "attempt-shown": htmllib.unescape(shown.group(1)),
        **extra,
    }


def test_the_case_page_lists_suggestions_and_the_form_records_mentions(
    client: FlaskClient, session: Session, agent: User, case_with_new_arrivals
) -> None:  # type: ignore[no-untyped-def]
    case, new = case_with_new_arrivals
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    panel = page[page.index('id="recommendations"') :]
    assert "新品冰糖橙" in panel and "新品 · 与您买过的水果生鲜同类" in panel
    assert PAYLOAD not in page and "&lt;script&gt;" in panel  # product titles are escaped
    assert f'name="attempt-mentioned" type="checkbox" value="{new[0].id}"' in page
    response = post_form(
        client,
        f"{url}/attempts",
        _attempt(case, page, **{"attempt-mentioned": new[0].id}),
        form_url=url,
    )
    assert response.status_code == 302
    rows = {r.product_id: r for r in case_suggestions(session, case.id)}
    assert set(rows) == {p.id for p in new}
    assert rows[new[0].id].mentioned_at is not None and rows[new[1].id].mentioned_at is None
    page = client.get(url).get_data(as_text=True)
    assert 'id="suggestion-log"' in page


def test_a_forged_list_is_refused_and_nothing_is_written(
    client: FlaskClient, session: Session, agent: User, case_with_new_arrivals
) -> None:  # type: ignore[no-untyped-def]
    case, _ = case_with_new_arrivals
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    data = _attempt(case, page)
    data["attempt-shown"] = str(data["attempt-shown"])[:-3] + "xyz"
    response = post_form(client, f"{url}/attempts", data, form_url=url)
    assert response.status_code == 302
    assert "推荐列表已失效" in client.get(url).get_data(as_text=True)
    session.refresh(case)
    assert case.attempt_count == 0 and case_suggestions(session, case.id) == []
    # a product that was not on screen cannot be ticked either
    data = _attempt(case, page, **{"attempt-mentioned": case.product_id})
    response = post_form(client, f"{url}/attempts", data, form_url=url)
    assert response.status_code == 400 and "不是有效的选择" not in response.get_data(as_text=True)
    assert case_suggestions(session, case.id) == []


def test_admins_set_the_list_size_and_queue_a_rebuild_agents_cannot(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    url = f"/admin/shops/{shop.id}/recommendations"
    login(client, agent)
    assert client.get(url).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.ADMIN))
    page = client.get(url).get_data(as_text=True)
    assert "尚未构建" in page
    assert post_form(client, url, {"suggestions_per_call": "50"}).status_code == 200
    assert post_form(client, url, {"suggestions_per_call": "8"}).status_code == 302
    session.refresh(shop)
    assert shop.suggestions_per_call == 8
    response = post_form(client, f"{url}/rebuild", {}, form_url=url)
    assert response.status_code == 302
    session.refresh(shop)
    assert shop.recommender_requested_at is not None and model_status(session, shop.id) is None
    assert 'id="rebuild-queued"' in client.get(url).get_data(as_text=True)


def test_the_log_says_which_size_the_buyer_chose_when_it_was_another(
    client: FlaskClient, session: Session, agent: User, case_with_new_arrivals
) -> None:  # type: ignore[no-untyped-def]
    """The list shows one size of a product; the buyer orders theirs. The suggestion counts,
    and the log says what was bought: 买的是同款 10斤 (escaped, as every title)."""
    from tracker.models import Order, OrderLine
    from tracker.services.recommendations import record_conversions

    case, new = case_with_new_arrivals
    new[0].sku = "FR-ICE-5"
    bigger = Product(
        shop_id=case.shop_id,
        platform_item_id="new-big",
        sku="FR-ICE-10",
        title=f"新品冰糖橙 10斤 {PAYLOAD}",
        category=case.product.category,
        price=Decimal("39.90"),
        launched_at=utcnow() - timedelta(days=40),
    )
    session.add(bigger)
    session.commit()
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    data = _attempt(case, page, **{"attempt-mentioned": new[0].id})
    assert post_form(client, f"{url}/attempts", data, form_url=url).status_code == 302
    paid = utcnow() + timedelta(minutes=1)
    order = Order(
        shop_id=case.shop_id,
        tid="ICE-1",
        buyer_id=case.buyer_id,
        payment=Decimal("39.90"),
        paid_at=paid,
    )
    order.lines.append(
        OrderLine(
            shop_id=case.shop_id,
            oid="ICE-1-1",
            product_id=bigger.id,
            title=bigger.title,
            quantity=1,
            unit_price=Decimal("39.90"),
        )
    )
    session.add(order)
    session.commit()
    assert record_conversions(session, now=paid + timedelta(minutes=1)) == 1
    log = client.get(url).get_data(as_text=True).split('id="suggestion-log"')[1]
    log = log.split("</table>")[0]
    assert '<div class="small text-muted bought-instead">买的是同款 10斤 &lt;script&gt;' in log
    assert PAYLOAD not in log
