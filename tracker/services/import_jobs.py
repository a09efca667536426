"""Uploads imported in the background: stored on disk by the web request (which returns at
once), then checked and written by the scheduler, streaming, in bounded memory.

The rule stays all-or-nothing: a first pass reads every row and reports every problem
without writing; only a file that passes (or whose bad rows the user chose to skip) is
written, in one transaction, chunk by chunk, the session emptied after each chunk so a
million rows never sit in memory together. The page shows the progress of both passes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tracker.database import BULK_ROWS, analyze_after_bulk_load, lock_shop_intake
from tracker.models import ImportJob, Shop
from tracker.sentiment import Scorer
from tracker.services.imports import BULK_TABLES, ImportReport, may_write, write_rows
from tracker.services.intake import IntakeResult, IntakeSettings
from tracker.services.pulls import record_run
from tracker.services.transaction import transaction
from tracker.sources.files import FileError, FileProblem, open_parsed

log = logging.getLogger(__name__)

CHUNK_ROWS = 2000  # rows written between flushes; the session is emptied after each
PROGRESS_EVERY = 5000  # rows between progress updates on the page
KEPT_PROBLEMS = 200  # problems listed on the page (all are counted)


def queue(
    session: Session,
    shop: Shop,
    *,
    kind: str,
    filename: str,
    save: Callable[[Path], None],
    folder: Path,
    mapping: dict[str, str],
    skip_bad_rows: bool,
    actor_id: int | None,
    now: datetime,
) -> ImportJob:
    """Store the upload (``save`` streams it to the path given) and queue its import."""
    folder.mkdir(parents=True, exist_ok=True)
    with transaction(session):
        job = ImportJob(
            shop_id=shop.id,
            kind=kind,
            filename=filename[:200],
            path="",
            mapping=mapping,
            skip_bad_rows=skip_bad_rows,
            status="queued",
            problems=[],
            created_at=now,
            created_by_id=actor_id,
        )
        session.add(job)
        session.flush()
        safe = re.sub(r"[^\w.\-]", "_", filename)[-80:] or "upload"
        path = folder / f"{job.id}-{safe}"
        save(path)
        job.path = str(path)
    return job


def waiting(session: Session) -> list[int]:
    return list(
        session.scalars(
            sa.select(ImportJob.id).where(ImportJob.status == "queued").order_by(ImportJob.id)
        )
    )


def requeue_interrupted(session: Session) -> int:
    """Jobs left checking or importing by a scheduler that died: nothing of theirs was
    committed (one transaction), so they simply start again."""
    with transaction(session):
        return int(
            session.execute(
                sa.update(ImportJob)
                .where(ImportJob.status.in_(("checking", "importing")))
                .values(status="queued", rows_done=0)
            ).rowcount
        )


def recent(session: Session, shop_ids: list[int], limit: int = 10) -> list[ImportJob]:
    return list(
        session.scalars(
            sa.select(ImportJob)
            .where(ImportJob.shop_id.in_(shop_ids))
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


class _Progress:
    """Progress the page can read while the import's own transaction is still open: through
    a connection of its own on PostgreSQL; on SQLite (one writer at a time) only outside
    the writing transaction."""

    def __init__(self, session: Session, job_id: int) -> None:
        bind = session.get_bind()
        self.job_id = job_id
        self.own = sessionmaker(bind=bind) if bind.dialect.name == "postgresql" else None
        self.session = session

    def report(self, *, writing: bool, **values: Any) -> None:
        if writing and self.own is None:
            return
        statement = sa.update(ImportJob).where(ImportJob.id == self.job_id).values(**values)
        if self.own is not None:
            with self.own() as own, own.begin():
                own.execute(statement)
        else:
            with transaction(self.session):
                self.session.execute(statement)


def run(
    session: Session,
    job_id: int,
    *,
    now: datetime,
    clock: Callable[[], datetime],
    tz: ZoneInfo,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> ImportJob:
    """Check, then (if it passes) write one queued upload; every outcome is kept on the job
    and on the 数据源 page's runs."""
    job = session.get(ImportJob, job_id)
    assert job is not None
    with transaction(session):
        job.status, job.started_at = "checking", clock()
    progress = _Progress(session, job_id)
    path = Path(job.path)
    try:
        if not _check(job, path, tz=tz, now=now, progress=progress):
            _refuse(session, job, clock=clock, now=now)
        else:
            _write(
                session,
                job,
                path,
                tz=tz,
                now=now,
                scorer=scorer,
                settings=settings,
                progress=progress,
                clock=clock,
            )
    except Exception as exc:  # the scheduler must go on; the job says what broke
        session.rollback()
        log.exception("import %s failed", job_id)
        job = session.get(ImportJob, job_id)
        assert job is not None
        with transaction(session):
            job.status, job.error, job.finished_at = (
                "failed",
                f"{type(exc).__name__}: {exc}",
                clock(),
            )
            _failed_run(session, job, now=now, error=job.error)
        return job
    path.unlink(missing_ok=True)
    done = session.get(ImportJob, job_id)
    assert done is not None
    return done


def _rows(
    job: ImportJob, path: Path, *, tz: ZoneInfo, now: datetime
) -> tuple[list[FileProblem], Iterator[Any]]:
    return open_parsed(job.kind, path, job.filename, tz=tz, mapping=job.mapping or None, now=now)


