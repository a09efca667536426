"""Pulling a shop's reviews from its source, one complete window per transaction.

The "pulled until" mark moves in the same commit as the window's reviews, so it never
passes data that was not stored; an error ends the run, is recorded on it, and the next
run starts from the mark again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import PullRun, Shop
from tracker.sentiment import Scorer
from tracker.services.intake import IntakeResult, IntakeSettings, ingest
from tracker.sources.records import ReviewRecord
from tracker.sources.top import TopApiError

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # reviews indexed late by the platform are caught next time
FIRST_PULL = timedelta(days=30)  # the revision window: older reviews cannot change anymore

Fetch = Callable[[datetime, datetime], Iterator[tuple[datetime, datetime, list[ReviewRecord]]]]


def pull_shop(
    session: Session,
    shop: Shop,
    fetch: Fetch,
    *,
    source: str,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
    clock: Callable[[], datetime] | None = None,
) -> PullRun:
    """``now`` fixes the range pulled; ``clock`` (default: ``now``) stamps the run's end."""
    start = shop.pulled_until - OVERLAP if shop.pulled_until else now - FIRST_PULL
    run = PullRun(
        shop_id=shop.id,
        source=source,
        started_at=now,
        status="running",
        window_start=start,
        window_end=now,
    )
    session.add(run)
    session.commit()
    total = IntakeResult()
    try:
        for low, high, records in fetch(start, now):
            result = ingest(session, shop, records, now=now, scorer=scorer, settings=settings)
            shop.pulled_until = max(shop.pulled_until or high, high)
            total.add(result)
            _count(run, total)
            session.commit()
            log.info("shop %s: stored %s .. %s (%d reviews)", shop.code, low, high, len(records))
    except TopApiError as exc:
        session.rollback()
        run.status, run.error_code, run.error_message = "error", exc.code, exc.message
        if exc.sub_code:
            run.error_code = f"{exc.code}/{exc.sub_code}"
        log.warning("shop %s: pull stopped: %s", shop.code, exc)
    except Exception as exc:  # the scheduler must go on; the run shows what broke
        session.rollback()
        run.status, run.error_code, run.error_message = "error", type(exc).__name__, str(exc)
        log.exception("shop %s: pull failed", shop.code)
    else:
        run.status = "ok"
    run.finished_at = clock() if clock else now
    _count(run, total)
    session.commit()
    return run


def _count(run: PullRun, total: IntakeResult) -> None:
    run.pulled, run.new, run.revised = total.received, total.new, total.revised
    run.cases_opened, run.cases_closed = total.cases_opened, total.cases_closed


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
