"""Building blocks for tests: a small shop with a buyer, an order and a review."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from tracker.domain.phone_numbers import parse_number
from tracker.models import (
    Buyer,
    CaseSurvey,
    ContactAttempt,
    MessageTemplate,
    Order,
    OrderLine,
    Product,
    Remedy,
    Review,
    Shop,
)
from tracker.models.enums import AttemptOutcome, Channel, MessagePurpose, Rating, RemedyKind
from tracker.services import buyer_profiles, contact_handles


def add_sale(
    session: Session,
    shop: Shop,
    *,
    nick: str = "买家甲",
    phone: str = "13812345678",
    phone_expires_at: datetime | None = None,
    text: str = "很好",
    rating: Rating = Rating.GOOD,
    at: datetime,
    title: str = "赣南脐橙 5斤装",
    key: str = "1001",
    oaid: str | None = None,
) -> Review:
    """One buyer who bought one product and reviewed it."""
    product = Product(
        shop_id=shop.id,
        platform_item_id=f"item-{key}",
        title=title,
        category="水果生鲜",
        price=Decimal("39.90"),
        launched_at=at - timedelta(days=90),
    )
    buyer = Buyer(shop_id=shop.id, platform_nick=nick, created_at=at, tags=[])
    session.add_all([product, buyer])
    session.flush()
    if phone:
        give_number(session, buyer, phone, at=at, expires_at=phone_expires_at)
    order = Order(
        shop_id=shop.id,
        tid=f"T{key}",
        buyer_id=buyer.id,
        payment=Decimal("39.90"),
        paid_at=at,
        shipped_at=at + timedelta(hours=5),
        received_at=at + timedelta(days=2),
        oaid=oaid,
    )
    order.lines.append(
        OrderLine(
            shop_id=shop.id,
            oid=f"O{key}",
            product_id=product.id,
            title=title,
            quantity=1,
            unit_price=Decimal("39.90"),
        )
    )
    session.add(order)
    session.flush()
    review = Review(
        shop_id=shop.id,
        platform_key=f"O{key}:buyer",
        order_line_id=order.lines[0].id,
        product_id=product.id,
        buyer_id=buyer.id,
        rating=rating,
        text=text,
        posted_at=at + timedelta(days=3),
        first_posted_at=at + timedelta(days=3),
        received_at=at + timedelta(days=3),
        updated_at=at + timedelta(days=3),
    )
    session.add(review)
    session.commit()
    return review


def open_case(
    session: Session,
    shop: Shop,
    *,
    key: str = "1",
    nick: str = "买家甲",
    rating: Rating = Rating.BAD,
    text: str = "质量太差了，坏了",
    at: datetime,
    phone: str = "13812345678",
    title: str = "赣南脐橙 5斤装",
    oaid: str | None = None,
    phone_expires_at: datetime | None = None,
):  # type: ignore[no-untyped-def]
    """A sale, its unhappy review and the case intake opens for it."""
    from datetime import time
    from zoneinfo import ZoneInfo

    from tracker.domain.triage import CaseKind, DeadlinePolicy
    from tracker.domain.working_hours import WorkingHours
    from tracker.services.intake import IntakeSettings, open_case_for

    review = add_sale(
        session,
        shop,
        nick=nick,
        phone=phone,
        text=text,
        rating=rating,
        at=at,
        title=title,
        key=key,
        oaid=oaid,
        phone_expires_at=phone_expires_at,
    )
    settings = IntakeSettings(
        WorkingHours(tz=ZoneInfo("Asia/Shanghai"), periods=((time(9), time(22)),)), DeadlinePolicy()
    )
    kind = {
        Rating.BAD: CaseKind.BAD,
        Rating.NEUTRAL: CaseKind.NEUTRAL,
        Rating.GOOD: CaseKind.HIDDEN_NEGATIVE,
    }[rating]
    case = open_case_for(session, review, kind, now=review.posted_at, settings=settings)
    session.commit()
    return case


def buyer_with_order(
    session: Session,
    shop: Shop,
    nick: str,
    *,
    phone: str,
    paid_at: datetime,
    payment: str = "100",
    received_at: datetime | None = None,
    name: str | None = None,
    birthday: date | None = None,
) -> Buyer:
    """A buyer with one order and a number that takes an SMS (the customer-operations
    tests' unit); the caller commits."""
    buyer = Buyer(
        shop_id=shop.id,
        platform_nick=nick,
        created_at=paid_at,
        tags=[],
    )
    buyer_profiles.keep(buyer, name=name, birthday=birthday)
    session.add(buyer)
    session.flush()
    session.add(
        Order(
            shop_id=shop.id,
            tid=f"T-{nick}",
            buyer_id=buyer.id,
            payment=Decimal(payment),
            paid_at=paid_at,
            received_at=received_at,
        )
    )
    give_number(session, buyer, phone, at=paid_at)
    return buyer


ZHENG = buyer_profiles.Profile("郑俊杰", "浙江省杭州市西湖区文三路 100 号", date(1990, 5, 1))


def give_profile(buyer: Buyer, profile: buyer_profiles.Profile = ZHENG) -> None:
    """A name, address and birthday as an import brings them (sealed); the caller commits."""
    buyer_profiles.keep(buyer, name=profile.name, region=profile.region, birthday=profile.birthday)


def give_number(
    session: Session, buyer: Buyer, phone: str, *, at: datetime, expires_at: datetime | None = None
) -> None:
    """The buyer's number as an import brings it (a sealed contact handle)."""
    contact_handles.remember(
        session,
        shop_id=buyer.shop_id,
        buyer_id=buyer.id,
        number=parse_number(phone),
        source="import",
        now=at,
        expires_at=expires_at,
    )


def logged_attempt(
    session: Session,
    case_id: int,
    agent_id: int,
    at: datetime,
    *,
    outcome: AttemptOutcome = AttemptOutcome.NO_ANSWER,
    notes: str = "",
) -> ContactAttempt:
    """A phone attempt on the case as staff logged it at ``at``; the caller commits."""
    attempt = ContactAttempt(
        case_id=case_id,
        agent_id=agent_id,
        channel=Channel.PHONE,
        attempted_at=at,
        outcome=outcome,
        notes=notes,
        created_at=at,
    )
    session.add(attempt)
    return attempt


def recorded_remedy(
    session: Session,
    case_id: int,
    agent_id: int,
    at: datetime,
    kind: RemedyKind = RemedyKind.RESEND,
) -> Remedy:
    """A remedy recorded on the case (a reissue by default); the caller commits."""
    remedy = Remedy(
        case_id=case_id,
        kind=kind,
        amount=Decimal("39.90"),
        cost=Decimal("21.00"),
        created_by_id=agent_id,
        created_at=at,
    )
    session.add(remedy)
    return remedy


def answered_survey(
    session: Session, case, resolved: str | None, *, at: datetime, score: int = 2
) -> CaseSurvey:  # type: ignore[no-untyped-def]
    """A 满意度回访 of the case that reached its buyer and was answered at ``at``
    (``resolved``: yes, partly, no, or None when 问题解决了吗 was not asked); the caller
    commits."""
    survey = CaseSurvey(
        case_id=case.id,
        shop_id=case.shop_id,
        state="sent",
        out_id=f"s{case.id}-{at.timestamp():.0f}",
        created_at=at,
        sent_at=at,
        answered_at=at,
        score=score,
        resolved=resolved,
    )
    session.add(survey)
    return survey


def approved_template(
    session: Session,
    shop: Shop,
    body: str,
    *,
    at: datetime,
    purpose: MessagePurpose = MessagePurpose.NOTICE,
    name: str = "回访",
    code: str = "SMS_1",
    sign_name: str = "好店",
) -> MessageTemplate:
    """An SMS template the provider approved for the shop (Aliyun's 签名 + 模板 CODE);
    flushed, so it has its id; the caller commits."""
    template = MessageTemplate(
        shop_id=shop.id,
        provider="aliyun-sms",
        name=name,
        sign_name=sign_name,
        template_code=code,
        body=body,
        purpose=purpose,
        created_at=at,
    )
    session.add(template)
    session.flush()
    return template
