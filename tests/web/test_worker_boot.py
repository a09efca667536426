"""What a gunicorn worker does when it loads ``tracker.wsgi``, before its first request:
compile every template and freeze what it loaded out of the garbage collector's way; and
a Celery worker loading ``tracker.worker``, which freezes too."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path

from flask import Flask

from tests.conftest import run_python
from tracker import PROJECT_ROOT
from tracker.runtime import freeze_loaded
from tracker.web import compile_templates

BOOT_PROBE = """
import gc, json
from tracker.wsgi import app
names = [n for n in app.jinja_env.list_templates(extensions=["html"])]
compiled = {t.name for t in app.jinja_env.cache.values()}
print(json.dumps({"frozen": gc.get_freeze_count(), "uncompiled": sorted(set(names) - compiled)}))
"""


def test_every_template_compiles_and_stays_compiled(app: Flask) -> None:
    names = compile_templates(app)
    folder = PROJECT_ROOT / "templates"
    ours = {p.relative_to(folder).as_posix() for p in Path(folder).rglob("*.html")}
    assert ours <= set(names) and "bootstrap5/form.html" in names  # the library's, imported
    compiled = {template.name for template in app.jinja_env.cache.values()}
    assert set(names) <= compiled


def test_the_wsgi_entry_point_compiles_templates_and_freezes_the_loaded_objects(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BOOT_PROBE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'boot.db'}"},
        check=True,
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["uncompiled"] == [] and seen["frozen"] > 10_000


WORKER_PROBE = """
import gc, json
import tracker.worker
print(json.dumps({"frozen": gc.get_freeze_count()}))
"""


def test_the_celery_worker_freezes_what_it_loaded(tmp_path: Path) -> None:
    """A job's full collections then scan only what the job made: about 5 s of a 24 s import
    of 20,000 reviews were scans of the app's own objects (tracker.runtime.freeze_loaded)."""
    result = run_python(
        WORKER_PROBE,
        {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'boot.db'}",
            "TRACKER_BROKER_URL": "redis://127.0.0.1:6379/15",  # named, never reached here
        },
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["frozen"] > 10_000


def test_freezing_collects_the_starts_garbage_first() -> None:
    """Frozen objects are never collected: what the start left unreachable must go first."""

    class Cycle:
        other: object

    leftover = Cycle()
    leftover.other = leftover  # reachable only from itself: garbage for the collector
    gone = weakref.ref(leftover)
    del leftover
    try:
        freeze_loaded()
        assert gone() is None and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
