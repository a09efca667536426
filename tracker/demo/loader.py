"""Write a generated demo shop, with its staff accounts, into the database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import analyze_after_bulk_load
from tracker.demo.generator import SHOP_TZ, DemoShop
from tracker.domain.phone_numbers import PhoneNumber, masked
from tracker.domain.segments import LevelBasis, MemberLevels
from tracker.models import (
    Buyer,
    ContactHandle,
    MessageTemplate,
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
from tracker.models.enums import (
    HandleKind,
    MessagePurpose,
    Platform,
    RemedyNotice,
    Role,
    ShiftRequestState,
)
from tracker.services import buyer_profiles, shift_requests
from tracker.vault import personal_vault

DEMO_PASSWORD = "demo1234"
# username, display name, role
DEMO_STAFF = (
    ("admin", "店铺管理员", Role.ADMIN),
    ("zhuguan", "周主管", Role.SUPERVISOR),
    ("kefu1", "客服小林", Role.AGENT),
    ("kefu2", "客服小陈", Role.AGENT),
    ("kefu3", "客服小王", Role.AGENT),
)
# 班次 of two agents (the third works the shop's hours): an early and a late shift, so
# 客服负荷 shows who is 当班 and 自动分配, when turned on, gives an evening case to the late one
DEMO_SHIFTS = {
    "kefu2": {"periods": [["09:00", "12:00"], ["13:30", "18:00"]], "weekdays": [0, 1, 2, 3, 4]},
    "kefu3": {"periods": [["13:30", "22:00"]], "weekdays": [0, 1, 2, 3, 4, 5, 6]},
}
# 轮班 of the early agent: 大小周, the same hours on six days every other week (the week
# after the demo's), so the 排班表 shows a rotation too
DEMO_ROTATIONS = {
    "kefu2": [{"periods": DEMO_SHIFTS["kefu2"]["periods"], "weekdays": [0, 1, 2, 3, 4, 5]}]
}
# 调班 the coming Saturday (the demo's 大促 day): the early agent works it too, the late
# one swaps it for a day off, so the 排班表 shows both kinds of day
DEMO_SHIFT_DAYS = {"kefu2": [["09:00", "12:00"], ["13:30", "18:00"]], "kefu3": []}
# 调班申请 of the week after (days after the coming Saturday): one waiting for the supervisor,
# a swap the colleague agreed to, and a swap waiting for the colleague's yes, so each login
# finds something on 调班申请. asker, days after, periods (None: a swap), colleague, state, note
DEMO_REQUESTS = (
    ("kefu3", 5, [], None, ShiftRequestState.PENDING, "回老家参加表姐婚礼"),
    ("kefu1", 2, None, "kefu3", ShiftRequestState.PENDING, "上午要去医院复查，和小王换一天"),
    ("kefu2", 3, None, "kefu1", ShiftRequestState.WITH_COLLEAGUE, "想多上一天晚班，补上周的假"),
)
BATCH = 2000

# the shop's own member levels by 累计消费 (普通会员 from ¥300 … 至尊VIP from ¥8,000), near
# the CRM's imported 银卡/金卡/钻石 (300 / 1,000 / 3,000): without them every buyer of the
# demo sat at 0 店铺客户 and 分层's levels and the buyer list's 会员等级 showed nothing
DEMO_MEMBER_LEVELS = MemberLevels(
    LevelBasis.SPEND, tuple(Decimal(t) for t in ("300", "1000", "3000", "8000"))
)


class DemoExists(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoSummary:
    shop_code: str
    products: int
    buyers: int
    orders: int
    order_lines: int
    reviews: int
    revisions: int
    staff_created: tuple[str, ...]
    # the good ratings the generator wrote as complaints: what staff reading 待确认 would
    # call 是差评 (the simulated month decides the queue by it)
    hidden_negatives: frozenset[int] = frozenset()


def _insert(
    session: Session, model: type, rows: Sequence[dict[str, Any]], *, key: str | None = None
) -> list[int]:
    """Bulk insert of one new shop's rows (Core: every row's keys, None included, in one
    statement per batch); with ``key`` (a column unique within the shop), their ids in the
    order of ``rows``, read back by it. The ORM insert asked to return them in order sent a
    statement per row on SQLite, which cannot match returned rows to parameters, and split
    its batches at every None on PostgreSQL: loading took 13.2 and 36.9 s, now 8.0 and 11.3."""
    table = model.__table__
    for start in range(0, len(rows), BATCH):
        session.execute(table.insert(), list(rows[start : start + BATCH]))
    if key is None or not rows:
        return []
    by_key = dict(
        session.execute(
            sa.select(table.c[key], table.c.id).where(table.c.shop_id == rows[0]["shop_id"])
        ).all()
    )
    return [by_key[row[key]] for row in rows]


def _templates(shop_id: int, now: datetime) -> list[MessageTemplate]:
    """After-sales notices, the 满意度回访 and one marketing text, as a shop would have them
    approved; no provider account is set up (sends say so until an admin adds one)."""
    return [
        MessageTemplate(
            shop_id=shop_id,
            provider=provider,
            name=name,
            sign_name="晨光优选",
            template_code=code,
            body=body,
            purpose=MessagePurpose.NOTICE,
            announces=announces,
            created_at=now,
        )
        for provider, name, code, body, announces in (
            (
                "platform",
                "问题处理进度",
                "TPL_2001",
                "${name}您好，关于您购买的${product}遇到的问题，我们已在处理，稍后客服与您联系。",
                None,
            ),
            (
                "aliyun-sms",
                "补发已安排",
                "SMS_301",
                "${name}您好，您的${product}已安排补发，订单尾号${order}，请留意查收。",
                RemedyNotice.RESEND,
            ),
            (
                "aliyun-sms",
                "满意度回访",
                "SMS_302",
                "${name}您好，您反映的问题已处理完毕，请花十秒评价这次服务：${link}",
                None,
            ),
        )
    ] + [
        MessageTemplate(
            shop_id=shop_id,
            provider="aliyun-sms",
            name="老客回访",
            sign_name="晨光优选",
            template_code="SMS_401",
            body="${name}您好，好久不见！本店新品上市，老客专享九折。拒收请回复R",
            purpose=MessagePurpose.MARKETING,
            created_at=now,
        )
    ]


def demo_oaid(tid: str) -> str:
    """The platform's OAID of a demo order: made up, stable for the order."""
    return hashlib.sha1(f"oaid:{tid}".encode()).hexdigest()


