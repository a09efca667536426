"""Background work: the units of work, how one task runs, and the clock that hands them out.

APScheduler (one process, holding the database lock) is the clock. Its jobs only decide
what is due and hand each unit to an executor: the scheduler's own thread pool by default,
Celery workers on any number of machines when ``TRACKER_BROKER_URL`` is set. Every task,
wherever it runs, goes through :func:`run_task`, which takes the unit's lease in the
database (never two pulls of one shop at once), skips a task already covered (a retry or
a redelivery changes nothing), and records success, failure, back-off or parking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask
from sqlalchemy.orm import Session

from tracker import runtime
from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain.triage import ScoreBands
from tracker.domain.work_plan import latest_due
from tracker.extensions import db
from tracker.models import ImportJob, Review, Shop
from tracker.models.reviews import UNSCORED
from tracker.queue.contract import Executor, Task
from tracker.queue.inprocess import InlineExecutor, InProcessExecutor
from tracker.services import (
    alerts,
    availability,
    background_work,
    calibration,
    calls,
    campaigns,
    care,
    confirmations,
    contact_handles,
    import_jobs,
    level_sync,
    messaging,
    promises,
    recommendations,
    retention,
    review_counts,
    scheduler_lock,
    segments,
    shift_requests,
    shop_models,
    surveys,
)
from tracker.services.background_work import Claim, Due, Skipped
from tracker.services.pulls import pull_shop, record_run
from tracker.services.scoring import score_shop
from tracker.services.transaction import transaction
from tracker.sources.contract import RateLimited, SourceError, SyncsMemberLevels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a unit's run ended: ``error`` counts a failure; with ``rest_until`` it only
    postpones the unit (its platform app is resting)."""

    error: str | None = None
    rest_until: datetime | None = None


OK = Outcome()


@dataclass(frozen=True)
class Unit:
    body: Callable[[Flask, Task, Claim], Outcome]
    # held this long without renewal, the holder is presumed dead and the unit taken over
    ttl: timedelta
    parks: bool = False  # failing again and again parks it (a shop's pull)


# -- the units ----------------------------------------------------------------------------


def _app_resting(session: Session, app_name: str) -> Outcome | None:
    """The platform app refused calls for too many: wait it out, no failure counted."""
    resting = background_work.app_resting_until(session, app_name, now=utcnow())
    if resting is None:
        return None
    session.rollback()
    return Outcome(error=f"平台应用 {app_name} 限流中", rest_until=resting)


def _rest_app(session: Session, app_name: str, limited: RateLimited, error: str | None) -> Outcome:
    """The run met the app's call limit: every shop on that app waits."""
    until = background_work.rest_app(
        session, app_name, now=utcnow(), retry_after=limited.retry_after, error=error or ""
    )
    return Outcome(error=error, rest_until=until)


def _pull(app: Flask, task: Task, held: Claim) -> Outcome:
    """One shop's pull: through its platform app, unless that app is resting."""
    session = db.session
    shop = session.get(Shop, task.shop_id)
    if shop is None or not shop.is_active:
        return OK
    try:
        connected = runtime.review_source(app, session, shop)
    except SourceError as exc:
        with transaction(session):
            record_run(
                session,
                shop,
                source="credentials",
                now=utcnow(),
                result=None,
                error=f"{exc.code}: {exc.message}",
            )
        log.warning("pull %s: credentials unusable: %s", shop.code, exc)
        return Outcome(error=f"凭据不可用 {exc.code}: {exc.message}")
    if connected is None:
        return OK
    if (resting := _app_resting(session, connected.app)) is not None:
        return resting
    run = pull_shop(
        session,
        shop,
        connected.source,
        source_name=connected.adapter.name,
        now=utcnow(),
        clock=utcnow,
        scorer=runtime.scorer(app, shop),
        settings=runtime.settings(app, shop),
        after_window=lambda: background_work.renew(session, held, now=utcnow(), ttl=PULL_TTL),
    )
    log.info("pull %s: %s, %d new, %d cases", shop.code, run.status, run.new, run.cases_opened)
    error = f"{run.error_code}: {run.error_message}" if run.status == "error" else None
    if run.throttled is not None:
        return _rest_app(session, connected.app, run.throttled, error)
    if error is None:
        background_work.app_answered(session, connected.app, now=utcnow())
    return Outcome(error=error)


