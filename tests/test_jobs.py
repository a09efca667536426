"""The scheduler's jobs, run directly (the scheduling itself is APScheduler's business)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import NOW, count
from tests.factories import add_sale
from tests.top_server import FakeTop, serve
from tracker import jobs
from tracker.models import Case, PullRun, Review, Shop
from tracker.models.enums import Platform, Rating


@pytest.fixture
def top_shop(
    app: Flask,
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Shop, FakeTop]]:
    fake = FakeTop()
    shop: Shop = make_shop(code="tm1", platform=Platform.TMALL)
    monkeypatch.setitem(
        app.config,
        "TRACKER_SHOP_CREDENTIALS",
        {"tm1": {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}},
    )
    with serve(fake):
        monkeypatch.setitem(app.config, "TRACKER_SOURCE_URLS", {"top": fake.url})
        yield shop, fake


def test_pull_job_stores_reviews_and_records_errors(
    app: Flask, session: Session, top_shop: tuple[Shop, FakeTop]
) -> None:
    shop, fake = top_shop
    posted = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(hours=2)
    fake.add_rate("1", f"{posted:%Y-%m-%d %H:%M:%S}", result="bad", content="质量太差了")
    jobs.pull_reviews(app, shop.id)
    assert fake.problems == []
    assert count(session, Review) == 1 and count(session, Case) == 1
    run = session.scalars(sa.select(PullRun)).one()
    assert (run.status, run.source, run.new, run.cases_opened) == ("ok", "top", 1, 1)
    fake.faults = ["api"]
    jobs.pull_reviews(app, shop.id)  # an API error is recorded, never raised
    last = session.scalars(sa.select(PullRun).order_by(PullRun.id.desc())).first()
    assert last is not None and last.status == "error"
    assert last.error_code == "27/invalid-sessionkey"


def test_sync_pull_jobs_follows_shops_and_intervals(
    app: Flask, session: Session, top_shop: tuple[Shop, FakeTop]
) -> None:
    shop, _ = top_shop
    scheduler = BackgroundScheduler()
    jobs.sync_pull_jobs(app, scheduler)
    job = scheduler.get_job(f"pull-{shop.id}")
    assert job is not None and job.trigger.interval == timedelta(minutes=10)
    assert job.coalesce is True and job.misfire_grace_time is None  # missed runs: once
    # a job's app context closes the session when it ends: load the shop afresh
    shop = session.get(Shop, shop.id)
    shop.pull_interval_minutes = 3
    session.commit()
    jobs.sync_pull_jobs(app, scheduler)
    assert scheduler.get_job(f"pull-{shop.id}").trigger.interval == timedelta(minutes=3)
    shop = session.get(Shop, shop.id)
    shop.is_active = False
    session.commit()
    jobs.sync_pull_jobs(app, scheduler)
    assert scheduler.get_job(f"pull-{shop.id}") is None


def test_score_job_scores_unscored_reviews(app: Flask, session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    add_sale(
        session, shop, text="好评，但是东西质量太差了，用两天就坏了", rating=Rating.GOOD, at=NOW
    )
    jobs.score_new_reviews(app)
    assert count(session, Case) == 1
    assert session.scalars(sa.select(PullRun.source)).one() == "score"
    jobs.score_new_reviews(app)  # nothing left: no empty run recorded
    assert count(session, PullRun) == 1
