"""The scheduler's jobs: each one is an app context around one service call."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from tracker import runtime
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import Shop
from tracker.services import scheduler_lock
from tracker.services.intake import score_pending
from tracker.services.pulls import pull_shop, record_run

log = logging.getLogger(__name__)


def pull_reviews(app: Flask, shop_id: int) -> None:
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        fetch = runtime.review_source(app, shop) if shop is not None and shop.is_active else None
        if shop is None or fetch is None:
            return
        run = pull_shop(
            db.session,
            shop,
            fetch,
            source="top",
            now=utcnow(),
            clock=utcnow,
            scorer=runtime.scorer(app),
            settings=runtime.settings(app, shop),
        )
        log.info("pull %s: %s, %d new, %d cases", shop.code, run.status, run.new, run.cases_opened)


def score_new_reviews(app: Flask) -> None:
    """Reviews pushed through the web API arrive unscored; score them and open cases."""
    with app.app_context():
        for shop in db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))):
            now = utcnow()
            result = score_pending(
                db.session,
                shop,
                scorer=runtime.scorer(app),
                now=now,
                settings=runtime.settings(app, shop),
            )
            if result.received:
                record_run(db.session, shop, source="score", now=now, result=result)
            db.session.commit()


def keep_lock(app: Flask, holder: str, stop: Callable[[], None]) -> None:
    with app.app_context():
        if not scheduler_lock.heartbeat(db.session, holder, now=utcnow()):
            log.error("another scheduler took over the lock; stopping")
            stop()


def sync_pull_jobs(app: Flask, scheduler: BaseScheduler) -> None:
    """One pull job per active shop with a source, at the shop's own interval."""
    with app.app_context():
        wanted = {}
        for shop in db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))):
            if runtime.has_review_source(app, shop):
                wanted[f"pull-{shop.id}"] = (shop.id, shop.pull_interval_minutes)
    for job in scheduler.get_jobs():
        if job.id.startswith("pull-") and job.id not in wanted:
            job.remove()
    for job_id, (shop_id, minutes) in wanted.items():
        job = scheduler.get_job(job_id)
        if job is not None:
            if job.trigger.interval.total_seconds() != minutes * 60:
                scheduler.reschedule_job(job_id, trigger="interval", minutes=minutes)
            continue
        # coalesce: runs missed while busy or stopped are caught up once, not replayed
        scheduler.add_job(
            pull_reviews,
            "interval",
            minutes=minutes,
            args=(app, shop_id),
            id=job_id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=utcnow(),
        )


def schedule(app: Flask, scheduler: BaseScheduler, holder: str) -> None:
    def stop() -> None:
        scheduler.shutdown(wait=False)

    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    scheduler.add_job(
        keep_lock, "interval", seconds=30, args=(app, holder, stop), id="lock", **common
    )
    scheduler.add_job(
        score_new_reviews,
        "interval",
        minutes=1,
        args=(app,),
        id="score",
        next_run_time=utcnow(),
        **common,
    )
    scheduler.add_job(
        sync_pull_jobs, "interval", minutes=5, args=(app, scheduler), id="sync", **common
    )
    sync_pull_jobs(app, scheduler)