def _score(app: Flask, task: Task, held: Claim) -> Outcome:
    """Reviews pushed or uploaded arrive unscored; score them and finish their triage."""
    shop = db.session.get(Shop, task.shop_id)
    if shop is not None and shop.is_active:
        score_shop(
            db.session,
            shop,
            scorer=runtime.scorer(app, shop),
            now=utcnow(),
            settings=runtime.settings(app, shop),
        )
    return OK


def _recommender(app: Flask, task: Task, held: Claim) -> Outcome:
    shop = db.session.get(Shop, task.shop_id)
    if shop is not None:
        stored = recommendations.build_model(db.session, shop, now=utcnow())
        log.info(
            "recommender %s: %d lines, %d products, %.1f s",
            shop.code,
            stored.order_lines,
            stored.products,
            stored.build_seconds,
        )
    return OK


def _segments(app: Flask, task: Task, held: Claim) -> Outcome:
    shop = db.session.get(Shop, task.shop_id)
    if shop is not None:
        count = segments.recompute(db.session, shop, now=utcnow())
        log.info("segments %s: %d buyers", shop.code, count)
    return OK


def _levels(app: Flask, task: Task, held: Claim) -> Outcome:
    """The shop's member levels pushed to its platform's member API."""
    session = db.session
    shop = session.get(Shop, task.shop_id)
    if shop is None or not shop.level_sync:
        return OK
    try:
        connected = runtime.review_source(app, session, shop)
    except SourceError as exc:
        connected, error = None, f"凭据不可用 {exc.code}: {exc.message}"
    else:
        error = "本店没有平台接口凭据" if connected is None else None
    if connected is not None and not isinstance(connected.source, SyncsMemberLevels):
        connected, error = None, f"{connected.adapter.label}不提供会员等级接口"
    if connected is None:
        level_sync.record_unusable(session, shop, now=utcnow(), error=error or "")
        return Outcome(error=error)
    if (resting := _app_resting(session, connected.app)) is not None:
        return resting
    report = level_sync.sync(
        session,
        shop,
        connected.source,
        now=utcnow(),
        clock=utcnow,
        renew=lambda: background_work.renew(session, held, now=utcnow(), ttl=SHORT_TTL),
    )
    log.info(
        "levels %s: rules %s, %d confirmed, %d refused, %d unreachable, %d waiting",
        shop.code,
        report.rules,
        report.confirmed,
        report.refused,
        report.unreachable,
        report.waiting,
    )
    if report.throttled is not None:
        return _rest_app(session, connected.app, report.throttled, report.error)
    return Outcome(error=report.error)


def _sentiment(app: Flask, task: Task, held: Claim) -> Outcome:
    assert task.shop_id is not None
    retrain_shop(app, task.shop_id)
    return OK


def _calibrate(app: Flask, task: Task, held: Claim) -> Outcome:
    """The shop's own score bands, and the waiting reviews they now open a case for."""
    shop = db.session.get(Shop, task.shop_id)
    if shop is None:
        return OK
    calibrated = calibrate_shop(app, shop, now=utcnow())
    if calibrated is not None and calibrated.bands is not None:
        bands, opened = calibrated.bands, calibrated.opened
        log.info("calibrate %s: case %.4f, confirm %.4f", shop.code, bands.case, bands.confirm)
        if opened:
            log.info("calibrate %s: %d waiting reviews now open a case", shop.code, opened)
    return OK


