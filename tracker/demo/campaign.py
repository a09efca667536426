"""A reactivation campaign in the demo shop's past, so 客户运营活动 shows what one leaves.

Run as a supervisor would have run it ``DAYS_AGO`` days before the demo's end, through the
same services as the campaign page and the scheduler: segments as of that morning, the
dormant buyers chosen with the usual exclusions, a fifth held back, the rest sent at 10:00
through a stand-in for the SMS provider (it accepts every message; the operator delivers
most), receipts read back. Some buyers the message reached then come back within the
result window and order (at the nine-tenths price the text offers); nobody in the control
group is nudged, so whatever the page's uplift shows is the simulation's doing, measured the
way a real campaign's is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.demo.loader import demo_oaid
from tracker.domain.campaigns import Audience, Exclusions
from tracker.domain.segments import BuyerClass
from tracker.models import (
    Campaign,
    CampaignRecipient,
    MessageTemplate,
    Order,
    OrderLine,
    Product,
    Shop,
    User,
)
from tracker.models.enums import MessagePurpose, RefundStatus, Role
from tracker.providers.contract import Delivery, Receipt, Sms
from tracker.services import campaigns, segments

DAYS_AGO = 40  # launched then: its 30-day result window has closed by the demo's end
CONTROL_SHARE = 0.2
DELIVERED = 0.95  # the operator's share of accepted messages delivered
COMES_BACK = 0.06  # of the buyers it reached, who order because of it
COMES_BACK_WITHIN_DAYS = 6.0  # mean days from the message to that order
PRICE = Decimal("0.9")  # 老客专享九折, as the template says


@dataclass(frozen=True)
class CampaignSummary:
    campaign_id: int
    chosen: int
    sent: int
    control: int
    came_back: int  # orders the simulation added for buyers the message reached


class DemoSms:
    """The demo's stand-in for the shop's SMS provider (the demo has no account): every
    message is accepted; the operator's receipt says delivered for most."""

    def __init__(self, rng: random.Random, sent_at: datetime) -> None:
        self.rng, self.sent_at, self.count = rng, sent_at, 0

    def send(self, sms: Sms) -> str:
        self.count += 1
        return f"demo-{self.count:07d}"

    def receipt(self, ref: str, phone: str, sent_on: date) -> Receipt:
        if self.rng.random() < DELIVERED:
            return Receipt(Delivery.DELIVERED, at=self.sent_at + timedelta(seconds=8))
        return Receipt(Delivery.FAILED, error="MK:0001", at=self.sent_at + timedelta(minutes=2))

    def find(self, out_id: str, phone: str, sent_on: date) -> str | None:
        return None


def run_campaign(
    session: Session, shop: Shop, *, now: datetime, tz: ZoneInfo, seed: int
) -> CampaignSummary | None:
    """The campaign, sent, read back and answered; None when the shop has no marketing
    template or no supervisor to have run it."""
    template = session.scalar(
        sa.select(MessageTemplate).where(
            MessageTemplate.shop_id == shop.id,
            MessageTemplate.purpose == MessagePurpose.MARKETING,
        )
    )
    lead = session.scalar(
        sa.select(User)
        .where(User.role == Role.SUPERVISOR, User.shops.any(id=shop.id))
        .order_by(User.id)
    )
    if template is None or lead is None:
        return None
    day = (now.astimezone(tz) - timedelta(days=DAYS_AGO)).date()
    launch_at = datetime.combine(day, time(9, 40), tzinfo=tz)
    sent_at = datetime.combine(day, time(10, 0), tzinfo=tz)
    rng = random.Random(seed)
    segments.recompute(session, shop, now=launch_at)  # who was dormant that morning
    draft = campaigns.CampaignDraft(
        name="沉睡客户唤醒 · 新品九折",
        audience=Audience(classes=frozenset({BuyerClass.DORMANT})),
        exclusions=Exclusions(),
        template_id=template.id,
        control_share=CONTROL_SHARE,
        coupon="老客专享九折（下单即享，无任何条件）",
    )
    campaign = campaigns.create(session, shop, draft, actor=lead, now=launch_at)
    campaigns.launch(session, campaign, actor=lead, now=launch_at)
    provider = DemoSms(rng, sent_at)
    campaigns.send_due(
        session,
        now=sent_at,
        clients=lambda _shop, _name: provider,
        tz=tz,
        per_minute=1_000_000,  # all in one run: the stand-in has no rate to keep
        sleep=lambda _seconds: None,
    )
    while campaigns.poll_receipts(
        session, now=sent_at + timedelta(hours=1), clients=lambda _shop, _name: provider, tz=tz
    ):
        pass
    came_back = _come_back(session, shop, campaign, sent_at, now, rng)
    results = campaigns.results(session, campaign, now=now)
    return CampaignSummary(campaign.id, campaign.chosen, results.sent, results.control, came_back)


def _come_back(
    session: Session,
    shop: Shop,
    campaign: Campaign,
    sent_at: datetime,
    now: datetime,
    rng: random.Random,
) -> int:
    """Orders from some of the buyers the message reached, within the result window: the
    product they last bought (a dormant buyer's usual), at the offered price."""
    reached = list(
        session.scalars(
            sa.select(CampaignRecipient.buyer_id)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.delivery == "delivered",
            )
            .order_by(CampaignRecipient.buyer_id)
        )
    )
    until = min(sent_at + timedelta(days=campaigns.RESULT_DAYS), now)
    orders = 0
    for buyer_id in reached:
        if rng.random() >= COMES_BACK:
            continue
        paid_at = sent_at + timedelta(days=rng.expovariate(1 / COMES_BACK_WITHIN_DAYS))
        if paid_at >= until:
            continue
        last = session.execute(
            sa.select(OrderLine.product_id, Product.title, Product.price)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.buyer_id == buyer_id, Order.paid_at < sent_at, Product.is_active)
            .order_by(Order.paid_at.desc(), OrderLine.id)
            .limit(1)
        ).first()
        if last is None:
            continue
        product_id, title, price = last
        unit = (price * PRICE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        tid = str(4_100_000_000_000_000_000 + campaign.id * 10**9 + buyer_id)
        shipped = paid_at + timedelta(hours=rng.uniform(6, 30))
        received = shipped + timedelta(days=rng.uniform(1.5, 4))
        order = Order(
            shop_id=shop.id,
            tid=tid,
            buyer_id=buyer_id,
            payment=unit,
            paid_at=paid_at,
            shipped_at=shipped if shipped < now else None,
            received_at=received if received < now else None,
            oaid=demo_oaid(tid),
        )
        session.add(order)
        session.flush()
        session.add(
            OrderLine(
                shop_id=shop.id,
                order_id=order.id,
                oid=tid,
                product_id=product_id,
                title=title,
                quantity=1,
                unit_price=unit,
                refund_status=RefundStatus.NONE,
            )
        )
        orders += 1
    session.commit()
    return orders
