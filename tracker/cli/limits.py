"""Commands that do a job's work (pulls, imports, builds, the scheduler) run under the
job's database limits, not the web's few seconds."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

from tracker.database import use_job_timeouts
from tracker.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def job_limits(command: F) -> F:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        config = current_app.config
        use_job_timeouts(
            db.engine,
            statement_ms=config["TRACKER_JOB_STATEMENT_TIMEOUT_MS"],
            lock_ms=config["TRACKER_JOB_LOCK_TIMEOUT_MS"],
        )
        return command(*args, **kwargs)

    return run  # type: ignore[return-value]