@dataclass(frozen=True)
class Calibrated:
    bands: ScoreBands | None  # as intake now reads them; None: too few good ratings
    opened: int  # reviews waiting in 待确认 that now fall below the case band


def calibrate_shop(app: Flask, shop: Shop, *, now: datetime) -> Calibrated | None:
    """Set the shop's own score bands from the good ratings the model scoring it gave (its
    own model's or the installation's: each scores on its own scale), then open the cases
    the new bands call for among the reviews waiting in 待确认: the nightly job's work, and
    the demo's at load. None when snownlp's model scores the shop (nothing to calibrate)."""
    version = runtime.scoring_model_version(app, shop)
    if version is None:
        return None
    if calibration.calibrate(db.session, shop, model_version=version, now=now) is None:
        return Calibrated(None, 0)
    settings = runtime.settings(app, shop)  # the bands as intake reads them
    opened = confirmations.settle(
        db.session, shop.id, model_version=version, settings=settings, now=now
    )
    return Calibrated(settings.bands, opened)


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


def _imports(app: Flask, task: Task, held: Claim) -> Outcome:
    # the worker importing died: what it had "running" was cut short
    if held.took_over and (requeued := import_jobs.requeue_interrupted(db.session)):
        log.warning("imports: %d interrupted jobs queued again", requeued)
    import_waiting(app)
    return OK


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
            tz=local_zone(app.config),
            scorer=runtime.scorer(app, shop) if job.kind == "reviews" else None,
            settings=runtime.settings(app, shop),
        )
        log.info(
            "import %s (%s): %s, %d rows", job_id, done.filename, done.status, done.imported_rows
        )


def _promises(app: Flask, task: Task, held: Claim) -> Outcome:
    closed = promises.close_broken(db.session, now=utcnow())
    if closed:
        log.info("promises: %d cases closed as 承诺未兑现", closed)
    return OK


def _leave(app: Flask, task: Task, held: Claim) -> Outcome:
    """Leave booked ahead starts: its holder's open cases go to colleagues."""
    moved = availability.begin_booked_leave(db.session, now=utcnow(), tz=local_zone(app.config))
    if moved:
        log.info("leave: %d cases handed over at the start of a booked leave", moved)
    return OK


def _shift_requests(app: Flask, task: Task, held: Claim) -> Outcome:
    """调班申请 whose day passed undecided lapse, and their askers hear so."""
    lapsed = shift_requests.lapse(db.session, now=utcnow(), tz=local_zone(app.config))
    if lapsed:
        log.info("shift requests: %d lapsed undecided", lapsed)
    return OK


def _conversions(app: Flask, task: Task, held: Claim) -> Outcome:
    converted = recommendations.record_conversions(db.session, now=utcnow())
    if converted:
        log.info("recommendations: %d new conversions", converted)
    return OK


def _alerts(app: Flask, task: Task, held: Claim) -> Outcome:
    """Announce deadlines near or passed, then send queued e-mails/messages."""
    now = utcnow()
    settings, tz_name = runtime.alert_settings(app), app.config["TRACKER_TIMEZONE"]
    created = alerts.scan(db.session, now=now, settings=settings, tz_name=tz_name)
    created += alerts.morning_digest(db.session, now=now, settings=settings, tz_name=tz_name)
    sent, failed = alerts.deliver(
        db.session, now=now, mailer=runtime.mailer(app), poster=runtime.poster(app)
    )
    if created or sent or failed:
        log.info("alerts: %d notices, %d sent, %d failed", created, sent, failed)
    return OK


def _outbox(app: Flask, task: Task, held: Claim) -> Outcome:
    """Send the outbox (and look up sends whose answer was lost)."""
    report = messaging.send_due(
        db.session,
        now=utcnow(),
        clients=runtime.message_clients(app, db.session),
        tz=local_zone(app.config),
    )
    if report.sent or report.failed or report.retried:
        log.info(
            "messages: %d sent, %d failed, %d to retry, %d held for the day",
            report.sent,
            report.failed,
            report.retried,
            report.deferred,
        )
    return OK


