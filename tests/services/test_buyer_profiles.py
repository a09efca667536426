"""Buyers' names, addresses and birthdays: sealed in the database, opened only for the staff
working the buyer's case (the first look each day on the access log), hints elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import give_profile, logged_attempt, open_case
from tests.fakes import KeywordScorer
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import AuditEvent, Buyer, Case, ContactAttempt, ContactHandle, Shop, User
from tracker.models.enums import AttemptOutcome, Role
from tracker.services import access_log, browse, buyer_profiles, cases, erasure
from tracker.services.buyer_profiles import Profile
from tracker.services.imports import import_parsed
from tracker.services.intake import IntakeSettings
from tracker.services.reports import Period
from tracker.sources.files import parse_file

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def worked_case(session: Session, shop: Shop, agent: User) -> Case:
    case = open_case(session, shop, at=NOW - timedelta(hours=1))
    case.owner_id = agent.id
    assert case.buyer is not None
    give_profile(case.buyer)
    session.commit()
    return case


def shown(session: Session) -> list[AuditEvent]:
    return list(
        session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.field == buyer_profiles.SHOWN)
            .order_by(AuditEvent.id)
        )
    )


def test_nothing_personal_is_in_clear_in_the_buyers_row(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = worked_case(session, shop, make_user(Role.AGENT, shops=[shop]))
    row = session.execute(sa.text("SELECT * FROM buyers")).mappings().one()
    raw = " ".join(str(v) for v in row.values())
    assert "俊杰" not in raw and "文三路" not in raw and "1990" not in raw and "西湖" not in raw
    assert (row["name_hint"], row["area"], row["birthday_md"]) == ("郑**", "浙江省", 501)
    assert buyer_profiles.opened(case.buyer) == Profile(  # type: ignore[arg-type]
        "郑俊杰", "浙江省杭州市西湖区文三路 100 号", date(1990, 5, 1)
    )


def test_an_import_adds_to_the_profile_and_an_unchanged_one_is_not_sealed_again(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = worked_case(session, shop, make_user(Role.AGENT, shops=[shop]))
    buyer = case.buyer
    assert buyer is not None
    token = buyer.profile_sealed
    buyer_profiles.keep(buyer, name="郑俊杰", region=None)
    assert buyer.profile_sealed == token  # nothing new: the same token
    buyer_profiles.keep(buyer, region="上海 上海市 浦东新区")
    assert buyer.profile_sealed != token and buyer.area == "上海"
    assert buyer_profiles.opened(buyer).name == "郑俊杰"  # kept what it did not bring


def test_only_the_cases_worker_sees_the_name_and_the_first_look_each_day_is_logged(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, supervisor = (
        make_user(Role.AGENT, shops=[shop]),
        make_user(Role.SUPERVISOR, shops=[shop]),
    )
    case = worked_case(session, shop, agent)
    buyer = case.buyer
    assert buyer is not None

    def look(viewer: User, works: bool, at: datetime) -> Profile:
        return buyer_profiles.for_viewer(
            session, buyer, viewer, works=works, now=at, tz=SH, case=case
        )

    assert look(supervisor, False, NOW) == Profile("郑**", "浙江省", None, full=False)
    assert shown(session) == []
    assert look(agent, True, NOW).name == "郑俊杰"
    assert look(agent, True, NOW + timedelta(hours=3)).region == "浙江省杭州市西湖区文三路 100 号"
    [first] = shown(session)
    assert (first.actor_id, first.entity_id, first.case_id) == (agent.id, buyer.id, case.id)
    next_morning = datetime(2026, 11, 24, 8, 0, tzinfo=SH)
    look(agent, True, next_morning)
    assert len(shown(session)) == 2  # a new day, a new line
    period = Period(date(2026, 11, 23), date(2026, 11, 24), SH)
    entries = access_log.entries(session, shop.id, period)
    assert [e.what for e in entries] == ["查看姓名地址", "查看姓名地址"]


def test_a_buyer_is_found_by_the_whole_name_only(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = worked_case(session, shop, make_user(Role.AGENT, shops=[shop]))

    def found(q: str) -> list[int]:
        return [
            b.id
            for b in session.scalars(browse.buyers(session, shop.id, browse.BuyerListing(q=q)).stmt)
        ]

    assert found("郑俊杰") == [case.buyer_id]
    assert found(" 郑俊杰 ") == [case.buyer_id]
    assert found("郑") == [] and found("俊杰") == []
    assert found("买家") == [case.buyer_id]  # the nick by any part, as before
    assert session.scalar(sa.select(sa.func.count(Buyer.id))) == 1


def test_a_buyers_request_erases_name_address_numbers_and_notes_and_is_logged(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.models import ContactHandle
    from tracker.services import erasure
    from tracker.services.errors import FieldError

    agent, supervisor = (
        make_user(Role.AGENT, shops=[shop]),
        make_user(Role.SUPERVISOR, shops=[shop]),
    )
    case = worked_case(session, shop, agent)
    buyer = case.buyer
    assert buyer is not None
    cases.note_preferences(session, case, "住文三路，喜欢下午送货", actor=agent, now=NOW)
    said = "郑俊杰说改打 139 8765 4321，补发寄文三路 100 号；订单 3730259898842881245"
    logged_attempt(session, case.id, agent.id, NOW, outcome=AttemptOutcome.AGREED, notes=said)
    session.add(
        AuditEvent(
            occurred_at=NOW,
            actor_id=agent.id,
            entity_type="case",
            entity_id=case.id,
            case_id=case.id,
            field="outcome_note",
            old_value=None,
            new_value="郑俊杰同意补发",
        )
    )
    case.outcome_note = "电话 13987654321 确认"
    session.commit()
    with pytest.raises(FieldError, match="请写明依据"):
        erasure.erase(session, buyer, supervisor, reason="  ", now=NOW)
    assert buyer.profile_sealed is not None  # nothing half-done
    wiped = erasure.erase(session, buyer, supervisor, reason="买家旺旺留言要求删除", now=NOW)
    assert wiped == 1
    session.expire_all()
    row = session.execute(sa.text("SELECT * FROM buyers")).mappings().one()
    assert [row[c] for c in buyer_profiles.columns(Profile())] == [None] * 5
    assert row["preferences"] == "" and row["platform_nick"] == "买家甲"
    handle = session.scalars(sa.select(ContactHandle)).one()
    assert (handle.sealed, handle.fingerprint, handle.erased_at) == (None, None, NOW)
    assert session.get(Case, case.id) is not None  # the shop's records stay
    noted = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "preferences")).one()
    assert (noted.actor_id, noted.old_value, noted.new_value) == (
        agent.id,
        None,
        "（已按买家要求删除）",
    )
    period = Period(date(2026, 11, 23), date(2026, 11, 23), SH)
    [entry] = access_log.entries(session, shop.id, period)
    assert (entry.what, entry.who, entry.buyer) == (
        "删除个人信息",
        supervisor.display_name,
        "买家甲",
    )
    assert "依据：买家旺旺留言要求删除" in entry.detail and "郑**" in entry.detail
    # what staff wrote keeps its words, less the number, the name and the address in it
    assert "记录中写到的号码姓名地址 3 处" in entry.detail
    attempt = session.scalars(sa.select(ContactAttempt)).one()
    assert (
        attempt.notes == "〔已删除〕说改打 〔已删除〕，补发寄〔已删除〕；订单 3730259898842881245"
    )
    assert session.get(Case, case.id).outcome_note == "电话 〔已删除〕 确认"
    decided = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "outcome_note"))
    assert decided.one().new_value == "〔已删除〕同意补发"


def test_an_erased_buyers_earlier_data_is_not_imported_again_but_a_new_order_brings_it(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = worked_case(session, shop, make_user(Role.AGENT, shops=[shop]))
    buyer = case.buyer
    assert buyer is not None
    erasure.erase(session, buyer, make_user(Role.SUPERVISOR, shops=[shop]), reason="来电", now=NOW)

    def imported(kind: str, text: str):  # type: ignore[no-untyped-def]
        parsed = parse_file(kind, text.encode(), f"{kind}.csv", tz=SH)
        report = import_parsed(
            session,
            shop,
            parsed,
            now=NOW + timedelta(days=2),
            skip_bad_rows=False,
            scorer=KeywordScorer(),
            settings=IntakeSettings(
                WorkingHours(tz=SH, periods=((time(9), time(22)),)), DeadlinePolicy()
            ),
        )
        session.commit()
        assert report.written, [p.describe() for p in report.problems]
        return report

    header = "订单编号,买家会员名,订单付款时间,宝贝标题,价格,收货人姓名,收货地址,联系手机\n"
    old = (
        "T7,买家甲,2026-11-20 09:00:00,赣南脐橙,39.9,郑俊杰,浙江省杭州市文三路 100 号,13812345678\n"
    )
    report = imported("orders", header + old)  # an export of before the request, again
    assert report.withheld == 1
    session.expire_all()
    assert buyer_profiles.opened(buyer) == Profile() and buyer.area is None
    assert session.scalars(sa.select(ContactHandle.sealed)).all() == [None]
    report = imported(
        "buyers", "买家会员名,姓名,手机,会员等级\n买家甲,郑俊杰,13812345678,金卡会员\n"
    )
    assert report.withheld == 1  # a buyer file says not when the buyer gave it
    session.expire_all()
    assert buyer_profiles.opened(buyer) == Profile() and buyer.membership_level.name == "GOLD"
    assert session.scalars(sa.select(ContactHandle.sealed)).all() == [None]
    new = "T8,买家甲,2026-11-24 09:00:00,赣南脐橙,39.9,郑俊杰,上海市徐汇区漕溪路 1 号,13900001111\n"
    report = imported("orders", header + new)  # a new order: given again, kept again
    assert report.withheld == 0
    session.expire_all()
    assert buyer_profiles.opened(buyer).region == "上海市徐汇区漕溪路 1 号"
    assert len([s for s in session.scalars(sa.select(ContactHandle.sealed)) if s]) == 1
