"""Commands that do a job's work (pulls, imports, builds, the scheduler, a Celery worker)
run under the job's database limits, not the web's few seconds."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app

from tracker.database import use_job_timeouts
from tracker.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def apply_job_limits(app: Flask) -> None:
    """(In an app context.) Behind pgbouncer (transaction pooling) a session SET would
    leak to other clients: there the jobs' limits are their database role's own (README
    "Many shops")."""
    config = app.config
    if config["TRACKER_PGBOUNCER"]:
        return
    use_job_timeouts(
        db.engine,
        statement_ms=config["TRACKER_JOB_STATEMENT_TIMEOUT_MS"],
        lock_ms=config["TRACKER_JOB_LOCK_TIMEOUT_MS"],
    )


def job_limits(command: F) -> F:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        apply_job_limits(current_app._get_current_object())  # type: ignore[attr-defined]
        return command(*args, **kwargs)

    return run  # type: ignore[return-value]
