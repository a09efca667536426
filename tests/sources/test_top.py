"""The TOP poller against a local gateway that checks signatures and parameters."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import count
from tests.fakes import KeywordScorer
from tests.top_server import FakeTop, serve
from tracker.domain.platform_rules import RULES
from tracker.domain.segments import LevelBasis, MemberLevels
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, PullRun, Review, Shop
from tracker.models.enums import CaseOutcome, Platform, Rating
from tracker.services.intake import IntakeSettings
from tracker.services.pulls import pull_shop
from tracker.sources.contract import (
    PlatformMember,
    RateLimited,
    Refused,
    SourceError,
    SourceOptions,
    StoredReview,
    windows,
)
from tracker.sources.http import JsonHttp
from tracker.sources.top import MAX_WINDOW, TopSource, grade_rules, sign

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
SETTINGS = IntakeSettings(WorkingHours(tz=SH, periods=((time(9), time(22)),)), DeadlinePolicy())


def test_signature_matches_known_vectors() -> None:
    """Expected digests computed outside Python (coreutils md5sum, openssl dgst -hmac)."""
    params = {
        "method": "taobao.traderates.get",
        "app_key": "12345678",
        "session": "test-session",
        "timestamp": "2026-11-23 10:00:00",
        "format": "json",
        "v": "2.0",
        "sign_method": "md5",
        "fields": "tid,oid",
        "rate_type": "get",
        "role": "buyer",
    }
    assert sign(params, "helloworld", "md5") == "EB52137274B250D449E9A0EE9D85E271"
    assert (
        sign(params | {"sign": "ignored"}, "helloworld", "md5")
        == "EB52137274B250D449E9A0EE9D85E271"
    )
    hmac_params = params | {"sign_method": "hmac"}
    assert sign(hmac_params, "helloworld", "hmac") == "54AC164BC2C644A73BE90A82C03B31FE"


def test_windows_cover_the_range_without_gaps() -> None:
    start = datetime(2026, 11, 1, 8, tzinfo=SH)
    parts = list(windows(start, start + timedelta(days=2, hours=5), MAX_WINDOW))
    assert parts[0][0] == start and parts[-1][1] == start + timedelta(days=2, hours=5)
    assert all(a[1] == b[0] for a, b in pairwise(parts))
    assert len(parts) == 3


def client(
    fake: FakeTop, method: str = "md5", secret: str | None = None, **kw: object
) -> TopSource:
    creds = {
        "app_key": fake.app_key,
        "app_secret": secret or fake.secret,
        "session": fake.session,
        "sign_method": method,
    }
    options = {"backoff": 0.0, "timeout": 2.0} | kw
    return TopSource(creds, SourceOptions(clock=lambda: NOW, url=fake.url, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["md5", "hmac"])
def test_pages_are_read_and_parsed(method: str) -> None:
    fake = FakeTop()
    for i in range(320):
        fake.add_rate(
            f"{1000 + i}",
            f"2026-11-22 {8 + i // 60:02d}:{i % 60:02d}:00",
            result="good" if i % 2 else "neutral",
            content=f"第{i}条",
        )
    with serve(fake):
        records = client(fake, method).traderates(
            datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH)
        )
    assert fake.problems == []
    assert len(records) == 320 and len({r.platform_key for r in records}) == 320
    assert [int(r["page_no"]) for r in fake.requests] == [1, 2, 3]
    assert all(r["page_size"] == "150" for r in fake.requests)
    first = records[0]
    assert first.platform_key == "1000:buyer" and first.rating is Rating.NEUTRAL
    assert first.posted_at == datetime(2026, 11, 22, 8, 0, tzinfo=SH)
    assert first.item_id == "620001" and str(first.item_price) == "39.90"


def test_a_full_window_is_split_until_it_fits() -> None:
    fake = FakeTop()
    for i in range(2000):  # 2,000 reviews in six hours: more than one query may return
        minute = i * 6 * 60 // 2000
        fake.add_rate(
            f"{5000 + i}", f"2026-11-11 {minute // 60:02d}:{minute % 60:02d}:{i % 60:02d}"
        )
    with serve(fake):
        parts = list(
            client(fake).fetch(
                datetime(2026, 11, 11, tzinfo=SH), datetime(2026, 11, 11, 6, tzinfo=SH)
            )
        )
    keys = [r.platform_key for part in parts for r in part.records]
    assert len(keys) == len(set(keys)) == 2000
    assert len(parts) >= 2 and fake.problems == []


def test_transient_failures_are_retried() -> None:
    fake = FakeTop()
    fake.add_rate("1", "2026-11-22 10:00:00")
    fake.faults = ["502", "502"]
    with serve(fake):
        records = client(fake).traderates(
            datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH)
        )
    assert len(records) == 1 and len(fake.requests) == 3


def test_timeouts_retry_then_give_up() -> None:
    fake = FakeTop()
    fake.faults = ["slow"] * 5
    with serve(fake), pytest.raises(SourceError) as info:
        client(fake, timeout=0.2, retries=1).traderates(
            datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH)
        )
    assert info.value.code == "timeout"


def test_api_errors_and_malformed_answers_are_raised_with_their_codes() -> None:
    fake = FakeTop()
    with serve(fake):
        fake.faults = ["api"]
        with pytest.raises(SourceError) as info:
            client(fake).traderates(NOW - timedelta(hours=1), NOW)
        assert info.value.code == "27/invalid-sessionkey"
        fake.faults = ["malformed"]
        with pytest.raises(SourceError) as info:
            client(fake).traderates(NOW - timedelta(hours=1), NOW)
        assert info.value.code == "malformed"
        wrong = client(fake, secret="wrong-secret")
        with pytest.raises(SourceError) as info:
            wrong.traderates(NOW - timedelta(hours=1), NOW)
        assert info.value.code == "25" and fake.problems == ["signature mismatch"]


def test_the_apps_call_limit_is_told_apart_with_how_long_it_lasts() -> None:
    """TOP's code 7 (App Call Limited) is the app's quota, not the shop's failure."""
    fake = FakeTop()
    with serve(fake):
        fake.faults = ["limited"]
        with pytest.raises(RateLimited) as info:
            client(fake).traderates(NOW - timedelta(hours=1), NOW)
    assert info.value.code == "7/accesscontrol.limited-by-app-access-count"
    assert info.value.retry_after == 3.0


