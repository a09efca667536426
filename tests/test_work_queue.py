"""Background work as many workers see it, on a real database of its own (SQLite or
PostgreSQL) with real threads and processes: a task delivered twice, two workers taking the
same shop, a worker killed mid-pull, a platform app told to slow down, a shop that keeps
failing, Celery carrying the tasks, and the embedded default running every job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from tests.databases import fresh_database
from tests.top_server import FakeTop, serve
from tracker import create_app, jobs
from tracker.cli.limits import apply_job_limits
from tracker.clock import utcnow
from tracker.domain.work_plan import PARK_AFTER
from tracker.extensions import db
from tracker.models import AppThrottle, BackgroundWork, PullRun, Review, Shop
from tracker.models.enums import Platform
from tracker.queue.contract import Task
from tracker.queue.inprocess import InProcessExecutor
from tracker.services import background_work

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class World:
    app: Flask
    url: str
    fake: FakeTop
    shop_ids: list[int]
    environ: dict[str, str]

    def query(self, statement: Any) -> Any:
        with self.app.app_context():
            try:
                return db.session.execute(statement).all()
            finally:
                db.session.remove()

    def count(self, model: Any, *where: Any) -> int:
        return int(self.query(sa.select(sa.func.count()).select_from(model).where(*where))[0][0])


def _rates(fake: FakeTop, shop_count: int, per_day: int, days: int) -> None:
    """Reviews over the last ``days`` days: a first pull reads one window per day."""
    now = datetime.now(SH)
    for day in range(days):
        for n in range(per_day):
            posted = now - timedelta(days=days - day - 1, hours=1, minutes=n)
            fake.add_rate(f"{day}-{n}", f"{posted:%Y-%m-%d %H:%M:%S}", result="bad")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    fake = FakeTop()
    with fresh_database(tmp_path) as url, serve(fake):
        credentials = {
            code: {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}
            for code in ("w1", "w2")
        }
        environ = {
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key-that-is-long-enough",
            "TRACKER_SHOP_CREDENTIALS": json.dumps(credentials),
            "TRACKER_SOURCE_URLS": json.dumps({"top": fake.url}),
            "TRACKER_SENTIMENT_MODEL": "snownlp",
            "TRACKER_SENTIMENT_GENERAL_CORPUS": "false",
        }
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "TRACKER_SHOP_CREDENTIALS": credentials,
                "TRACKER_SOURCE_URLS": {"top": fake.url},
                "TRACKER_SENTIMENT_MODEL": "snownlp",
                "TRACKER_SENTIMENT_GENERAL_CORPUS": False,
            },
            instance_path=str(tmp_path),
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            # a job process's database limits, as the scheduler and tracker.worker set them
            # (a pull waits up to a minute for another's SQLite write lock, not the web's 5 s)
            apply_job_limits(app)
            shops = [
                Shop(code=code, name=f"店铺{code}", platform=Platform.TMALL, created_at=utcnow())
                for code in ("w1", "w2")
            ]
            db.session.add_all(shops)
            db.session.commit()
            ids = [s.id for s in shops]
            db.session.remove()
        yield World(app, url, fake, ids, environ)
        with app.app_context():
            db.engine.dispose()


def pull(world: World, shop_id: int, due: datetime | None = None) -> Task:
    return Task(unit="pull", due=due or utcnow(), shop_id=shop_id)


def test_a_task_delivered_twice_pulls_once(world: World) -> None:
    _rates(world.fake, 1, per_day=3, days=2)
    task = pull(world, world.shop_ids[0])
    first = jobs.run_task(world.app, task)
    asked = len(world.fake.requests)
    again = jobs.run_task(world.app, task)  # the broker delivers it once more
    assert isinstance(first, background_work.Claim) and again == "done"
    assert len(world.fake.requests) == asked  # the platform was not called again
    assert world.count(PullRun) == 1 and world.count(Review) == 6
    # a task due *after* the run started is new work, and runs
    assert isinstance(
        jobs.run_task(world.app, pull(world, world.shop_ids[0])), background_work.Claim
    )
    assert world.count(PullRun) == 2 and world.count(Review) == 6


def test_two_workers_taking_the_same_shop_pull_it_once(world: World) -> None:
    _rates(world.fake, 1, per_day=2, days=3)
    inside = threading.Event()
    release = threading.Event()

    def slow(form: dict[str, str]) -> None:
        inside.set()
        release.wait(timeout=30)

    world.fake.before_answer = slow
    shop_id = world.shop_ids[0]
    results: dict[str, Any] = {}

    def worker(name: str, due: datetime) -> None:
        results[name] = jobs.run_task(world.app, Task("pull", due, shop_id))

    first = threading.Thread(target=worker, args=("a", utcnow()))
    first.start()
    assert inside.wait(timeout=30)  # worker a is inside the platform call
    # worker b gets the same shop (a later slot, or the same task redelivered): it waits
    # for nothing and calls nothing
    asked = len(world.fake.requests)
    worker("b", utcnow())
    assert results["b"] == "held"
    assert len(world.fake.requests) == asked
    release.set()
    world.fake.before_answer = None
    first.join(timeout=60)
    assert isinstance(results["a"], background_work.Claim)
    assert world.count(PullRun) == 1 and world.count(Review) == 6


def test_two_workers_racing_for_a_free_shop_one_wins(world: World) -> None:
    """The claim itself is the race: many threads at once, exactly one lease."""
    now = utcnow()
    start = threading.Barrier(8)
    won: list[Any] = []

    def take(i: int) -> None:
        start.wait()
        with world.app.app_context():
            won.append(
                background_work.claim(
                    db.session,
                    "pull:race",
                    kind="pull",
                    shop_id=world.shop_ids[0],
                    due=now,
                    holder=f"{background_work.HOST}:{os.getpid()}:t{i}",
                    now=now,
                    ttl=timedelta(minutes=5),
                )
            )
            db.session.remove()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(isinstance(w, background_work.Claim) for w in won) == 1
    assert sorted(w for w in won if isinstance(w, str)) == ["held"] * 7


def test_a_worker_killed_mid_pull_loses_and_duplicates_nothing(world: World) -> None:
    _rates(world.fake, 1, per_day=4, days=5)
    shop_id = world.shop_ids[0]
    stuck = threading.Event()

    def hang_after_two_days_of_reviews(form: dict[str, str]) -> None:
        """The worker hangs asking for the window after two days' reviews were stored."""
        start = form.get("start_date", "")
        before = sum(r["created"] < start for r in world.fake.rates)
        if before >= 8 and not stuck.is_set():
            stuck.set()
            time.sleep(60)

    world.fake.before_answer = hang_after_two_days_of_reviews
    code = (
        "from tracker import create_app, jobs\n"
        "from tracker.clock import utcnow\n"
        "from tracker.queue.contract import Task\n"
        f"jobs.run_task(create_app(), Task('pull', utcnow(), {shop_id}))\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **world.environ}
    )
    try:
        assert stuck.wait(timeout=120), "the worker never reached the third window"
        stored = world.count(Review)
        assert stored == 8  # the first two windows were committed with their mark
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    world.fake.before_answer = None
    held = world.query(
        sa.select(BackgroundWork.holder).where(BackgroundWork.key == f"pull:{shop_id}")
    )
    assert held[0][0] is not None and held[0][0].split(":")[1] == str(worker.pid)
    # the next task (the dispatcher's next slot, or the broker's redelivery) takes over at
    # once: the holder's process is gone
    taken = jobs.run_task(world.app, pull(world, shop_id))
    assert isinstance(taken, background_work.Claim) and taken.took_over is not None
    keys = [row[0] for row in world.query(sa.select(Review.platform_key))]
    assert len(keys) == len(set(keys)) == 20  # nothing lost, nothing twice
    runs = dict(world.query(sa.select(PullRun.status, sa.func.count()).group_by(PullRun.status)))
    assert runs == {"error": 1, "ok": 1}  # the killed run says so; none left "running"
    lost = world.query(sa.select(PullRun.error_code).where(PullRun.status == "error"))
    assert lost[0][0] == "worker-lost"


