"""The scheduler's jobs, run directly (the scheduling itself is APScheduler's business)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import count, lately
from tests.factories import add_sale
from tests.services.test_segments import buyer_with
from tests.top_server import FakeTop, serve
from tracker import jobs
from tracker.clock import utcnow
from tracker.domain.segments import LevelBasis, MemberLevels
from tracker.domain.work_plan import latest_due
from tracker.models import AppThrottle, BackgroundWork, Buyer, Case, Order, PullRun, Review, Shop
from tracker.models.enums import Platform, Rating
from tracker.queue.contract import Task
from tracker.services import background_work, pulls, segments


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
    shop_id = shop.id
    posted = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(hours=2)
    fake.add_rate("1", f"{posted:%Y-%m-%d %H:%M:%S}", result="bad", content="质量太差了")
    jobs.pull_reviews(app, shop_id)
    assert fake.problems == []
    assert count(session, Review) == 1 and count(session, Case) == 1
    run = session.scalars(sa.select(PullRun)).one()
    assert (run.status, run.source, run.new, run.cases_opened) == ("ok", "top", 1, 1)
    fake.faults = ["api"]
    jobs.pull_reviews(app, shop_id)  # an API error is recorded, never raised
    last = session.scalars(sa.select(PullRun).order_by(PullRun.id.desc())).first()
    assert last is not None and last.status == "error"
    assert last.error_code == "27/invalid-sessionkey"
    work = session.get(BackgroundWork, f"pull:{shop_id}")
    assert work is not None and work.failures == 1 and work.next_try_at is not None
    assert work.last_error == "27/invalid-sessionkey: SessionKey非法或已过期"


class Recorder:
    """An executor that only records what the clock handed out."""

    mode = "embedded"

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self.waiting: int | None = None  # the broker's count; None: every task still there

    def submit(self, task: Task) -> None:
        self.tasks.append(task)

    def depth(self) -> int:
        return len(self.tasks) if self.waiting is None else self.waiting


def test_pulls_are_handed_out_at_each_shops_phase_and_once(
    app: Flask, session: Session, top_shop: tuple[Shop, FakeTop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, _ = top_shop
    shop_id, interval = shop.id, timedelta(minutes=shop.pull_interval_minutes)
    due = latest_due(utcnow(), shop_id, interval)
    work = Recorder()
    assert jobs.dispatch_pulls(app, work) == 1  # never pulled: due at once
    assert [(t.unit, t.shop_id, t.due) for t in work.tasks] == [("pull", shop_id, due)]
    assert jobs.dispatch_pulls(app, work) == 0  # waiting on the queue: not again
    # a new scheduler: the old one's in-process queue died with it, so hand it out again
    assert background_work.forget_handed_out(session) >= 1
    assert session.get(BackgroundWork, f"pull:{shop_id}").dispatched_at is None  # type: ignore[union-attr]
    assert jobs.dispatch_pulls(app, work) == 1
    jobs.run_task(app, work.tasks[0])
    assert jobs.run_task(app, work.tasks[1]) == "done"  # the second copy finds it covered
    assert jobs.dispatch_pulls(app, work) == 0  # covered until the shop's next slot
    later = due + interval + timedelta(seconds=1)
    monkeypatch.setattr(jobs, "utcnow", lambda: later)
    assert jobs.dispatch_pulls(app, work) == 1
    assert work.tasks[-1].due == due + interval
    shop = session.get(Shop, shop_id)
    shop.is_active = False
    session.commit()
    monkeypatch.setattr(jobs, "utcnow", lambda: later + interval)
    assert jobs.dispatch_pulls(app, work) == 0  # an inactive shop is not pulled


def test_a_task_reserved_by_a_worker_that_died_is_handed_out_again(
    app: Flask, session: Session, top_shop: tuple[Shop, FakeTop], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed worker's reserved tasks come back from Redis only after its visibility
    timeout; with the queue empty, a task not started within two minutes is handed out
    again. While the queue holds tasks, a waiting one is left alone for ten."""
    work = Recorder()
    assert jobs.dispatch_pulls(app, work) == 1
    start = utcnow()
    monkeypatch.setattr(jobs, "utcnow", lambda: start + timedelta(minutes=3))
    assert jobs.dispatch_pulls(app, work) == 0  # the broker still holds it: it waits its turn
    work.waiting = 0  # nothing in the queue, and the task never started
    assert jobs.dispatch_pulls(app, work) == 1
    assert work.tasks[0].key == work.tasks[1].key
    assert jobs.dispatch_pulls(app, work) == 0  # just handed out again


