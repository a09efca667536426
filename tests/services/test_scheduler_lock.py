from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW, run_python
from tracker.extensions import db
from tracker.models import AppThrottle, BackgroundWork, WorkerBeat
from tracker.services import scheduler_lock
from tracker.services.scheduler_lock import LockHeld, acquire, heartbeat, release

ROOT = Path(__file__).resolve().parents[2]


def test_one_holder_at_a_time(session: Session) -> None:
    acquire(session, "a", now=NOW)
    with pytest.raises(LockHeld) as info:
        acquire(session, "b", now=NOW + timedelta(seconds=10))
    assert info.value.holder == "a"
    assert heartbeat(session, "a", now=NOW + timedelta(seconds=60))
    with pytest.raises(LockHeld):
        acquire(session, "b", now=NOW + timedelta(seconds=120))  # beat 60 s ago: alive
    release(session, "a")
    acquire(session, "b", now=NOW + timedelta(seconds=130))


def test_a_stale_lock_is_taken_over_and_the_old_holder_learns_it(session: Session) -> None:
    acquire(session, "a", now=NOW)
    later = NOW + scheduler_lock.STALE_AFTER + timedelta(seconds=1)
    acquire(session, "b", now=later)
    assert not heartbeat(session, "a", now=later)  # a stops when it notices
    assert heartbeat(session, "b", now=later)


SCHEDULER_PROBE = """
import gc, json, sys
from apscheduler.schedulers.blocking import BlockingScheduler

def start(self, *args, **kwargs):  # the clock's loop: here, what it would start with
    print(json.dumps({"frozen": gc.get_freeze_count()}), flush=True)

BlockingScheduler.start = start
from flask.cli import main
sys.argv = ["flask", "--app", "tracker", "scheduler"]
main()
"""


def test_the_scheduler_freezes_what_it_loaded_before_its_first_job(
    database_url: str,
    app,  # type: ignore[no-untyped-def]
) -> None:
    """Its jobs' full collections then scan only what the jobs made (tracker.runtime)."""
    env = os.environ | {"DATABASE_URL": database_url, "TRACKER_SENTIMENT_MODEL": "auto"}
    result = run_python(SCHEDULER_PROBE, env)
    assert "调度器已停止" in result.stdout, result.stderr
    frozen = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert frozen["frozen"] > 10_000


def test_two_schedulers_started_at_once_one_exits(database_url: str, app) -> None:  # type: ignore[no-untyped-def]
    """Real processes on the test database: exactly one runs, the other says why and exits."""
    env = os.environ | {"DATABASE_URL": database_url, "TRACKER_SENTIMENT_MODEL": "auto"}
    command = [sys.executable, "-m", "flask", "--app", "tracker", "scheduler"]
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and all(p.poll() is None for p in procs):
            time.sleep(0.2)
        exited = [p for p in procs if p.poll() is not None]
        assert len(exited) == 1, "exactly one scheduler should exit"
        loser = exited[0]
        _, loser_err = loser.communicate()
        assert loser.returncode == 3, loser_err
        assert "另一个调度器正在运行" in loser_err
        winner = next(p for p in procs if p is not loser)
        assert winner.poll() is None
        winner.send_signal(signal.SIGTERM)
        out, err = winner.communicate(timeout=30)
        assert "调度器已停止" in out, err
        # one line says it started and how many jobs it keeps, not two lines a job
        assert re.search(r"调度器已启动（.+），\d+ 个定时任务", out), out
        assert "Adding job" not in err and "Added job" not in err, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
        # the winner's clock ran the background work for real on the shared test database:
        # leave no record of it for the tests after this one
        with app.app_context():
            for model in (BackgroundWork, WorkerBeat, AppThrottle):
                db.session.execute(sa.delete(model))
            db.session.commit()
