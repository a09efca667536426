"""Offline quality of the recommender on real order lines, against plain bestsellers.

    python bench/recommend_eval.py --data FILE.csv[.gz] [--cutoff YYYY-MM-DD]
        [--categories last-word]

FILE has ``customer_id,order_id,product_id,product_name,quantity,unit_price,ordered_at``
and is read through the project's own order-import parser (with a column mapping). Global
time split at the cutoff (default: the day that leaves about 18% of customers buying both
before and after it); models see only earlier lines; the target is each customer's first
purchase day after it. "new" counts only products the customer never bought before.
``--categories last-word``: the file has no categories, so this stands one in from each
product's name (its last word: BOX, HOLDER, CANDLE, MUG…; about 850 of them, finer than a
shop's), which turns on the rules that read categories (new arrivals in the buyer's
categories, bestsellers that fit them). Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from tracker.domain.recommend import (  # noqa: E402
    BESTSELLER_DAYS,
    ProductInfo,
    Purchase,
    build,
    recommend,
)
from tracker.sources.files import parse_file  # noqa: E402

MAPPING = {
    "customer_id": "buyer_nick",
    "order_id": "tid",
    "product_id": "item_id",
    "product_name": "item_title",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "ordered_at": "paid_at",
}
TZ = ZoneInfo("UTC")  # the file's times are compared with each other only


def read(path: Path) -> list[Purchase]:
    if path.suffix == ".gz":
        with gzip.open(path) as f:
            data = f.read()
    else:
        data = path.read_bytes()
    parsed = parse_file("orders", data, path.name.removesuffix(".gz"), tz=TZ, mapping=MAPPING)
    if parsed.problems:
        sys.exit("unreadable rows: " + "; ".join(p.describe() for p in parsed.problems[:5]))
    return [
        Purchase(v["buyer_nick"], v["item_id"], v["paid_at"], float(v["unit_price"]))
        for _, v in parsed.rows
    ]


def last_words(path: Path) -> dict[str, str]:
    """Each product's stand-in category: the last word of its name."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return {
            row["product_id"].strip(): (row["product_name"].split() or [""])[-1]
            for row in csv.DictReader(f)
        }


def catalogue(
    train: list[Purchase], categories: dict[str, str] | None = None
) -> dict[str, ProductInfo]:
    """What a shop's catalogue would say, from the lines themselves: the latest price and
    the first sale as the launch date; categories only when stood in for."""
    price: dict[str, tuple[datetime, float]] = {}
    first: dict[str, datetime] = {}
    for p in train:
        if p.unit_price is not None and (p.product not in price or price[p.product][0] <= p.at):
            price[p.product] = (p.at, p.unit_price)
        first[p.product] = min(first.get(p.product, p.at), p.at)
    return {
        product: ProductInfo(
            price=price[product][1] if product in price else None,
            launched_at=at,
            category=(categories or {}).get(product, ""),
        )
        for product, at in first.items()
    }


def default_cutoff(purchases: list[Purchase]) -> datetime:
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for p in purchases:
        first[p.customer] = min(first.get(p.customer, p.at), p.at)
        last[p.customer] = max(last.get(p.customer, p.at), p.at)
    days = sorted({p.at.replace(hour=0, minute=0, second=0, microsecond=0) for p in purchases})
    best = min(
        days[30:],
        key=lambda d: abs(sum(1 for c in first if first[c] < d <= last[c]) / len(first) - 0.18),
    )
    return best


def scores(lists: dict[str, list[str]], targets: dict[str, set[str]]) -> dict[str, float]:
    hits = ndcg = recall = 0.0
    for user, target in targets.items():
        got = [1 if p in target else 0 for p in lists[user][:10]]
        hits += 1 if any(got) else 0
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(target), 10)))
        ndcg += sum(g / math.log2(i + 2) for i, g in enumerate(got)) / ideal
        recall += sum(got) / len(target)
    n = len(targets) or 1
    return {
        "hit_rate_at_10": round(hits / n, 4),
        "ndcg_at_10": round(ndcg / n, 4),
        "recall_at_10": round(recall / n, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument(
        "--cutoff", type=lambda s: datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=TZ)
    )
    parser.add_argument("--categories", choices=["last-word"])
    args = parser.parse_args()
    purchases = read(args.data)
    categories = last_words(args.data) if args.categories else None
    cutoff = args.cutoff or default_cutoff(purchases)
    train = [p for p in purchases if p.at < cutoff]
    first_day: dict[str, datetime] = {}
    for p in purchases:
        if p.at >= cutoff:
            day = p.at.replace(hour=0, minute=0, second=0, microsecond=0)
            first_day[p.customer] = min(first_day.get(p.customer, day), day)
    history: dict[str, list[Purchase]] = defaultdict(list)
    for p in train:
        history[p.customer].append(p)
    targets: dict[str, set[str]] = defaultdict(set)
    for p in purchases:
        if (
            p.customer in history
            and p.at >= cutoff
            and p.at - first_day[p.customer] < timedelta(days=1)
        ):
            targets[p.customer].add(p.product)
    bought = {c: {p.product for p in h} for c, h in history.items()}
    new_targets = {c: t - bought[c] for c, t in targets.items() if t - bought[c]}

    started = time.perf_counter()
    model = build(train, now=cutoff, catalogue=catalogue(train, categories))
    fit_seconds = time.perf_counter() - started
    ours: dict[str, list[str]] = {}
    ours_new: dict[str, list[str]] = {}
    timings = []
    for user in targets:
        t0 = time.perf_counter()
        ours[user] = [s.product for s in recommend(model, history[user], now=cutoff, k=10)]
        timings.append((time.perf_counter() - t0) * 1000)
        if user in new_targets:
            ours_new[user] = [
                s.product for s in recommend(model, history[user], now=cutoff, k=10, only_new=True)
            ]
    month = defaultdict(int)
    for p in train:
        if p.at >= cutoff - timedelta(days=30):
            month[p.product] += 1
    top = sorted(month, key=lambda p: -month[p])
    best = {u: top[:10] for u in targets}
    best_new = {u: [p for p in top if p not in bought[u]][:10] for u in new_targets}
    timings.sort()
    result = {
        "cutoff": cutoff.date().isoformat(),
        "users": len(targets),
        "users_new": len(new_targets),
        **scores(ours, targets),
        **{f"bestsellers_{k}": v for k, v in scores(best, targets).items()},
        **{f"new_{k}": v for k, v in scores(ours_new, new_targets).items()},
        **{f"new_bestsellers_{k}": v for k, v in scores(best_new, new_targets).items()},
        "fit_seconds": round(fit_seconds, 2),
        "ms_per_user_p95": round(percentile(timings, 0.95), 2) if timings else 0,
        "popularity_window_days": BESTSELLER_DAYS,
        "categories": args.categories or "none",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
