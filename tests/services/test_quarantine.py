"""One bad review never stops a shop's pulls: text is cleaned where it comes in, and what
still cannot be stored is set aside with its error while the rest of the window is stored
and the mark moves on; an admin retries it from 数据源."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import count, csrf_token, login
from tests.fakes import KeywordScorer
from tests.top_server import FakeTop, serve
from tracker.domain.plain_text import clean_text
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import PullRun, QuarantinedRecord, Review, Shop
from tracker.models.enums import Rating, Role
from tracker.services import intake, quarantine
from tracker.services.intake import IntakeSettings
from tracker.services.pulls import pull_shop
from tracker.sources.contract import SourceOptions
from tracker.sources.records import ReviewRecord
from tracker.sources.top import TopSource

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
SETTINGS = IntakeSettings(WorkingHours(tz=SH, periods=((time(9), time(22)),)), DeadlinePolicy())


def test_clean_text_drops_controls_and_mends_surrogates() -> None:
    assert clean_text("坏\x00了\x07\x1f\x7f") == "坏了"
    assert clean_text("行\t一\n二\r") == "行\t一\n二\r"  # the layout characters stay
    assert clean_text("半个\ud83d表情") == "半个\ufffd表情"
    assert clean_text("\ud83d\ude00") == "😀"  # a pair that arrived split is joined again
    assert clean_text("好") == "好"


def pull(session: Session, shop: Shop, fake: FakeTop, now: datetime = NOW) -> PullRun:
    creds = {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}
    source = TopSource(creds, SourceOptions(clock=lambda: now, url=fake.url, backoff=0.0))
    return pull_shop(
        session,
        shop,
        source,
        source_name="top",
        now=now,
        scorer=KeywordScorer(),
        settings=SETTINGS,
    )


def test_a_nul_or_a_lone_surrogate_no_longer_stops_the_pulls(session: Session, shop: Shop) -> None:
    fake = FakeTop()
    fake.add_rate("1", "2026-11-22 09:00:00", content="坏了\x00\x00一半")
    fake.add_rate("2", "2026-11-22 09:05:00", content="表情\ud83d乱码", nick="昵称\ud83d")
    fake.add_rate("3", "2026-11-22 09:10:00", content="正常的差评")
    with serve(fake):
        run = pull(session, shop, fake)
    assert (run.status, run.new, run.set_aside) == ("ok", 3, 0), run.error_message
    texts = dict(session.execute(sa.select(Review.platform_key, Review.text)).tuples().all())
    assert texts["1:buyer"] == "坏了一半" and texts["2:buyer"] == "表情\ufffd乱码"
    assert shop.pulled_until == NOW


def test_what_still_cannot_be_stored_is_set_aside_and_the_mark_moves(
    session: Session, shop: Shop, client: FlaskClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    fake = FakeTop()
    fake.add_rate("1", "2026-11-23 09:55:00", nick="买" * 100)  # wider than the column
    fake.add_rate("2", "2026-11-22 09:05:00")
    with serve(fake):
        run = pull(session, shop, fake)
        assert (run.status, run.new, run.set_aside) == ("ok", 1, 1)
        assert shop.pulled_until == NOW  # the mark moved past the bad review
        again = pull(session, shop, fake, now=NOW + timedelta(minutes=5))  # overlapping
    assert again.status == "ok" and again.set_aside == 1
    row = session.scalars(sa.select(QuarantinedRecord)).one()  # one row, tried twice
    assert row.platform_key == "1:buyer" and row.attempts == 2 and "buyer_nick" in row.error
    assert count(session, Review) == 1

    login(client, make_user(Role.ADMIN))
    page = client.get("/admin/sources").get_data(as_text=True)
    assert "暂存的评价" in page and "1:buyer" in page and "超过 64 个字符" in page
    answer = client.post(
        f"/admin/quarantine/{row.id}/retry",
        data={"csrf_token": csrf_token(client, "/admin/sources")},
        follow_redirects=True,
    )
    assert "仍无法入库" in answer.get_data(as_text=True)
    assert session.scalars(sa.select(QuarantinedRecord.attempts)).one() == 3


def test_a_review_dated_ahead_is_set_aside_and_stored_on_retry_once_its_time_has_come(
    app,
    session: Session,
    shop: Shop,  # type: ignore[no-untyped-def]
) -> None:
    ahead = ReviewRecord("9:buyer", "小鱼", Rating.BAD, "太差了", NOW + timedelta(days=1))
    with session.begin_nested():
        result = quarantine.ingest_guarded(
            session, shop, [ahead], source="push", now=NOW, scorer=None, settings=SETTINGS
        )
    assert result.set_aside == 1 and result.new == 0
    row = session.scalars(sa.select(QuarantinedRecord)).one()
    assert "在未来" in row.error
    assert not quarantine.retry(session, row, now=NOW, settings=SETTINGS)
    assert quarantine.retry(session, row, now=NOW + timedelta(days=2), settings=SETTINGS)
    assert count(session, QuarantinedRecord) == 0 and count(session, Review) == 1


def test_a_record_the_database_refuses_is_found_and_set_aside_alone(
    session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the database still refuses (here: a simulated DataError for one review) is
    isolated one by one in savepoints; the others of the batch are stored."""
    real = intake._new_review

    def refusing(batch, record, now):  # type: ignore[no-untyped-def]
        if record.platform_key == "2:buyer":
            raise sa.exc.DataError("INSERT INTO reviews", {}, ValueError("refused"))
        return real(batch, record, now)

    monkeypatch.setattr(intake, "_new_review", refusing)
    records = [
        ReviewRecord(f"{i}:buyer", f"买家{i}", Rating.BAD, "太差了", NOW - timedelta(hours=1))
        for i in (1, 2, 3)
    ]
    with session.begin_nested():
        result = quarantine.ingest_guarded(
            session, shop, records, source="top", now=NOW, scorer=None, settings=SETTINGS
        )
    assert (result.new, result.set_aside) == (2, 1)
    assert session.scalars(sa.select(Review.platform_key).order_by(Review.platform_key)).all() == [
        "1:buyer",
        "3:buyer",
    ]
    row = session.scalars(sa.select(QuarantinedRecord)).one()
    assert row.platform_key == "2:buyer" and "refused" in row.error
    assert quarantine.from_json(row.payload) == records[1]  # kept whole, to retry as it was


def test_a_database_outage_is_not_blamed_on_a_record(
    session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionError("server closed"))

    monkeypatch.setattr(intake, "_new_review", down)
    record = ReviewRecord("1:buyer", "甲", Rating.BAD, "差", NOW - timedelta(hours=1))
    with pytest.raises(sa.exc.OperationalError), session.begin_nested():
        quarantine.ingest_guarded(
            session, shop, [record], source="top", now=NOW, scorer=None, settings=SETTINGS
        )
    assert count(session, QuarantinedRecord) == 0
