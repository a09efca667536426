"""Member levels pushed to the platform's member API: only what it accepted counts, a
refusal stays with its buyer, a run cut short continues, and nothing is pushed twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.services.test_segments import buyer_with
from tests.top_server import FakeTop, serve
from tracker.domain.segments import LevelBasis, MemberLevels
from tracker.models import AuditEvent, Buyer, Order, Shop, User
from tracker.models.enums import Role
from tracker.services import level_sync, segments
from tracker.services.errors import FieldError
from tracker.sources import registry
from tracker.sources.contract import SourceOptions
from tracker.sources.top import TopSource

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=SH)
LEVELS = MemberLevels(
    LevelBasis.SPEND,
    (Decimal("100"), Decimal("500"), Decimal("2000")),
    (Decimal("9.8"), Decimal("9.5"), Decimal("9")),
)


@pytest.fixture
def fake() -> Iterator[FakeTop]:
    fake = FakeTop()
    with serve(fake):
        yield fake


def top(fake: FakeTop) -> TopSource:
    credentials = {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}
    options = SourceOptions(clock=lambda: NOW, url=fake.url, timeout=2.0, backoff=0.0)
    return TopSource(credentials, options)


def a_shop(session: Session, shop: Shop, levels: MemberLevels = LEVELS) -> dict[str, Buyer]:
    shop.member_levels, shop.level_sync = levels.to_dict(), True
    buyers = {
        "big": buyer_with(session, shop, "大客户", [(5, "3000")]),  # level 3
        "mid": buyer_with(session, shop, "回头客", [(9, "300"), (20, "300")]),  # level 2
        "small": buyer_with(session, shop, "新客", [(3, "150")]),  # level 1
        "none": buyer_with(session, shop, "看看", [(3, "50")]),  # level 0: nothing to push
        "masked": buyer_with(session, shop, "t**9", [(3, "600")]),  # no OUID to name them by
        "stranger": buyer_with(session, shop, "路人", [(3, "200")]),  # not a member there
    }
    buyers["big"].platform_nick = "d**1"
    buyers["big"].platform_buyer_id = "AAE-big-ouid"  # masked nick, but an OUID
    session.commit()
    segments.recompute(session, shop, now=NOW)
    return buyers


def run(session: Session, shop: Shop, fake: FakeTop) -> level_sync.SyncReport:
    return level_sync.sync(session, shop, top(fake), now=NOW, clock=lambda: NOW)


def test_only_levels_the_platform_accepted_are_recorded(
    session: Session, shop: Shop, fake: FakeTop
) -> None:
    buyers = a_shop(session, shop)
    fake.members = {"AAE-big-ouid": 0, "回头客": 0, "新客": 1}
    report = run(session, shop, fake)
    assert fake.problems == []
    assert (report.rules, report.confirmed, report.refused, report.unreachable) == (
        "pushed",
        3,
        1,
        1,
    )
    assert report.waiting == 0 and report.error is None
    assert fake.grade_rules is not None and fake.grade_rules["amount"] == [
        "10000",
        "50000",
        "200000",
    ]
    assert fake.members == {"AAE-big-ouid": 3, "回头客": 2, "新客": 1}
    got = {k: session.get(Buyer, b.id) for k, b in buyers.items()}
    assert {k: b.platform_grade for k, b in got.items() if b is not None} == {
        "big": 3,
        "mid": 2,
        "small": 1,
        "none": None,
        "masked": None,
        "stranger": None,
    }
    assert got["stranger"] is not None and "isv.member-not-exist" in (
        got["stranger"].platform_grade_error or ""
    )
    assert shop.level_synced_at == NOW and shop.level_sync_requested_at is None
    assert shop.level_sync_report is not None and shop.level_sync_report["confirmed"] == 3
    assert level_sync.state(session, shop) == level_sync.SyncState(
        confirmed=3, pending=2, refused=1
    )


def test_the_next_run_sends_only_what_changed(session: Session, shop: Shop, fake: FakeTop) -> None:
    buyers = a_shop(session, shop)
    fake.members = {"AAE-big-ouid": 0, "回头客": 0, "新客": 1}
    run(session, shop, fake)
    before = len(fake.requests)
    again = run(session, shop, fake)
    # the rules are as the platform has them; only the buyer it refused is asked again
    assert (again.rules, again.confirmed, again.refused) == ("unchanged", 0, 1)
    assert [r.get("buyer_nick") for r in fake.requests[before:]] == ["路人"]
    # 回头客 buys more and moves up: the nightly recompute asks for a run, which pushes them
    session.add(
        Order(
            shop_id=shop.id,
            tid="more",
            buyer_id=buyers["mid"].id,
            payment=Decimal("1500"),
            paid_at=NOW - timedelta(days=1),
        )
    )
    session.commit()
    segments.recompute(session, shop, now=NOW + timedelta(days=1))
    assert shop.level_sync_requested_at == NOW + timedelta(days=1)
    before = len(fake.requests)
    moved = run(session, shop, fake)
    assert moved.confirmed == 1 and fake.members["回头客"] == 3
    assert [r.get("buyer_nick") for r in fake.requests[before:]] == ["回头客", "路人"]


def test_a_rate_limit_stops_the_run_and_the_next_run_goes_on_from_there(
    session: Session, shop: Shop, fake: FakeTop
) -> None:
    a_shop(session, shop)
    fake.members = {"AAE-big-ouid": 0, "回头客": 0, "新客": 1}
    fake.faults = [None, None, "limited"]  # the rules, one buyer, then the app's quota
    cut = run(session, shop, fake)
    assert cut.throttled is not None and cut.throttled.retry_after == 3
    assert (cut.confirmed, cut.waiting) == (1, 4) and cut.error and "7" in cut.error
    assert shop.level_sync_requested_at is not None and shop.level_synced_at is None
    assert fake.members == {"AAE-big-ouid": 3, "回头客": 0, "新客": 1}
    rest = run(session, shop, fake)
    assert (rest.rules, rest.confirmed, rest.refused, rest.error) == ("unchanged", 2, 1, None)
    assert fake.members == {"AAE-big-ouid": 3, "回头客": 2, "新客": 1}
    updates = [r for r in fake.requests if r["method"].startswith("taobao.crm.memberinfo")]
    sent = [r.get("ouid") or r.get("buyer_nick") for r in updates]
    # the limited call was not accepted and was asked again; nothing accepted went twice
    assert sent == ["AAE-big-ouid", "回头客", "回头客", "新客", "路人"]


def test_rules_the_platform_cannot_take_stop_the_run_before_any_buyer(
    session: Session, shop: Shop, fake: FakeTop
) -> None:
    a_shop(session, shop, MemberLevels(LevelBasis.SPEND, (Decimal("100"), Decimal("500"))))
    report = run(session, shop, fake)
    assert report.rules == "failed" and report.error and "折扣" in report.error
    assert report.waiting == 5 and fake.requests == []
    assert shop.level_rules_synced is None and shop.level_sync_requested_at is not None
    assert shop.level_sync_report is not None and "折扣" in shop.level_sync_report["error"]


def test_syncing_is_turned_on_only_where_the_platform_has_a_member_api(
    session: Session,
    make_shop,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    admin: User = make_user(Role.ADMIN)
    shop: Shop = make_shop(code="lv1")
    top_adapter, jd_adapter = registry.named("top"), registry.named("jd")
    with pytest.raises(FieldError, match="门槛"):
        level_sync.set_enabled(session, shop, True, adapter=top_adapter, actor=admin, now=NOW)
    # TOP takes no level without its member price: said when syncing is turned on, not by
    # every run after it
    unpriced = MemberLevels(LevelBasis.SPEND, (Decimal("100"), Decimal("500")))
    shop.member_levels = unpriced.to_dict()
    session.commit()
    with pytest.raises(FieldError, match="须为每个等级填写会员折扣，请先在上面的会员等级里补上"):
        level_sync.set_enabled(session, shop, True, adapter=top_adapter, actor=admin, now=NOW)
    assert not shop.level_sync
    shop.member_levels = LEVELS.to_dict()
    session.commit()
    with pytest.raises(FieldError, match="导出会员等级"):
        level_sync.set_enabled(session, shop, True, adapter=jd_adapter, actor=admin, now=NOW)
    with pytest.raises(FieldError, match="导出会员等级"):
        level_sync.set_enabled(session, shop, True, adapter=None, actor=admin, now=NOW)
    level_sync.set_enabled(session, shop, True, adapter=top_adapter, actor=admin, now=NOW)
    assert shop.level_sync and shop.level_sync_requested_at == NOW
    # while it is on, levels TOP would turn down are not saved
    with pytest.raises(FieldError, match="已开启同步到平台，淘宝的会员等级规则须为每个等级填写"):
        segments.set_levels(session, shop, unpriced, adapter=top_adapter, actor=admin, now=NOW)
    assert shop.member_levels == LEVELS.to_dict()
    level_sync.set_enabled(session, shop, False, adapter=top_adapter, actor=admin, now=NOW)
    assert not shop.level_sync and shop.level_sync_requested_at is None
    segments.set_levels(session, shop, unpriced, adapter=top_adapter, actor=admin, now=NOW)
    assert shop.member_levels == unpriced.to_dict()  # off: the shop's own levels, as it likes
    changes = session.scalars(
        sa.select(AuditEvent.new_value).where(AuditEvent.field == "level_sync")
    ).all()
    assert len(changes) == 2  # the refused attempt left nothing
