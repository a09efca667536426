"""One decision per review whatever its path: pulled (with or without a scorer), pushed,
uploaded on the admin page or imported on the command line, the same review history ends
in the same case state once the scheduler has scored what arrived unscored."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import csrf_token, login
from tests.fakes import KeywordScorer
from tracker import jobs, runtime
from tracker.clock import utcnow
from tracker.models import Case, Review, Shop
from tracker.models.enums import CaseOutcome, CaseStatus, Rating, Role
from tracker.services.api_tokens import issue_token
from tracker.services.intake import ingest
from tracker.services.pulls import pull_shop
from tracker.services.scoring import score_shop
from tracker.sources.contract import Window
from tracker.sources.records import ReviewRecord

SH = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Version:
    """One review as the platform shows it at some moment."""

    oid: str
    rating: Rating
    text: str
    posted_at: datetime
    follow_up_text: str | None = None
    follow_up_at: datetime | None = None

    def record(self) -> ReviewRecord:
        return ReviewRecord(
            platform_key=ReviewRecord.key_for(self.oid),
            buyer_nick=f"买家{self.oid}",
            rating=self.rating,
            text=self.text,
            posted_at=self.posted_at,
            oid=self.oid,
            tid=f"T{self.oid}",
            item_id="5001",
            item_title="赣南脐橙",
            follow_up_text=self.follow_up_text,
            follow_up_at=self.follow_up_at,
        )


def history() -> tuple[list[Version], list[Version]]:
    """First what buyers posted, then what some of them changed a day later."""
    start = utcnow() - timedelta(days=2)
    day = start + timedelta(days=1)
    first = [
        Version("A", Rating.BAD, "橙子烂了好几个", start),
        Version("B", Rating.GOOD, "很好吃，物流也快", start),
        Version("C", Rating.GOOD, "快递太慢了，有点失望", start),  # a hidden negative
        Version("D", Rating.BAD, "太差了", start),
    ]
    second = [
        # revised to good, but the 追评 is still unhappy: the case must stay open
        Version("A", Rating.GOOD, "商家处理了", start, "补发的还是坏的，失望", day),
        # revised to good with a happy 追评: recovered
        Version("D", Rating.GOOD, "客服解决了问题", start, "补发的很新鲜", day),
    ]
    return first, second


EXPECTED = {
    "A:buyer": (CaseStatus.NEW, None, "bad"),
    "B:buyer": None,
    "C:buyer": (CaseStatus.NEW, None, "hidden_negative"),
    "D:buyer": (CaseStatus.RECOVERED, CaseOutcome.REVIEW_REVISED, "bad"),
}


@dataclass
class ListSource:
    """A platform double: whatever it holds now, as one complete window."""

    versions: dict[str, Version] = field(default_factory=dict)

    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        yield Window(start, end, [v.record() for v in self.versions.values()])

    def check(self) -> None:
        pass


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SH).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


HEADER = (
    "订单编号,子订单编号,买家会员名,宝贝ID,宝贝名称,评价结果,评价内容,评价时间,追评内容,追评时间"
)


def _csv(versions: list[Version]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    for v in versions:
        writer.writerow(
            [
                *(f"T{v.oid}", v.oid, f"买家{v.oid}", "5001", "赣南脐橙", v.rating.label, v.text),
                *(_local(v.posted_at), v.follow_up_text or "", _local(v.follow_up_at)),
            ]
        )
    return out.getvalue().encode()


Deliver = Callable[[list[Version]], None]


@pytest.fixture
def paths(
    app: Flask,
    session: Session,
    make_user,  # type: ignore[no-untyped-def]
    client: FlaskClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str, Shop], Deliver]:
    monkeypatch.setattr(
        runtime, "scorer", lambda app, shop=None: KeywordScorer()
    )  # the CLI's model

    def make(path: str, shop: Shop) -> Deliver:
        settings = runtime.settings(app, shop)
        source = ListSource()
        if path == "upload":
            login(client, make_user(Role.ADMIN))
        token = issue_token(session, shop, actor_id=None, now=utcnow()) if path == "push" else ""

        def deliver(versions: list[Version]) -> None:
            if path.startswith("pull"):
                source.versions |= {v.oid: v for v in versions}
                run = pull_shop(
                    session,
                    shop,
                    source,
                    source_name="list",
                    now=utcnow(),
                    scorer=KeywordScorer() if path == "pull+scorer" else None,
                    settings=settings,
                )
                assert run.status == "ok", run.error_message
            elif path == "push":
                body = {
                    "reviews": [
                        {
                            "oid": v.oid,
                            "tid": f"T{v.oid}",
                            "buyer_nick": f"买家{v.oid}",
                            "rating": v.rating.value,
                            "text": v.text,
                            "posted_at": v.posted_at.isoformat(),
                            "item_id": "5001",
                            "item_title": "赣南脐橙",
                            "follow_up_text": v.follow_up_text,
                            "follow_up_at": v.follow_up_at.isoformat() if v.follow_up_at else None,
                        }
                        for v in versions
                    ]
                }
                answer = client.post(
                    "/api/v1/reviews",
                    data=json.dumps(body),
                    headers={"Authorization": f"Bearer {token}"},
                    content_type="application/json",
                )
                assert answer.status_code == 200, answer.get_json()
            elif path == "upload":
                form = {
                    "shop_id": str(shop.id),
                    "kind": "reviews",
                    "csrf_token": csrf_token(client, "/admin/import"),
                    "file": (io.BytesIO(_csv(versions)), "评价.csv"),
                }
                queued = client.post("/admin/import", data=form, content_type="multipart/form-data")
                assert queued.status_code == 302
                jobs.import_waiting(app)  # the scheduler's job, in the test's context
                page = client.get(queued.headers["Location"])
                assert "已导入" in page.get_data(as_text=True)
            elif path == "cli":
                file = tmp_path / f"reviews-{len(list(tmp_path.iterdir()))}.csv"
                file.write_bytes(_csv(versions))
                result = app.test_cli_runner().invoke(
                    args=["import", "reviews", str(file), "--shop", shop.code]
                )
                assert result.exit_code == 0, result.output
            # the scheduler's minutely job finishes whatever arrived unscored
            score_shop(session, shop, scorer=KeywordScorer(), now=utcnow(), settings=settings)

        return deliver

    return make


def state(session: Session, shop: Shop) -> dict[str, tuple[object, ...] | None]:
    rows = session.execute(
        sa.select(Review.platform_key, Case.status, Case.outcome, Case.kind)
        .outerjoin(Case, Case.review_id == Review.id)
        .where(Review.shop_id == shop.id)
    ).all()
    return {
        key: None if status is None else (status, outcome, kind)
        for key, status, outcome, kind in rows
    }


@pytest.mark.parametrize("path", ["pull+scorer", "pull-no-scorer", "push", "upload", "cli"])
def test_the_same_history_ends_in_the_same_state_on_every_path(
    path: str,
    session: Session,
    make_shop,
    paths,  # type: ignore[no-untyped-def]
) -> None:
    shop = make_shop()
    deliver = paths(path, shop)
    first, second = history()
    deliver(first)
    assert state(session, shop)["A:buyer"] == (CaseStatus.NEW, None, "bad")
    deliver(second)
    assert state(session, shop) == EXPECTED
    # priorities follow the scores whichever path: the bad review scored clearly unhappy
    priorities = dict(
        session.execute(
            sa.select(Review.platform_key, Case.priority)
            .join(Case, Case.review_id == Review.id)
            .where(Review.shop_id == shop.id)
        ).all()
    )
    assert priorities == {"A:buyer": 3, "C:buyer": 4, "D:buyer": 3}


def test_an_unscored_unhappy_follow_up_waits_for_its_score(
    app: Flask,
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    """The bug this guards: pushed unscored, "no score" read as "happy" closed the case as
    recovered (credited to its owner) before the scorer ever saw the 追评."""
    shop = make_shop()
    settings = runtime.settings(app, shop)
    first, second = history()
    ingest(session, shop, [v.record() for v in first], now=utcnow(), scorer=None, settings=settings)
    result = ingest(
        session, shop, [second[0].record()], now=utcnow(), scorer=None, settings=settings
    )
    case = session.scalars(
        sa.select(Case).join(Review).where(Review.platform_key == "A:buyer")
    ).one()
    assert result.cases_closed == 0 and case.closed_at is None and case.status is CaseStatus.NEW
    scored = score_shop(session, shop, scorer=KeywordScorer(), now=utcnow(), settings=settings)
    assert scored.cases_closed == 0 and case.closed_at is None  # unhappy: still open
    # a happy 追评 closes it, but only once it is scored
    happy = Version(
        "A",
        Rating.GOOD,
        "商家处理了",
        second[0].posted_at,
        "补发的很新鲜",
        utcnow() - timedelta(hours=1),
    )
    ingest(session, shop, [happy.record()], now=utcnow(), scorer=None, settings=settings)
    assert case.closed_at is None
    score_shop(session, shop, scorer=KeywordScorer(), now=utcnow(), settings=settings)
    assert case.status is CaseStatus.RECOVERED and case.outcome is CaseOutcome.REVIEW_REVISED
    assert case.closed_at == happy.follow_up_at  # dated by the buyer's change, not by us