def test_a_pushed_review_brings_the_shops_pull_forward(
    app: Flask, session: Session, top_shop: tuple[Shop, FakeTop]
) -> None:
    shop, _ = top_shop
    shop_id = shop.id
    jobs.pull_reviews(app, shop_id)
    work = Recorder()
    assert jobs.dispatch_pulls(app, work) == 0
    pulls.request_pull(session, session.get(Shop, shop_id), now=utcnow())
    assert jobs.dispatch_pulls(app, work) == 1  # not at its slot: at once
    assert work.tasks[0].due == session.get(Shop, shop_id).pull_requested_at


def test_score_job_scores_unscored_reviews(app: Flask, session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    add_sale(
        session,
        shop,
        text="好评，但是东西质量太差了，用两天就坏了",
        rating=Rating.GOOD,
        at=lately(),
    )
    assert jobs.dispatch_scoring(app, jobs.inline(app), every_shop=False) == 1
    assert count(session, Case) == 1
    assert session.scalars(sa.select(PullRun.source)).one() == "score"
    # nothing left unscored: no task, and the hourly sweep records no empty run
    assert jobs.dispatch_scoring(app, jobs.inline(app), every_shop=False) == 0
    jobs.dispatch_scoring(app, jobs.inline(app), every_shop=True)
    assert count(session, PullRun) == 1


def test_member_levels_are_pushed_after_a_recompute_and_a_rate_limit_rests_the_app(
    app: Flask, session: Session, top_shop: tuple[Shop, FakeTop]
) -> None:
    shop, fake = top_shop
    shop_id = shop.id
    shop.member_levels = MemberLevels(
        LevelBasis.SPEND, (Decimal("100"), Decimal("500")), (Decimal("9.8"), Decimal("9.5"))
    ).to_dict()
    shop.level_sync = True
    session.commit()
    buyer_with(session, shop, "老顾客", [(3, "800")])
    buyer_with(session, shop, "新客", [(3, "150")])
    fake.members = {"老顾客": 0, "新客": 0}
    segments.recompute(session, shop, now=utcnow())  # asks for a sync
    assert jobs.dispatch_builds(app, jobs.inline(app), "levels", requested_only=True) == 1
    assert fake.problems == [] and fake.members == {"老顾客": 2, "新客": 1}
    assert fake.grade_rules is not None and fake.grade_rules["discount"] == ["980", "950"]
    assert jobs.dispatch_builds(app, jobs.inline(app), "levels", requested_only=True) == 0
    # 新客 buys again; the next run meets the app's call quota: the app rests, no failure
    session.add(
        Order(shop_id=shop_id, tid="again", buyer_id=session.scalars(
            sa.select(Buyer.id).where(Buyer.platform_nick == "新客")).one(),
            payment=Decimal("500"), paid_at=utcnow())
    )  # fmt: skip
    session.commit()
    segments.recompute(session, session.get(Shop, shop_id), now=utcnow())  # type: ignore[arg-type]
    fake.faults = ["limited"]
    assert jobs.dispatch_builds(app, jobs.inline(app), "levels", requested_only=True) == 1
    work = session.get(BackgroundWork, f"levels:{shop_id}")
    assert work is not None and work.failures == 0 and work.next_try_at is not None
    assert session.get(AppThrottle, f"top:{fake.app_key}") is not None
    assert fake.members["新客"] == 1
    report = session.get(Shop, shop_id).level_sync_report  # type: ignore[union-attr]
    assert report["waiting"] == 1 and "7" in report["error"]


def test_a_level_sync_without_a_member_api_says_why(
    app: Flask, session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(code="noapi", level_sync=True, level_sync_requested_at=utcnow())
    shop_id = shop.id
    assert jobs.dispatch_builds(app, jobs.inline(app), "levels", requested_only=True) == 1
    report = session.get(Shop, shop_id).level_sync_report  # type: ignore[union-attr]
    assert report["error"] == "本店没有平台接口凭据" and report["rules"] == "not-started"
    work = session.get(BackgroundWork, f"levels:{shop_id}")
    assert work is not None and work.failures == 1


def test_the_nightly_retention_run_erases_each_shops_stale_buyers(
    app: Flask,
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    kept_forever, three_years = make_shop(), make_shop()
    assert three_years.personal_data_retention_days == 1095  # the default
    kept_forever.personal_data_retention_days = None  # an admin left it empty
    long_ago = utcnow() - timedelta(days=1200)
    for shop in (kept_forever, three_years):
        add_sale(session, shop, at=long_ago, key=shop.code)  # a number kept with the sale
    ids = kept_forever.id, three_years.id
    due = jobs.dispatch_builds(app, jobs.inline(app), "retention", requested_only=False)
    assert due == 2
    erased = dict(session.execute(sa.select(Buyer.shop_id, Buyer.personal_data_erased_why)).all())
    assert erased == {ids[0]: None, ids[1]: "retention"}