def test_http_429_is_a_rate_limit_on_any_gateway() -> None:
    from tests.platform_servers import Fake
    from tests.platform_servers import serve as serve_plain

    class Busy(Fake):
        def handle(self, method, path, query, body, content_type):  # type: ignore[no-untyped-def]
            return 429, "slow down"

    with serve_plain(Busy()) as busy:
        http = JsonHttp(SourceOptions(clock=lambda: NOW, url=busy.url, timeout=2, retries=0))
        with pytest.raises(RateLimited) as info:
            http.request("GET", busy.url)
    assert info.value.code == "http-429" and info.value.retry_after is None


# -- pulling into the database -----------------------------------------------------------
def pull(
    session: Session,
    shop: Shop,
    fake: FakeTop,
    now: datetime = NOW,
    settings: IntakeSettings = SETTINGS,
) -> PullRun:
    return pull_shop(
        session,
        shop,
        client(fake),
        source_name="top",
        now=now,
        scorer=KeywordScorer(),
        settings=settings,
    )


def test_pull_stores_reviews_opens_cases_and_moves_the_mark(session: Session, shop: Shop) -> None:
    fake = FakeTop()
    fake.add_rate("1", "2026-11-22 09:00:00", result="bad")
    fake.add_rate("2", "2026-11-22 09:05:00", result="good", content="很好")
    with serve(fake):
        run = pull(session, shop, fake)
    assert (run.status, run.pulled, run.new, run.cases_opened) == ("ok", 2, 2, 1)
    assert shop.pulled_until == NOW
    assert run.window_start == NOW - timedelta(days=30)


def test_an_error_mid_pull_leaves_no_partial_state_and_the_next_pull_completes(
    session: Session, shop: Shop
) -> None:
    fake = FakeTop()
    for i in range(200):  # window 1 (Nov 21) has 200 reviews over two pages
        fake.add_rate(f"{100 + i}", f"2026-11-21 12:{i % 60:02d}:{i // 60:02d}")
    fake.add_rate("999", "2026-11-22 12:00:00")  # window 2
    shop.pulled_until = datetime(2026, 11, 21, 0, 10, tzinfo=SH)
    session.commit()
    with serve(fake):
        fake.faults = [None, "api"]  # type: ignore[list-item]  # page 2 of the first window fails
        failed = pull(session, shop, fake)
        assert failed.status == "error" and failed.error_code == "27/invalid-sessionkey"
        assert count(session, Review) == 0 and count(session, Case) == 0
        assert shop.pulled_until == datetime(2026, 11, 21, 0, 10, tzinfo=SH)  # not moved
        done = pull(session, shop, fake, now=NOW + timedelta(minutes=10))
    assert done.status == "ok" and count(session, Review) == 201
    assert count(session, Case) == 201
    assert session.scalar(sa.select(sa.func.count(PullRun.id))) == 2