def _check(job: ImportJob, path: Path, *, tz: ZoneInfo, now: datetime, progress: _Progress) -> bool:
    """Read every row once, writing nothing; whether the file may be written (its problems
    are on the job either way)."""
    problems, rows = _rows(job, path, tz=tz, now=now)
    count = good = 0
    kept: list[dict[str, Any]] = [_plain(p, whole_file=True) for p in problems]
    found = len(problems)
    try:
        for row in rows:
            count += 1
            if row.problems:
                found += len(row.problems)
                kept.extend(_plain(p) for p in row.problems[: max(0, KEPT_PROBLEMS - len(kept))])
            else:
                good += 1
            if count % PROGRESS_EVERY == 0:
                progress.report(writing=False, rows_done=count)
    except FileError as exc:
        problems.append(exc.problem)
        found += 1
        kept.append(_plain(exc.problem, whole_file=True))
    progress.report(
        writing=False,
        rows_total=count,
        rows_done=count,
        problem_count=found,
        problems=kept[:KEPT_PROBLEMS],
    )
    return may_write(
        file_problems=bool(problems),  # the file's own, found before or between its rows
        bad_rows=bool(found),
        good_rows=good,
        skip_bad_rows=job.skip_bad_rows,
    )


def _plain(problem: FileProblem, *, whole_file: bool = False) -> dict[str, Any]:
    """A problem as the page lists it (row, column, value, reason; ``whole_file``: one that
    refuses the file even when bad rows are skipped, a quote left open at row 3 say)."""
    return {
        "row": problem.row,
        "column": problem.column,
        "value": problem.value,
        "reason": problem.reason,
    } | ({"whole_file": True} if whole_file else {})


def stored_problem(filename: str, plain: dict[str, Any]) -> FileProblem:
    """A problem as :func:`_plain` stored it, to describe again."""
    return FileProblem(filename, plain["row"], plain["column"], plain["value"], plain["reason"])


def skipping_would_help(job: ImportJob) -> bool:
    """Whether a refused file would go in with "skip bad rows": it was not ticked, and every
    problem is a bad row's (a job stored before problems said so: row 1 and none are the
    file's own, as they were read then)."""
    return not job.skip_bad_rows and not any(
        p.get("whole_file") or p["row"] in (None, 1) for p in job.problems
    )


def _refuse(
    session: Session, job: ImportJob, *, clock: Callable[[], datetime], now: datetime
) -> None:
    session.refresh(job)
    with transaction(session):
        job.status, job.finished_at = "refused", clock()
        first = (
            stored_problem(job.filename, job.problems[0]).describe()
            if job.problems
            else "文件中没有数据行"
        )
        _failed_run(
            session, job, now=now, error=f"未导入，发现 {job.problem_count} 个问题。{first}"
        )


def _failed_run(session: Session, job: ImportJob, *, now: datetime, error: str) -> None:
    """The run on 数据源 that says why this upload wrote nothing."""
    shop = session.get(Shop, job.shop_id)
    assert shop is not None
    record_run(
        session,
        shop,
        source=f"import:{job.kind}",
        now=now,
        result=None,
        error=f"{job.filename}：{error}"[:2000],
    )


def _chunks(rows: Iterator[Any], kind: str) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Good rows in chunks; an order's lines (one ``tid``) never split between chunks."""
    chunk: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        if row.problems:
            continue
        if len(chunk) >= CHUNK_ROWS and not (
            kind == "orders" and chunk[-1][1].get("tid") == row.values.get("tid")
        ):
            yield chunk
            chunk = []
        chunk.append((row.number, row.values))
    if chunk:
        yield chunk


def _write(
    session: Session,
    job: ImportJob,
    path: Path,
    *,
    tz: ZoneInfo,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
    progress: _Progress,
    clock: Callable[[], datetime],
) -> None:
    job_id, shop_id, kind = job.id, job.shop_id, job.kind
    with transaction(session):
        job.status, job.rows_done = "importing", 0
    report = ImportReport(kind, job.filename, job.rows_total)
    _, rows = _rows(job, path, tz=tz, now=now)
    written = 0
    before = set(session.identity_map.values())  # what the caller had loaded stays
    with transaction(session):  # all or nothing, however many chunks
        lock_shop_intake(session, shop_id)  # like every intake of the shop: one at a time
        for chunk in _chunks(rows, kind):
            shop = session.get(Shop, shop_id)
            assert shop is not None
            write_rows(session, shop, kind, chunk, now, report, scorer, settings)
            session.flush()
            for loaded in list(session.identity_map.values()):  # bounded memory: nothing
                if loaded not in before and loaded in session:  # of this chunk stays loaded
                    session.expunge(loaded)  # (cascades to its children: hence the check)
            written += len(chunk)
            progress.report(writing=True, rows_done=written)
        shop = session.get(Shop, shop_id)
        intake = report.intake or IntakeResult()
        job = session.get(ImportJob, job_id)
        assert job is not None and shop is not None
        job.status, job.finished_at = "done", clock()
        job.rows_done = job.imported_rows = written
        job.created, job.updated = report.created, report.updated
        job.cases_opened, job.cases_closed = intake.cases_opened, intake.cases_closed
        job.set_aside, job.withheld = intake.set_aside, report.withheld
        record_run(session, shop, source=f"import:{kind}", now=now, result=report.intake)
    if written >= BULK_ROWS:
        analyze_after_bulk_load(session, BULK_TABLES[kind])