def test_a_rate_limited_app_rests_every_shop_on_it_without_failing_them(world: World) -> None:
    _rates(world.fake, 1, per_day=1, days=1)
    first, second = world.shop_ids
    world.fake.faults = ["limited"]
    jobs.run_task(world.app, pull(world, first))
    rest = world.query(sa.select(AppThrottle.app, AppThrottle.until, AppThrottle.hits))
    assert len(rest) == 1 and rest[0][0] == f"top:{world.fake.app_key}" and rest[0][2] == 1
    assert 2 <= (rest[0][1] - utcnow()).total_seconds() <= 3.5  # the ban TOP announced
    asked = len(world.fake.requests)
    jobs.run_task(world.app, pull(world, second))  # same app: not even tried
    assert len(world.fake.requests) == asked
    states = dict(
        world.query(
            sa.select(BackgroundWork.key, BackgroundWork.failures).where(
                BackgroundWork.kind == "pull"
            )
        )
    )
    assert states == {f"pull:{first}": 0, f"pull:{second}": 0}  # resting is not failing
    with world.app.app_context():  # the dispatcher waits for the rest to end
        due = [background_work.Due(f"pull:{i}", "pull", i, utcnow()) for i in (first, second)]
        assert background_work.dispatchable(db.session, due, now=utcnow()) == []
        later = utcnow() + timedelta(seconds=4)
        assert len(background_work.dispatchable(db.session, due, now=later)) == 2
        db.session.remove()