def _campaigns(app: Flask, task: Task, held: Claim) -> Outcome:
    """Today's care rules become campaigns (from 10:00), then the campaigns still sending
    go out at the provider's rate, in the day."""
    for started in care.run_due(db.session, now=utcnow(), tz=local_zone(app.config)):
        log.info("care: %s, %d chosen", started.name, started.chosen)
    progress = campaigns.send_due(
        db.session,
        now=utcnow(),
        clients=runtime.message_clients(app, db.session),
        tz=local_zone(app.config),
        per_minute=app.config["TRACKER_MARKETING_PER_MINUTE"],
    )
    if progress.sent or progress.failed or progress.looked_up or progress.skipped or progress.held:
        log.info(
            "campaigns: %d sent, %d failed, %d skipped, %d held, %d looked up, %d waiting",
            progress.sent,
            progress.failed,
            progress.skipped,
            progress.held,
            progress.looked_up,
            progress.waiting,
        )
    return OK


def _surveys(app: Flask, task: Task, held: Claim) -> Outcome:
    """满意度回访 for cases closed an hour ago or more."""
    queued = surveys.queue_due(db.session, now=utcnow())
    sent = surveys.send_due(
        db.session,
        now=utcnow(),
        clients=runtime.message_clients(app, db.session),
        tz=local_zone(app.config),
        base_url=app.config["TRACKER_BASE_URL"],
        secret_key=app.config["SECRET_KEY"],
    )
    if queued or sent:
        log.info("surveys: %d queued, %d sent", queued, sent)
    return OK


def _receipts(app: Flask, task: Task, held: Claim) -> Outcome:
    """Operators' delivery receipts: for the messages of cases, then of campaigns."""
    clients = runtime.message_clients(app, db.session)
    changed = messaging.poll_receipts(
        db.session, now=utcnow(), clients=clients, tz=local_zone(app.config)
    )
    if changed:
        log.info("messages: %d delivery receipts", changed)
    marketing = campaigns.poll_receipts(
        db.session, now=utcnow(), clients=clients, tz=local_zone(app.config)
    )
    if marketing:
        log.info("campaigns: %d delivery receipts", marketing)
    return OK


def _numbers(app: Flask, task: Task, held: Claim) -> Outcome:
    """Release privacy bindings whose call window ended; wipe numbers that lapsed."""
    released = calls.release_ended(
        db.session,
        now=utcnow(),
        calls_for=lambda shop: runtime.provider(app, db.session, shop, messaging.AXB),
    )
    erased = contact_handles.erase_lapsed(db.session, now=utcnow())
    if released or erased:
        log.info("numbers: %d bindings released, %d lapsed numbers wiped", released, erased)
    return OK


def _retention(app: Flask, task: Task, held: Claim) -> Outcome:
    """Erase the personal data of the shop's buyers past its retention period."""
    shop = db.session.get(Shop, task.shop_id)
    if shop is not None:
        done = retention.expire(db.session, shop, now=utcnow())
        if done.buyers:
            log.info(
                "retention %s: %d buyers' personal data erased (%d numbers)",
                shop.code,
                done.buyers,
                done.numbers,
            )
    return OK


def _review_counts(app: Flask, task: Task, held: Claim) -> Outcome:
    """Fold the hourly review counts written since the last run, one row per hour."""
    folded = review_counts.compact(db.session)
    if folded:
        log.info("review counts: %d rows folded", folded)
    return OK


PULL_TTL = timedelta(minutes=5)  # renewed after every stored window
SHORT_TTL = timedelta(minutes=15)
BUILD_TTL = timedelta(hours=2)

