"""Pulling a shop's reviews from its platform, one complete window per transaction, and
the run record every intake path leaves on the 数据源 page.

The "pulled until" mark moves in the same commit as the window's reviews, so it never
passes data that was not stored; an error ends the run, is recorded on it, and the next
run starts from the mark again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import BackgroundWork, PullRun, Shop
from tracker.models.shop import shop_matches
from tracker.sentiment import Scorer
from tracker.services import rereads
from tracker.services.intake import IntakeResult, IntakeSettings
from tracker.services.quarantine import ingest_guarded
from tracker.services.transaction import retrying, transaction
from tracker.sources.contract import RateLimited, ReviewSource, SourceError, Window

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # reviews indexed late by the platform are caught next time
FIRST_PULL = timedelta(days=30)  # the revision window: older reviews cannot change anymore


def pull_shop(
    session: Session,
    shop: Shop,
    source: ReviewSource,
    *,
    source_name: str,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
    clock: Callable[[], datetime] | None = None,
    after_window: Callable[[], None] | None = None,
) -> PullRun:
    """Pull everything since the shop's mark, then, once an hour, read the open cases'
    reviews again (:mod:`tracker.services.rereads`). Commits once per window (the mark with
    its reviews), so a failure keeps what was complete. ``now`` fixes the range pulled;
    ``clock`` (default: ``now``) stamps the run's end; ``after_window`` runs after each
    window's (and re-read chunk's) commit (a worker renews its lease on the shop there)."""
    start = shop.pulled_until - OVERLAP if shop.pulled_until else now - FIRST_PULL
    reread = rereads.due(shop, now=now)
    with transaction(session):
        run = PullRun(
            shop_id=shop.id,
            source=source_name,
            started_at=now,
            status="running",
            window_start=start,
            window_end=now,
        )
        session.add(run)
        shop.pull_requested_at = None
    total = IntakeResult()
    try:
        for window in source.fetch(start, now):

            def store(window: Window = window) -> IntakeResult:
                result = ingest_guarded(
                    session,
                    shop,
                    window.records,
                    source=source_name,
                    now=now,
                    scorer=scorer,
                    settings=settings,
                )
                shop.pulled_until = max(shop.pulled_until or window.end, window.end)
                _count(run, total, result)
                return result

            total.add(retrying(session, store))
            log.info(
                "shop %s: stored %s .. %s (%d reviews)",
                shop.code,
                window.start,
                window.end,
                len(window.records),
            )
            if after_window is not None:
                after_window()
        if reread:
            run.reread = rereads.reread_shop(
                session,
                shop,
                source,
                source_name=source_name,
                now=now,
                scorer=scorer,
                settings=settings,
                listed_since=start,
                into=total,
                after_chunk=after_window,
            )
    except SourceError as exc:
        session.rollback()
        run.status, run.error_code, run.error_message = "error", exc.code[:64], exc.message
        run.throttled = exc if isinstance(exc, RateLimited) else None
        log.warning("shop %s: pull stopped: %s", shop.code, exc)
    except Exception as exc:  # the scheduler must go on; the run shows what broke
        session.rollback()
        run.status, run.error_code, run.error_message = "error", type(exc).__name__, str(exc)
        log.exception("shop %s: pull failed", shop.code)
    else:
        run.status = "ok"
    with transaction(session):
        run.finished_at = clock() if clock else now
        _count(run, total)
    return run


def _count(run: PullRun, total: IntakeResult, window: IntakeResult | None = None) -> None:
    """The run's counts: what is stored so far, plus ``window`` while its commit is open."""
    done = IntakeResult()
    done.add(total)
    if window is not None:
        done.add(window)
    run.pulled, run.new, run.revised = done.received, done.new, done.revised
    run.cases_opened, run.cases_closed = done.cases_opened, done.cases_closed
    run.set_aside = done.set_aside


def shops_to_list(*, q: str = "", needs_attention: bool = False) -> sa.Select[tuple[Shop]]:
    """The shops the 数据源 page lists, by name: matching ``q`` (name or code), and with
    ``needs_attention`` only those whose pull is failing or parked (a host with thousands
    of shops looks for those)."""
    stmt = sa.select(Shop).order_by(Shop.name, Shop.id)
    if q:
        stmt = stmt.where(shop_matches(q))
    if needs_attention:
        stmt = stmt.where(
            sa.exists().where(
                BackgroundWork.shop_id == Shop.id,
                BackgroundWork.kind == "pull",
                sa.or_(BackgroundWork.parked_at.is_not(None), BackgroundWork.failures > 0),
            )
        )
    return stmt


def recent_runs(session: Session, shop_ids: list[int], limit: int = 20) -> list[PullRun]:
    return list(
        session.scalars(
            sa.select(PullRun)
            .where(PullRun.shop_id.in_(shop_ids))
            .order_by(PullRun.started_at.desc(), PullRun.id.desc())
            .limit(limit)
        )
    )


def record_run(
    session: Session,
    shop: Shop,
    *,
    source: str,
    now: datetime,
    result: IntakeResult | None,
    error: str | None = None,
) -> PullRun:
    """A run for sources that are not pulled (imports, pushes, scoring), for the health page."""
    run = PullRun(
        shop_id=shop.id,
        source=source,
        started_at=now,
        finished_at=now,
        status="error" if error else "ok",
        error_message=error,
    )
    if result is not None:
        _count(run, result)
    session.add(run)
    return run


def recorded(
    session: Session,
    shop: Shop,
    *,
    source: str,
    now: datetime,
    work: Callable[[], IntakeResult],
) -> IntakeResult:
    """Run one intake command in one transaction with its run record; a failure rolls the
    work back whole and still leaves a run saying what broke (then re-raises)."""

    def attempt() -> IntakeResult:
        result = work()
        record_run(session, shop, source=source, now=now, result=result)
        return result

    try:
        return retrying(session, attempt)  # a race lost to another writer is tried again
    except Exception as exc:
        try:
            with transaction(session):
                record_run(
                    session,
                    shop,
                    source=source,
                    now=now,
                    result=None,
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
        except Exception:  # the database itself is down: the first error is the one to show
            log.exception("shop %s: could not record the failed %s run", shop.code, source)
        raise


def request_pull(session: Session, shop: Shop, *, now: datetime) -> None:
    """The platform told us of a new review: the scheduler pulls this shop within a minute."""
    with transaction(session):
        if shop.pull_requested_at is None:
            shop.pull_requested_at = now
