"""The end of a shop's retention period: who loses their personal data at night, what goes,
what stays, and how it is logged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import (
    ZHENG,
    add_sale,
    buyer_with_order,
    give_profile,
    logged_attempt,
    open_case,
)
from tracker.domain.retention import REQUEST, RETENTION
from tracker.models import (
    AuditEvent,
    Buyer,
    Case,
    ContactAttempt,
    ContactHandle,
    Order,
    Shop,
    User,
)
from tracker.models.enums import AttemptOutcome, CaseStatus, Role
from tracker.services import access_log, buyer_profiles, erasure, retention
from tracker.services.buyer_profiles import Profile
from tracker.services.reports import Period

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 3, 30, tzinfo=SH)
LONG_AGO = NOW - timedelta(days=400)


def old_buyer(session: Session, shop: Shop, nick: str, paid_at: datetime = LONG_AGO) -> Buyer:
    buyer = buyer_with_order(
        session, shop, nick, phone="13812345678", paid_at=paid_at, name="郑俊杰"
    )
    session.commit()
    return buyer


def case_of(
    session: Session, shop: Shop, nick: str, key: str, *, closed_at: datetime | None
) -> Case:
    """A case opened 400 days ago on the buyer's bad review; closed then, or still open."""
    case = open_case(session, shop, key=key, nick=nick, at=LONG_AGO)
    assert case.buyer is not None
    give_profile(case.buyer)
    if closed_at is not None:
        case.status, case.closed_at = CaseStatus.UNRECOVERED, closed_at
    session.commit()
    return case


def test_buyers_past_the_period_lose_their_data_and_the_rest_keep_it(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    shop.personal_data_retention_days = 365
    gone = old_buyer(session, shop, "沉睡买家")
    ordered = old_buyer(session, shop, "近期下单", paid_at=NOW - timedelta(days=30))
    review = add_sale(session, shop, nick="近期改评", key="9", at=LONG_AGO)
    review.posted_at = NOW - timedelta(days=20)  # changed its review lately
    reviewed = review.buyer
    give_profile(reviewed)
    still_open = case_of(session, shop, "未结案件", "2", closed_at=None)
    closed_lately = case_of(session, shop, "近期结案", "3", closed_at=NOW - timedelta(days=100))
    closed_long_ago = case_of(
        session, shop, "早已结案", "4", closed_at=LONG_AGO + timedelta(days=5)
    )
    agent = make_user(Role.AGENT, shops=[shop])
    logged_attempt(
        session,
        closed_long_ago.id,
        agent.id,
        LONG_AGO + timedelta(days=1),
        outcome=AttemptOutcome.AGREED,
        notes="郑俊杰说改打 139 8765 4321",
    )
    gone.preferences = "喜欢下午送货，住文三路"
    session.add(
        AuditEvent(
            occurred_at=LONG_AGO,
            actor_id=agent.id,
            entity_type="buyer",
            entity_id=gone.id,
            field="preferences",
            old_value=None,
            new_value=gone.preferences,
        )
    )
    session.commit()

    assert retention.due(session, shop, NOW) == 2
    done = retention.expire(session, shop, now=NOW)
    assert (done.buyers, done.numbers, done.notes) == (2, 2, 1)

    session.expire_all()
    for buyer in (gone, closed_long_ago.buyer):
        assert buyer is not None
        assert buyer_profiles.opened(buyer) == Profile() and buyer.name_hint is None
        assert (buyer.personal_data_erased_at, buyer.personal_data_erased_why) == (NOW, RETENTION)
        handles = session.scalars(
            sa.select(ContactHandle).where(ContactHandle.buyer_id == buyer.id)
        )
        assert [(h.sealed, h.erased_at) for h in handles] == [(None, NOW)]
    for kept in (ordered, reviewed, still_open.buyer, closed_lately.buyer):
        assert kept is not None
        assert buyer_profiles.opened(kept).name == "郑俊杰", kept.platform_nick
        assert kept.personal_data_erased_at is None
    # the records stay under the nick; what staff wrote keeps its words, less the identifiers
    assert session.get(Case, closed_long_ago.id) is not None
    attempt = session.scalars(
        sa.select(ContactAttempt).where(ContactAttempt.case_id == closed_long_ago.id)
    ).one()
    assert attempt.notes == "〔已删除〕说改打 〔已删除〕"
    assert gone.preferences == ""
    noted = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "preferences")).one()
    assert (noted.actor_id, noted.old_value, noted.new_value) == (
        agent.id,
        None,
        "（保存期满，已删除）",
    )

    day = NOW.astimezone(SH).date()
    logged = access_log.entries(session, shop.id, Period(day, day, SH))
    assert sorted(e.buyer for e in logged) == ["早已结案", "沉睡买家"]
    assert {(e.who, e.what) for e in logged} == {("系统", "删除个人信息")}
    assert all("依据：保存期满（365 天内无订单、评价或案件）" in e.detail for e in logged)
    assert any("记录中写到的号码姓名地址 1 处" in e.detail for e in logged)

    # nothing is left to erase: a second night changes nothing
    assert retention.due(session, shop, NOW + timedelta(days=1)) == 0
    assert retention.expire(session, shop, now=NOW + timedelta(days=1)).buyers == 0


