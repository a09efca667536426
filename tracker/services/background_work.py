"""Leases and records of background work, shared by every worker through the database.

Whatever runs the work (the scheduler's own threads, or Celery workers on several
machines), three rules hold here:

- **One holder per unit.** A worker *claims* a unit ("pull:12") with a conditional UPDATE
  that only one of several racing workers can win; the lease lapses if its holder stops
  renewing it (killed, machine gone), and on the same machine a dead holder's lease is
  taken over at once.
- **A task is idempotent.** It carries the time it was due; a unit whose last successful
  run *started* at or after that time has covered it, so a redelivered or duplicated task
  changes nothing.
- **Failing work backs off, then parks.** A unit that fails waits 1, 2, 4 … minutes; a
  shop's pull that fails eight times in a row is parked with its last error until an
  admin resumes it. A platform app that says "too many calls" rests, and every shop on it
  waits without counting a failure.

Each function here is one short transaction of its own (a lease must be visible to
other workers at once), so none takes part in a caller's transaction.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.database import upsert
from tracker.domain.work_plan import PARK_AFTER, failure_delay, throttle_delay
from tracker.models import AppThrottle, BackgroundWork, PullRun, WorkerBeat
from tracker.services.transaction import transaction

# A task put on the queue but not started within this long is taken as lost (a broker
# restarted without its data) and put on the queue again.
REDISPATCH_AFTER = timedelta(minutes=10)
# The queue is empty, yet a task handed out this long ago has not started: no worker will
# take it from the queue, so the one that reserved it died (SIGKILL; the broker gives its
# reserved tasks back only after Redis' visibility timeout). Put it on the queue again.
REDISPATCH_WHEN_EMPTY = timedelta(minutes=2)
# A pull handed out this long ago and still not done is late (the queue is behind).
LATE_AFTER = timedelta(minutes=15)
# Workers that took no task for this long are shown as silent.
WORKER_SILENT_AFTER = timedelta(minutes=3)

HOST = socket.gethostname()


def holder_name(task: str = "") -> str:
    """This process on this machine (and the task, to tell threads apart in the log)."""
    base = f"{HOST}:{os.getpid()}"
    return f"{base}:{task}"[:128] if task else base


def holder_alive(holder: str) -> bool:
    """False when the holder ran on this machine and its process is gone (killed). A
    holder on another machine is presumed alive until its lease lapses."""
    host, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != HOST or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@dataclass(frozen=True)
class Claim:
    key: str
    holder: str
    started_at: datetime
    took_over: str | None = None  # the holder presumed dead whose lease was taken


class Skipped(str):
    """Why a task did nothing: "done" (covered already), "held" (another worker has it),
    "parked" (waits for an admin)."""


DONE, HELD, PARKED = Skipped("done"), Skipped("held"), Skipped("parked")


def _ensure(session: Session, units: list[tuple[str, str, int | None]]) -> None:
    """The units' rows, (key, kind, shop_id) each, created where missing: one statement."""
    session.execute(
        upsert(session, BackgroundWork.__table__).on_conflict_do_nothing(index_elements=["key"]),
        [{"key": k, "kind": kind, "shop_id": shop, "failures": 0} for k, kind, shop in units],
    )


def claim(
    session: Session,
    key: str,
    *,
    kind: str,
    shop_id: int | None,
    due: datetime,
    holder: str,
    now: datetime,
    ttl: timedelta,
) -> Claim | Skipped:
    """Take the unit for ``ttl`` or say why not. Races are settled by the database: the
    UPDATE names the lease it saw, so of two workers only one changes the row."""
    with transaction(session):
        _ensure(session, [(key, kind, shop_id)])
        # the task arrived: the unit no longer waits on the queue, whatever happens next
        session.execute(
            sa.update(BackgroundWork)
            .where(BackgroundWork.key == key, BackgroundWork.dispatched_at.is_not(None))
            .values(dispatched_at=None)
        )
    row = session.get(BackgroundWork, key, populate_existing=True)
    assert row is not None
    seen_holder, seen_until = row.holder, row.lease_until
    done_through, parked = row.done_through, row.parked_at is not None
    session.rollback()  # a read: end it before the conditional write
    if done_through is not None and done_through >= due:
        return DONE
    if parked:
        return PARKED
    took_over = None
    if seen_holder is not None and seen_until is not None and seen_until > now:
        if holder_alive(seen_holder):
            return HELD
        took_over = seen_holder
    elif seen_holder is not None:
        took_over = seen_holder  # its lease lapsed without a finish: it died or hung
    with transaction(session):
        won = session.execute(
            sa.update(BackgroundWork)
            .where(
                BackgroundWork.key == key,
                BackgroundWork.holder.is_not_distinct_from(seen_holder),
                BackgroundWork.lease_until.is_not_distinct_from(seen_until),
            )
            .values(holder=holder, lease_until=now + ttl, started_at=now)
        ).rowcount
    if won != 1:
        return HELD
    return Claim(key=key, holder=holder, started_at=now, took_over=took_over)


