"""gunicorn settings for the benches (``-c bench/gunicorn_ready.py``): each worker marks
itself ready once it has loaded the app, so a bench starts measuring a running app rather
than workers still importing it (a second and a half each, four at once on two cores)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    with contextlib.suppress(OSError):  # a worker respawned after the bench stopped waiting
        Path(os.environ["TRACKER_BENCH_READY_DIR"], str(worker.pid)).touch()
