"""A 双11 peak on the push API: concurrent pushers against gunicorn on a throwaway database.

Each pusher sends batches of reviews for one shop, buyers drawn from a shared pool (so
batches keep meeting the same new buyers and products at the same moment) and some review
keys sent by other pushers too (the same review arriving twice at once). Reports every
answer by status, what was stored against what was acknowledged, and reviews per second.

    .venv/bin/python bench/peak.py                       # PostgreSQL: 8 pushers x 60 s
    .venv/bin/python bench/peak.py --database sqlite --pushers 4 --seconds 20

Last line: one JSON object (errors, lost, duplicates, reviews_per_s, p95_ms, ...).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import app_env, flask, start_web
from bench.stats import percentile
from tracker import create_app
from tracker.config import normalise_database_url
from tracker.database import throwaway_database
from tracker.extensions import db
from tracker.models import Shop
from tracker.models.enums import Platform
from tracker.services.api_tokens import issue_token

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TEXTS = [
    "很好，物流也快",
    "快递太慢了",
    "质量一般",
    "橙子坏了好几个，太差了",
    "包装破了",
    "还会回购",
]


def pusher(
    url: str,
    token: str,
    index: int,
    *,
    batch: int,
    buyers: int,
    until: float,
    shared: list[str],
    results: list[tuple[int, float, list[str]]],
) -> None:
    rng = random.Random(index)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    posted = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    sequence = 0
    while time.monotonic() < until:
        keys = []
        for _ in range(batch):
            if shared and rng.random() < 0.1:  # a review another pusher is sending too
                keys.append(rng.choice(shared))
            else:
                sequence += 1
                keys.append(f"P{index}-{sequence}")
        shared.extend(keys[:5])
        body = {
            "reviews": [
                {
                    "oid": key,
                    "buyer_nick": f"买家{rng.randrange(buyers)}",
                    "rating": rng.choice(["good", "good", "good", "neutral", "bad"]),
                    "text": rng.choice(TEXTS),
                    "posted_at": posted,
                    "item_id": str(rng.randrange(300)),
                    "item_title": "大促商品",
                }
                for key in dict.fromkeys(keys)  # a batch names each review once
            ]
        }
        started = time.perf_counter()
        try:
            answer = http.post(f"{url}/api/v1/reviews", json=body, timeout=60)
            status = answer.status_code
        except requests.RequestException:
            status = 0
        results.append((status, time.perf_counter() - started, [r["oid"] for r in body["reviews"]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=POSTGRES, help="a PostgreSQL server URL, or sqlite")
    parser.add_argument("--pushers", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--buyers", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    server = None if args.database == "sqlite" else normalise_database_url(args.database)

    with tempfile.TemporaryDirectory() as tmp, throwaway_database(server, Path(tmp)) as url:
        env = app_env(url)
        flask(env, "db", "upgrade")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=tmp)
        with app.app_context():
            shop = Shop(
                code="peak", name="大促店", platform=Platform.TMALL, created_at=datetime.now(UTC)
            )
            db.session.add(shop)
            db.session.commit()
            token = issue_token(db.session, shop, actor_id=None, now=datetime.now(UTC))
            shop_id = shop.id
            db.session.remove()
        web, base = start_web(env, workers=args.workers)
        results: list[tuple[int, float, list[str]]] = []
        shared: list[str] = []
        try:
            until = time.monotonic() + args.seconds
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=pusher,
                    args=(base, token, i),
                    kwargs={
                        "batch": args.batch,
                        "buyers": args.buyers,
                        "until": until,
                        "shared": shared,
                        "results": results,
                    },
                )
                for i in range(args.pushers)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
        finally:
            web.terminate()
            web.wait(timeout=30)
        with app.app_context():
            stored = db.session.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT platform_key) FROM reviews WHERE shop_id = :s"
                ),
                {"s": shop_id},
            ).one()
            buyers = db.session.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT platform_nick) FROM buyers WHERE shop_id = :s"
                ),
                {"s": shop_id},
            ).one()
            db.session.remove()
            db.engine.dispose()

    statuses = Counter(status for status, _, _ in results)
    acknowledged = {key for status, _, keys in results if status == 200 for key in keys}
    latencies = sorted(seconds for _, seconds, _ in results)
    p95 = percentile(latencies, 0.95) * 1000 if latencies else 0.0
    sent = sum(len(keys) for status, _, keys in results if status == 200)
    report = {
        "database": "postgresql" if server else "sqlite",
        "pushers": args.pushers,
        "workers": args.workers,
        "seconds": round(elapsed, 1),
        "batch": args.batch,
        "requests": len(results),
        "status": {str(k): v for k, v in sorted(statuses.items())},
        "errors": sum(v for k, v in statuses.items() if k != 200),
        "reviews_sent": sent,
        "reviews_stored": stored[0],
        "lost": len(acknowledged) - stored[1],  # acknowledged but not stored
        "duplicates": (stored[0] - stored[1]) + (buyers[0] - buyers[1]),
        "reviews_per_s": round(sent / elapsed, 1),
        "p95_ms": round(p95, 1),
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