UNITS: dict[str, Unit] = {
    "pull": Unit(_pull, PULL_TTL, parks=True),
    "score": Unit(_score, SHORT_TTL),
    "recommender": Unit(_recommender, BUILD_TTL),
    "segments": Unit(_segments, BUILD_TTL),
    "levels": Unit(_levels, SHORT_TTL),  # renewed after every batch of buyers
    "sentiment": Unit(_sentiment, BUILD_TTL),
    "calibrate": Unit(_calibrate, SHORT_TTL),
    "imports": Unit(_imports, BUILD_TTL),
    "alerts": Unit(_alerts, SHORT_TTL),
    "outbox": Unit(_outbox, SHORT_TTL),
    "campaigns": Unit(_campaigns, SHORT_TTL),
    "surveys": Unit(_surveys, SHORT_TTL),
    "receipts": Unit(_receipts, SHORT_TTL),
    "numbers": Unit(_numbers, SHORT_TTL),
    "retention": Unit(_retention, BUILD_TTL),
    "review_counts": Unit(_review_counts, SHORT_TTL),
    "promises": Unit(_promises, SHORT_TTL),
    "leave": Unit(_leave, SHORT_TTL),
    "shift_requests": Unit(_shift_requests, SHORT_TTL),
    "conversions": Unit(_conversions, SHORT_TTL),
}


# -- running one task ---------------------------------------------------------------------


def run_task(app: Flask, task: Task) -> Claim | Skipped:
    """Run one task wherever it was delivered: take the unit's lease or skip, run the
    unit, record how it ended. Never raises for the unit's own failures (the queue must
    not retry on its own: the dispatcher does, after the unit's back-off)."""
    unit = UNITS.get(task.unit)
    if unit is None:
        log.error("unknown unit %r in task %r: dropped", task.unit, task)
        return background_work.DONE
    with app.app_context():
        session = db.session
        background_work.beat(
            session, background_work.holder_name(), mode=_mode(app), task=task.key, now=utcnow()
        )
        held = background_work.claim(
            session,
            task.key,
            kind=task.unit,
            shop_id=task.shop_id,
            due=task.due,
            holder=background_work.holder_name(task.key),
            now=utcnow(),
            ttl=unit.ttl,
        )
        if isinstance(held, Skipped):
            log.debug("%s: skipped (%s)", task.key, held)
            return held
        if held.took_over and task.unit == "pull" and task.shop_id is not None:
            background_work.abandon_runs(session, task.shop_id, holder=held.took_over, now=utcnow())
        try:
            outcome = unit.body(app, task, held)
        except Exception as exc:  # recorded on the unit; the next dispatch tries again
            session.rollback()
            log.exception("%s failed", task.key)
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        background_work.finish(
            session,
            held,
            now=utcnow(),
            error=outcome.error,
            rest_until=outcome.rest_until,
            parks=unit.parks,
        )
        return held


def _mode(app: Flask) -> str:
    return "celery" if app.config["TRACKER_BROKER_URL"] else "embedded"


def run_now(app: Flask, unit: str, shop_id: int | None = None) -> Claim | Skipped:
    """Run a unit at once in this process, under its lease (the CLI, the tests)."""
    return run_task(app, Task(unit=unit, due=utcnow(), shop_id=shop_id))


def pull_reviews(app: Flask, shop_id: int) -> Claim | Skipped:
    return run_now(app, "pull", shop_id)


def send_alerts(app: Flask) -> Claim | Skipped:
    return run_now(app, "alerts")


def executor(app: Flask) -> Executor:
    """Celery when a broker is configured; else the scheduler's own thread pool."""
    if app.config["TRACKER_BROKER_URL"]:
        from tracker.queue.celery_queue import CeleryExecutor

        return CeleryExecutor(celery_app(app))
    return InProcessExecutor(partial(run_task, app), workers=app.config["TRACKER_WORK_THREADS"])


def celery_app(app: Flask):  # type: ignore[no-untyped-def]  # celery has no type hints
    """The app's Celery instance (built once), whose one task runs :func:`run_task`."""
    from tracker.queue.celery_queue import make_celery

    if "celery" not in app.extensions:

        def forked() -> None:
            with app.app_context():
                db.engine.dispose(close=False)

        app.extensions["celery"] = make_celery(
            app.config["TRACKER_BROKER_URL"], run=partial(run_task, app), on_fork=forked
        )
    return app.extensions["celery"]


