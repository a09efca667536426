#!/usr/bin/env python3
"""Set-up in one command: ``python3 dev.py run`` starts the app, ``python3 dev.py test``
runs the suite. Needs only Python >= 3.11 with pip; everything else is installed into
``.venv`` the first time (and again whenever a lock file changes), at the versions and
hashes pinned in ``requirements/``. ``python3 dev.py lock`` pins them again from
pyproject.toml (with uv), after a dependency is added or to take newer releases.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


# The locked dependencies: the app alone (production installs this one), and the app with
# the test and bench tools. Both are written by `dev.py lock`, never by hand.
LOCKS = {"app": ROOT / "requirements" / "app.txt", "dev": ROOT / "requirements" / "dev.txt"}


def ensure_venv(lock: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on any system Python
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    locked = LOCKS[lock]
    digest = hashlib.sha256(locked.read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{lock}-{digest}"
    if stamp.exists():
        return
    say(f"installing {locked.relative_to(ROOT)} (first run, or the lock file changed)")
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
    # Every pinned file is checked against its hash; the tracker itself comes from this
    # checkout, without dependencies of its own choosing.
    subprocess.run([*pip, "--require-hashes", "-r", str(locked)], cwd=ROOT, check=True)
    subprocess.run([*pip, "--no-deps", "-e", "."], cwd=ROOT, check=True)
    for old in VENV.glob(f".installed-{lock}-*"):
        old.unlink()
    stamp.touch()


def lock(args: list[str]) -> int:
    """Resolve pyproject.toml again and pin every package with its hashes, for any platform
    and Python >= 3.11; the dev lock keeps the app lock's versions. Extra arguments go to
    `uv pip compile` (e.g. --upgrade-package flask)."""
    ensure_venv("dev")
    if not (BIN / "uv").exists():
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "uv"], check=True)
    compile_ = [str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--universal"]
    compile_ += ["--python-version", "3.11", "--generate-hashes", "--quiet", *args]
    app, dev = (str(path.relative_to(ROOT)) for path in LOCKS.values())
    for out, extra in ((app, []), (dev, ["--all-extras", "--constraint", app])):
        say(f"pinning {out}")
        if subprocess.call([*compile_, *extra, "--output-file", out], cwd=ROOT) != 0:
            return 1
    return 0


def flask(*args: str) -> int:
    return subprocess.call([str(BIN / "flask"), "--app", "tracker", *args], cwd=ROOT)


def listen_address(env: dict[str, str] | os._Environ[str]) -> tuple[str, str]:
    """Where `run` listens (TRACKER_HOST, TRACKER_PORT); links in alerts, chat messages and
    the call-record URL point there unless TRACKER_BASE_URL says otherwise."""
    host = env.get("TRACKER_HOST", "127.0.0.1")
    port = env.get("TRACKER_PORT", "5000")
    env.setdefault("TRACKER_BASE_URL", f"http://{host}:{port}")
    return host, port


def migrated(log: str) -> str:
    """One line for a successful `flask db upgrade`: alembic logs each revision with its whole
    description (a hundred lines on a new database), which would bury the demo's logins."""
    steps = [
        line.split("Running upgrade", 1)[1]
        for line in log.splitlines()
        if "Running upgrade" in line
    ]
    if not steps:
        return "the database schema is already the newest"
    first = steps[0].split("->", 1)[0].strip() or "empty"
    last = steps[-1].split("->", 1)[1].split(",", 1)[0].strip()
    plural = "s" if len(steps) > 1 else ""
    return f"applied {len(steps)} migration{plural} ({first} -> {last}); the schema is the newest"


def migrate() -> bool:
    """`flask db upgrade`, its log shown whole only when it fails."""
    command = [str(BIN / "flask"), "--app", "tracker", "db", "upgrade"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        return False
    say(migrated(done.stdout + done.stderr))
    return True


def run(args: list[str]) -> int:
    ensure_venv("app")
    say("migrating the database to the newest schema")
    if not migrate():
        return 1
    if flask("demo", "--if-empty", "--sister") != 0:
        return 1
    host, port = listen_address(os.environ)
    say("starting the scheduler (scoring, recommender builds, alerts) in the background")
    scheduler = subprocess.Popen([str(BIN / "flask"), "--app", "tracker", "scheduler"], cwd=ROOT)
    say(f"starting the tracker at http://{host}:{port}/  (Ctrl+C stops it)")
    try:
        return flask("run", "--host", host, "--port", port, *args)
    finally:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=10)
        except subprocess.TimeoutExpired:
            scheduler.kill()


def ensure_browser() -> None:
    """The end-to-end tests drive Debian's Chromium (Playwright downloads no browser here)."""
    if shutil.which("chromium") or os.environ.get("CHROMIUM_PATH"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing chromium and CJK fonts for the browser tests (apt-get)")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"], check=False
        )
    if not shutil.which("chromium"):
        say(
            "chromium not found: the browser tests will be skipped "
            "(install Debian's chromium package, or set CHROMIUM_PATH)"
        )


def test(args: list[str]) -> int:
    ensure_venv("dev")
    ensure_browser()
    say("lint: ruff check and ruff format --check")
    for lint in (["check", "."], ["format", "--check", "."]):
        if subprocess.call([str(BIN / "ruff"), *lint], cwd=ROOT) != 0:
            return 1
    db = os.environ.get("DATABASE_URL", "SQLite (a temporary file)")
    say(f"tests on {db}")
    # on every core (pytest-xdist); a later -n of the caller's wins, -n 0 runs in one process
    return subprocess.call([str(PYTHON), "-m", "pytest", "-n", "auto", *args], cwd=ROOT)


def main() -> int:
    commands = {"run": run, "test": test, "lock": lock}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        print("usage: python3 dev.py run [flask run options] | test [pytest options] | lock")
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
