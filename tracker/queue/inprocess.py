"""The embedded default: tasks run in a thread pool inside the scheduler process, as they
always have; nothing to install or run besides the two README commands."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock

from tracker.queue.contract import Task, WorkerSeen

log = logging.getLogger(__name__)


class InProcessExecutor:
    mode = "embedded"

    def __init__(self, run: Callable[[Task], None], *, workers: int) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="work")
        self._workers = workers
        self._waiting = 0
        self._lock = Lock()

    def submit(self, task: Task) -> None:
        with self._lock:
            self._waiting += 1
        future = self._pool.submit(self._started, task)
        future.add_done_callback(self._report)

    def _started(self, task: Task) -> None:
        with self._lock:
            self._waiting -= 1
        self._run(task)

    @staticmethod
    def _report(future: Future[None]) -> None:
        if (error := future.exception()) is not None:
            log.error("task failed outside its own error handling", exc_info=error)

    def depth(self) -> int:
        with self._lock:
            return self._waiting

    def ping(self) -> list[WorkerSeen]:
        return [WorkerSeen(name=f"scheduler ({self._workers} threads)", answered=True)]

    def describe(self) -> str:
        return f"内置线程池（调度器进程内 {self._workers} 个线程）"

    def drain(self) -> None:
        """Run everything handed out, then stop (the tests)."""
        self._pool.shutdown(wait=True, cancel_futures=False)

    def shutdown(self) -> None:
        # the running tasks end (each holds a lease); the waiting ones are handed out
        # again by the next scheduler
        self._pool.shutdown(wait=True, cancel_futures=True)


class InlineExecutor:
    """Runs each task in the caller's thread, at once: ``flask run-jobs`` and the tests."""

    mode = "embedded"

    def __init__(self, run: Callable[[Task], None]) -> None:
        self._run = run

    def submit(self, task: Task) -> None:
        self._run(task)

    def depth(self) -> int:
        return 0

    def ping(self) -> list[WorkerSeen]:
        return [WorkerSeen(name="inline", answered=True)]

    def describe(self) -> str:
        return "当前进程（逐个执行）"

    def shutdown(self) -> None:
        pass