VIRTUAL_NUMBER_DAYS = 15  # a protected number works about this long after the order ends


def _handles(
    shop_id: int, demo: DemoShop, buyer_ids: list[int], order_ids: list[int]
) -> list[dict[str, Any]]:
    """Numbers as a shop really has them: a third from its own records, the rest the
    platform's virtual numbers of the buyer's latest order, lapsing 15 days after it."""
    latest: dict[int, int] = {}
    for index, order in enumerate(demo.orders):
        latest[order.buyer] = index
    vault = personal_vault()
    rows = []
    for index, buyer in enumerate(demo.buyers):
        if not buyer.phone:
            continue
        order_index = latest.get(index)
        if index % 3 == 0 or order_index is None:
            number, kind, expires_at = PhoneNumber(buyer.phone), HandleKind.OWN, None
        else:
            order = demo.orders[order_index]
            extension = f"{(index * 7919 + 1301) % 9000 + 1000}"  # 4 digits, unrelated
            number = PhoneNumber("184" + buyer.phone[3:], extension)
            ended = order.received_at or order.paid_at + timedelta(days=5)
            kind, expires_at = HandleKind.VIRTUAL, ended + timedelta(days=VIRTUAL_NUMBER_DAYS)
        rows.append(
            {
                "shop_id": shop_id,
                "buyer_id": buyer_ids[index],
                "order_id": order_ids[order_index] if kind is HandleKind.VIRTUAL else None,
                "kind": kind,
                "source": "import",
                "sealed": vault.seal({"number": number.number, "extension": number.extension}),
                "fingerprint": vault.fingerprint(number.written()),
                "hint": masked(number),
                "expires_at": expires_at,
                "created_at": buyer.created_at,
            }
        )
    return rows