# -- the clock: what is due ---------------------------------------------------------------


def _hand_out(work: Executor, due: list[Due]) -> int:
    """Put the units not yet waiting or covered on the queue; the count handed out."""
    now = utcnow()
    chosen = background_work.dispatchable(
        db.session, due, now=now, queue_empty=lambda: work.depth() == 0
    )
    background_work.mark_dispatched(db.session, chosen, now=now)
    for item in chosen:
        work.submit(Task(unit=item.kind, due=item.due, shop_id=item.shop_id))
    return len(chosen)


def dispatch_pulls(app: Flask, work: Executor) -> int:
    """Every few seconds: the shops whose pull fell due (each at its own phase of its
    interval, so thousands of shops are spread over it), and at once those whose platform
    pushed news of a review (WeChat's bad-review event)."""
    with app.app_context():
        now = utcnow()
        shops = list(db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))))
        pulled = runtime.pulled_shops(app, db.session, shops)
        due = []
        for shop in shops:
            if shop.id not in pulled:
                continue
            at = latest_due(now, shop.id, timedelta(minutes=shop.pull_interval_minutes))
            if shop.pull_requested_at is not None and shop.pull_requested_at > at:
                at = shop.pull_requested_at
            due.append(Due(f"pull:{shop.id}", "pull", shop.id, at))
        db.session.rollback()
        return _hand_out(work, due)


def dispatch_scoring(app: Flask, work: Executor, *, every_shop: bool) -> int:
    """Every minute the shops with unscored reviews (pushed, uploaded); hourly every
    active shop (a neutral or bad review still without its case)."""
    with app.app_context():
        active = db.session.scalars(sa.select(Shop.id).where(Shop.is_active.is_(True)))
        ids = list(active)
        if not every_shop:  # the partial index of unscored reviews answers this at once
            waiting = set(
                db.session.scalars(sa.select(Review.shop_id).where(sa.text(UNSCORED)).distinct())
            )
            ids = [i for i in ids if i in waiting]
        now = utcnow()
        return _hand_out(work, [Due(f"score:{i}", "score", i, now) for i in ids])


REQUESTED = {
    "recommender": Shop.recommender_requested_at,
    "segments": Shop.segments_requested_at,
    "levels": Shop.level_sync_requested_at,  # after each recompute, or 立即同步
    "sentiment": Shop.sentiment_retrain_requested_at,
    "calibrate": Shop.sentiment_retrain_requested_at,  # 立即训练 also calibrates again
}


def dispatch_builds(app: Flask, work: Executor, unit: str, *, requested_only: bool) -> int:
    """Nightly (weekly for sentiment) one task per active shop, each on any worker; every
    minute the shops whose admin asked for a build."""
    with app.app_context():
        now = utcnow()
        if requested_only:
            column = REQUESTED[unit]
            rows = db.session.execute(sa.select(Shop.id, column).where(column.is_not(None)))
            due = [Due(f"{unit}:{i}", unit, i, at) for i, at in rows]  # due when asked for
        else:
            ids = db.session.scalars(sa.select(Shop.id).where(Shop.is_active.is_(True)))
            due = [Due(f"{unit}:{i}", unit, i, now) for i in ids]
        return _hand_out(work, due)


def dispatch(app: Flask, work: Executor, unit: str) -> int:
    """A unit of the whole installation (alerts, the outbox …), unless one still waits."""
    with app.app_context():
        return _hand_out(work, [Due(unit, unit, None, utcnow())])


def keep_lock(app: Flask, holder: str, stop: Callable[[], None]) -> None:
    with app.app_context():
        if not scheduler_lock.heartbeat(db.session, holder, now=utcnow()):
            log.error("another scheduler took over the lock; stopping")
            stop()


