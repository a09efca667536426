"""Speed of the recommender as it runs in the tracker: build from the database, rank per case.

    python bench/recommend_build.py [--lines 1000000] [--database-url URL]

Fills a fresh database with a synthetic shop (5,000 products in families of four sizes,
each family in one of 40 categories; 100,000 buyers, orders of 1-4 lines with popular
products and per-buyer staples) holding ``--lines`` order lines,
then times ``services.recommendations.build_model`` (read every line, build, store) and
``suggestions_for`` for 500 buyers. Targets: build under 60 s for 1,000,000 lines, one
buyer's list under 30 ms at p95. Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.stack import migrated_app  # noqa: E402
from bench.stats import percentile  # noqa: E402
from tracker.database import analyze_after_bulk_load  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Buyer, Case, Order, OrderLine, Product, Shop  # noqa: E402
from tracker.models.enums import Platform  # noqa: E402
from tracker.services.recommendations import build_model, suggestions_for  # noqa: E402

NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
PRODUCTS = 5000
SIZES = ("M", "L", "XL", "2XL")
BUYERS = 100_000
BATCH = 20_000


def fill(session: sa.orm.Session, shop_id: int, lines: int, rng: random.Random) -> None:
    session.execute(
        sa.insert(Product),
        [
            {
                "shop_id": shop_id,
                "platform_item_id": f"P{i}",
                "sku": f"C{(i // 4) % 40}-F{i // 4}-{i % 4}",
                "title": f"商品{i // 4} {SIZES[i % 4]}",  # a family's four sizes
                "category": f"类目{(i // 4) % 40}",
                "price": Decimal(f"{10 + i % 300}.00"),
                "launched_at": NOW - timedelta(days=(i * 7) % 720),
                "is_active": i % 50 != 0,
                "is_consumable": i % 3 != 0,
                "repurchase_days": 30 if i % 3 != 0 else None,
            }
            for i in range(PRODUCTS)
        ],
    )
    session.execute(
        sa.insert(Buyer),
        [
            {"shop_id": shop_id, "platform_nick": f"b{i}", "created_at": NOW, "tags": []}
            for i in range(BUYERS)
        ],
    )
    product_ids = list(session.scalars(sa.select(Product.id).order_by(Product.id)))
    buyer_ids = list(session.scalars(sa.select(Buyer.id).order_by(Buyer.id)))
    weights = [1 / (rank + 10) for rank in range(PRODUCTS)]  # a long tail
    staples = {b: rng.choices(product_ids, weights, k=3) for b in buyer_ids}
    written = order_no = 0
    while written < lines:
        orders, order_lines = [], []
        while len(order_lines) < BATCH and written + len(order_lines) < lines:
            order_no += 1
            buyer = rng.choice(buyer_ids)
            paid = NOW - timedelta(minutes=rng.randint(1, 365 * 24 * 60))
            orders.append(
                {
                    "id": order_no,
                    "shop_id": shop_id,
                    "tid": f"T{order_no}",
                    "buyer_id": buyer,
                    "payment": Decimal("50.00"),
                    "paid_at": paid,
                }
            )
            for n in range(rng.randint(1, 4)):
                product = (
                    rng.choice(staples[buyer])
                    if rng.random() < 0.4
                    else rng.choices(product_ids, weights)[0]
                )
                order_lines.append(
                    {
                        "shop_id": shop_id,
                        "order_id": order_no,
                        "oid": f"T{order_no}-{n}",
                        "product_id": product,
                        "title": "x",
                        "quantity": 1,
                        "unit_price": Decimal("20.00"),
                    }
                )
        session.execute(sa.insert(Order), orders)
        session.execute(sa.insert(OrderLine), order_lines)
        written += len(order_lines)
    session.commit()
    analyze_after_bulk_load(session, ["products", "buyers", "orders", "order_lines"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    rng = random.Random(11)
    with migrated_app(args.database_url):
        shop = Shop(code="bench", name="压测店", platform=Platform.TMALL, created_at=NOW)
        db.session.add(shop)
        db.session.commit()
        started = time.perf_counter()
        fill(db.session, shop.id, args.lines, rng)
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        stored = build_model(db.session, shop, now=NOW)
        build_s = time.perf_counter() - started
        built = {"order_lines": stored.order_lines, "products": stored.products}
        buyers = rng.sample(list(db.session.scalars(sa.select(Buyer.id))), 500)
        products = list(db.session.scalars(sa.select(Product.id)))
        timings = []
        for buyer in buyers:
            case = Case(shop_id=shop.id, buyer_id=buyer, product_id=rng.choice(products))
            t0 = time.perf_counter()
            picked = suggestions_for(db.session, case, now=NOW)
            timings.append((time.perf_counter() - t0) * 1000)
            assert picked, "every buyer gets a list"
        timings.sort()
    print(
        json.dumps(
            {
                "database": "postgresql" if args.database_url else "sqlite",
                **built,
                "fill_seconds": round(fill_s, 1),
                "build_seconds": round(build_s, 2),
                "ms_per_case_p50": round(percentile(timings, 0.5), 2),
                "ms_per_case_p95": round(percentile(timings, 0.95), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