def test_pulling_again_creates_nothing_twice(session: Session, shop: Shop) -> None:
    fake = FakeTop()
    fake.add_rate("1", "2026-11-23 09:55:00")
    with serve(fake):
        pull(session, shop, fake)
        again = pull(session, shop, fake, now=NOW + timedelta(minutes=5))  # overlapping window
    assert (again.pulled, again.new) == (1, 0)
    assert count(session, Review) == 1 and count(session, Case) == 1


@pytest.fixture
def client_as_admin(app, session: Session, make_user):  # type: ignore[no-untyped-def]
    from tests.conftest import login
    from tracker.models.enums import Role

    web = app.test_client()
    login(web, make_user(Role.ADMIN))
    return web


def test_a_misbehaving_source_stores_everything_once_and_shows_its_problems(
    session: Session, shop: Shop, client_as_admin
) -> None:  # type: ignore[no-untyped-def]
    """Errors, timeouts, malformed answers, pages served twice, reviews out of order."""
    fake = FakeTop()
    for i in range(250):  # one day: several pages
        bad = i % 5 == 0
        fake.add_rate(
            f"{1000 + i}",
            f"2026-11-22 {8 + i // 60:02d}:{i % 60:02d}:00",
            result="bad" if bad else "good",
            content="太差了" if bad else "很好",
        )
    shop.pulled_until = datetime(2026, 11, 22, 0, 0, tzinfo=SH)
    session.commit()
    moments = iter(NOW + timedelta(minutes=10 * n) for n in range(10))
    with serve(fake):
        fake.faults = ["malformed"]
        assert pull(session, shop, fake, next(moments)).error_code == "malformed"
        fake.faults = ["api"]
        assert pull(session, shop, fake, next(moments)).status == "error"
        assert count(session, Review) == 0  # failed pulls leave nothing behind
        fake.faults = ["shuffle", "duplicate", "502", "shuffle", "duplicate"]
        done = pull(session, shop, fake, next(moments))
        assert done.status == "ok"
        fake.faults = ["duplicate"] * 5
        again = pull(session, shop, fake, next(moments))  # overlapping window, pages twice
    assert again.status == "ok" and again.new == 0
    assert count(session, Review) == 250 and count(session, Case) == 50
    keys = session.scalars(sa.select(Review.platform_key)).all()
    assert len(keys) == len(set(keys))
    page = client_as_admin.get("/admin/sources").get_data(as_text=True)
    assert "malformed" in page and "27/invalid-sessionkey" in page  # the problems, visible


# -- 店铺会员管理: level rules and each buyer's level -----------------------------------------


def test_level_rules_go_as_tops_parallel_lists_in_fen_and_thousandths() -> None:
    levels = MemberLevels(
        LevelBasis.SPEND,
        (Decimal("100"), Decimal("500.5"), Decimal("2000")),
        (Decimal("9.8"), Decimal("9.5"), Decimal("8.88")),
    )
    assert grade_rules(levels) == {
        "grade": "1,2,3",
        "discount": "980,950,888",
        "hierarchy": "true,true,true",
        "amount": "10000,50050,200000",
    }
    fake = FakeTop()
    with serve(fake):
        client(fake).set_level_rules(levels)
        by_orders = MemberLevels(
            LevelBasis.ORDERS, (Decimal(2), Decimal(5)), (Decimal(10), Decimal(9))
        )
        client(fake, "hmac").set_level_rules(by_orders)
    assert fake.problems == []
    assert fake.grade_rules == {
        "grade": ["1", "2"],
        "discount": ["1000", "900"],
        "hierarchy": ["true", "true"],
        "amount": [],
        "count": ["2", "5"],
    }


def test_level_rules_without_discounts_are_refused_before_any_call() -> None:
    fake = FakeTop()
    with serve(fake), pytest.raises(SourceError, match="折扣") as caught:
        client(fake).set_level_rules(MemberLevels(LevelBasis.SPEND, (Decimal("100"),)))
    assert caught.value.code == "no-discounts" and fake.requests == []


def test_a_buyers_level_goes_by_ouid_or_by_nick_and_a_refusal_is_the_buyers_own() -> None:
    fake = FakeTop()
    fake.members = {"AAEx9-ouid": 0, "老顾客": 1}
    with serve(fake):
        top = client(fake)
        top.set_member_level(PlatformMember("t**1", "AAEx9-ouid"), 3)
        top.set_member_level(PlatformMember("老顾客"), 2)
        with pytest.raises(Refused) as refused:
            top.set_member_level(PlatformMember("路人"), 1)
        with pytest.raises(SourceError, match="1–4"):
            top.set_member_level(PlatformMember("老顾客"), 0)
        fake.faults = ["api"]  # the session lapsed: the call fails, not the buyer
        with pytest.raises(SourceError) as failed:
            top.set_member_level(PlatformMember("老顾客"), 2)
    assert fake.problems == []
    assert fake.members == {"AAEx9-ouid": 3, "老顾客": 2}
    assert [r["method"] for r in fake.requests[:2]] == [
        "taobao.crm.memberinfo.update.privy",
        "taobao.crm.memberinfo.update",
    ]
    assert "buyer_nick" not in fake.requests[0] and fake.requests[1]["buyer_nick"] == "老顾客"
    assert refused.value.code == "15/isv.member-not-exist"
    assert not isinstance(failed.value, Refused) and failed.value.code == "27/invalid-sessionkey"


