"""Segments recomputed from a shop's orders, replaced whole, counted and exported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.fakes import statements_seen
from tracker.domain.segments import BuyerClass, LevelBasis, MemberLevels
from tracker.models import Buyer, BuyerSegment, Order, Shop, User
from tracker.models.enums import Role
from tracker.services import segments

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=SH)


def buyer_with(session: Session, shop: Shop, nick: str, orders: list[tuple[int, str]]) -> Buyer:
    """``orders``: (days ago, payment)."""
    buyer = Buyer(
        shop_id=shop.id, platform_nick=nick, created_at=NOW - timedelta(days=900), tags=[]
    )
    session.add(buyer)
    session.flush()
    for i, (days, payment) in enumerate(orders):
        session.add(
            Order(
                shop_id=shop.id,
                tid=f"{nick}-{i}",
                buyer_id=buyer.id,
                payment=Decimal(payment),
                paid_at=NOW - timedelta(days=days),
            )
        )
    session.commit()
    return buyer


def test_a_shop_is_segmented_from_its_orders_and_replaced_whole(
    session: Session, shop: Shop
) -> None:
    loyal = buyer_with(session, shop, "常客", [(5, "1000"), (40, "1000"), (80, "1000")])
    new = buyer_with(session, shop, "新人", [(3, "50")])
    dormant = buyer_with(session, shop, "睡着", [(200, "300"), (250, "300")])
    lost = buyer_with(session, shop, "走了", [(500, "80")])
    prospect = buyer_with(session, shop, "看看", [])
    assert segments.recompute(session, shop, now=NOW) == 5
    got = {s.buyer_id: s for s in session.scalars(sa.select(BuyerSegment))}
    assert got[loyal.id].klass == BuyerClass.LOYAL and got[loyal.id].big
    assert (got[loyal.id].orders, got[loyal.id].spent, got[loyal.id].recency_days) == (
        3,
        Decimal("3000.00"),
        5,
    )
    assert got[new.id].klass == BuyerClass.NEW and got[dormant.id].klass == BuyerClass.DORMANT
    assert got[lost.id].klass == BuyerClass.LOST and got[prospect.id].klass == BuyerClass.PROSPECT
    assert shop.top_fifth_share == pytest.approx(3000 / 3730)  # one of four buyers who bought
    buyer_with(session, shop, "又一个", [(1, "10")])
    assert segments.recompute(session, shop, now=NOW + timedelta(days=1)) == 6
    assert session.scalar(sa.select(sa.func.count()).select_from(BuyerSegment)) == 6
    shown = segments.view(session, shop)
    assert shown.buyers == 6 and shown.revenue == Decimal("3740.00")
    loyal_row = next(r for r in shown.rows if r.klass == BuyerClass.LOYAL)
    assert loyal_row.share == pytest.approx(3000 / 3740)


def test_buyers_who_never_ordered_do_not_split_the_segments_insert(
    session: Session, shop: Shop
) -> None:
    """A shop's buyers who never ordered sit among those who did (null 最近购买): the ORM's
    bulk insert split its batch at each of them, a statement per buyer or two."""
    for i in range(30):
        buyer_with(session, shop, f"买家{i}", [(10 + i, "90")] if i % 2 else [])
    with statements_seen(session, lambda s: s.startswith("INSERT INTO buyer_segments")) as inserts:
        assert segments.recompute(session, shop, now=NOW) == 30
    assert len(inserts) == 1
    never = session.scalars(sa.select(BuyerSegment).where(BuyerSegment.orders == 0)).all()
    assert len(never) == 15 and {s.recency_days for s in never} == {None}


def test_segments_are_as_of_now_orders_paid_later_do_not_count(
    session: Session, shop: Shop
) -> None:
    back = buyer_with(session, shop, "回来了", [(200, "300"), (-3, "90")])  # 3 days after now
    assert segments.recompute(session, shop, now=NOW) == 1
    seg = session.scalar(sa.select(BuyerSegment).where(BuyerSegment.buyer_id == back.id))
    assert seg is not None
    assert (seg.klass, seg.orders, seg.spent, seg.recency_days) == (
        BuyerClass.DORMANT,
        1,
        Decimal("300.00"),
        200,
    )
    segments.recompute(session, shop, now=NOW + timedelta(days=4))
    seg = session.scalar(sa.select(BuyerSegment).where(BuyerSegment.buyer_id == back.id))
    assert seg is not None and (seg.klass, seg.orders, seg.recency_days) == (
        BuyerClass.REPEAT,
        2,
        1,
    )


def test_member_levels_are_audited_recomputed_and_exported_as_grades(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN)
    buyer_with(session, shop, "大户", [(5, "2500"), (9, "100")])
    buyer_with(session, shop, "小户", [(5, "120")])
    levels = MemberLevels(LevelBasis.SPEND, (Decimal(100), Decimal(1000)))
    segments.set_levels(session, shop, levels, adapter=None, actor=admin, now=NOW)
    assert shop.segments_requested_at == NOW
    segments.recompute(session, shop, now=NOW)
    assert shop.segments_requested_at is None
    rows = segments.grade_rows(session, shop)
    assert [(r[0], r[1], r[2]) for r in rows] == [("大户", 2, "高级会员"), ("小户", 1, "普通会员")]
    assert segments.view(session, shop).levels[:3] == [
        ("店铺客户", 0),
        ("普通会员", 1),
        ("高级会员", 1),
    ]
