"""Speed of the nightly customer segmentation on a big shop.

    python bench/segments.py [--database-url URL] [--buyers 200000] [--lines 1000000]

Fills a fresh database with one shop: 200,000 buyers and 1,000,000 order lines (about
600,000 orders over two years, a long tail of one-time buyers and a few heavy ones), then
times `services.segments.recompute` (RFM by the shop's quintiles, classes, big customers,
member levels, the 80/20 figure; every segment row replaced in one transaction): the first
computation, into an empty table, and the next night's, which replaces every row (what the
nightly job does every night after the first). Target: under 30 s each, on SQLite and on
PostgreSQL. Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.stack import migrated_app  # noqa: E402
from tracker.database import analyze_after_bulk_load  # noqa: E402
from tracker.domain.segments import LevelBasis, MemberLevels  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Buyer, BuyerSegment, Order, OrderLine, Shop  # noqa: E402
from tracker.models.enums import Platform  # noqa: E402
from tracker.services import segments  # noqa: E402

NOW = datetime(2026, 11, 29, 4, tzinfo=UTC)
BATCH = 20_000


def fill(session: sa.orm.Session, buyers: int, lines: int, rng: random.Random) -> Shop:
    levels = MemberLevels(
        LevelBasis.SPEND, (Decimal(200), Decimal(1000), Decimal(5000), Decimal(20000))
    )
    shop = Shop(
        code="bench",
        name="压测店",
        platform=Platform.TMALL,
        created_at=NOW,
        member_levels=levels.to_dict(),
    )
    session.add(shop)
    session.flush()
    buyer_rows = [
        {
            "shop_id": shop.id,
            "platform_nick": f"b{i}",
            "created_at": NOW,
            "tags": [],
            "preferences": "",
            "membership_level": "none",
        }
        for i in range(buyers)
    ]
    for i in range(0, len(buyer_rows), BATCH):
        session.execute(sa.insert(Buyer), buyer_rows[i : i + BATCH])
    ids = list(session.scalars(sa.select(Buyer.id).where(Buyer.shop_id == shop.id)))
    weights = [rng.paretovariate(1.3) for _ in ids]  # a few buyers order very often
    cumulative = list(accumulate(weights))
    heavy = iter(rng.choices(ids, cum_weights=cumulative, k=lines))
    made = order_id = 0
    orders: list[dict] = []
    order_lines: list[dict] = []
    first_id = (session.scalar(sa.select(sa.func.max(Order.id))) or 0) + 1
    while made < lines:
        buyer = next(heavy) if rng.random() < 0.5 else rng.choice(ids)
        count = rng.choice((1, 1, 1, 2, 3))
        payment = Decimal(rng.randint(20, 900)) * count
        oid = first_id + order_id
        paid = NOW - timedelta(days=rng.randint(0, 730))
        orders.append(
            {
                "id": oid,
                "shop_id": shop.id,
                "tid": f"T{oid}",
                "buyer_id": buyer,
                "payment": payment,
                "paid_at": paid,
            }
        )
        for k in range(count):
            order_lines.append(
                {
                    "shop_id": shop.id,
                    "order_id": oid,
                    "oid": f"T{oid}-{k}",
                    "title": "商品",
                    "quantity": 1,
                    "unit_price": payment / count,
                }
            )
        made += count
        order_id += 1
        if len(orders) >= BATCH:
            session.execute(sa.insert(Order), orders)
            session.execute(sa.insert(OrderLine), order_lines)
            orders, order_lines = [], []
    if orders:
        session.execute(sa.insert(Order), orders)
        session.execute(sa.insert(OrderLine), order_lines)
    session.commit()
    analyze_after_bulk_load(session, ["buyers", "orders", "order_lines"])
    return shop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--buyers", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    with migrated_app(args.database_url) as app:
        started = time.perf_counter()
        shop = fill(db.session, args.buyers, args.lines, random.Random(7))
        fill_s = time.perf_counter() - started
        t0 = time.perf_counter()
        count = segments.recompute(db.session, shop, now=NOW)
        segment_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        segments.recompute(db.session, shop, now=NOW + timedelta(days=1))
        nightly_s = time.perf_counter() - t0
        orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine))
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(BuyerSegment))
        share = shop.top_fifth_share
        backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(
        json.dumps(
            {
                "database": backend,
                "buyers": count,
                "orders": orders,
                "order_lines": lines,
                "segment_rows": rows,
                "top_fifth_share": round(share, 3) if share is not None else None,
                "fill_seconds": round(fill_s, 1),
                "segment_seconds": round(segment_s, 2),
                "next_night_seconds": round(nightly_s, 2),
                "target_seconds": 30,
            }
        )
    )


if __name__ == "__main__":
    main()
