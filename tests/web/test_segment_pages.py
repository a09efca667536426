"""The segment view, the buyer list's segment filters, member levels and their export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import login, post_form
from tests.factories import open_case
from tracker.clock import utcnow
from tracker.models import Buyer, Order, Shop, User
from tracker.models.enums import Role
from tracker.services import segments


def _shop_with_buyers(session: Session, shop: Shop) -> tuple[Buyer, Buyer]:
    big = Buyer(shop_id=shop.id, platform_nick="大买家", created_at=utcnow(), tags=[])
    small = Buyer(shop_id=shop.id, platform_nick="小买家", created_at=utcnow(), tags=[])
    session.add_all([big, small])
    session.flush()
    for i in range(3):
        session.add(
            Order(
                shop_id=shop.id,
                tid=f"B{i}",
                buyer_id=big.id,
                payment=Decimal("900"),
                paid_at=utcnow() - timedelta(days=10 * i + 1),
            )
        )
    session.add(
        Order(
            shop_id=shop.id,
            tid="S1",
            buyer_id=small.id,
            payment=Decimal("30"),
            paid_at=utcnow() - timedelta(days=200),
        )
    )
    session.commit()
    segments.recompute(session, shop, now=utcnow())
    return big, small


def test_the_segment_view_and_the_buyer_filters(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    big, _small = _shop_with_buyers(session, shop)
    login(client, make_user(Role.AGENT, shops=[shop]))
    page = client.get("/shop/segments").get_data(as_text=True)
    assert "忠诚客户" in page and "沉睡客户" in page and 'id="pyramid"' in page
    assert 'id="levels-form"' not in page  # agents read, supervisors set levels
    loyal = client.get("/shop/buyers?klass=loyal&big=1").get_data(as_text=True)
    assert "大买家" in loyal and "小买家" not in loyal
    dormant = client.get("/shop/buyers?klass=dormant").get_data(as_text=True)
    assert "小买家" in dormant and "大买家" not in dormant
    assert "忠诚客户" in client.get(f"/shop/buyers/{big.id}").get_data(as_text=True)
    assert client.get("/shop/segments/grades.csv").status_code == 403


def test_a_supervisor_sets_levels_and_exports_grades(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    _shop_with_buyers(session, shop)
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    refused = post_form(
        client,
        "/shop/segments/levels",
        {"basis": "spend", "threshold1": "1000", "threshold2": "500"},
        form_url="/shop/segments",
    )
    assert refused.status_code == 302
    assert "递增" in client.get("/shop/segments").get_data(as_text=True)
    post_form(
        client,
        "/shop/segments/levels",
        {"basis": "spend", "threshold1": "100", "threshold2": "1000"},
        form_url="/shop/segments",
    )
    session.refresh(shop)
    assert shop.member_levels == {"basis": "spend", "thresholds": ["100", "1000"]}
    segments.recompute(session, shop, now=utcnow())
    csv_text = client.get("/shop/segments/grades.csv").get_data(as_text=True)
    assert "大买家,2,高级会员,2700.00,3" in csv_text and "小买家,0,店铺客户" in csv_text


def test_the_case_page_says_who_is_on_the_line(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1))
    segments.recompute(session, shop, now=utcnow())
    login(client, make_user(Role.AGENT, shops=[shop]))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="segment-brief"' in html and "新客" in html