def test_a_shop_without_a_period_keeps_everything(session: Session, shop: Shop) -> None:
    shop.personal_data_retention_days = None
    buyer = old_buyer(session, shop, "沉睡买家", paid_at=NOW - timedelta(days=4000))
    assert retention.stale(shop, NOW) is None
    assert retention.due(session, shop, NOW) == 0
    assert retention.expire(session, shop, now=NOW).buyers == 0
    session.expire_all()
    assert buyer_profiles.opened(buyer).name == "郑俊杰"


def test_the_period_counts_whole_days_from_the_last_order(session: Session, shop: Shop) -> None:
    shop.personal_data_retention_days = 1095
    old_buyer(session, shop, "刚过期", paid_at=NOW - timedelta(days=1095, minutes=1))
    old_buyer(session, shop, "差一分钟", paid_at=NOW - timedelta(days=1094, hours=23, minutes=59))
    query = retention.stale(shop, NOW)
    assert query is not None
    nicks = session.scalars(
        sa.select(Buyer.platform_nick).where(Buyer.id.in_(query.scalar_subquery()))
    )
    assert list(nicks) == ["刚过期"]


def test_a_buyer_erased_on_request_is_not_erased_again_until_they_give_data_anew(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    shop.personal_data_retention_days = 365
    buyer = old_buyer(session, shop, "要求删除过")
    erasure.erase(
        session, buyer, make_user(Role.SUPERVISOR, shops=[shop]), reason="旺旺", now=LONG_AGO
    )
    assert buyer.personal_data_erased_why == REQUEST
    assert retention.due(session, shop, NOW) == 0
    give_profile(buyer, ZHENG)  # an order paid after the request brought a name again…
    session.commit()
    assert retention.due(session, shop, NOW) == 1  # …and that too outlived the period
    retention.expire(session, shop, now=NOW)
    assert buyer.personal_data_erased_why == RETENTION


def test_a_first_run_on_an_old_shop_commits_batch_by_batch(
    session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.personal_data_retention_days = 365
    for i in range(5):
        buyer_with_order(
            session, shop, f"老客{i}", phone=f"1381234567{i}", paid_at=LONG_AGO, name="王五"
        )
    session.commit()
    monkeypatch.setattr(retention, "BATCH", 2)
    done = retention.expire(session, shop, now=NOW)
    assert (done.buyers, done.numbers, done.notes) == (5, 5, 0)
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(Buyer.personal_data_erased_why == RETENTION)
        )
        == 5
    )
    assert retention.due(session, shop, NOW) == 0


def test_a_birthday_alone_is_personal_data_too(session: Session, shop: Shop) -> None:
    shop.personal_data_retention_days = 365
    buyer = Buyer(shop_id=shop.id, platform_nick="只有生日", created_at=LONG_AGO, tags=[])
    buyer_profiles.keep(buyer, birthday=date(1990, 5, 1))
    session.add(buyer)
    session.commit()
    assert buyer.birthday_md == 501
    assert retention.due(session, shop, NOW) == 1
    retention.expire(session, shop, now=NOW)
    assert buyer.birthday_md is None and buyer.profile_sealed is None


def test_a_buyer_who_orders_while_the_night_runs_keeps_their_data(
    session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.personal_data_retention_days = 365
    first, second = old_buyer(session, shop, "先处理"), old_buyer(session, shop, "刚下单")
    real_wipe = retention.wipe

    def wipe_while_an_import_runs(session: Session, buyers: list[Buyer], **kw):  # type: ignore[no-untyped-def]
        if any(b.id == first.id for b in buyers):  # the import lands between two batches
            session.add(
                Order(
                    shop_id=shop.id,
                    tid="T-new",
                    buyer_id=second.id,
                    payment=Decimal("10"),
                    paid_at=NOW - timedelta(hours=1),
                )
            )
        return real_wipe(session, buyers, **kw)

    monkeypatch.setattr(retention, "BATCH", 1)
    monkeypatch.setattr(retention, "wipe", wipe_while_an_import_runs)
    done = retention.expire(session, shop, now=NOW)
    assert done.buyers == 1
    session.expire_all()
    assert first.personal_data_erased_why == RETENTION
    assert buyer_profiles.opened(second).name == "郑俊杰" and second.personal_data_erased_at is None