# -- reading open cases' reviews again ----------------------------------------------------
def test_an_open_cases_review_is_read_again_by_its_order_and_a_revision_closes_it(
    session: Session, shop: Shop
) -> None:
    fake = FakeTop()
    fake.add_rate("1001", "2026-11-20 09:00:00", result="bad", content="橙子坏了")
    fake.add_rate("1002", "2026-11-20 09:30:00", result="good", content="很甜")
    with serve(fake):
        pull(session, shop, fake)
        fake.rates[0] |= {"result": "good", "content": "补发的很好"}  # TOP keeps created
        fake.requests.clear()
        run = pull(session, shop, fake, now=NOW + timedelta(hours=1))
    assert not fake.problems
    by_order = [r for r in fake.requests if r.get("tid")]
    assert [r["tid"] for r in by_order] == ["1001"]  # only the open case's, by its 子订单
    assert "start_date" not in by_order[0] and by_order[0]["sign"]
    assert not [r for r in fake.requests if r["method"] == "tmall.traderate.feeds.get"]
    assert (run.reread, run.revised, run.cases_closed) == (1, 1, 1)
    case = session.scalars(sa.select(Case)).one()
    assert case.outcome is CaseOutcome.REVIEW_REVISED


@pytest.fixture
def tmall(make_shop) -> Shop:  # type: ignore[no-untyped-def]
    return make_shop(platform=Platform.TMALL)


def test_on_tmall_a_happy_follow_up_from_the_review_feed_closes_the_case(
    session: Session, tmall: Shop
) -> None:
    fake = FakeTop()
    fake.add_rate("2001", "2026-11-21 09:00:00", result="bad", content="收到就是坏的")
    fake.add_rate("2002", "2026-11-21 10:00:00", result="neutral", content="一般，有点小")
    fake.add_rate("2003", "2026-11-21 11:00:00", result="bad", content="太差了")
    settings = dataclasses.replace(SETTINGS, rules=RULES[Platform.TMALL])
    with serve(fake):
        pull(session, tmall, fake, settings=settings)
        fake.feeds["2001"] = ("客服很负责，补发的很好，满意", "2026-11-23 10:40:00")
        fake.feeds["2002"] = ("洗了一次就坏了", "2026-11-23 10:20:00")
        # 2003: the feed does not know it (TOP's isv error): the list's record stands
        run = pull(session, tmall, fake, now=NOW + timedelta(hours=1), settings=settings)
        feeds = [r for r in fake.requests if r["method"] == "tmall.traderate.feeds.get"]
        assert sorted(r["child_trade_id"] for r in feeds) == ["2001", "2002", "2003"]
        fake.requests.clear()
        later = pull(session, tmall, fake, now=NOW + timedelta(hours=2), settings=settings)
    assert not fake.problems
    assert run.status == "ok" and (run.reread, run.revised, run.cases_closed) == (3, 2, 1)
    review = session.scalars(sa.select(Review).where(Review.platform_key == "2001:buyer")).one()
    assert review.follow_up_text == "客服很负责，补发的很好，满意"
    assert review.rating is Rating.BAD  # Tmall: the review itself never changes
    case = session.scalars(sa.select(Case).where(Case.review_id == review.id)).one()
    assert case.outcome is CaseOutcome.POSITIVE_FOLLOW_UP
    assert case.closed_at == datetime(2026, 11, 23, 10, 40, tzinfo=SH)  # the 追评's own time
    still_open = session.scalars(sa.select(Case).where(Case.closed_at.is_(None))).all()
    assert len(still_open) == 2  # an unhappy 追评, and one the feed did not know
    # a buyer adds one 追评: 2002's is held, so only 2003 is asked at the feed again
    assert later.reread == 2
    asked = [r["child_trade_id"] for r in fake.requests if "child_trade_id" in r]
    assert asked == ["2003"]


def test_a_feed_answer_without_its_time_is_malformed() -> None:
    fake = FakeTop()
    fake.add_rate("3001", "2026-11-21 09:00:00")
    fake.feeds["3001"] = ("好了", None)
    stored = StoredReview("3001:buyer", NOW, NOW)
    with serve(fake), pytest.raises(SourceError) as info:
        client(fake).reread([stored], Platform.TMALL)
    assert info.value.code == "malformed"
