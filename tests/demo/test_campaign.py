"""The demo's campaign in its past: run through the campaign services, measured honestly."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tracker.demo import campaign as demo_campaign
from tracker.demo.generator import generate
from tracker.demo.loader import load_demo
from tracker.models import Campaign, CampaignRecipient, Order, OrderLine, Product, Shop
from tracker.services import campaigns

SH = ZoneInfo("Asia/Shanghai")


def test_the_demo_campaign_reached_dormant_buyers_and_only_they_came_back(
    session: Session,
) -> None:
    demo = generate(seed=5, scale=0.1, end=date(2026, 11, 19))
    load_demo(session, demo, code="demo", name="演示店", now=NOW)
    shop = session.scalar(sa.select(Shop).where(Shop.code == "demo"))
    assert shop is not None
    before = session.scalar(sa.select(sa.func.max(Order.id)))

    ran = demo_campaign.run_campaign(session, shop, now=NOW, tz=SH, seed=5)

    assert ran is not None
    campaign = session.get(Campaign, ran.campaign_id)
    assert campaign is not None and campaign.state == "done"
    day = (NOW.astimezone(SH) - timedelta(days=demo_campaign.DAYS_AGO)).date()
    launched = datetime.combine(day, time(9, 40), tzinfo=SH)
    assert campaign.started_at is not None
    assert campaign.started_at.astimezone(SH) == launched
    recipients = list(
        session.scalars(
            sa.select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
        )
    )
    assert len(recipients) == campaign.chosen == ran.sent + ran.control
    assert ran.control == campaign.held_back > 0
    sent = [r for r in recipients if not r.control]
    assert sent and all(r.state == "sent" and r.delivery for r in sent)
    assert all(r.state == "control" and r.sent_at is None for r in recipients if r.control)
    # everyone chosen was dormant that morning: last paid 90–365 days before the launch
    for recipient in recipients:
        last = session.scalar(
            sa.select(sa.func.max(Order.paid_at)).where(
                Order.buyer_id == recipient.buyer_id, Order.paid_at <= launched
            )
        )
        assert last is not None
        assert 90 < (_naive_utc(launched) - _naive_utc(last)).days <= 365
    # the orders it added: one per buyer the message reached, in the window, at 九折
    added = list(session.scalars(sa.select(Order).where(Order.id > before)))
    assert len(added) == ran.came_back > 0
    delivered = {r.buyer_id for r in sent if r.delivery == "delivered"}
    sent_at = datetime.combine(day, time(10, 0), tzinfo=SH)
    for order in added:
        assert order.buyer_id in delivered
        paid = _naive_utc(order.paid_at)
        assert _naive_utc(sent_at) <= paid < _naive_utc(sent_at + timedelta(days=30))
        line = session.scalar(sa.select(OrderLine).where(OrderLine.order_id == order.id))
        assert line is not None
        price = session.scalar(sa.select(Product.price).where(Product.id == line.product_id))
        assert price is not None
        offered = (price * Decimal("0.9")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert order.payment == line.unit_price == offered
    # the page's figures are the campaign services' own: the control group was not nudged
    found = campaigns.results(session, campaign, now=NOW)
    assert (found.sent, found.control, found.waiting) == (ran.sent, ran.control, 0)
    assert found.delivered + found.undelivered == ran.sent and found.undelivered > 0
    assert found.conversion is not None and found.revenue is not None


def _naive_utc(value: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL aware times."""
    if value.tzinfo is None:
        return value
    return value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