def test_a_shop_that_keeps_failing_is_parked_until_an_admin_resumes_it(world: World) -> None:
    shop_id = world.shop_ids[0]
    world.fake.faults = ["api"] * PARK_AFTER
    for _ in range(PARK_AFTER):
        jobs.run_task(world.app, pull(world, shop_id))
    key = f"pull:{shop_id}"
    ((parked_at, failures, error),) = world.query(
        sa.select(
            BackgroundWork.parked_at, BackgroundWork.failures, BackgroundWork.last_error
        ).where(BackgroundWork.key == key)
    )
    assert parked_at is not None and failures == PARK_AFTER
    assert error.startswith("27/invalid-sessionkey")
    asked = len(world.fake.requests)
    assert jobs.run_task(world.app, pull(world, shop_id)) == "parked"
    assert len(world.fake.requests) == asked
    with world.app.app_context():
        assert background_work.resume(db.session, key, now=utcnow())
        db.session.remove()
    assert isinstance(jobs.run_task(world.app, pull(world, shop_id)), background_work.Claim)
    assert world.count(PullRun, PullRun.status == "ok") == 1


def test_celery_carries_tasks_to_a_worker(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through Celery's own machinery (its in-memory broker and a worker thread here; a
    real deployment uses Redis or RabbitMQ): the task arrives and runs under its lease."""
    from celery.contrib.testing.worker import start_worker

    from tracker.queue.celery_queue import TASK_NAME, CeleryExecutor

    _rates(world.fake, 1, per_day=2, days=1)
    monkeypatch.setitem(world.app.config, "TRACKER_BROKER_URL", "memory://")
    celery = jobs.celery_app(world.app)
    assert celery.conf.task_acks_late and celery.conf.task_reject_on_worker_lost
    work = jobs.executor(world.app)
    assert isinstance(work, CeleryExecutor) and TASK_NAME in celery.tasks
    with start_worker(
        celery,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=["tracker", "tracker-builds"],
        shutdown_timeout=30,
    ):
        handed = jobs.dispatch_pulls(world.app, work)
        assert handed == 2
        deadline = time.monotonic() + 60
        while world.count(PullRun) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert world.count(PullRun, PullRun.status == "ok") == 2
    assert world.count(Review) == 4  # each shop stores the two reviews once
    beats = world.query(
        sa.select(background_work.WorkerBeat.mode, background_work.WorkerBeat.tasks)
    )
    assert beats and all(mode == "celery" for mode, _ in beats)


def test_the_embedded_default_runs_every_job(world: World) -> None:
    """No broker: the scheduler's jobs hand every unit to its own thread pool, and each
    one runs and is recorded as done."""
    _rates(world.fake, 1, per_day=1, days=1)
    assert not world.app.config["TRACKER_BROKER_URL"]
    with world.app.app_context():  # one shop pushes its member levels to the platform
        shop = db.session.get(Shop, world.shop_ids[0])
        assert shop is not None
        shop.member_levels = {"basis": "spend", "thresholds": ["100"], "discounts": ["9.5"]}
        shop.level_sync, shop.level_sync_requested_at = True, utcnow()
        db.session.commit()
        db.session.remove()
    work = jobs.executor(world.app)
    assert isinstance(work, InProcessExecutor)
    scheduler = BackgroundScheduler()
    jobs.schedule(world.app, scheduler, "test-holder", work)
    # the log names each job by its unit ("alerts", "recommender-scheduled"), not its function
    assert [job.name for job in scheduler.get_jobs()] == [job.id for job in scheduler.get_jobs()]
    for job in scheduler.get_jobs():
        if job.id != "lock":
            job.func(*job.args, **job.kwargs)  # what the clock does when each falls due
    work.drain()
    done = dict(
        world.query(
            sa.select(BackgroundWork.kind, sa.func.count())
            .where(BackgroundWork.last_ok_at.is_not(None), BackgroundWork.failures == 0)
            .group_by(BackgroundWork.kind)
        )
    )
    assert set(done) == set(jobs.UNITS)
    assert done["pull"] == 2 and done["recommender"] == 2 and done["sentiment"] == 2
    assert done["levels"] == 1 and world.fake.grade_rules is not None
    assert world.count(PullRun, PullRun.source == "top", PullRun.status == "ok") == 2
