"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database created on
the server that ``DATABASE_URL`` points at (that database itself is never touched)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tracker.config import normalise_database_url


def server_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    return normalise_database_url(url) if url else None


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    base = server_url()
    if base is None or base.startswith("sqlite"):
        yield f"sqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
        return
    url = make_url(base)
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
