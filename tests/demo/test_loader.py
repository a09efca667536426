from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW, count
from tests.fakes import statements_seen
from tracker.demo.generator import generate
from tracker.demo.loader import DEMO_PASSWORD, DemoExists, load_demo
from tracker.models import (
    Buyer,
    Notification,
    Order,
    OrderLine,
    Product,
    Review,
    ReviewRevision,
    ShiftDay,
    ShiftRequest,
    Shop,
    User,
)
from tracker.models.enums import Role, ShiftRequestState
from tracker.services import shift_requests
from tracker.services.shifts import hours_of


def test_load_writes_every_record_once(session: Session) -> None:
    demo = generate(seed=3, scale=0.02, end=date(2026, 11, 23))
    summary = load_demo(session, demo, code="demo", name="演示店", now=NOW)
    assert count(session, Product) == summary.products == len(demo.products)
    assert count(session, Buyer) == summary.buyers == len(demo.buyers)
    assert count(session, Order) == summary.orders == len(demo.orders)
    assert count(session, OrderLine) == summary.order_lines
    assert count(session, Review) == summary.reviews == len(demo.reviews)
    assert count(session, ReviewRevision) == summary.revisions > 0
    admin = session.scalar(sa.select(User).where(User.username == "admin"))
    assert admin is not None and admin.check_password(DEMO_PASSWORD)
    shop = session.scalar(sa.select(Shop).where(Shop.code == "demo"))
    assert admin.shops == [shop]
    # an early and a late 班次, and one agent on the shop's hours
    agents = sa.select(User.username, User.shift).where(User.role == Role.AGENT)
    shifts = {name: shift for name, shift in session.execute(agents)}
    assert shifts["kefu1"] is None
    assert shifts["kefu2"]["periods"][-1] == ["13:30", "18:00"]
    # 大小周: Saturdays every other week, the week after NOW's (Friday 11-20) the long one
    early = session.scalar(sa.select(User).where(User.username == "kefu2"))
    hours = hours_of(early, shop, ZoneInfo("Asia/Shanghai"))
    saturdays = [date(2026, 11, 28) + timedelta(weeks=n) for n in range(3)]
    assert [bool(hours.periods_on(d)) for d in saturdays] == [True, False, True]
    assert shifts["kefu3"] == {"periods": [["13:30", "22:00"]], "weekdays": [0, 1, 2, 3, 4, 5, 6]}
    # the coming Saturday (NOW is a Friday): the early agent works it, the late one is off
    days = session.execute(
        sa.select(User.username, ShiftDay.day, ShiftDay.periods).join(
            ShiftDay, ShiftDay.user_id == User.id
        )
    )
    assert {(name, day, len(periods)) for name, day, periods in days} == {
        ("kefu2", date(2026, 11, 21), 2),
        ("kefu3", date(2026, 11, 21), 0),
    }
    # the week after, each login finds a 调班申请: the supervisor two to decide (each one
    # that approving would change), 客服小林 a swap to answer
    requests = {
        (r.user.username, r.day, r.state): r for r in session.scalars(sa.select(ShiftRequest))
    }
    assert set(requests) == {
        ("kefu3", date(2026, 11, 26), ShiftRequestState.PENDING),
        ("kefu1", date(2026, 11, 23), ShiftRequestState.PENDING),
        ("kefu2", date(2026, 11, 24), ShiftRequestState.WITH_COLLEAGUE),
    }
    tz = ZoneInfo("Asia/Shanghai")
    for request in requests.values():
        found = shift_requests.changes(request, request.shop, now=NOW, tz=tz)
        assert all(c.before != c.after for c in found)
    # and each is on the bell of whoever must answer it
    notices = session.execute(
        sa.select(User.username, Notification.title)
        .join(Notification, Notification.user_id == User.id)
        .where(Notification.kind == shift_requests.NEWS)
    ).all()
    assert sorted(name for name, _ in notices) == ["kefu1", "zhuguan", "zhuguan"]
    assert ("kefu1", "客服小陈想和你换 11-24 周二 的班") in notices
    # order totals equal their lines
    order = session.scalars(sa.select(Order).limit(1)).one()
    assert order.payment == sum(ln.unit_price * ln.quantity for ln in order.lines)

    with pytest.raises(DemoExists):
        load_demo(session, demo, code="demo", name="演示店", now=NOW)
    assert count(session, Review) == summary.reviews  # nothing duplicated


def test_a_second_shop_loads_in_batches_and_each_row_links_to_its_own(session: Session) -> None:
    """The loader reads each batch's new ids back by the shop's own keys: a second shop in
    the same database (``--sister``) links its reviews to its own lines, orders and buyers,
    and the rows go in a statement per batch, not one a row."""
    first = generate(seed=3, scale=0.02, end=date(2026, 11, 23))
    load_demo(session, first, code="demo", name="演示店", now=NOW)
    second = generate(seed=4, scale=0.02, end=date(2026, 11, 23))
    with statements_seen(session, lambda s: s.startswith("INSERT INTO reviews ")) as inserts:
        summary = load_demo(session, second, code="demo-2", name="演示二店", now=NOW)
    assert summary.reviews == len(second.reviews) > 100 and len(inserts) == 1
    shop = session.scalar(sa.select(Shop).where(Shop.code == "demo-2"))
    assert shop is not None
    reviews = session.scalars(sa.select(Review).where(Review.shop_id == shop.id)).all()
    by_key = {r.platform_key: r for r in reviews}
    for made in second.reviews:
        order = second.orders[made.order]
        line = order.lines[made.line]
        review = by_key[f"{line.oid}:buyer"]
        stored = session.get(OrderLine, review.order_line_id)
        assert stored is not None and stored.oid == line.oid and stored.order.tid == order.tid
        assert review.buyer is not None
        assert review.buyer.platform_nick == second.buyers[order.buyer].nick
        assert review.product is not None
        assert review.product.platform_item_id == second.products[line.product].item_id
        assert {review.shop_id, review.buyer.shop_id, review.product.shop_id} == {shop.id}


def test_the_demo_shop_ranks_its_buyers_in_member_levels_by_spend(session: Session) -> None:
    """The demo sets the shop's own levels (300 / 1,000 / 3,000 / 8,000 by 累计消费): without
    them every buyer sat at 0 店铺客户, and 分层 and the buyer list's 会员等级 showed nothing."""
    from tracker.models import BuyerSegment
    from tracker.services import segments

    load_demo(
        session,
        generate(seed=3, scale=0.05, end=date(2026, 11, 23)),
        code="demo",
        name="演示店",
        now=NOW,
    )
    shop = session.scalar(sa.select(Shop).where(Shop.code == "demo"))
    assert shop is not None
    segments.recompute(session, shop, now=NOW)
    rows = session.execute(sa.select(BuyerSegment.level, BuyerSegment.spent)).all()
    bounds = [0, 300, 1000, 3000, 8000]
    assert all(spent >= bounds[level] for level, spent in rows)
    assert all(level == 4 or spent < bounds[level + 1] for level, spent in rows)
    assert {level for level, _ in rows} >= {0, 1, 2, 3}  # a spread, not one level