def renew(session: Session, held: Claim, *, now: datetime, ttl: timedelta) -> bool:
    """Keep the lease; False when it was taken over (this worker was presumed dead)."""
    with transaction(session):
        renewed = session.execute(
            sa.update(BackgroundWork)
            .where(BackgroundWork.key == held.key, BackgroundWork.holder == held.holder)
            .values(lease_until=now + ttl)
        ).rowcount
    return renewed == 1


def finish(
    session: Session,
    held: Claim,
    *,
    now: datetime,
    error: str | None = None,
    rest_until: datetime | None = None,
    parks: bool = False,
) -> None:
    """Record the run and give the lease back. Success moves ``done_through`` to the
    run's start; ``rest_until`` (the app is throttled) postpones without a failure; an
    error counts a failure, backs off and, where ``parks``, parks after too many."""
    with transaction(session):
        row = session.get(BackgroundWork, held.key, populate_existing=True)
        if row is None:  # the shop was deleted meanwhile
            return
        if row.holder == held.holder:
            row.holder, row.lease_until = None, None
        if rest_until is not None:
            row.next_try_at = rest_until
            row.last_error, row.last_error_at = error, now
        elif error is None:
            if row.done_through is None or row.done_through < held.started_at:
                row.done_through = held.started_at
            row.failures, row.next_try_at, row.last_ok_at = 0, None, now
        else:
            row.failures += 1
            row.last_error, row.last_error_at = error[:2000], now
            row.next_try_at = now + failure_delay(row.failures)
            if parks and row.failures >= PARK_AFTER and row.parked_at is None:
                row.parked_at = now


def abandon_runs(session: Session, shop_id: int, *, holder: str, now: datetime) -> int:
    """A worker died mid-pull: its run still says 运行中. Say what happened instead."""
    with transaction(session):
        return session.execute(
            sa.update(PullRun)
            .where(PullRun.shop_id == shop_id, PullRun.status == "running")
            .values(
                status="error",
                finished_at=now,
                error_code="worker-lost",
                error_message=f"执行拉取的进程 {holder} 中途停止；已从上次的拉取进度继续",
            )
        ).rowcount


# -- dispatching ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    key: str
    kind: str
    shop_id: int | None
    due: datetime


def dispatchable(
    session: Session,
    wanted: Iterable[Due],
    *,
    now: datetime,
    queue_empty: Callable[[], bool] = lambda: False,
) -> list[Due]:
    """Of the units now due, those to put on the queue: not covered yet, not already
    waiting on the queue, not running under a live lease, not backing off, not parked.
    ``queue_empty`` asks the broker whether it holds no task (only when a task handed out
    over ``REDISPATCH_WHEN_EMPTY`` ago has not started, and once): then the worker that
    reserved it died."""
    empty: list[bool] = []  # the broker's answer, asked at most once

    def waiting(handed_out: datetime | None) -> bool:
        """A task handed out and not yet picked up covers this due time: it starts later."""
        if handed_out is None or handed_out <= now - REDISPATCH_AFTER:
            return False
        if handed_out > now - REDISPATCH_WHEN_EMPTY:
            return True
        if not empty:
            empty.append(queue_empty())
        return not empty[0]

    wanted = list(wanted)
    if not wanted:
        return []
    rows = states(session, [item.key for item in wanted])
    chosen = []
    for item in wanted:
        row = rows.get(item.key)
        if row is None:
            chosen.append(item)
            continue
        if row.parked_at is not None or (row.next_try_at and row.next_try_at > now):
            continue
        if row.done_through is not None and row.done_through >= item.due:
            continue
        if row.holder and row.lease_until and row.lease_until > now and holder_alive(row.holder):
            continue  # running now; it covers this due time if it started after it
        if not waiting(row.dispatched_at):
            chosen.append(item)
    session.rollback()
    return chosen


def mark_dispatched(session: Session, items: list[Due], *, now: datetime) -> None:
    if not items:
        return
    with transaction(session):
        _ensure(session, [(item.key, item.kind, item.shop_id) for item in items])
        session.execute(  # one UPDATE by primary key, executed for every row
            sa.update(BackgroundWork),
            [{"key": i.key, "dispatched_for": i.due, "dispatched_at": now} for i in items],
        )


def forget_handed_out(session: Session) -> int:
    """The in-process queue died with its scheduler: nothing handed out is waiting any
    more, so everything due is handed out again at once (not after REDISPATCH_AFTER)."""
    with transaction(session):
        return session.execute(
            sa.update(BackgroundWork)
            .where(BackgroundWork.dispatched_at.is_not(None))
            .values(dispatched_at=None)
        ).rowcount


