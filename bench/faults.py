"""Faults, shown on a real PostgreSQL server with real processes.

    python bench/faults.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
                           [--only scheduler-kill|postgres-restart]

scheduler-kill: the scheduler is SIGKILLed in the middle of a long pull (3,000 reviews over
six days from a slow local TOP stand-in), after one window is committed and while the next
is in flight; restarted (once the dead one's lock has gone stale), it pulls again; every
review must be stored once and every case exist once.

postgres-restart: gunicorn serves agents who keep opening the board and logging contact
attempts while the PostgreSQL cluster is restarted (``pg_ctlcluster … restart``, needs the
rights to do that); requests must fail cleanly during the outage (the 503 page, nothing
half-written) and succeed again afterwards without restarting the app.

Not part of the test suite: it restarts the database server. One JSON object, last line.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
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

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.stack import app_env, flask, start_scheduler, start_web  # noqa: E402
from tests.top_server import FakeTop, serve  # noqa: E402
from tracker.config import normalise_database_url  # noqa: E402
from tracker.database import throwaway_database  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION = re.compile(
    r'id="attempt-version"[^>]*value="(\d+)"|value="(\d+)"[^>]*id="attempt-version"'
)


def count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text(sql)) or 0)


# -- the scheduler killed mid-pull -----------------------------------------------------------
def scheduler_kill(server: str, tmp: Path) -> dict[str, object]:
    fake = FakeTop()
    day = datetime.now(SH) - timedelta(days=6)  # six one-day windows, one commit each
    for i in range(3000):
        bad = i % 7 == 0
        fake.add_rate(
            f"K{i}",
            (day + timedelta(seconds=170 * i)).strftime("%Y-%m-%d %H:%M:%S"),
            result="bad" if bad else "good",
            content="东西坏了" if bad else "很好",
            nick=f"买家{i % 900}",
        )
    with throwaway_database(server, tmp) as url, serve(fake):
        env = app_env(url, top=fake, shop="k")
        flask(env, "db", "upgrade")
        engine = sa.create_engine(url, pool_pre_ping=True)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO shops (code, name, platform, is_active, created_at, "
                    "pull_interval_minutes, pulled_until, suggestions_per_call) "
                    "VALUES ('k', '故障店', 'tmall', true, now(), 1, :t, 5)"
                ),
                {"t": day - timedelta(minutes=1)},
            )
        fake.faults = ["slow"] * 1000  # a long pull (1 s a page): killed in the middle of it
        first = start_scheduler(env)
        while count(engine, "SELECT count(*) FROM reviews") == 0:  # a window is committed
            time.sleep(0.2)
        time.sleep(1.5)  # and the next window's pages are on their way
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = (len(fake.requests), count(engine, "SELECT count(*) FROM reviews"))
        fake.faults = []
        started = time.monotonic()
        while True:  # the dead scheduler's lock goes stale after 90 s; until then: exit 3
            second = start_scheduler(env)
            try:
                code = second.wait(timeout=5)
            except subprocess.TimeoutExpired:
                break  # it holds the lock and runs
            if code != 3 or time.monotonic() - started > 180:
                raise SystemExit(f"scheduler exited with {code}")
            time.sleep(5)
        waited = time.monotonic() - started
        deadline = time.monotonic() + 180
        while count(engine, "SELECT count(*) FROM pull_runs WHERE status = 'ok'") == 0:
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        second.terminate()
        second.wait(timeout=30)
        result = {
            "reviews_in_source": 3000,
            "killed_after_requests": killed_at[0],
            "reviews_stored_when_killed": killed_at[1],
            "restart_waited_for_lock_s": round(waited),
            "reviews_stored": count(engine, "SELECT count(*) FROM reviews"),
            "distinct_reviews": count(engine, "SELECT count(DISTINCT platform_key) FROM reviews"),
            "cases": count(engine, "SELECT count(*) FROM cases"),
            "distinct_case_reviews": count(engine, "SELECT count(DISTINCT review_id) FROM cases"),
            "bad_in_source": sum(1 for r in fake.rates if r["result"] == "bad"),
        }
        engine.dispose()
    result["ok"] = (
        result["reviews_stored"] == result["distinct_reviews"] == 3000
        and result["cases"] == result["distinct_case_reviews"] >= result["bad_in_source"]
    )
    return result


# -- PostgreSQL restarted while agents work --------------------------------------------------
def postgres_restart(server: str, tmp: Path) -> dict[str, object]:
    with throwaway_database(server, tmp) as url:
        env = app_env(url)
        flask(env, "db", "upgrade")
        flask(env, "demo", "--scale", "0.05")
        web, base = start_web(env, workers=2, log_level="critical")
        engine = sa.create_engine(url, pool_pre_ping=True)
        with engine.connect() as conn:
            case_ids = list(
                conn.scalars(
                    sa.text("SELECT id FROM cases WHERE status = 'new' ORDER BY id LIMIT 20")
                )
            )
            attempts_before = conn.scalar(sa.text("SELECT count(*) FROM contact_attempts"))
        log: list[tuple[float, str, int]] = []
        stop = threading.Event()

        def agent(case_id: int) -> None:
            web_session = requests.Session()
            page = web_session.get(f"{base}/login", timeout=5).text
            web_session.post(
                f"{base}/login",
                data={
                    "username": "kefu1",
                    "password": "demo1234",
                    "csrf_token": TOKEN.search(page).group(1),
                },
                timeout=5,
            )  # type: ignore[union-attr]
            while not stop.is_set():
                try:
                    board = web_session.get(f"{base}/cases?scope=all", timeout=5)
                    log.append((time.monotonic(), "board", board.status_code))
                    page = web_session.get(f"{base}/cases/{case_id}", timeout=5)
                    token, version = TOKEN.search(page.text), VERSION.search(page.text)
                    if page.status_code == 200 and token and version:
                        answer = web_session.post(
                            f"{base}/cases/{case_id}/attempts",
                            data={
                                "csrf_token": token.group(1),
                                "attempt-version": version.group(1) or version.group(2),
                                "attempt-channel": "phone",
                                "attempt-outcome": "no_answer",
                                "attempt-attempted_at": datetime.now(SH).strftime("%Y-%m-%dT%H:%M"),
                            },
                            timeout=5,
                            allow_redirects=False,
                        )
                        log.append((time.monotonic(), "attempt", answer.status_code))
                except requests.RequestException:
                    log.append((time.monotonic(), "transport", 0))
                time.sleep(0.2)

        threads = [threading.Thread(target=agent, args=(c,)) for c in case_ids[:4]]
        for t in threads:
            t.start()
        time.sleep(4)
        cluster = subprocess.run(
            ["pg_lsclusters", "-h"], capture_output=True, text=True, check=True
        ).stdout.split()
        outage_start = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster[0], cluster[1], "restart"],
            check=True,
        )
        outage_end = time.monotonic()
        time.sleep(6)
        stop.set()
        for t in threads:
            t.join()
        web.terminate()
        web.wait(timeout=30)
        after = [code for at, _, code in log if at > outage_end + 1]
        during = [code for at, _, code in log if outage_start <= at <= outage_end + 1]
        with engine.connect() as conn:
            mismatched = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM cases c WHERE c.attempt_count <> "
                    "(SELECT count(*) FROM contact_attempts a WHERE a.case_id = c.id)"
                )
            )
            attempts = conn.scalar(sa.text("SELECT count(*) FROM contact_attempts"))
            attempts -= attempts_before
        engine.dispose()
    ok_codes = {200, 302}
    accepted = sum(1 for _, kind, code in log if kind == "attempt" and code == 302)
    result = {
        "requests": len(log),
        "outage_seconds": round(outage_end - outage_start, 1),
        "during_outage": {str(c): during.count(c) for c in sorted(set(during))},
        "after_outage": {str(c): after.count(c) for c in sorted(set(after))},
        "attempts_accepted": accepted,
        "attempts_stored": attempts,
        "cases_whose_count_disagrees_with_their_attempts": mismatched,
    }
    result["ok"] = (
        bool(after)
        and set(after) <= ok_codes
        and mismatched == 0
        and accepted == attempts  # nothing lost, nothing written by a refused request
        and set(during) <= ok_codes | {503}  # the outage page, never a crash or a hang
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=["scheduler-kill", "postgres-restart"])
    args = parser.parse_args()
    server = normalise_database_url(args.database_url)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "scheduler-kill"):
            out["scheduler_kill"] = scheduler_kill(server, Path(tmp))
        if args.only in (None, "postgres-restart"):
            out["postgres_restart"] = postgres_restart(server, Path(tmp))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
