"""Many shops on Celery workers: how fresh the cases are, and what a killed worker costs.

    python bench/scale.py [--shops 2000] [--workers 1,2,4] [--threads 8]
                          [--interval-minutes 2] [--seconds 120] [--reviews-per-second 5]
                          [--apps 4] [--app-rate 50] [--latency 0.2]
                          [--database-url URL] [--broker redis://127.0.0.1:6379/15]

Set-up, as a hosting provider runs it: PostgreSQL, a Redis broker, the scheduler process
(`flask scheduler`, the clock) and N Celery worker processes (`celery -A
tracker.worker:celery worker --pool threads`), all on this machine. ``--shops`` Tmall
shops, their credentials sealed in the database, spread over ``--apps`` platform apps, pull
every ``--interval-minutes``. A local TOP stand-in checks every signature, answers each page after
``--latency`` seconds and refuses more than ``--app-rate`` calls a second per app with TOP's
own "App Call Limited" (code 7, "This ban will last for 1 more seconds").

For each worker count:

1. **Freshness.** For ``--seconds``, bad reviews appear at the stand-in at random shops
   (Poisson, ``--reviews-per-second``); the bench polls the database for the cases they
   open. Freshness = case visible in the database − review visible at the source; p50 and
   p95. (Its floor is the interval: a shop is pulled once per interval, at its own phase.)
2. **Throughput.** Every shop asks for a pull at once (as if each got a push); the bench
   times until all of them have pulled: pulls a second at saturation.

Then, with 2 workers, one is killed with SIGKILL while it holds a shop's lease mid-pull,
and started again 5 s later; reviews keep appearing. After a drain the bench counts
``lost`` (reviews that appeared but have no stored review or no case) and ``duplicates``
(a review stored twice, or a case opened twice for one review), and the killed worker's
runs: marked ``worker-lost`` when the shop's next pull took its lease over, or left 运行中.

Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from bench.stack import BIN, FLASK  # noqa: E402
from bench.stats import percentile  # noqa: E402
from tests.platform_servers import serve  # noqa: E402
from tests.top_server import FakeTop, reference_sign  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
FORMAT = "%Y-%m-%d %H:%M:%S"
# the scheduler's and workers' own logs (BENCH_LOG=path keeps them; default: dropped)
LOG = open(os.environ["BENCH_LOG"], "ab") if os.environ.get("BENCH_LOG") else subprocess.DEVNULL  # noqa: SIM115


class ManyShopsTop(FakeTop):
    """TOP for many shops on a few apps: a session per shop, latency, per-app limits."""

    def __init__(self, apps: int, rate: int, latency: float) -> None:
        super().__init__()
        self.secrets = {f"app{n}": f"secret-{n}" for n in range(apps)}
        self.rate, self.latency = rate, latency
        self.by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.calls: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()
        self.limited = self.answered = 0
        self.appeared: dict[str, float] = {}  # oid -> wall time it became visible

    def add(self, session: str, oid: str) -> None:
        posted = datetime.now(SH)
        with self.lock:
            self.by_session[session].append(
                {
                    "tid": f"T{oid}",
                    "oid": oid,
                    "role": "buyer",
                    "nick": f"买家{oid}",
                    "result": "bad",
                    "created": posted.strftime(FORMAT),
                    "rated_nick": "店铺",
                    "item_title": "赣南脐橙",
                    "item_price": "39.90",
                    "content": "发货太慢了，橙子坏了好几个",
                    "num_iid": 620001,
                    "valid_score": True,
                }
            )
            self.appeared[oid] = time.time()

    def answer(self, form: dict[str, str]) -> tuple[int, str]:
        time.sleep(self.latency)  # the platform's own time per page
        app = form.get("app_key", "")
        secret = self.secrets.get(app)
        if secret is None or form.get("sign") != reference_sign(
            form, secret, form.get("sign_method", "md5")
        ):
            self.problems.append(f"bad signature from {app}")
            return 200, json.dumps({"error_response": {"code": 25, "msg": "Invalid signature"}})
        now = time.monotonic()
        with self.lock:
            recent = self.calls[app]
            while recent and recent[0] < now - 1:
                recent.popleft()
            if len(recent) >= self.rate:
                self.limited += 1
                return 200, json.dumps(
                    {
                        "error_response": {
                            "code": 7,
                            "msg": "App Call Limited",
                            "sub_code": "accesscontrol.limited-by-app-access-count",
                            "sub_msg": "This ban will last for 1 more seconds",
                        }
                    }
                )
            recent.append(now)
            self.answered += 1
            rates = list(self.by_session.get(form.get("session", ""), ()))
        start, end = form["start_date"], form["end_date"]
        matching = sorted(
            (r for r in rates if start <= r["created"] < end), key=lambda r: r["created"]
        )
        page, size = int(form["page_no"]), int(form["page_size"])
        chunk = matching[(page - 1) * size : page * size]
        return 200, json.dumps(
            {
                "traderates_get_response": {
                    "trade_rates": {"trade_rate": chunk},
                    "has_next": page * size < len(matching),
                }
            },
            ensure_ascii=True,
        )


def set_up(env: dict[str, str], fake: ManyShopsTop, shops: int, interval: int) -> None:
    """``shops`` Tmall shops with sealed credentials, already pulled up to now."""
    code = f"""
