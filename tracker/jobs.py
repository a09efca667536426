"""The scheduler's jobs: each one is an app context around one service call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from tracker import runtime
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import ImportJob, Shop
from tracker.services import (
    alerts,
    calls,
    campaigns,
    care,
    contact_handles,
    import_jobs,
    messaging,
    promises,
    recommendations,
    scheduler_lock,
    segments,
    shop_models,
    surveys,
)
from tracker.services.pulls import pull_shop, record_run
from tracker.services.scoring import score_shop
from tracker.services.transaction import transaction
from tracker.sources.contract import SourceError

log = logging.getLogger(__name__)


def pull_reviews(app: Flask, shop_id: int) -> None:
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        if shop is None or not shop.is_active:
            return
        try:
            connected = runtime.review_source(app, db.session, shop)
        except SourceError as exc:
            with transaction(db.session):
                record_run(
                    db.session,
                    shop,
                    source="credentials",
                    now=utcnow(),
                    result=None,
                    error=f"{exc.code}: {exc.message}",
                )
            log.warning("pull %s: credentials unusable: %s", shop.code, exc)
            return
        if connected is None:
            return
        run = pull_shop(
            db.session,
            shop,
            connected.source,
            source_name=connected.adapter.name,
            now=utcnow(),
            clock=utcnow,
            scorer=runtime.scorer(app, shop),
            settings=runtime.settings(app, shop),
        )
        log.info("pull %s: %s, %d new, %d cases", shop.code, run.status, run.new, run.cases_opened)


def pull_requested(app: Flask) -> None:
    """Every minute: shops whose platform pushed news of a review (WeChat's bad-review
    event) are pulled at once instead of at their next interval."""
    with app.app_context():
        ids = list(
            db.session.scalars(
                sa.select(Shop.id).where(
                    Shop.is_active.is_(True), Shop.pull_requested_at.is_not(None)
                )
            )
        )
        db.session.rollback()  # a read: end it before each pull opens its own
    for shop_id in ids:
        pull_reviews(app, shop_id)


def score_new_reviews(app: Flask) -> None:
    """Reviews pushed or uploaded arrive unscored; score them and finish their triage."""
    with app.app_context():
        for shop in db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))).all():
            score_shop(
                db.session,
                shop,
                scorer=runtime.scorer(app, shop),
                now=utcnow(),
                settings=runtime.settings(app, shop),
            )


def run_imports(app: Flask) -> None:
    """Every few seconds: import the files uploaded on the admin page, one at a time."""
    with app.app_context():
        import_waiting(app)


def import_waiting(app: Flask) -> None:
    """The queued uploads, in order (inside an app context)."""
    waiting = import_jobs.waiting(db.session)
    for job_id in waiting:
        job = db.session.get(ImportJob, job_id)
        shop = db.session.get(Shop, job.shop_id) if job is not None else None
        if job is None or shop is None:
            continue
        done = import_jobs.run(
            db.session,
            job_id,
            now=utcnow(),
            clock=utcnow,
            tz=ZoneInfo(app.config["TRACKER_TIMEZONE"]),
            scorer=runtime.scorer(app, shop) if job.kind == "reviews" else None,
            settings=runtime.settings(app, shop),
        )
        log.info(
            "import %s (%s): %s, %d rows", job_id, done.filename, done.status, done.imported_rows
        )


def build_recommenders(app: Flask, *, requested_only: bool) -> None:
    """Nightly for every active shop; every minute for shops whose admin asked for it."""
    with app.app_context():
        shops = (
            recommendations.requested_shops(db.session)
            if requested_only
            else list(db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))))
        )
        for shop in shops:
            stored = recommendations.build_model(db.session, shop, now=utcnow())
            log.info(
                "recommender %s: %d lines, %d products, %.1f s",
                shop.code,
                stored.order_lines,
                stored.products,
                stored.build_seconds,
            )


def recompute_segments(app: Flask, *, requested_only: bool) -> None:
    """Nightly for every active shop; every minute for shops whose levels just changed."""
    with app.app_context():
        query = sa.select(Shop).where(Shop.is_active.is_(True))
        if requested_only:
            query = query.where(Shop.segments_requested_at.is_not(None))
        for shop in list(db.session.scalars(query)):
            count = segments.recompute(db.session, shop, now=utcnow())
            log.info("segments %s: %d buyers", shop.code, count)


def retrain_sentiment(app: Flask, *, requested_only: bool) -> None:
    """Weekly for every active shop; every minute for shops whose admin asked for it."""
    with app.app_context():
        ids = (
            shop_models.requested_shops(db.session)
            if requested_only
            else list(db.session.scalars(sa.select(Shop.id).where(Shop.is_active.is_(True))))
        )
        db.session.rollback()  # a read: each training opens its own transaction
        for shop_id in ids:
            retrain_shop(app, shop_id)


def retrain_shop(app: Flask, shop_id: int) -> None:
    """One shop's candidate, judged against the model scoring it now (in an app context)."""
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        return
    try:
        outcome = shop_models.retrain(
            db.session,
            shop,
            incumbent=runtime.scorer(app, shop),
            now=utcnow(),
            general_corpus=app.config["TRACKER_SENTIMENT_GENERAL_CORPUS"],
        )
    except shop_models.ShopModelError as exc:
        log.info("sentiment %s: %s", shop.code, exc.message)
        return
    log.info("sentiment %s: %s %s", shop.code, outcome.model.version, outcome.model.decision)


