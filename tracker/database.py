"""Engine set-up that the ORM cannot express: SQLite transactions, foreign keys and the
function its review text index is kept with."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url


def configure_engine(engine: Engine, *, lock_timeout_ms: int = 10_000) -> None:
    if engine.dialect.name != "sqlite":
        return
    from tracker.text_index import SQLITE_TOKENS, index_tokens

    # pysqlite's own transaction handling breaks SAVEPOINT and begins lazily; SQLAlchemy's
    # documented fix is to turn it off and emit BEGIN ourselves.
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # how long a writer waits for another's lock before failing (the 503 page)
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # the triggers that keep the review text index call it (tracker.text_index) with a
        # review's text and 追评 (-1: any number of arguments; 0034's triggers passed one)
        dbapi_connection.create_function(SQLITE_TOKENS, -1, index_tokens, deterministic=True)

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)


def timeout_options(*, statement_ms: int, lock_ms: int) -> str:
    """PostgreSQL settings for every connection: a stalled query or a lock held elsewhere
    fails the request quickly (the 503 page) instead of holding a worker."""
    return f"-c statement_timeout={int(statement_ms)} -c lock_timeout={int(lock_ms)}"


def use_job_timeouts(engine: Engine, *, statement_ms: int, lock_ms: int) -> None:
    """Longer limits for this process's connections (the scheduler, imports, builds): set
    once on each connection the first time it is checked out, so connections the pool
    already holds get them too and none has to be thrown away."""
    if getattr(engine, "_tracker_job_timeouts", False):
        return
    engine._tracker_job_timeouts = True  # type: ignore[attr-defined]
    postgres = engine.dialect.name == "postgresql"

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("job_timeouts"):
            return
        if postgres:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(statement_ms)}")
                cursor.execute(f"SET lock_timeout = {int(lock_ms)}")
            dbapi_connection.commit()  # a SET rolled back with its transaction would not hold
        else:
            dbapi_connection.execute(f"PRAGMA busy_timeout={int(lock_ms)}")
        record.info["job_timeouts"] = True

    sa.event.listen(engine, "checkout", on_checkout)


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # IMMEDIATE takes the write lock up front. With a plain BEGIN, a transaction that read
    # first and writes after another writer committed fails at once ("database is locked":
    # its snapshot is stale, waiting cannot help); this way concurrent writers queue on
    # busy_timeout instead. SQLite is the embedded default; PostgreSQL serves production.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def throwaway_database(server_url: str | None, tmp_dir: Path) -> Iterator[str]:
    """A new empty database for tests and benchmarks, dropped afterwards.

    SQLite (or no URL): a file in ``tmp_dir``. PostgreSQL: a fresh database created on the
    server ``server_url`` points at; the database named in that URL is never touched.
    """
    if server_url is None or server_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_dir / f'throwaway-{uuid.uuid4().hex[:8]}.db'}"
        return
    url = make_url(server_url)
    name = f"tracker_tmp_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


BULK_ROWS = 5000


def analyze_after_bulk_load(session: Any, tables: list[str] | None) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (``None``: every table).

    Until autovacuum gets to a freshly filled table the planner believes it is empty and
    scans it whole for every lookup: re-importing 20,000 reviews took 16 s instead of 3 s.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in tables if tables is not None else [None]:
        session.execute(sa.text(f'ANALYZE "{table}"' if table else "ANALYZE"))
    session.commit()


@contextmanager
def planned_for_their_values(session: Any) -> Iterator[None]:
    """Inside, PostgreSQL plans each statement for its own values (for the rest of the
    transaction's statements, its usual choice again). psycopg prepares a statement it has
    run five times, and PostgreSQL may then keep one plan for any values. For intake's
    lookup of a batch's 500 keys in a table that grew since its last ANALYZE, that plan
    compared the keys one by one against every row of the shop: 80 ms a lookup at 6,500
    reviews and growing, against 3 ms planned for the keys (hashed). Not for every
    statement: a row-by-row INSERT or UPDATE planned each time made the nightly segments
    60% slower. Not nested: leaving an inner one would restore the default early."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
    yield
    # not on an error: the transaction is rolled back, and its SET LOCAL with it
    session.execute(sa.text("SET LOCAL plan_cache_mode TO DEFAULT"))


def upsert(session: Any, table: Any) -> Any:
    """``INSERT … ON CONFLICT`` for ``table`` on the session's database (PostgreSQL and
    SQLite spell it alike): race-free create-or-update in one statement."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def ensure_rows(
    session: Any, table: Any, keys: dict[str, dict[str, Any]], *, key: str, shop_id: int
) -> None:
    """Create the shop's rows named by ``keys`` (key value -> the row's other columns) that
    do not exist yet, in one ``INSERT … ON CONFLICT DO NOTHING``: two writers creating the
    same buyer or product at once both succeed, neither fails on the unique key. Keys go
    in sorted order, so writers inserting overlapping sets wait for each other in the same
    order instead of deadlocking."""
    if not keys:
        return
    rows = [{"shop_id": shop_id, key: value, **keys[value]} for value in sorted(keys)]
    statement = upsert(session, table).on_conflict_do_nothing(index_elements=["shop_id", key])
    for start in range(0, len(rows), 500):
        session.execute(statement, rows[start : start + 500])


# Conflicts a second try usually gets past: a unique key another writer took meanwhile, a
# serialization failure, a deadlock, a lock not granted in time (SQLite: database locked).
TRANSIENT_SQLSTATES = {"23505", "40001", "40P01", "55P03"}


def is_transient(exc: BaseException) -> bool:
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    text = str(original or "")
    return "UNIQUE constraint failed" in text or "database is locked" in text


INTAKE_LOCK = 7301  # the first half of PostgreSQL's two-key advisory lock: "shop intake"


def lock_shop_intake(session: Any, shop_id: int) -> None:
    """Until this transaction ends, no other transaction stores reviews or triages cases
    for the shop: concurrent pushes, pulls and the scorer queue on one lock, so they can
    neither collide on a review nor deadlock over its case. Shops still go in parallel.
    SQLite needs none: its writers already go one at a time (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:kind, :shop)"),
            {"kind": INTAKE_LOCK, "shop": shop_id},
        )


def query_plans(session: Any, run: Callable[[], object], containing: str) -> list[str]:
    """The database's plans, one line each, for the statements ``run`` sends that contain
    ``containing``: whether a query reads the index meant for it (a test, a bench)."""
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if containing in statement:
            statements.append((statement, parameters))

    engine = session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    connection = session.connection()
    explain = "EXPLAIN " if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    return [
        " ".join(
            str(part) for row in connection.exec_driver_sql(explain + sql, params) for part in row
        )
        for sql, params in statements
    ]
