"""The tracker under load, as deployed: gunicorn on PostgreSQL, the scheduler pulling.

    python bench/load.py [--users 50] [--seconds 60] [--ramp 30] [--scale 10] [--workers 4]
                         [--database-url postgresql://postgres@127.0.0.1:5432/test]
                         [--redis redis://127.0.0.1:6379/0]

Makes a throwaway database on that server, loads the demo shop at ``--scale`` (10: 50,000
buyers, 400,000 orders), starts gunicorn and the scheduler (pulling new reviews every
minute from a local TOP stand-in that receives a few reviews a second), then drives
simulated agents (log in, board with filters, case pages, contact attempts, claims) and
supervisors (dashboard) with Locust on loopback. The users log in over ``--ramp`` seconds,
as a shift starts, then all of them work for ``--seconds``; every request counts, logins
included. Needs Locust (in requirements/dev.txt, which ``python3 dev.py test`` installs).
Prints requests, errors and p50/p95/p99 per page; one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench.stack import (  # noqa: E402
    BIN,
    app_env,
    flask,
    fresh_redis,
    start_scheduler,
    start_web,
)
from tests.top_server import FakeTop, serve  # noqa: E402
from tracker.config import normalise_database_url  # noqa: E402
from tracker.database import throwaway_database  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
TARGETS = {"board": 200, "case page": 200, "attempt POST": 150, "dashboard": 500}


def feed(fake: FakeTop, stop: threading.Event) -> None:
    """New reviews keep arriving while the agents work, as on a busy day."""
    n = 0
    while not stop.wait(0.5):
        n += 1
        created = datetime.now(SH).strftime("%Y-%m-%d %H:%M:%S")
        bad = n % 10 == 0
        fake.add_rate(
            f"L{n}",
            created,
            result="bad" if bad else "good",
            content="东西坏了，快递也慢" if bad else "很好，下次还来",
            nick=f"压测买家{n}",
        )


def machine_reference_ms() -> float:
    """How fast this shared machine is right now: the best of five password hashes, the
    same work as one login. Runs differ by a third when this figure does."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        generate_password_hash("reference")
        times.append(time.perf_counter() - start)
    return round(min(times) * 1000, 1)


LAX_POLICY = {
    "day_starts": "00:00",
    "day_ends": "24:00",
    "per_day": 50,
    "per_week": 50,
    "min_gap_minutes": 0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--seconds", type=int, default=60, help="how long all the users work together"
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=30,
        help="seconds over which the users log in (a login is a deliberate ~130 ms password "
        "check: 50 in 5 s saturate two cores for a quarter of a minute)",
    )
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        help="shared cache and throttling, as in production; 'none' (or no Redis answering "
        "there) leaves each worker its own",
    )
    parser.add_argument(
        "--steady-state",
        action="store_true",
        help="count only requests made after every user has logged in",
    )
    parser.add_argument(
        "--existing-database",
        metavar="URL",
        help="a database already loaded by an earlier run or by 'flask demo' (skips the "
        "15-minute set-up; for repeated runs while tuning, not for the figures)",
    )
    args = parser.parse_args()
    if args.ramp <= 0:
        parser.error("--ramp must be more than 0 seconds")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        if args.existing_database:
            url = normalise_database_url(args.existing_database)
        else:
            server = normalise_database_url(args.database_url)
            url = stack.enter_context(throwaway_database(server, Path(tmp)))
        fake = stack.enter_context(serve(FakeTop()))
        redis_url = fresh_redis(args.redis) if args.redis != "none" else None
        env = app_env(url, top=fake, redis_url=redis_url)
        reference_before = machine_reference_ms()
        started = time.perf_counter()
        if not args.existing_database:
            flask(env, "db", "upgrade")
            flask(env, "demo", "--scale", str(args.scale))
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            # The simulated agents log attempts at whatever hour the bench runs, again and
            # again on the same cases: the shop's contact policy (tested on its own) would
            # refuse nearly all of them, so the bench shop allows every hour and any number.
            conn.execute(
                sa.text(
                    "UPDATE shops SET pull_interval_minutes = 1, pulled_until = :t, "
                    "contact_policy = CAST(:policy AS JSON)"
                ),
                {"t": datetime.now(SH) - timedelta(minutes=5), "policy": json.dumps(LAX_POLICY)},
            )
            cases = conn.scalar(sa.text("SELECT count(*) FROM cases"))
            orders = conn.scalar(sa.text("SELECT count(*) FROM orders"))
        setup_s = time.perf_counter() - started
        stop = threading.Event()
        feeder = threading.Thread(target=feed, args=(fake, stop), daemon=True)
        feeder.start()
        web, base = start_web(env, workers=args.workers)
        scheduler = start_scheduler(env)
        try:
            prefix = Path(tmp) / "locust"
            subprocess.run(
                [
                    str(BIN / "locust"),
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.users / args.ramp),
                    "--run-time",
                    f"{round(args.ramp + args.seconds)}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                env=os.environ | {"LOAD_STEADY_STATE": "1" if args.steady_state else "0"},
                check=False,
            )
        finally:
            stop.set()
            for process in (web, scheduler):
                process.terminate()
            for process in (web, scheduler):
                process.wait(timeout=30)
        with engine.begin() as conn:
            pulled = conn.scalar(
                sa.text("SELECT count(*) FROM reviews WHERE platform_key LIKE 'L%'")
            )
            duplicates = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM (SELECT platform_key FROM reviews GROUP BY shop_id, "
                    "platform_key HAVING count(*) > 1) d"
                )
            )
            runs = conn.scalar(sa.text("SELECT count(*) FROM pull_runs WHERE source = 'top'"))
        engine.dispose()
        pages, total, errors = {}, 0, 0
        with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["Name"] == "Aggregated":
                    total, errors = int(row["Request Count"]), int(row["Failure Count"])
                    continue
                if row["Request Count"] == "0":  # logins, after a --steady-state reset
                    continue
                pages[row["Name"]] = {
                    "requests": int(row["Request Count"]),
                    "errors": int(row["Failure Count"]),
                    "p50": float(row["50%"]),
                    "p95": float(row["95%"]),
                    "p99": float(row["99%"]),
                }
        with open(f"{prefix}_failures.csv", encoding="utf-8") as f:
            failures = [
                {
                    "page": row["Name"],
                    "error": row["Error"],
                    "occurrences": int(row["Occurrences"]),
                }
                for row in csv.DictReader(f)
            ]
    reference_after = machine_reference_ms()
    met = {name: pages[name]["p95"] < limit for name, limit in TARGETS.items() if name in pages}
    print(
        json.dumps(
            {
                "users": args.users,
                "seconds": args.seconds,
                "ramp_seconds": args.ramp,
                "scale": args.scale,
                "workers": args.workers,
                "cache": "redis" if redis_url else "per worker",
                "steady_state_only": args.steady_state,
                "orders": orders,
                "cases_at_start": cases,
                "setup_seconds": round(setup_s),
                "requests": total,
                "errors": errors,
                "failures": failures,
                "pages": pages,
                "p95_targets_met": met,
                "machine_reference_ms": [reference_before, reference_after],
                "reviews_pulled_during_run": pulled,
                "pull_runs": runs,
                "duplicate_reviews": duplicates,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