def close_broken_promises(app: Flask) -> None:
    with app.app_context():
        closed = promises.close_broken(db.session, now=utcnow())
        if closed:
            log.info("promises: %d cases closed as 承诺未兑现", closed)


def count_conversions(app: Flask) -> None:
    with app.app_context():
        converted = recommendations.record_conversions(db.session, now=utcnow())
        if converted:
            log.info("recommendations: %d new conversions", converted)


def send_alerts(app: Flask) -> None:
    """Every minute: announce deadlines near or passed, then send queued e-mails/messages."""
    with app.app_context():
        now = utcnow()
        settings, tz_name = runtime.alert_settings(app), app.config["TRACKER_TIMEZONE"]
        created = alerts.scan(db.session, now=now, settings=settings, tz_name=tz_name)
        created += alerts.morning_digest(db.session, now=now, settings=settings, tz_name=tz_name)
        sent, failed = alerts.deliver(
            db.session, now=now, mailer=runtime.mailer(app), poster=runtime.poster(app)
        )
        if created or sent or failed:
            log.info("alerts: %d notices, %d sent, %d failed", created, sent, failed)


def send_messages(app: Flask) -> None:
    """Every minute: send the outbox (and look up sends whose answer was lost)."""
    with app.app_context():
        report = messaging.send_due(
            db.session,
            now=utcnow(),
            clients=runtime.message_clients(app, db.session),
            tz=ZoneInfo(app.config["TRACKER_TIMEZONE"]),
        )
        if report.sent or report.failed or report.retried:
            log.info(
                "messages: %d sent, %d failed, %d to retry, %d held for the day",
                report.sent,
                report.failed,
                report.retried,
                report.deferred,
            )


def send_campaigns(app: Flask) -> None:
    """Every minute: today's care rules become campaigns (from 10:00), then the campaigns
    still sending go out at the provider's rate, in the day."""
    with app.app_context():
        for started in care.run_due(
            db.session, now=utcnow(), tz=ZoneInfo(app.config["TRACKER_TIMEZONE"])
        ):
            log.info("care: %s, %d chosen", started.name, started.chosen)
        progress = campaigns.send_due(
            db.session,
            now=utcnow(),
            clients=runtime.message_clients(app, db.session),
            tz=ZoneInfo(app.config["TRACKER_TIMEZONE"]),
            per_minute=app.config["TRACKER_MARKETING_PER_MINUTE"],
        )
        if progress.sent or progress.failed or progress.looked_up:
            log.info(
                "campaigns: %d sent, %d failed, %d looked up, %d waiting",
                progress.sent,
                progress.failed,
                progress.looked_up,
                progress.waiting,
            )


