"""The JD, Kuaishou and WeChat adapters against local stand-ins that check signatures and
page their answers; each bad answer becomes a SourceError the pull run records, and a pull
that failed half-way is completed by the next one, nothing stored twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import count
from tests.fakes import KeywordScorer
from tests.platform_servers import (
    Fake,
    FakeJd,
    FakeKuaishou,
    FakeWechat,
    epoch,
    jd_reference_sign,
    ks_reference_sign,
    serve,
)
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, PullRun, Review, Shop
from tracker.models.enums import Platform, Rating
from tracker.services.intake import IntakeSettings
from tracker.services.pulls import pull_shop
from tracker.sources import jd, kuaishou, registry, wechat
from tracker.sources.contract import (
    Capability,
    PostsReplies,
    RateLimited,
    Reconciles,
    ReviewSource,
    SourceError,
    SourceOptions,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
SETTINGS = IntakeSettings(WorkingHours(tz=SH, periods=((time(9), time(22)),)), DeadlinePolicy())


def options(fake: Fake, **kw: object) -> SourceOptions:
    return SourceOptions(clock=lambda: NOW, url=fake.url, **({"backoff": 0.0, "timeout": 2.0} | kw))  # type: ignore[arg-type]


# -- signatures against vectors computed outside Python (md5sum, openssl, sha1sum) ------
def test_jd_signature_matches_a_known_vector() -> None:
    params = {
        "method": "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos",
        "app_key": "k1",
        "access_token": "tok",
        "timestamp": "2026-11-23 10:00:00",
        "v": "2.0",
        "360buy_param_json": '{"page":1}',
    }
    assert jd.sign(params, "s3cret") == "54982F8F329D94988A5072F21265B7D0"
    assert jd.sign(params | {"sign": "x"}, "s3cret") == jd_reference_sign(params, "s3cret")


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("MD5", "7d5482711ab3c99d061731826345fc07"),
        ("HMAC_SHA256", "7JffhqbtHddGz3ZYMrCUpODb0fdZ6vxSPbct5DOe0Yc="),
    ],
)
def test_kuaishou_signature_matches_known_vectors(method: str, expected: str) -> None:
    params = {
        "access_token": "tok",
        "appkey": "ks_app",
        "method": "open.comment.list.get",
        "param": '{"limit":1,"offset":0}',
        "signMethod": method,
        "timestamp": "1795917600000",
        "version": "1",
    }
    assert kuaishou.sign(params, "signs3cret") == expected
    assert ks_reference_sign(params, "signs3cret") == expected


def test_wechat_push_signature_matches_a_known_vector() -> None:
    assert (
        wechat.push_signature("pushtok", "1704038400", "nonce42")
        == "0cc99c346286268d42aa2f9188a725fc9a00eeb6"
    )
    assert wechat.verify_push(
        "pushtok", "0cc99c346286268d42aa2f9188a725fc9a00eeb6", "1704038400", "nonce42"
    )
    assert not wechat.verify_push("pushtok", "0" * 40, "1704038400", "nonce42")
    assert not wechat.verify_push("", wechat.push_signature("", "1", "2"), "1", "2")


# -- one table of adapters for the behaviour every one must have -------------------------
Build = Callable[[Fake, dict[str, str] | None], ReviewSource]


def _jd(fake: Fake, override: dict[str, str] | None = None, **kw: object) -> ReviewSource:
    assert isinstance(fake, FakeJd)
    creds = {"app_key": fake.app_key, "app_secret": fake.secret, "access_token": fake.token}
    return jd.JdSource(creds | (override or {}), options(fake, **kw))


def _ks(fake: Fake, override: dict[str, str] | None = None, **kw: object) -> ReviewSource:
    assert isinstance(fake, FakeKuaishou)
    creds = {
        "app_key": fake.app_key,
        "sign_secret": fake.sign_secret,
        "access_token": fake.token,
        "sign_method": "HMAC_SHA256",
    }
    return kuaishou.KuaishouSource(creds | (override or {}), options(fake, **kw))


def _wx(fake: Fake, override: dict[str, str] | None = None, **kw: object) -> ReviewSource:
    assert isinstance(fake, FakeWechat)
    creds = {"app_id": fake.app_id, "app_secret": fake.app_secret, "push_token": "pt"}
    return wechat.WechatSource(creds | (override or {}), options(fake, **kw))


def _fill(fake: Fake, n: int, day: str = "2026-11-22") -> None:
    """n reviews over one day, every fifth one bad, the rest good; ids unique per day."""
    base = int(day[-2:]) * 1000
    for i in range(n):
        local = f"{day} {8 + i // 60:02d}:{i % 60:02d}:00"
        bad = i % 5 == 0
        text = "太差了" if bad else "很好"
        if isinstance(fake, FakeJd):
            fake.add(str(base + i), local, score=1 if bad else 5, content=text)
        elif isinstance(fake, FakeKuaishou):
            fake.add(base + i, epoch(local), stars=1 if bad else 5, content=text)
        elif isinstance(fake, FakeWechat):
            fake.add(str(base + i), epoch(local), stars=1 if bad else 5, content=text)


ADAPTERS: list[tuple[str, Callable[[], Fake], Build, str]] = [
    ("jd", FakeJd, _jd, "jd:"),
    ("kuaishou", FakeKuaishou, _ks, "ks:"),
    ("wechat", FakeWechat, _wx, "wx:"),
]
IDS = [a[0] for a in ADAPTERS]


@pytest.mark.parametrize(("name", "make", "build", "prefix"), ADAPTERS, ids=IDS)
def test_pages_are_read_parsed_and_windowed(name: str, make, build, prefix: str) -> None:  # type: ignore[no-untyped-def]
    fake = make()
    _fill(fake, 230)
    _fill(fake, 3, day="2026-11-21")
    with serve(fake):
        windows = list(build(fake).fetch(datetime(2026, 11, 21, tzinfo=SH), NOW))
    assert fake.problems == []
    records = [r for w in windows for r in w.records]
    assert len(records) == 233 and len({r.platform_key for r in records}) == 233
    assert all(r.platform_key.startswith(prefix) for r in records)
    assert [w.start for w in windows] == [
        datetime(2026, 11, 21, tzinfo=SH),
        datetime(2026, 11, 22, tzinfo=SH),
        datetime(2026, 11, 23, tzinfo=SH),
    ]  # one-day windows, in order, complete
    first = min(records, key=lambda r: r.posted_at)
    assert first.posted_at == datetime(2026, 11, 21, 8, 0, tzinfo=SH)
    ratings = {r.rating for r in records}
    assert ratings == {Rating.BAD, Rating.GOOD}
    assert sum(r.rating is Rating.BAD for r in records) == 46 + 1
    assert len(fake.requests) > 3  # paged: more than one request a day


@pytest.mark.parametrize(("name", "make", "build", "prefix"), ADAPTERS, ids=IDS)
def test_bad_answers_become_source_errors(name: str, make, build, prefix: str) -> None:  # type: ignore[no-untyped-def]
    fake = make()
    _fill(fake, 3)
    day = (datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH))
    with serve(fake):
        fake.faults = ["502", "502"]  # transient: retried
        assert len(next(iter(build(fake).fetch(*day))).records) == 3
        fake.faults = ["malformed"] * 3
        with pytest.raises(SourceError) as info:
            list(build(fake).fetch(*day))
        assert info.value.code == "malformed"
        fake.faults = ["slow"] * 3
        with pytest.raises(SourceError) as info:
            list(build(fake, None, timeout=0.2, retries=1).fetch(*day))
        assert info.value.code == "timeout"
        fake.faults = ["api"] * 3
        with pytest.raises(SourceError) as info:
            list(build(fake).fetch(*day))
        assert info.value.code not in ("malformed", "timeout", "network")
    refused = make()
    with serve(refused):
        wrong = {
            "jd": {"app_secret": "wrong"},
            "kuaishou": {"sign_secret": "wrong"},
            "wechat": {"app_secret": "wrong"},
        }[name]
        with pytest.raises(SourceError):
            build(refused, wrong).check()
        if name != "wechat":  # WeChat refuses the token request itself, before signing
            assert refused.problems == ["signature mismatch"]


@pytest.mark.parametrize(("name", "make", "build", "prefix"), ADAPTERS, ids=IDS)
def test_replies_go_to_the_platform(name: str, make, build, prefix: str) -> None:  # type: ignore[no-untyped-def]
    fake = make()
    with serve(fake):
        source = build(fake)
        assert isinstance(source, PostsReplies)
        source.post_reply(f"{prefix}1234", "亲，非常抱歉，已为您补发。")
        source.check()
    assert fake.replies == [("1234", "亲，非常抱歉，已为您补发。")] and fake.problems == []
    adapter = registry.named(name)
    assert adapter is not None and Capability.REPLY in adapter.capabilities


def test_wechat_reconciles_and_renews_a_revoked_token() -> None:
    fake = FakeWechat()
    fake.add("77", epoch("2026-11-22 09:00:00"))
    with serve(fake):
        source = wechat.WechatSource(
            {"app_id": fake.app_id, "app_secret": fake.app_secret}, options(fake)
        )
        assert isinstance(source, Reconciles)
        source.reconcile("wx:77", "已为您退款，问题已解决")
        fake.expire_token()  # revoked before its time: fetched again, once
        records = source.comments(
            datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH)
        )
    assert fake.compromises == [("77", "已为您退款，问题已解决")]
    assert [r.platform_key for r in records] == ["wx:77"] and fake.tokens_issued == 2
    assert fake.problems == []


def test_wechat_minute_quota_is_a_rate_limit() -> None:
    fake = FakeWechat()
    with serve(fake):
        source = wechat.WechatSource(
            {"app_id": fake.app_id, "app_secret": fake.app_secret}, options(fake)
        )
        source.access_token()
        fake.faults = ["limited"]
        with pytest.raises(RateLimited) as info:
            source.comments(datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH))
    assert info.value.code == "45011"


def test_jd_app_call_limited_is_a_rate_limit_and_other_gateway_errors_are_not() -> None:
    fake = FakeJd()
    start, end = datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH)
    with serve(fake):
        source = _jd(fake)
        fake.faults = ["limited"]
        with pytest.raises(RateLimited) as limited:
            list(source.fetch(start, end))
        fake.faults = ["api"]
        with pytest.raises(SourceError) as failed:
            list(source.fetch(start, end))
    assert limited.value.code == "2" and limited.value.retry_after is None
    assert not isinstance(failed.value, RateLimited) and failed.value.code == "19"


def test_kuaishou_app_quota_and_qps_are_rate_limits_a_shops_own_quota_is_not() -> None:
    fake = FakeKuaishou()
    start, end = datetime(2026, 11, 22, tzinfo=SH), datetime(2026, 11, 23, tzinfo=SH)
    outcomes = {}
    with serve(fake):
        source = _ks(fake)
        for fault in ("qps", "quota", "test-user"):
            fake.faults = [fault]
            with pytest.raises(SourceError) as info:
                list(source.fetch(start, end))
            outcomes[fault] = type(info.value)
    assert outcomes == {"qps": RateLimited, "quota": RateLimited, "test-user": SourceError}
    # one user's quota on one API, as the FAQ quotes it: that shop's, not the app's
    assert not kuaishou.app_throttled(
        "[1017] exceed quota limit,[apiId:open.item.category.suggested.get;primaryUserId:36]"
    )
    assert not kuaishou.app_throttled("access_token已过期")


def test_wechat_bad_review_event_is_read_from_json_and_xml() -> None:
    xml = (
        b"<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><CreateTime>1704038400</CreateTime>"
        b"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_comment_bad_score]]></Event>"
        b"<result><comment_id>2272502024443330610</comment_id></result></xml>"
    )
    assert wechat.pushed_comment_id(xml, "text/xml") == "2272502024443330610"
    body = b'{"MsgType":"event","Event":"wxa_comment_bad_score","result":{"comment_id":"9"}}'
    assert wechat.pushed_comment_id(body, "application/json") == "9"
    assert wechat.pushed_comment_id(b'{"Event":"other"}', "application/json") is None
    assert wechat.pushed_comment_id(b"<xml><broken", "text/xml") is None
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Event>&a;</Event></xml>'
    assert wechat.pushed_comment_id(bomb, "text/xml") is None


def test_registry_covers_each_platform_once() -> None:
    assert {p for a in registry.ADAPTERS.values() for p in a.platforms} == {
        Platform.TAOBAO,
        Platform.TMALL,
        Platform.JD,
        Platform.KUAISHOU,
        Platform.WECHAT,
    }
    assert registry.for_platform(Platform.DOUYIN) is None  # file import
    assert registry.for_platform(Platform.PINDUODUO) is None
    for adapter in registry.ADAPTERS.values():
        assert [name for name, _ in adapter.problems({})] == [
            f.name for f in adapter.fields if not f.choices
        ]
        with pytest.raises(SourceError, match="凭据不完整"):
            adapter.complete({})
        choice = next((f for f in adapter.fields if f.choices), None)
        if choice is not None:
            assert adapter.problems({choice.name: "sha1"})[-1][0] == choice.name


# -- pulling into the database through every adapter -------------------------------------
def _puller(
    session: Session, shop: Shop, fake: Fake, build: Build, name: str
) -> Callable[[datetime], PullRun]:
    """A pull of ``shop`` through the adapter ``build`` makes against ``fake``, at a time."""

    def pull(now: datetime) -> PullRun:
        return pull_shop(
            session,
            shop,
            build(fake, None),
            source_name=name,
            now=now,
            scorer=KeywordScorer(),
            settings=SETTINGS,
        )

    return pull


@pytest.mark.parametrize(("name", "make", "build", "prefix"), ADAPTERS, ids=IDS)
def test_a_failed_pull_is_completed_by_the_next_with_nothing_twice(
    name: str,
    make,
    build,
    prefix: str,
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    shop: Shop = make_shop()
    fake = make()
    _fill(fake, 120, day="2026-11-21")
    _fill(fake, 60, day="2026-11-22")
    shop.pulled_until = datetime(2026, 11, 21, 0, 10, tzinfo=SH)
    session.commit()

    pull = _puller(session, shop, fake, build, name)
    with serve(fake):
        fake.faults = [None, None, "api"] if name == "wechat" else [None, "api"]
        failed = pull(NOW)
        assert failed.status == "error" and failed.error_code
        stored = count(session, Review)
        assert stored in (0, 120)  # whole windows only
        fake.faults = ["duplicate"] * 4
        done = pull(NOW + timedelta(minutes=10))
        again = pull(NOW + timedelta(minutes=20))
    assert fake.problems == []
    assert done.status == "ok" and again.status == "ok" and again.new == 0
    assert count(session, Review) == 180 and count(session, Case) == 36
    keys = session.scalars(sa.select(Review.platform_key)).all()
    assert len(keys) == len(set(keys))
    assert session.scalars(sa.select(PullRun.source).distinct()).all() == [name]


@pytest.mark.parametrize(("name", "make", "build", "prefix"), ADAPTERS, ids=IDS)
def test_a_revision_reaches_intake_by_asking_the_listing_at_its_posting_time(
    name: str,
    make,
    build,
    prefix: str,
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    """These platforms are read again through their own listing, over the second the
    review was posted (tracker.services.rereads): the month is not listed again."""
    shop: Shop = make_shop()
    fake = make()
    _fill(fake, 5, day="2026-11-21")  # the first is bad

    pull = _puller(session, shop, fake, build, name)
    with serve(fake):
        pull(NOW)
        bad = fake.comments[0]
        if isinstance(fake, FakeJd):
            bad |= {"score": 5, "content": "问题解决了，很好"}
        elif isinstance(fake, FakeKuaishou):
            bad |= {"qualityScore": 5, "content": "问题解决了，很好"}
        else:
            bad |= {"score": 500, "content": {"content": "问题解决了，很好"}}
        fake.requests.clear()
        run = pull(NOW + timedelta(hours=1))
    assert fake.problems == []
    assert (run.status, run.reread, run.revised, run.cases_closed) == ("ok", 1, 1, 1)
    asked = [r for r in fake.requests if "token" not in str(r.get("path", ""))]
    assert len(asked) == 2  # the listing since the mark, and the one second asked again
