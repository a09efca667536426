"""A buyer's request to see and copy their personal data (个人信息保护法 art. 45: 查阅、复制,
"in time"): one workbook of what the shop holds about them — the name, address, birthday,
numbers, tags and notes, their orders and reviews, how and when the shop contacted them,
and their after-sales cases with what they were given. What staff wrote about the calls
stays out (the case page's business); so do staff's names. Made for a supervisor or admin
at the buyer's request, whose reason goes to the access log with what was copied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain.retention import why_label
from tracker.models import Buyer, Case, ContactHandle, Order, Review, Shop, User
from tracker.models.contacts import HELD_NUMBER
from tracker.services import buyer_profiles, contact_log
from tracker.services.audit import record_access
from tracker.services.contact_handles import SOURCE_LABELS, opened
from tracker.services.errors import FieldError
from tracker.services.exports import Sheet, to_workbook
from tracker.services.transaction import transaction

COPIED = "personal_data_copied"  # the access log's field (contact_handles.ACCESS_FIELDS)
EVERY_CONTACT = 100_000
ORDER_HEADERS = ("订单号", "付款时间", "商品", "实付（元）", "发货时间", "收货时间")


@dataclass(frozen=True)
class Copy:
    filename: str
    body: bytes  # an XLSX workbook


def copy(
    session: Session,
    buyer: Buyer,
    shop: Shop,
    actor: User,
    *,
    reason: str,
    now: datetime,
    tz: ZoneInfo,
) -> Copy:
    """The workbook, and its line in the access log (who asked, how; what it held)."""
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", "请写明依据：谁、何时、通过什么渠道要求查阅或复制。")

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz) if moment is not None else None

    with transaction(session):
        held = list(
            session.scalars(
                sa.select(ContactHandle)
                .where(ContactHandle.buyer_id == buyer.id, *HELD_NUMBER)
                .order_by(ContactHandle.created_at)
            )
        )
        about = _about(buyer, shop, held, local)
        orders = _orders(session, buyer, local)
        reviews = _reviews(session, buyer, local)
        contacts = [
            [local(c.at), c.channel, c.result]
            for c in contact_log.history(session, shop, buyer.id, limit=EVERY_CONTACT)
        ]
        cases = _cases(session, buyer, local)
        record_access(
            session,
            now=now,
            actor_id=actor.id,
            buyer_id=buyer.id,
            field=COPIED,
            what=(
                f"号码 {len(held)} 个、订单 {len(orders)}、评价 {len(reviews)}、"
                f"联系记录 {len(contacts)}、售后 {len(cases)} · 依据：{reason}"
            ),
        )
    body = to_workbook(
        [
            Sheet("个人信息", ("项目", "内容"), about),
            Sheet("订单", ORDER_HEADERS, orders),
            Sheet("评价", ("评价时间", "商品", "评价", "内容", "追评时间", "追评"), reviews),
            Sheet("联系记录", ("时间", "方式", "结果"), contacts),
            Sheet("售后", ("开始时间", "商品", "状态", "结果", "补偿"), cases),
        ]
    )
    day = now.astimezone(tz).date()
    return Copy(f"personal-data-{shop.code}-{buyer.id}-{day:%Y%m%d}.xlsx", body)


def _about(buyer: Buyer, shop: Shop, held: list[ContactHandle], local: Any) -> list[list[Any]]:
    profile = buyer_profiles.opened(buyer)
    rows: list[list[Any]] = [
        ["店铺", shop.name],
        ["平台昵称", buyer.platform_nick],
        ["姓名", profile.name or "—"],
        ["地址", profile.region or "—"],
        ["生日", profile.birthday.isoformat() if profile.birthday else "—"],
        ["会员等级", buyer.membership_level.label],
        ["标签", "、".join(buyer.tags or []) or "—"],
        ["偏好备注", buyer.preferences or "—"],
    ]
    for handle in held:
        source = SOURCE_LABELS.get(handle.source, handle.source)
        until = f"，{local(handle.expires_at):%Y-%m-%d} 失效" if handle.expires_at else ""
        rows.append([f"联系号码（{handle.kind.label}，{source}{until}）", opened(handle).written()])
    if buyer.do_not_contact_at:
        rows.append(["要求勿扰", local(buyer.do_not_contact_at)])
    if buyer.marketing_opt_out_at:
        rows.append(["退订营销短信", local(buyer.marketing_opt_out_at)])
    if buyer.personal_data_erased_at:
        why = why_label(buyer.personal_data_erased_why)
        rows.append([f"个人信息已删除（{why}）", local(buyer.personal_data_erased_at)])
    return rows


def _orders(session: Session, buyer: Buyer, local: Any) -> list[list[Any]]:
    return [
        [
            order.tid,
            local(order.paid_at),
            "；".join(f"{line.title} × {line.quantity}" for line in order.lines),
            order.payment,
            local(order.shipped_at),
            local(order.received_at),
        ]
        for order in session.scalars(
            sa.select(Order)
            .where(Order.buyer_id == buyer.id)
            .options(selectinload(Order.lines))
            .order_by(Order.paid_at.desc(), Order.id.desc())
        )
    ]


def _reviews(session: Session, buyer: Buyer, local: Any) -> list[list[Any]]:
    return [
        [
            local(review.posted_at),
            review.product.title if review.product else "—",
            review.rating.label,
            review.text,
            local(review.follow_up_at),
            review.follow_up_text or "",
        ]
        for review in session.scalars(
            sa.select(Review)
            .where(Review.buyer_id == buyer.id, Review.is_deleted.is_(False))
            .options(selectinload(Review.product))
            .order_by(Review.posted_at.desc())
        )
    ]


def _cases(session: Session, buyer: Buyer, local: Any) -> list[list[Any]]:
    return [
        [
            local(case.opened_at),
            case.product.title if case.product else "—",
            case.status.label,
            case.outcome.label if case.outcome else "",
            "；".join(f"{r.kind.label} ¥{r.amount}" for r in case.remedies) or "—",
        ]
        for case in session.scalars(
            sa.select(Case)
            .where(Case.buyer_id == buyer.id)
            .options(selectinload(Case.product), selectinload(Case.remedies))
            .order_by(Case.opened_at.desc())
        )
    ]
