"""Throwaway databases for tests, on the server ``DATABASE_URL`` names (or SQLite)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker.config import normalise_database_url
from tracker.database import throwaway_database


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    with throwaway_database(normalise_database_url(url) if url else None, tmp_dir) as fresh:
        yield fresh