def _batched(rows: Iterable[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def shop_exists(session: Session, code: str) -> bool:
    return session.scalar(sa.select(Shop.id).where(Shop.code == code)) is not None


def load_demo(
    session: Session, demo: DemoShop, *, code: str, name: str, now: datetime
) -> DemoSummary:
    """Load everything in one transaction: a failure leaves nothing behind."""
    if shop_exists(session, code):
        raise DemoExists(f"店铺 {code} 已存在，演示数据不会重复导入。")
    try:
        shop = Shop(
            code=code,
            name=name,
            platform=Platform.TMALL,
            platform_seller_id=f"{code}-seller-2201",
            member_levels=DEMO_MEMBER_LEVELS.to_dict(),
            created_at=now,
        )
        session.add(shop)
        session.flush()
        staff = _ensure_staff(session, shop, now)
        vault = personal_vault()
        product_ids = _insert(
            session,
            Product,
            [
                {
                    "shop_id": shop.id,
                    "platform_item_id": p.item_id,
                    "sku": p.sku,
                    "title": p.title,
                    "category": p.category,
                    "price": p.price,
                    "launched_at": p.launched_at,
                    "is_active": p.is_active,
                    "is_consumable": p.is_consumable,
                    "repurchase_days": p.repurchase_days,
                }
                for p in demo.products
            ],
            key="platform_item_id",
        )
        buyer_ids = _insert(
            session,
            Buyer,
            [
                {
                    "shop_id": shop.id,
                    "platform_nick": b.nick,
                    **buyer_profiles.columns(
                        buyer_profiles.Profile(b.name, b.region, b.birthday), vault
                    ),
                    "tags": b.tags,
                    "preferences": "",
                    "membership_level": b.membership,
                    "created_at": b.created_at,
                }
                for b in demo.buyers
            ],
            key="platform_nick",
        )
        order_ids = _insert(
            session,
            Order,
            [
                {
                    "shop_id": shop.id,
                    "tid": o.tid,
                    "buyer_id": buyer_ids[o.buyer],
                    "payment": o.payment,
                    "paid_at": o.paid_at,
                    "shipped_at": o.shipped_at,
                    "received_at": o.received_at,
                    "oaid": demo_oaid(o.tid),
                }
                for o in demo.orders
            ],
            key="tid",
        )
        _insert(session, ContactHandle, _handles(shop.id, demo, buyer_ids, order_ids))
        line_rows = [
            {
                "shop_id": shop.id,
                "order_id": order_ids[o],
                "oid": ln.oid,
                "product_id": product_ids[ln.product],
                "title": demo.products[ln.product].title,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "refund_status": ln.refund_status,
            }
            for o, order in enumerate(demo.orders)
            for ln in order.lines
        ]
        line_ids = _insert(session, OrderLine, line_rows, key="oid")
        first_line = []
        position = 0
        for order in demo.orders:
            first_line.append(position)
            position += len(order.lines)
        review_ids = _insert(
            session,
            Review,
            [
                {
                    "shop_id": shop.id,
                    "platform_key": f"{demo.orders[r.order].lines[r.line].oid}:buyer",
                    "order_line_id": line_ids[first_line[r.order] + r.line],
                    "product_id": product_ids[demo.orders[r.order].lines[r.line].product],
                    "buyer_id": buyer_ids[demo.orders[r.order].buyer],
                    "rating": r.rating,
                    "text": r.text,
                    "posted_at": r.posted_at,
                    "first_posted_at": r.first_posted_at,
                    "is_deleted": r.is_deleted,
                    "is_system_default": r.is_system_default,
                    "explanation": r.explanation,
                    "explained_at": r.explained_at,
                    "follow_up_text": r.follow_up_text,
                    "follow_up_at": r.follow_up_at,
                    # a 追评 reaches intake when it is added: its case opens then
                    "received_at": r.follow_up_at or r.posted_at,
                    "updated_at": r.follow_up_at or r.posted_at,
                }
                for r in demo.reviews
            ],
            key="platform_key",
        )
        revisions = 0
        for batch in _batched(
            {
                "review_id": review_ids[i],
                "kind": rev.kind,
                "rating": rev.rating,
                "text": rev.text,
                "posted_at": rev.posted_at,
                "recorded_at": rev.recorded_at,
            }
            for i, r in enumerate(demo.reviews)
            for rev in r.revisions
        ):
            session.execute(sa.insert(ReviewRevision), batch)
            revisions += len(batch)
        session.add_all(_templates(shop.id, now))
        session.commit()
    except Exception:
        session.rollback()
        raise
    analyze_after_bulk_load(  # the numbers too: a planner that took contact_handles for
        # empty scanned it whole for each board card's "number lapses" (seconds a page)
        session,
        [
            "products",
            "buyers",
            "orders",
            "order_lines",
            "reviews",
            "review_revisions",
            "contact_handles",
        ],
    )
    return DemoSummary(
        code,
        len(product_ids),
        len(buyer_ids),
        len(order_ids),
        len(line_ids),
        len(review_ids),
        revisions,
        staff,
        frozenset(review_ids[i] for i, r in enumerate(demo.reviews) if r.is_hidden_negative),
    )


def _coming_saturday(now: datetime) -> date:
    """The next Saturday in shop time after today (a week on, when today is one)."""
    today = now.astimezone(SHOP_TZ).date()
    return today + timedelta(days=(5 - today.weekday() - 1) % 7 + 1)


def _demo_shift(username: str, now: datetime) -> dict[str, object] | None:
    """The demo agent's 班次, a rotation counted from this week's Monday (its first week)."""
    shift = DEMO_SHIFTS.get(username)
    if shift is None or username not in DEMO_ROTATIONS:
        return shift
    today = now.astimezone(SHOP_TZ).date()
    monday = today - timedelta(days=today.weekday())
    return {**shift, "rotation": {"from": monday.isoformat(), "weeks": DEMO_ROTATIONS[username]}}


def _ensure_staff(session: Session, shop: Shop, now: datetime) -> tuple[str, ...]:
    """Create the demo logins that do not exist yet and give every one of them the shop."""
    created = []
    for username, display_name, role in DEMO_STAFF:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = User(
                username=username,
                display_name=display_name,
                role=role,
                created_at=now,
                shift=_demo_shift(username, now),
            )
            if username in DEMO_SHIFT_DAYS:
                user.shift_days.append(
                    ShiftDay(
                        day=_coming_saturday(now),
                        periods=DEMO_SHIFT_DAYS[username],
                        set_at=now,
                    )
                )
            user.set_password(DEMO_PASSWORD)
            session.add(user)
            created.append(username)
        user.shops.append(shop)
    session.flush()
    if "kefu1" in created:  # the first demo shop: its team's requests
        _add_requests(session, shop, now)
    return tuple(created)


def _add_requests(session: Session, shop: Shop, now: datetime) -> None:
    """:data:`DEMO_REQUESTS`, as asked (and a swap agreed to) an hour ago, each announced
    to whoever must answer it (the bell)."""
    users = {u.username: u for u in session.scalars(sa.select(User))}
    saturday = _coming_saturday(now)
    asked_at = now - timedelta(hours=1)
    for asker, after, periods, colleague, state, note in DEMO_REQUESTS:
        request = ShiftRequest(
            shop_id=shop.id,
            shop=shop,
            user=users[asker],
            day=saturday + timedelta(days=after),
            periods=periods,
            swap_with=users[colleague] if colleague else None,
            note=note,
            state=state,
            created_at=asked_at,
            answer="",
        )
        session.add(request)
        session.flush()
        found = shift_requests.changes(request, shop, now=now, tz=SHOP_TZ)
        shift_requests.announce(session, request, found, asked_at)
