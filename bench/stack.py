"""The tracker as a bench runs it: in-process on a fresh migrated database (the data
benches), or as deployed, with flask commands, gunicorn and the scheduler (load.py and
faults.py), so that every bench measures the same set-up, made the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from tests.top_server import FakeTop
from tracker import create_app
from tracker.config import normalise_database_url
from tracker.database import throwaway_database
from tracker.extensions import db

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLASK = [str(BIN / "flask"), "--app", "tracker"]


@contextmanager
def migrated_app(database_url: str | None) -> Iterator[Flask]:
    """The app, in its context, on a new database at the newest schema: a SQLite file, or
    a throwaway database on the PostgreSQL server ``database_url`` names; dropped after."""
    server = normalise_database_url(database_url) if database_url else None
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(server, Path(tmp)) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=tmp)
        with app.app_context():
            upgrade()
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def insert_rows(session: Any, model: type, rows: list[dict], batch: int = 10_000) -> None:
    """A bench's bulk fill: Core inserts of ``batch`` rows at a time."""
    for i in range(0, len(rows), batch):
        session.execute(sa.insert(model), rows[i : i + batch])


def app_env(
    url: str, *, top: FakeTop | None = None, shop: str = "demo", redis_url: str | None = None
) -> dict[str, str]:
    """Settings for every process of one run; ``top``: the local review source of ``shop``;
    ``redis_url``: the workers share their cache and throttling counts there, as in the
    README's production setup."""
    env = os.environ | {
        "DATABASE_URL": url,
        "TRACKER_ENV": "development",  # plain HTTP on loopback
        "SECRET_KEY": "bench-secret-key-long-enough-for-the-check",
        # every simulated user logs in from 127.0.0.1: throttling would stop the run
        "TRACKER_LOGIN_RATE_LIMIT": "100000 per minute",
        "TRACKER_LOGIN_ADDRESS_RATE_LIMIT": "100000 per minute",
    }
    if redis_url is not None:
        env |= {"TRACKER_CACHE_REDIS_URL": redis_url, "TRACKER_RATELIMIT_STORAGE_URI": redis_url}
    if top is not None:
        credentials = {"app_key": top.app_key, "app_secret": top.secret, "session": top.session}
        env |= {
            "TRACKER_SOURCE_URLS": json.dumps({"top": top.url}),
            "TRACKER_SHOP_CREDENTIALS": json.dumps({shop: credentials}),
        }
    return env


def fresh_redis(url: str) -> str | None:
    """``url`` with the tracker's keys of an earlier run removed (figures cached for another
    database), or None when no Redis answers there."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter("tracker:*")) + list(client.scan_iter("LIMITS:*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        return None
    return url


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([*FLASK, *args], cwd=ROOT, env=env, check=True)


def start_scheduler(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*FLASK, "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_web(
    env: dict[str, str], *, workers: int, log_level: str = "warning"
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn on a free loopback port; returns once every worker has loaded the app."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    ready = Path(tempfile.mkdtemp(prefix="tracker-bench-ready-"))
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "bench" / "gunicorn_ready.py"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            log_level,
            "tracker.wsgi:app",
        ],
        cwd=ROOT,
        env=env | {"TRACKER_BENCH_READY_DIR": str(ready)},
    )
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end and web.poll() is None:
            if len(list(ready.iterdir())) >= workers:
                return web, f"http://127.0.0.1:{port}"
            time.sleep(0.2)
    finally:
        shutil.rmtree(ready)
    web.kill()
    raise SystemExit(f"gunicorn on port {port}: not every worker loaded the app within 120 s")