# Units of the whole installation and how often each falls due.
PERIODIC = (
    ("imports", timedelta(seconds=5)),
    ("alerts", timedelta(minutes=1)),
    ("outbox", timedelta(minutes=1)),
    ("campaigns", timedelta(minutes=1)),
    ("receipts", timedelta(minutes=5)),
    ("surveys", timedelta(minutes=5)),
    ("numbers", timedelta(minutes=5)),
    ("leave", timedelta(minutes=5)),
    ("shift_requests", timedelta(minutes=15)),
    ("review_counts", timedelta(minutes=10)),
    ("conversions", timedelta(minutes=15)),
    ("promises", timedelta(minutes=15)),
)
PULL_TICK = timedelta(seconds=10)


def schedule(app: Flask, scheduler: BaseScheduler, holder: str, work: Executor) -> None:
    """The clock's jobs. Each only hands out tasks, so each is quick whatever the load."""
    if work.mode == "embedded":
        with app.app_context():  # this scheduler holds the lock: the last one's threads died
            if requeued := import_jobs.requeue_interrupted(db.session):
                log.warning("imports: %d interrupted jobs queued again", requeued)
            background_work.forget_handed_out(db.session)

    def stop() -> None:
        scheduler.shutdown(wait=False)

    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    first = {"next_run_time": utcnow()}

    def add(func: Callable[..., object], trigger: str, job_id: str, **options: Any) -> None:
        # named by its id: the scheduler's log then says which unit it added or missed,
        # not "dispatch" ten times
        scheduler.add_job(func, trigger, id=job_id, name=job_id, **common, **options)

    add(keep_lock, "interval", "lock", seconds=30, args=(app, holder, stop))
    add(
        dispatch_pulls,
        "interval",
        "pulls",
        seconds=PULL_TICK.total_seconds(),
        args=(app, work),
        **first,
    )
    for every_shop, minutes in ((False, 1), (True, 60)):
        add(
            dispatch_scoring,
            "interval",
            f"score-{'all' if every_shop else 'unscored'}",
            minutes=minutes,
            args=(app, work),
            kwargs={"every_shop": every_shop},
            **first,
        )
    for unit, every in PERIODIC:
        add(
            dispatch,
            "interval",
            unit,
            seconds=every.total_seconds(),
            args=(app, work, unit),
            **first,
        )
    hour, minute = (int(v) for v in app.config["TRACKER_RECOMMENDER_BUILD_AT"].split(":"))
    for unit, days in (
        ("recommender", "*"),  # nightly
        ("segments", "*"),  # nightly
        ("calibrate", "*"),  # nightly
        ("sentiment", app.config["TRACKER_SENTIMENT_RETRAIN_DAY"]),  # weekly
    ):
        # every shop on the clock, and within a minute the shops an admin asked for
        add(
            dispatch_builds,
            "cron",
            f"{unit}-scheduled",
            day_of_week=days,
            hour=hour,
            minute=minute,
            args=(app, work, unit),
            kwargs={"requested_only": False},
        )
        add(
            dispatch_builds,
            "interval",
            f"{unit}-requested",
            minutes=1,
            args=(app, work, unit),
            kwargs={"requested_only": True},
            **first,
        )
    add(  # nightly, with the builds; nothing asks for it sooner
        dispatch_builds,
        "cron",
        "retention-scheduled",
        hour=hour,
        minute=minute,
        args=(app, work, "retention"),
        kwargs={"requested_only": False},
    )
    # member levels go to the platform after each recompute (or an admin's 立即同步)
    add(
        dispatch_builds,
        "interval",
        "levels-requested",
        minutes=1,
        args=(app, work, "levels"),
        kwargs={"requested_only": True},
        **first,
    )


def inline(app: Flask) -> InlineExecutor:
    """Tasks run in the caller's thread as they are handed out (the tests)."""
    return InlineExecutor(partial(run_task, app))
