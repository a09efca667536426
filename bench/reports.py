"""Speed of the supervisors' dashboard on a big shop.

    python bench/reports.py [--database-url URL] [--cases 100000] [--attempts 300000]

Fills a fresh database with one shop: 100,000 cases opened over a year (with their
reviews, reason tags, remedies and suggestions) and 300,000 contact attempts, then times
everything the dashboard page computes for the last 90 days (the per-case facts, the
breakdown by agent, the daily trends with incoming reviews) 20 times. Target: p95 under
300 ms on PostgreSQL and on SQLite. Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.stack import migrated_app  # noqa: E402
from tracker.database import analyze_after_bulk_load  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import (  # noqa: E402
    Case,
    CaseReason,
    ContactAttempt,
    Product,
    Remedy,
    Review,
    Shop,
    User,
)
from tracker.models.enums import (  # noqa: E402
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Platform,
    Rating,
    Reason,
    RemedyKind,
    Role,
)
from tracker.services import reports  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)
BATCH = 10_000


def _insert(session: sa.orm.Session, model: type, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        session.execute(sa.insert(model), rows[i : i + BATCH])


def fill(session: sa.orm.Session, cases: int, attempts: int, rng: random.Random) -> int:
    shop = Shop(code="bench", name="压测店", platform=Platform.TMALL, created_at=NOW)
    session.add(shop)
    session.flush()
    agents = [
        User(
            username=f"agent{i}",
            display_name=f"客服{i}",
            role=Role.AGENT,
            created_at=NOW,
            password_hash="x",
            shops=[shop],
        )
        for i in range(20)
    ]
    session.add_all(agents)
    session.flush()
    _insert(
        session,
        Product,
        [
            {
                "shop_id": shop.id,
                "platform_item_id": f"P{i}",
                "title": f"商品{i}",
                "category": f"类目{i % 12}",
                "price": Decimal("30.00"),
            }
            for i in range(500)
        ],
    )
    products = list(session.scalars(sa.select(Product.id)))
    reviews, case_rows = [], []
    # in the order intake opens them: ids grow with time, as in a real shop's tables
    moments = sorted(NOW - timedelta(minutes=rng.randint(60, 365 * 24 * 60)) for _ in range(cases))
    for i, opened in enumerate(moments):
        rating = Rating.BAD if rng.random() < 0.6 else Rating.NEUTRAL
        reviews.append(
            {
                "id": i + 1,
                "shop_id": shop.id,
                "platform_key": f"R{i}",
                "product_id": rng.choice(products),
                "rating": rating,
                "text": "质量不好",
                "posted_at": opened,
                "first_posted_at": opened,
                "received_at": opened,
                "updated_at": opened,
                "sentiment_score": rng.random() * 0.4,
            }
        )
        closed = opened + timedelta(hours=rng.randint(2, 400))
        is_closed = closed < NOW and rng.random() < 0.8
        recovered = is_closed and rng.random() < 0.6
        case_rows.append(
            {
                "id": i + 1,
                "shop_id": shop.id,
                "review_id": i + 1,
                "product_id": reviews[-1]["product_id"],
                "owner_id": rng.choice(agents).id,
                "status": (CaseStatus.RECOVERED if recovered else CaseStatus.UNRECOVERED)
                if is_closed
                else CaseStatus.CONTACTING,
                "outcome": (CaseOutcome.REVIEW_REVISED if recovered else CaseOutcome.REFUSED)
                if is_closed
                else None,
                "kind": rating.value,
                "priority": 2,
                "opened_at": opened,
                "first_contact_due_at": opened + timedelta(hours=2),
                "revision_window_ends_at": opened + timedelta(days=30),
                "closed_at": closed if is_closed else None,
                "attempt_count": 0,
                "updated_at": opened,
                "version": 1,
            }
        )
    _insert(session, Review, reviews)
    attempt_rows = []
    per_case: dict[int, list[datetime]] = {}
    for _ in range(attempts):
        case = rng.choice(case_rows)
        at = case["opened_at"] + timedelta(minutes=rng.randint(5, 3000))
        per_case.setdefault(case["id"], []).append(at)
        attempt_rows.append(
            {
                "case_id": case["id"],
                "agent_id": case["owner_id"],
                "channel": Channel.PHONE,
                "attempted_at": at,
                "outcome": rng.choice(list(AttemptOutcome)),
                "notes": "",
                "created_at": at,
            }
        )
    for case in case_rows:
        times = sorted(per_case.get(case["id"], []))
        if times:
            case["first_attempt_at"] = times[0]
            case["first_attempt_work_seconds"] = int(
                (times[0] - case["opened_at"]).total_seconds() * 0.6
            )
            case["first_conversation_at"] = times[-1]
            case["first_conversation_work_seconds"] = int(
                (times[-1] - case["opened_at"]).total_seconds() * 0.6
            )
        case["attempt_count"] = len(times)
    for case in case_rows:
        case.setdefault("first_attempt_at", None)
        case.setdefault("first_attempt_work_seconds", None)
        case.setdefault("first_conversation_at", None)
        case.setdefault("first_conversation_work_seconds", None)
    _insert(session, Case, case_rows)
    _insert(session, ContactAttempt, attempt_rows)
    _insert(
        session,
        CaseReason,
        [
            {"case_id": c["id"], "reason": rng.choice(list(Reason)), "is_confirmed": False}
            for c in case_rows
        ],
    )
    _insert(
        session,
        Remedy,
        [
            {
                "case_id": c["id"],
                "kind": RemedyKind.COUPON,
                "amount": Decimal(10),
                "cost": Decimal(10),
                "note": "",
                "created_by_id": c["owner_id"],
                "created_at": c["opened_at"],
            }
            for c in case_rows
            if rng.random() < 0.2
        ],
    )
    session.commit()
    analyze_after_bulk_load(
        session, ["reviews", "cases", "contact_attempts", "case_reasons", "remedies"]
    )
    return shop.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(5)
    with migrated_app(args.database_url):
        # What the app loaded is frozen out of the collector's way, as tracker.wsgi does in
        # every gunicorn worker: a full collection then scans only what the page made.
        gc.freeze()
        started = time.perf_counter()
        shop_id = fill(db.session, args.cases, args.attempts, rng)
        fill_s = time.perf_counter() - started
        today = NOW.astimezone(SH).date()
        period = reports.Period(today - timedelta(days=89), today, SH)
        timings = []
        for _ in range(args.runs):
            db.session.expire_all()
            t0 = time.perf_counter()
            facts = reports.load_facts(db.session, shop_id, period, now=NOW)
            board = reports.dashboard(db.session, shop_id, period, now=NOW, facts=facts)
            reports.trends(db.session, shop_id, period, now=NOW, grain="day", facts=facts)
            timings.append((time.perf_counter() - t0) * 1000)
        counts = (
            db.session.scalar(sa.select(sa.func.count()).select_from(Case)),
            db.session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)),
        )
    print("timings", [round(t) for t in timings], file=sys.stderr)
    timings.sort()
    print(
        json.dumps(
            {
                "database": "postgresql" if args.database_url else "sqlite",
                "cases": counts[0],
                "attempts": counts[1],
                "cases_in_period": board.totals.cases,
                "period_days": period.days,
                "fill_seconds": round(fill_s, 1),
                "dashboard_ms_p50": round(timings[len(timings) // 2], 1),
                "dashboard_ms_p95": round(timings[int(0.95 * (len(timings) - 1))], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