import json, sys
from tracker import create_app, runtime
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import Shop
from tracker.models.enums import Platform
from tracker.services import source_credentials
from flask_migrate import upgrade
app = create_app()
apps = {json.dumps(sorted(fake.secrets.items()))}
with app.app_context():
    upgrade()
    now = utcnow()
    rows = [Shop(code=f"s{{n:05d}}", name=f"店铺{{n}}", platform=Platform.TMALL, created_at=now,
                 pull_interval_minutes={interval}, pulled_until=now) for n in range({shops})]
    db.session.add_all(rows)
    db.session.commit()
    sealer = runtime.sealer(app)
    for n, shop in enumerate(rows):
        key, secret = apps[n % len(apps)]
        source_credentials.save(db.session, shop,
            {{"app_key": key, "app_secret": secret, "session": shop.code}},
            sealer=sealer, actor_id=None, now=now)
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def start_workers(
    env: dict[str, str], count: int, threads: int, first: int = 0
) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "tracker.worker:celery",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(threads),
                "-Q",
                "tracker,tracker-builds",
                "--loglevel",
                "WARNING",
                "-n",
                f"bench{first + n}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=LOG,
        )
        for n in range(count)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()


class CaseWatcher(threading.Thread):
    """Polls the database for newly opened cases and stamps when each became visible."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.seen: dict[str, float] = {}
        self.last_id = 0
        self.running = True

    def run(self) -> None:
        # ids are taken at INSERT and committed in another order by concurrent workers:
        # look back a stretch below the highest id seen, or a late commit is never seen
        query = sa.text(
            "SELECT c.id, r.platform_key FROM cases c JOIN reviews r ON r.id = c.review_id "
            "WHERE c.id > :last - 5000 ORDER BY c.id"
        )
        while self.running:
            with self.engine.connect() as conn:
                rows = conn.execute(query, {"last": self.last_id}).all()
            stamp = time.time()
            for case_id, key in rows:
                self.last_id = max(self.last_id, case_id)
                self.seen.setdefault(key.split(":")[0], stamp)  # "oid:buyer"
            time.sleep(0.25)


def appear(
    fake: ManyShopsTop,
    shops: int,
    rate: float,
    seconds: float,
    prefix: str,
    rng: random.Random,
    on_the_way: Any = None,
) -> list[str]:
    """Reviews appearing at random shops, Poisson at ``rate`` a second; their oids."""
    oids = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        time.sleep(rng.expovariate(rate))
        oid = f"{prefix}-{n}"
        fake.add(f"s{rng.randrange(shops):05d}", oid)
        oids.append(oid)
        n += 1
        if on_the_way is not None:
            on_the_way(time.monotonic() - (end - seconds))
    return oids


def wait_for(watcher: CaseWatcher, oids: list[str], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(o not in watcher.seen for o in oids):
        time.sleep(0.5)


def finished_runs(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT count(*) FROM pull_runs WHERE status <> 'running'")))


def burst(engine: sa.Engine, shops: int, timeout: float) -> dict[str, Any]:
    """Every shop asks for a pull at once; pulls a second until all ran."""
    with engine.begin() as conn:
        before = conn.scalar(sa.text("SELECT count(*) FROM pull_runs WHERE status <> 'running'"))
        conn.execute(sa.text("UPDATE shops SET pull_requested_at = now()"))
    start = time.monotonic()
    done = 0
    while time.monotonic() - start < timeout:
        with engine.connect() as conn:
            waiting = conn.scalar(
                sa.text("SELECT count(*) FROM shops WHERE pull_requested_at IS NOT NULL")
            )
            done = (
                conn.scalar(sa.text("SELECT count(*) FROM pull_runs WHERE status <> 'running'"))
                - before
            )
        if waiting == 0 and done >= shops:
            break
        time.sleep(0.5)
    seconds = time.monotonic() - start
    return {
        "burst_pulls": done,
        "burst_seconds": round(seconds, 1),
        "burst_pulls_per_second": round(done / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4", help='"none": only the kill -9 part')
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--interval-minutes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--reviews-per-second", type=float, default=5)
    parser.add_argument("--apps", type=int, default=4)
    parser.add_argument("--app-rate", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    import redis

    from tracker.config import normalise_database_url
    from tracker.database import throwaway_database

    redis.Redis.from_url(args.broker).flushdb()
    rng = random.Random(7)
    fake = ManyShopsTop(args.apps, args.app_rate, args.latency)
    results: dict[str, Any] = {
        "shops": args.shops,
        "interval_minutes": args.interval_minutes,
        "threads_per_worker": args.threads,
        "latency_s": args.latency,
        "apps": args.apps,
        "app_rate": args.app_rate,
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        throwaway_database(normalise_database_url(args.database_url), Path(tmp)) as url,
        serve(fake),
    ):
        env = os.environ | {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-long-enough-for-the-check",
            "TRACKER_CREDENTIALS_KEY": Fernet.generate_key().decode(),
            "TRACKER_SOURCE_URLS": json.dumps({"top": fake.url}),
            "TRACKER_BROKER_URL": args.broker,
        }
        env.pop("TRACKER_SHOP_CREDENTIALS", None)
        t0 = time.monotonic()
        set_up(env, fake, args.shops, args.interval_minutes)
        results["setup_seconds"] = round(time.monotonic() - t0, 1)
        engine = sa.create_engine(url, pool_pre_ping=True)
        watcher = CaseWatcher(engine)
        watcher.start()
        scheduler = subprocess.Popen(
            [*FLASK, "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=LOG,
        )
        per_count: dict[str, Any] = {}
        try:
            counts = [] if args.workers == "none" else [int(c) for c in args.workers.split(",")]
            for count in counts:
                workers = start_workers(env, count, args.threads)
                # warm up for two intervals: at start every shop overdue is pulled at once,
                # and a shop whose own slot follows soon after is pulled again then; until
                # the phases settle, pulls come more often than once an interval
                time.sleep(max(20.0, args.interval_minutes * 60 * 2))
                runs_before, started = finished_runs(engine), time.monotonic()
                oids = appear(
                    fake, args.shops, args.reviews_per_second, args.seconds, f"w{count}", rng
                )
                # pulls made while reviews appeared, against the shops' demand
                pulled = (finished_runs(engine) - runs_before) / (time.monotonic() - started)
                wait_for(watcher, oids, timeout=args.interval_minutes * 60 * 3 + 60)
                fresh = [watcher.seen[o] - fake.appeared[o] for o in oids if o in watcher.seen]
                figures = {
                    "reviews": len(oids),
                    "cases_seen": len(fresh),
                    "freshness_p50_s": round(percentile(fresh, 0.5), 1) if fresh else None,
                    "freshness_p95_s": round(percentile(fresh, 0.95), 1) if fresh else None,
                    "pulls_per_second": round(pulled, 1),
                    "pulls_due_per_second": round(args.shops / (args.interval_minutes * 60), 1),
                }
                figures |= burst(engine, args.shops, timeout=600)
                per_count[str(count)] = figures
                print(json.dumps({str(count): figures}), flush=True)
                stop(workers)
            results["workers"] = per_count
            if "1" in per_count and "4" in per_count:
                results["throughput_ratio_4_vs_1"] = round(
                    per_count["4"]["burst_pulls_per_second"]
                    / per_count["1"]["burst_pulls_per_second"],
                    2,
                )

            # kill -9 a worker that holds a shop's lease mid-pull
            workers = start_workers(env, 2, args.threads, first=10)
            time.sleep(20)
            killed: dict[str, Any] = {}

            def kill_midway(elapsed: float) -> None:
                if killed or elapsed < args.seconds / 3:
                    return
                victim = workers[0]
                with engine.connect() as conn:
                    held = conn.scalar(
                        sa.text(
                            "SELECT count(*) FROM background_work"
                            " WHERE holder LIKE :h AND lease_until > now()"
                        ),
                        {"h": f"%:{victim.pid}:%"},
                    )
                if not held:
                    return
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed.update(pid=victim.pid, leases_held=held)
                workers[0] = start_workers(env, 1, args.threads, first=20)[0]  # systemd's restart

            oids = appear(
                fake, args.shops, args.reviews_per_second, args.seconds, "kill", rng, kill_midway
            )
            wait_for(watcher, oids, timeout=args.interval_minutes * 60 * 3 + 120)
            # stopped (SIGTERM: running tasks finish), so a run still 运行中 is one the
            # killed worker left and nobody cleaned up
            stop(workers)
            scheduler.send_signal(signal.SIGTERM)
            scheduler.wait(timeout=60)
            with engine.connect() as conn:
                with_case = {
                    key.split(":")[0]
                    for (key,) in conn.execute(
                        sa.text(
                            "SELECT r.platform_key FROM reviews r"
                            " JOIN cases c ON c.review_id = r.id"
                        )
                    )
                }
                twice = conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM (SELECT platform_key FROM reviews"
                        " GROUP BY shop_id, platform_key HAVING count(*) > 1) d"
                    )
                )
                twice += conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM (SELECT review_id FROM cases"
                        " GROUP BY review_id HAVING count(*) > 1) d"
                    )
                )
                left_running = conn.scalar(
                    sa.text("SELECT count(*) FROM pull_runs WHERE status = 'running'")
                )
                worker_lost = conn.scalar(
                    sa.text("SELECT count(*) FROM pull_runs WHERE error_code = 'worker-lost'")
                )
            results["kill"] = {
                "killed": killed,
                "reviews": len(oids),
                "runs_marked_worker_lost": worker_lost,
                "runs_left_running": left_running,
            }
            results["lost"] = sum(1 for o in oids if o not in with_case)  # no review or no case
            results["duplicates"] = twice  # a review stored twice, or two cases for one
        finally:
            if scheduler.poll() is None:
                scheduler.send_signal(signal.SIGTERM)
                scheduler.wait(timeout=60)
            watcher.running = False
            engine.dispose()
        results["platform_calls"] = fake.answered
        results["rate_limited_calls"] = fake.limited
        results["signature_problems"] = len(fake.problems)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