def resume(session: Session, key: str, *, now: datetime) -> bool:
    """An admin resumes a parked unit: it is tried again at the next dispatch."""
    with transaction(session):
        row = session.get(BackgroundWork, key)
        if row is None or row.parked_at is None:
            return False
        row.parked_at, row.failures, row.next_try_at = None, 0, now
    return True


def states(session: Session, keys: list[str]) -> dict[str, BackgroundWork]:
    """The units' rows by key (500 keys a query: thousands of shops in one call)."""
    rows: dict[str, BackgroundWork] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for row in session.scalars(sa.select(BackgroundWork).where(BackgroundWork.key.in_(chunk))):
            rows[row.key] = row
    return rows


# -- platform apps ------------------------------------------------------------------------


def app_resting_until(session: Session, app: str, *, now: datetime) -> datetime | None:
    row = session.get(AppThrottle, app)
    return row.until if row is not None and row.until > now else None


def rest_app(
    session: Session, app: str, *, now: datetime, retry_after: float | None, error: str
) -> datetime:
    """The platform said the app calls too often: rest it (longer each time in a row)."""
    with transaction(session):
        row = session.get(AppThrottle, app, populate_existing=True)
        if row is None:
            row = AppThrottle(app=app, until=now, hits=0, updated_at=now)
            session.add(row)
        if row.until > now:  # another shop on the app already set the rest
            return row.until
        row.hits += 1
        row.until = now + throttle_delay(row.hits, retry_after)
        row.last_error, row.updated_at = error[:2000], now
        return row.until


def app_answered(session: Session, app: str, *, now: datetime) -> None:
    """A call through the app went through: the next "too many calls" starts short again."""
    with transaction(session):
        session.execute(
            sa.update(AppThrottle)
            .where(AppThrottle.app == app, AppThrottle.hits > 0, AppThrottle.until <= now)
            .values(hits=0, updated_at=now)
        )


# -- workers ------------------------------------------------------------------------------


def beat(session: Session, name: str, *, mode: str, task: str, now: datetime) -> None:
    """The worker took a task: seen now (one upsert)."""
    statement = upsert(session, WorkerBeat.__table__).values(
        name=name, mode=mode, started_at=now, seen_at=now, tasks=1, last_task=task[:64]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "seen_at": now,
            "tasks": WorkerBeat.__table__.c.tasks + 1,
            "last_task": task[:64],
            "mode": mode,
        },
    )
    with transaction(session):
        session.execute(statement)


# -- health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkHealth:
    """What the admin page and ``flask check`` say about background work."""

    waiting: int  # handed out, not started yet
    lag_seconds: float | None  # how long the oldest of those has waited
    running: int  # under a live lease now
    late_pulls: int  # shops whose pull missed a whole interval
    parked: list[BackgroundWork]
    resting: list[AppThrottle]
    workers: list[WorkerBeat]  # seen recently
    silent: list[WorkerBeat]  # seen before, silent now

    def problems(self) -> list[str]:
        found = []
        if self.parked:
            found.append(f"{len(self.parked)} 个店铺的拉取已暂停（连续失败），见 数据源")
        if self.lag_seconds is not None and self.lag_seconds > REDISPATCH_AFTER.total_seconds():
            found.append(
                f"最早的排队任务已等 {self.lag_seconds / 60:.0f} 分钟：没有工作进程在取任务？"
            )
        return found


def health(session: Session, *, now: datetime) -> WorkHealth:
    work = BackgroundWork
    waiting_filter = work.dispatched_at.is_not(None)
    waiting, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(work.dispatched_at)).where(waiting_filter)
    ).one()
    running = session.scalar(
        sa.select(sa.func.count()).where(work.holder.is_not(None), work.lease_until > now)
    )
    late = session.scalar(
        sa.select(sa.func.count()).where(
            work.kind == "pull",
            work.parked_at.is_(None),
            work.dispatched_for.is_not(None),
            work.dispatched_for < now - LATE_AFTER,
            sa.or_(work.done_through.is_(None), work.done_through < work.dispatched_for),
        )
    )
    parked = list(
        session.scalars(
            sa.select(work).where(work.parked_at.is_not(None)).order_by(work.parked_at.desc())
        )
    )
    resting = list(
        session.scalars(
            sa.select(AppThrottle).where(AppThrottle.until > now).order_by(AppThrottle.until)
        )
    )
    beats = list(session.scalars(sa.select(WorkerBeat).order_by(WorkerBeat.name)))
    recent = now - WORKER_SILENT_AFTER
    return WorkHealth(
        waiting=waiting or 0,
        lag_seconds=(now - oldest).total_seconds() if oldest is not None else None,
        running=running or 0,
        late_pulls=late or 0,
        parked=parked,
        resting=resting,
        workers=[b for b in beats if b.seen_at >= recent],
        silent=[b for b in beats if b.seen_at < recent and b.seen_at >= now - timedelta(days=1)],
    )
