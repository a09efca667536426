"""Importing shop export files: nothing is written unless every row is good, or the
caller chose to skip bad rows (then the good ones go in and the rest are reported)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tracker.domain.privacy import may_take_in
from tracker.models import Buyer, Order, OrderLine, Product, Shop
from tracker.models.enums import RefundStatus
from tracker.sentiment import Scorer
from tracker.services import buyer_profiles, contact_handles
from tracker.services.intake import UNCATEGORISED, IntakeResult, IntakeSettings, rows_by_key
from tracker.services.quarantine import ingest_guarded
from tracker.sources.files import FileProblem, ParsedFile
from tracker.sources.records import ReviewRecord

BULK_TABLES = {
    "reviews": ["reviews", "review_revisions", "cases", "case_reasons", "buyers", "products"],
    "orders": ["orders", "order_lines", "buyers", "products", "contact_handles"],
    "products": ["products"],
    "buyers": ["buyers", "contact_handles"],
}


@dataclass
class ImportReport:
    kind: str
    filename: str
    total_rows: int
    imported_rows: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    written: bool = False
    created: int = 0
    updated: int = 0
    intake: IntakeResult | None = None
    # rows whose name, address or number were left out: given before the buyer asked for
    # their personal data to be deleted (tracker.services.erasure)
    withheld: int = 0

    @property
    def skipped_rows(self) -> int:
        return len({p.row for p in self.problems if p.row is not None and p.row > 1})


def may_write(*, file_problems: bool, bad_rows: bool, good_rows: int, skip_bad_rows: bool) -> bool:
    """The import rule, all or nothing: a problem with the file as a whole, bad rows the
    user did not choose to skip, or no good row at all, and nothing is written."""
    return not (file_problems or (bad_rows and not skip_bad_rows) or not good_rows)


def import_parsed(
    session: Session,
    shop: Shop,
    parsed: ParsedFile,
    *,
    now: datetime,
    skip_bad_rows: bool,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> ImportReport:
    """Write a parsed file's rows (or nothing, when it has problems the caller did not
    choose to skip); the caller owns the transaction."""
    report = ImportReport(
        parsed.kind, parsed.filename, parsed.total_rows, problems=list(parsed.problems)
    )
    if not may_write(
        file_problems=any(p.row is None or p.row == 1 for p in parsed.problems),
        bad_rows=bool(parsed.problems),
        good_rows=len(parsed.rows),
        skip_bad_rows=skip_bad_rows,
    ):
        return report  # nothing written
    write_rows(session, shop, parsed.kind, parsed.rows, now, report, scorer, settings)
    report.imported_rows = len(parsed.rows)
    report.written = True
    return report


def write_rows(
    session: Session,
    shop: Shop,
    kind: str,
    rows: list[tuple[int, dict[str, Any]]],
    now: datetime,
    report: ImportReport,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> None:
    """Write good rows of one kind, adding to ``report``; the caller owns the transaction
    (and may call this chunk by chunk: an order's lines must come in one call)."""
    writer = {"reviews": _reviews, "orders": _orders, "products": _products, "buyers": _buyers}[
        kind
    ]
    writer(session, shop, rows, now, report, scorer, settings)


def _reviews(
    session: Session,
    shop: Shop,
    rows: list[tuple[int, dict[str, Any]]],
    now: datetime,
    report: ImportReport,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> None:
    records = [
        ReviewRecord(
            platform_key=ReviewRecord.key_for(v.get("oid") or v["tid"]),
            buyer_nick=v["buyer_nick"],
            rating=v["rating"],
            text=v.get("text", ""),
            posted_at=v["posted_at"],
            tid=v.get("tid"),
            oid=v.get("oid"),
            item_id=v.get("item_id"),
            item_title=v.get("item_title"),
            item_price=v.get("item_price"),
            reply=v.get("reply"),
            follow_up_text=v.get("follow_up_text"),
            follow_up_at=v.get("follow_up_at"),
            is_deleted=v.get("is_deleted", False),
        )
        for _, v in rows
    ]
    result = ingest_guarded(
        session, shop, records, source="import:reviews", now=now, scorer=scorer, settings=settings
    )
    if report.intake is None:
        report.intake = IntakeResult()
    report.intake.add(result)  # a big file is written chunk by chunk into one report
    report.created += result.new
    report.updated += result.revised


# what a buyer file's row holds that an erased buyer's row must not bring back
_BUYER_PERSONAL = frozenset({"name", "region", "birthday", "phone", "phone_expires_at"})


def _brings_personal_data(values: dict[str, Any], *name_columns: str) -> bool:
    return any(values.get(column) for column in (*name_columns, "region", "phone"))


def _keep_numbers(
    session: Session,
    shop: Shop,
    numbers: list[tuple[Buyer, Order | None, dict[str, Any]]],
    now: datetime,
) -> None:
    """Numbers go in sealed, as contact handles (tracker.services.contact_handles)."""
    if not numbers:
        return
    session.flush()  # new buyers and orders need their ids
    for buyer, order, values in numbers:
        contact_handles.remember(
            session,
            shop_id=shop.id,
            buyer_id=buyer.id,
            number=values["phone"],
            source="import",
            now=now,
            expires_at=values.get("phone_expires_at"),
            order_id=order.id if order is not None else None,
        )


def _buyer_for(
    session: Session,
    shop: Shop,
    buyers: dict[str, Buyer],
    nick: str,
    now: datetime,
    report: ImportReport,
) -> Buyer:
    buyer = buyers.get(nick)
    if buyer is None:
        buyer = Buyer(shop_id=shop.id, platform_nick=nick, created_at=now, tags=[], preferences="")
        session.add(buyer)
        buyers[nick] = buyer
        report.created += 1
    return buyer


def _orders(
    session: Session,
    shop: Shop,
    rows: list[tuple[int, dict[str, Any]]],
    now: datetime,
    report: ImportReport,
    _scorer: Scorer | None,
    _settings: IntakeSettings,
) -> None:
    """One row per order line, grouped by ``tid``; buyers and products come along."""
    grouped: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for _, values in rows:
        grouped.setdefault(values["tid"], []).append(values)
    buyers = rows_by_key(
        session, shop.id, Buyer, Buyer.platform_nick, {v["buyer_nick"] for _, v in rows}
    )
    products = rows_by_key(
        session,
        shop.id,
        Product,
        Product.platform_item_id,
        {v["item_id"] for _, v in rows if v.get("item_id")},
    )
    orders = rows_by_key(session, shop.id, Order, Order.tid, set(grouped))
    lines = rows_by_key(
        session,
        shop.id,
        OrderLine,
        OrderLine.oid,
        {
            v.get("oid") or f"{v['tid']}-{i}"
            for vs in grouped.values()
            for i, v in enumerate(vs, start=1)
        },
    )
    numbers: list[tuple[Buyer, Order | None, dict[str, Any]]] = []
    for tid, line_rows in grouped.items():
        first = line_rows[0]
        buyer = _buyer_for(session, shop, buyers, first["buyer_nick"], now, report)
        personal = may_take_in(buyer.personal_data_erased_at, first["paid_at"])
        if personal:
            buyer_profiles.keep(  # the name an order brings never overwrites the one on file
                buyer,
                region=first.get("region"),
                name=first.get("receiver_name") if buyer.name_hint is None else None,
            )
        elif _brings_personal_data(first, "receiver_name"):
            report.withheld += len(line_rows)
        if first.get("ouid"):
            buyer.platform_buyer_id = first["ouid"]
        payment = first.get("payment") or sum(
            (v["unit_price"] * v.get("quantity", 1) for v in line_rows), Decimal("0.00")
        )
        order = orders.get(tid)
        if order is None:
            order = Order(
                shop_id=shop.id, tid=tid, buyer=buyer, payment=payment, paid_at=first["paid_at"]
            )
            session.add(order)
            orders[tid] = order
            report.created += 1
        else:
            report.updated += 1
        order.payment, order.paid_at = payment, first["paid_at"]
        order.shipped_at = first.get("shipped_at", order.shipped_at)
        order.received_at = first.get("received_at", order.received_at)
        order.oaid = first.get("oaid") or order.oaid
        if first.get("phone") and personal:
            numbers.append((buyer, order, first))
        for i, values in enumerate(line_rows, start=1):
            product = None
            if values.get("item_id"):
                product = products.get(values["item_id"])
                if product is None:
                    product = Product(
                        shop_id=shop.id,
                        platform_item_id=values["item_id"],
                        title=values["item_title"],
                        category=UNCATEGORISED,
                        price=values["unit_price"],
                        is_active=True,
                        is_consumable=False,
                    )
                    session.add(product)
                    products[values["item_id"]] = product
            oid = values.get("oid") or f"{tid}-{i}"
            line = lines.get(oid)
            if line is None:
                line = OrderLine(shop_id=shop.id, oid=oid)
                order.lines.append(line)
                lines[oid] = line
            line.product = product
            line.title = values["item_title"]
            line.quantity = values.get("quantity", 1)
            line.unit_price = values["unit_price"]
            line.refund_status = values.get("refund_status", RefundStatus.NONE)
    session.flush()
    _keep_numbers(session, shop, numbers, now)


def _products(
    session: Session,
    shop: Shop,
    rows: list[tuple[int, dict[str, Any]]],
    now: datetime,
    report: ImportReport,
    _scorer: Scorer | None,
    _settings: IntakeSettings,
) -> None:
    existing = rows_by_key(
        session, shop.id, Product, Product.platform_item_id, {v["item_id"] for _, v in rows}
    )
    for _, values in rows:
        product = existing.get(values["item_id"])
        if product is None:
            product = Product(
                shop_id=shop.id,
                platform_item_id=values["item_id"],
                category=UNCATEGORISED,
                is_active=True,
            )
            session.add(product)
            existing[values["item_id"]] = product
            report.created += 1
        else:
            report.updated += 1
        product.title, product.price = values["title"], values["price"]
        product.sku = values.get("sku", product.sku)
        product.category = values.get("category") or product.category or UNCATEGORISED
        product.launched_at = values.get("launched_at", product.launched_at)
        product.is_active = values.get("is_active", product.is_active)
        if "repurchase_days" in values:
            product.repurchase_days = values["repurchase_days"]
            product.is_consumable = True
        elif product.is_consumable is None:
            product.is_consumable = False
    session.flush()


def _buyers(
    session: Session,
    shop: Shop,
    rows: list[tuple[int, dict[str, Any]]],
    now: datetime,
    report: ImportReport,
    _scorer: Scorer | None,
    _settings: IntakeSettings,
) -> None:
    buyers = rows_by_key(
        session, shop.id, Buyer, Buyer.platform_nick, {v["buyer_nick"] for _, v in rows}
    )
    numbers: list[tuple[Buyer, Order | None, dict[str, Any]]] = []
    for _, values in rows:
        known = values["buyer_nick"] in buyers
        buyer = _buyer_for(session, shop, buyers, values["buyer_nick"], now, report)
        if known:
            report.updated += 1
        if not may_take_in(buyer.personal_data_erased_at, None):  # a file says not when
            report.withheld += _brings_personal_data(values, "name", "birthday")
            values = {k: v for k, v in values.items() if k not in _BUYER_PERSONAL}
        buyer_profiles.keep(
            buyer,
            name=values.get("name"),
            region=values.get("region"),
            birthday=values.get("birthday"),
        )
        if values.get("phone"):
            numbers.append((buyer, None, values))
        if "membership" in values:
            buyer.membership_level = values["membership"]
        if values.get("ouid"):
            buyer.platform_buyer_id = values["ouid"]
        if values.get("tags"):
            tags = [t.strip() for t in values["tags"].replace("，", ",").split(",") if t.strip()]
            buyer.tags = sorted(set(buyer.tags or []) | set(tags))
    session.flush()
    _keep_numbers(session, shop, numbers, now)
