"""Celery as the distributed queue (with Redis or RabbitMQ as its broker).

Why Celery: it is what Flask's own documentation pairs with it for background work, it
speaks to both brokers a host is likely to run, and it has the delivery guarantees this
work needs built in — a task is acknowledged only after it ran (``acks_late``) and given
back to the queue if its worker dies (``reject_on_worker_lost``) — plus remote ``ping``
for worker health. Our own tasks are idempotent and leased per unit in the database, so
Celery's at-least-once delivery is all they need; it does no scheduling (APScheduler stays
the clock) and keeps no results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu.exceptions import ChannelError, OperationalError
from kombu.utils.url import maybe_sanitize_url

from tracker.queue.contract import Task, WorkerSeen

log = logging.getLogger(__name__)

TASK_NAME = "tracker.run_unit"
# Two queues: pulls and the other short jobs, and the CPU-heavy nightly builds, so that a
# host can give the builds their own (process-pool) workers; one worker takes both by
# default.
QUEUE = "tracker"
BUILD_QUEUE = "tracker-builds"
BUILD_UNITS = frozenset({"recommender", "segments", "sentiment"})
# An unacknowledged task (its worker died) goes back to the queue after this long on
# Redis; RabbitMQ gives it back as soon as the worker's connection drops.
VISIBILITY_TIMEOUT = 900


def make_celery(
    broker_url: str, *, run: Callable[[Task], None], on_fork: Callable[[], None]
) -> Celery:
    celery = Celery("tracker", set_as_current=False)
    celery.conf.update(
        broker_url=broker_url,
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        worker_hijack_root_logger=False,
        enable_utc=True,
    )

    # shared=False: each app (one per test) registers its own task, not a global one
    @celery.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, shared=False)
    def run_unit(message: dict[str, Any]) -> None:
        run(Task.from_message(message))

    def forked(**_: Any) -> None:
        on_fork()  # a process-pool child must not share its parent's database sockets

    worker_process_init.connect(forked, weak=False)
    return celery


class CeleryExecutor:
    mode = "celery"

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def submit(self, task: Task) -> None:
        queue = BUILD_QUEUE if task.unit in BUILD_UNITS else QUEUE
        self.celery.send_task(TASK_NAME, args=(task.message(),), queue=queue)

    def depth(self) -> int | None:
        try:
            with self.celery.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1)
                channel = connection.default_channel
                total = 0
                for name in (QUEUE, BUILD_QUEUE):
                    try:
                        total += channel.queue_declare(queue=name, passive=True).message_count
                    except ChannelError:  # never declared (no task and no worker yet): empty
                        channel = connection.channel()
                return total
        except (OperationalError, OSError) as exc:
            log.warning("queue depth: broker did not answer: %s", exc)
            return None

    def ping(self) -> list[WorkerSeen]:
        try:
            answers = self.celery.control.ping(timeout=1.0) or []
        except (OperationalError, OSError) as exc:
            log.warning("worker ping: broker did not answer: %s", exc)
            return []
        return [WorkerSeen(name=name, answered=True) for answer in answers for name in answer]

    def describe(self) -> str:
        return f"Celery · {maybe_sanitize_url(self.celery.conf.broker_url)}"

    def shutdown(self) -> None:
        pass
