"""What a gunicorn worker does when it loads ``tracker.wsgi``, before its first request:
compile every template and freeze what it loaded out of the garbage collector's way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flask import Flask

from tracker import PROJECT_ROOT
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