def send_surveys(app: Flask) -> None:
    """Every five minutes: 满意度回访 for cases closed an hour ago or more."""
    with app.app_context():
        queued = surveys.queue_due(db.session, now=utcnow())
        sent = surveys.send_due(
            db.session,
            now=utcnow(),
            clients=runtime.message_clients(app, db.session),
            tz=ZoneInfo(app.config["TRACKER_TIMEZONE"]),
            base_url=app.config["TRACKER_BASE_URL"],
            secret_key=app.config["SECRET_KEY"],
        )
        if queued or sent:
            log.info("surveys: %d queued, %d sent", queued, sent)


def read_receipts(app: Flask) -> None:
    with app.app_context():
        changed = messaging.poll_receipts(
            db.session,
            now=utcnow(),
            clients=runtime.message_clients(app, db.session),
            tz=ZoneInfo(app.config["TRACKER_TIMEZONE"]),
        )
        if changed:
            log.info("messages: %d delivery receipts", changed)


def tidy_numbers(app: Flask) -> None:
    """Release privacy bindings whose call window ended; wipe numbers that lapsed."""
    with app.app_context():
        released = calls.release_ended(
            db.session,
            now=utcnow(),
            calls_for=lambda shop: runtime.provider(app, db.session, shop, messaging.AXB),
        )
        erased = contact_handles.erase_lapsed(db.session, now=utcnow())
        if released or erased:
            log.info("numbers: %d bindings released, %d lapsed numbers wiped", released, erased)


def keep_lock(app: Flask, holder: str, stop: Callable[[], None]) -> None:
    with app.app_context():
        if not scheduler_lock.heartbeat(db.session, holder, now=utcnow()):
            log.error("another scheduler took over the lock; stopping")
            stop()


def sync_pull_jobs(app: Flask, scheduler: BaseScheduler) -> None:
    """One pull job per active shop with a source, at the shop's own interval."""
    with app.app_context():
        shops = list(db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))))
        pulled = runtime.pulled_shops(app, db.session, shops)
        wanted = {
            f"pull-{shop.id}": (shop.id, shop.pull_interval_minutes)
            for shop in shops
            if shop.id in pulled
        }
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
    with app.app_context():  # this scheduler holds the lock: whatever "ran" was cut short
        if requeued := import_jobs.requeue_interrupted(db.session):
            log.warning("imports: %d interrupted jobs queued again", requeued)

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
    scheduler.add_job(
        pull_requested, "interval", minutes=1, args=(app,), id="pull-requested", **common
    )
    scheduler.add_job(run_imports, "interval", seconds=5, args=(app,), id="imports", **common)
    hour, minute = (int(v) for v in app.config["TRACKER_RECOMMENDER_BUILD_AT"].split(":"))
    for job, name, days in (
        (build_recommenders, "recommender", "*"),  # nightly
        (recompute_segments, "segments", "*"),  # nightly
        (retrain_sentiment, "sentiment", app.config["TRACKER_SENTIMENT_RETRAIN_DAY"]),  # weekly
    ):
        # every shop on the clock, and within a minute the shops an admin asked for
        scheduler.add_job(
            job,
            "cron",
            day_of_week=days,
            hour=hour,
            minute=minute,
            args=(app,),
            kwargs={"requested_only": False},
            id=f"{name}-scheduled",
            **common,
        )
        scheduler.add_job(
            job,
            "interval",
            minutes=1,
            args=(app,),
            kwargs={"requested_only": True},
            id=f"{name}-requested",
            **common,
        )
    scheduler.add_job(
        send_alerts,
        "interval",
        minutes=1,
        args=(app,),
        id="alerts",
        next_run_time=utcnow(),
        **common,
    )
    scheduler.add_job(
        count_conversions, "interval", minutes=15, args=(app,), id="conversions", **common
    )
    scheduler.add_job(
        close_broken_promises, "interval", minutes=15, args=(app,), id="promises", **common
    )
    scheduler.add_job(send_messages, "interval", minutes=1, args=(app,), id="outbox", **common)
    scheduler.add_job(send_campaigns, "interval", minutes=1, args=(app,), id="campaigns", **common)
    scheduler.add_job(read_receipts, "interval", minutes=5, args=(app,), id="receipts", **common)
    scheduler.add_job(send_surveys, "interval", minutes=5, args=(app,), id="surveys", **common)
    scheduler.add_job(tidy_numbers, "interval", minutes=5, args=(app,), id="numbers", **common)
    sync_pull_jobs(app, scheduler)
