"""Speed of the shop's lists (订单, 评价, 买家, 商品) on a big shop, as an agent opens them.

    python bench/lists.py [--database-url URL] [--orders 2000000] [--buyers 400000]
                          [--reviews 2000000] [--runs 20]

Fills a fresh database with one shop: ``--buyers`` buyers, ``--orders`` orders of one line
each over two years (every buyer about five), 2,000 products, ``--reviews`` reviews of those
two years (a dozen to sixty characters of everyday praise and complaint; a few in ten
thousand name a rare fault; one in twenty has a 追评, which the search reads too). Then,
logged in as its supervisor, GETs each list page ``--runs`` times through the app (query,
count, render): the first page and a deep one unsearched; 评价 with words only (只看有文字:
every review here has words, so the filter leaves none out and what is measured is its
cost) and of the last 30 days (its first and last page, and its 差评); searched by an
order number's first and last digits, by a nick, and by a part of every nick (a broad
search); reviews by rare words of one and two characters, by a phrase, and by a word
thousands of reviews hold. 买家 also sorted by 累计消费, 订单数 and 最近购买 (the segments
computed once after the fill, as the nightly build leaves them), filtered on a class,
searched by a nick and sorted, and searched by a part of every nick (超过 2,000 个) by nick,
by 累计消费 and within a class.
Target: p95 under 300 ms for every page, on SQLite and on PostgreSQL. Prints one JSON object as
the last line.
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

from bench.stack import insert_rows, migrated_app  # noqa: E402
from bench.stats import percentile  # noqa: E402
from tracker.clock import utcnow  # noqa: E402
from tracker.database import analyze_after_bulk_load  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Buyer, Order, OrderLine, Product, Review, Shop, User  # noqa: E402
from tracker.models.enums import Platform, Rating, Role  # noqa: E402
from tracker.services import browse, review_counts, segments  # noqa: E402

NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)
BATCH = 20_000
PASSWORD = "bench-password"


PRAISE = [
    "质量很好",
    "物流很快",
    "包装完好",
    "客服态度不错",
    "性价比高",
    "颜色和图片一样",
    "尺码合适",
    "穿着舒服",
    "味道不错",
    "下次还会再来",
    "孩子很喜欢",
    "面料柔软",
    "做工精细",
    "没有异味",
    "送货上门",
    "第二次买了",
    "推荐购买",
    "和描述一致",
    "很满意",
    "老公说好看",
]
COMPLAINTS = [
    "有点小瑕疵",
    "发货有点慢",
    "快递太慢了",
    "有色差",
    "尺码偏小",
    "线头比较多",
    "客服回复慢",
    "包装破了",
    "味道一般",
    "不值这个价",
]
RARE = ["漏液", "发霉", "虫子", "霉"]  # a fault a few reviews in ten thousand name
FOLLOW_UPS = [
    "用了一个月，还不错",
    "追评：质量还可以",
    "洗了一次有点掉色",
    "回购了，家里人都说好",
    "用了几天就坏了",
    "客服处理得很及时",
]


def follow_up_text(rng: random.Random) -> str | None:
    """One review in twenty has a 追评; as many of them name a rare fault as of the texts."""
    if rng.random() >= 0.05:
        return None
    said = rng.choice(FOLLOW_UPS)
    return f"{said}，有{rng.choice(RARE)}" if rng.random() < 0.003 else said


def review_text(rng: random.Random) -> str:
    said = rng.sample(PRAISE, rng.randint(1, 5))
    if rng.random() < 0.2:
        said.insert(rng.randrange(len(said) + 1), rng.choice(COMPLAINTS))
    if rng.random() < 0.0003:
        said.append(f"有{rng.choice(RARE)}")
    return "，".join(said) + rng.choice(["", "。", "！", "~"])


def fill_reviews(
    session: sa.orm.Session, shop_id: int, count: int, buyers: int, orders: int, rng: random.Random
) -> None:
    """Reviews of the orders' lines, one each (the line of the same number, about as old);
    reviews beyond the orders have no line."""
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, count)):
            posted = NOW - timedelta(minutes=(count - i) * 2 * 365 * 24 * 60 // count)
            follow_up = follow_up_text(rng)
            rows.append(
                {
                    "id": i + 1,
                    "shop_id": shop_id,
                    "platform_key": f"R{i}",
                    "product_id": rng.randint(1, 2000),
                    "buyer_id": rng.randint(1, buyers),
                    "order_line_id": i + 1 if i < orders else None,
                    "rating": Rating.GOOD if rng.random() < 0.93 else Rating.BAD,
                    "text": review_text(rng),
                    "follow_up_text": follow_up,
                    "follow_up_at": posted + timedelta(days=7) if follow_up else None,
                    "posted_at": posted,
                    "first_posted_at": posted,
                    "received_at": posted,
                    "updated_at": posted,
                    "sentiment_score": 0.9,
                }
            )
        session.execute(sa.insert(Review), rows)


def fill(
    session: sa.orm.Session, orders: int, buyers: int, reviews: int, rng: random.Random
) -> Shop:
    shop = Shop(code="bench", name="压测店", platform=Platform.TMALL, created_at=NOW)
    session.add(shop)
    session.flush()
    boss = User(username="zhuguan", display_name="主管", role=Role.SUPERVISOR, created_at=NOW)
    boss.set_password(PASSWORD)
    boss.shops = [shop]
    session.add(boss)
    insert_rows(
        session,
        Product,
        [
            {
                "id": i + 1,
                "shop_id": shop.id,
                "platform_item_id": f"{600000 + i}",
                "title": f"商品{i}",
                "category": f"类目{i % 12}",
                "price": Decimal("30.00"),
            }
            for i in range(2000)
        ],
        BATCH,
    )
    insert_rows(
        session,
        Buyer,
        [
            {"id": i + 1, "shop_id": shop.id, "platform_nick": f"买家{i:07d}", "created_at": NOW}
            for i in range(buyers)
        ],
        BATCH,
    )
    # in the order imports add them: ids grow with time
    for start in range(0, orders, BATCH):
        ids = range(start + 1, min(start + BATCH, orders) + 1)
        paid = [NOW - timedelta(minutes=(orders - i) * 2 * 365 * 24 * 60 // orders) for i in ids]
        head = [
            {
                "id": i,
                "shop_id": shop.id,
                "tid": f"{3_900_000_000_000 + i * 7919 % 10**12}",
                "buyer_id": rng.randint(1, buyers),
                "payment": Decimal("59.90"),
                "paid_at": at,
            }
            for i, at in zip(ids, paid, strict=True)
        ]
        session.execute(sa.insert(Order), head)
        session.execute(
            sa.insert(OrderLine),
            [
                {
                    "id": o["id"],
                    "shop_id": shop.id,
                    "order_id": o["id"],
                    "oid": o["tid"] + "1",
                    "product_id": rng.randint(1, 2000),
                    "title": "商品",
                    "quantity": 1,
                    "unit_price": Decimal("59.90"),
                }
                for o in head
            ],
        )
    fill_reviews(session, shop.id, reviews, buyers, orders, rng)
    session.commit()
    review_counts.compact(session)  # the hourly counts, as the scheduler folds them
    analyze_after_bulk_load(session, None)
    if session.get_bind().dialect.name == "postgresql":
        # as a shop's tables are once autovacuum has been by (the visibility map an
        # index-only count needs); measured straight after the fill, it would be running
        with session.get_bind().connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
    return shop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--buyers", type=int, default=400_000)
    parser.add_argument("--reviews", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(7)
    with migrated_app(args.database_url) as app:
        started = time.perf_counter()
        shop = fill(db.session, args.orders, args.buyers, args.reviews, rng)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        segments.recompute(db.session, shop, now=NOW)  # as the nightly build leaves them
        segmented = time.perf_counter() - started
        analyze_after_bulk_load(db.session, ["buyer_segments"])  # as autovacuum would
        some_tid = db.session.scalar(sa.select(Order.tid).where(Order.id == args.orders // 3))
        deep = max(1, args.orders // app.config["TRACKER_PAGE_SIZE"] // 2)
        # the last page of 30 days before the clock the app reads (the fill ends at NOW)
        since = browse.period_start(utcnow(), 30)
        in_month = review_counts.total(db.session, shop.id, since=since)
        month_pages = max(1, -(-in_month // app.config["TRACKER_PAGE_SIZE"]))
        pages = {
            "orders": "/shop/orders",
            "orders_deep": f"/shop/orders?page={min(deep, 5000)}",
            "orders_by_number": f"/shop/orders?q={some_tid[:8]}",
            "orders_by_last_digits": f"/shop/orders?q={some_tid[-6:]}",
            "orders_by_nick": "/shop/orders?q=买家0012345",
            "orders_broad": "/shop/orders?q=买家",  # every nick has it: 超过 2,000 条
            "reviews": "/shop/reviews",
            "reviews_worded": "/shop/reviews?words=1",  # 只看有文字: counted by the hour
            "reviews_good_worded": "/shop/reviews?words=1&rating=good",
            "reviews_30_days": "/shop/reviews?days=30",  # the home page's 近 30 天评价
            "reviews_bad_30_days": "/shop/reviews?days=30&rating=bad",
            # the period's last page: the list stops at its start, not at the shop's first review
            "reviews_30_days_last": f"/shop/reviews?days=30&page={month_pages}",
            "reviews_by_rare_word": "/shop/reviews?q=漏液",
            "reviews_by_rare_character": "/shop/reviews?q=霉",
            "reviews_by_phrase": "/shop/reviews?q=快递太慢",  # one review in fifty
            "reviews_bad_by_phrase": "/shop/reviews?q=快递太慢&rating=bad",
            "reviews_broad": "/shop/reviews?q=质量",  # every few reviews: 超过 2,000 条
            "buyers": "/shop/buyers",
            "buyers_by_nick": "/shop/buyers?q=0012345",
            "buyers_by_spend": "/shop/buyers?sort=spent",
            "buyers_by_orders": "/shop/buyers?sort=orders",
            "buyers_by_recent": "/shop/buyers?sort=recent",
            "buyers_by_recent_page_100": "/shop/buyers?sort=recent&page=100",
            "buyers_big_loyal_by_spend": "/shop/buyers?klass=loyal&big=1&sort=spent",
            "buyers_dormant_by_recent": "/shop/buyers?klass=dormant&sort=recent",
            "buyers_by_nick_by_spend": "/shop/buyers?q=0012345&sort=spent",
            "buyers_broad": "/shop/buyers?q=买家",  # every nick has it: 超过 2,000 个
            "buyers_broad_by_spend": "/shop/buyers?q=买家&sort=spent",
            "buyers_broad_dormant_by_recent": "/shop/buyers?q=买家&klass=dormant&sort=recent",
            "buyers_repeat_by_orders": "/shop/buyers?klass=repeat&sort=orders",  # a small class
            "products": "/shop/products",
        }
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        answer = client.post(
            "/login", data={"username": "zhuguan", "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 302, answer.status_code
        figures: dict[str, dict[str, float]] = {}
        for name, url in pages.items():
            client.get(url)  # warm: the first request also loads templates
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                answer = client.get(url)
                times.append((time.perf_counter() - t) * 1000)
                assert answer.status_code == 200, (url, answer.status_code)
            figures[name] = {
                "p50_ms": round(percentile(times, 0.5), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
            }
            print(f"{name:24} {url:40} p50 {figures[name]['p50_ms']:7.1f} ms", file=sys.stderr)
        worst = max(f["p95_ms"] for f in figures.values())
        print(
            json.dumps(
                {
                    "database": db.engine.dialect.name,
                    "orders": args.orders,
                    "buyers": args.buyers,
                    "reviews": args.reviews,
                    "fill_s": round(filled, 1),
                    "segments_s": round(segmented, 1),
                    "pages": figures,
                    "worst_p95_ms": worst,
                    "target_p95_ms": 300,
                    "met": worst < 300,
                },
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
