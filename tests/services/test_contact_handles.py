"""Buyers' numbers as sealed handles: never in clear in the database, opened only for the
case's worker (audited), decrypted from the platform on demand, wiped when they lapse."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import open_case
from tests.top_server import FakeTop, serve
from tracker.models import AuditEvent, Buyer, Case, ContactHandle, Shop, User
from tracker.models.enums import HandleKind, Role
from tracker.services import board, buyer_profiles, contact_handles
from tracker.services.errors import FieldError
from tracker.sources.contract import SourceOptions
from tracker.sources.top import TopSource

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def worked_case(session: Session, shop: Shop, agent: User, **kw: object) -> Case:
    case = open_case(session, shop, at=NOW - timedelta(hours=1), **kw)  # type: ignore[arg-type]
    case.owner_id = agent.id
    session.commit()
    return case


def test_a_number_read_raw_from_the_database_is_not_in_clear(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = worked_case(session, shop, make_user(Role.AGENT, shops=[shop]))
    rows = session.execute(sa.text("SELECT * FROM contact_handles")).mappings().all()
    assert len(rows) == 1
    raw = " ".join(str(v) for v in rows[0].values())
    assert "13812345678" not in raw and "12345678" not in raw and "138****5678" in raw
    columns = {c["name"] for c in sa.inspect(session.get_bind()).get_columns("buyers")}
    assert "phone" not in columns
    assert case.buyer_id == rows[0]["buyer_id"]


def test_only_the_cases_worker_opens_the_number_and_each_opening_is_logged(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, other = make_user(Role.AGENT, shops=[shop]), make_user(Role.AGENT, shops=[shop])
    case = worked_case(session, shop, agent)
    handle = session.scalars(sa.select(ContactHandle)).one()
    with pytest.raises(PermissionError):
        contact_handles.reveal(session, case, handle.id, other, now=NOW)
    number = contact_handles.reveal(session, case, handle.id, agent, now=NOW)
    assert number.written() == "13812345678"
    log = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "phone_revealed")).one()
    assert (log.actor_id, log.entity_id, log.case_id) == (agent.id, case.buyer_id, case.id)


def test_a_virtual_number_says_when_it_lapses_and_is_wiped_after(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    lapses = NOW + timedelta(days=2)
    case = worked_case(session, shop, agent, phone="18400913965-7576", phone_expires_at=lapses)
    [view] = contact_handles.of_buyer(session, case.buyer_id, NOW)
    assert (view.kind, view.hint, view.expires_soon, view.works) == (
        HandleKind.VIRTUAL,
        "184****3965 转 7576",
        True,
        True,
    )
    assert contact_handles.erase_lapsed(session, now=NOW) == 0
    assert contact_handles.erase_lapsed(session, now=lapses) == 1
    handle = session.scalars(sa.select(ContactHandle)).one()
    assert handle.sealed is None and handle.erased_at == lapses and handle.hint.startswith("184")
    with pytest.raises(FieldError, match="失效"):
        contact_handles.reveal(session, case, handle.id, agent, now=lapses)


def test_the_board_finds_and_sorts_cases_whose_number_lapses_soon(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    later = worked_case(
        session,
        shop,
        agent,
        key="1",
        nick="甲",
        phone="18400913965-1111",
        phone_expires_at=NOW + timedelta(days=2),
    )
    sooner = worked_case(
        session,
        shop,
        agent,
        key="2",
        nick="乙",
        phone="18400913966-2222",
        phone_expires_at=NOW + timedelta(hours=5),
    )
    worked_case(session, shop, agent, key="3", nick="丙")  # its own number: never lapses
    worked_case(
        session,
        shop,
        agent,
        key="4",
        nick="丁",
        phone="18400913967-3333",
        phone_expires_at=NOW + timedelta(days=9),
    )
    criteria = board.BoardFilter(
        shop_ids=(shop.id,), scope="all", number_expiring=True, sort="number"
    )
    found = list(session.scalars(board.matching_ids(criteria, user_id=agent.id, now=NOW, tz=SH)))
    assert found == [sooner.id, later.id]
    cards = board.cards(session, found)
    assert cards[0].number_expires_at == NOW + timedelta(hours=5)


def top_client(fake: FakeTop) -> TopSource:
    creds = {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}
    return TopSource(creds, SourceOptions(clock=lambda: NOW, url=fake.url, retries=0, timeout=2.0))


def top_giving_a_number() -> FakeTop:
    """A TOP stand-in that decrypts order T1's OAID-9 to a virtual number lapsing 12-08."""
    fake = FakeTop()
    fake.receivers[("T1", "OAID-9")] = {
        "mobile": "18400913965-7576",
        "privacy_protection": True,
        "secret_no_expire_time": "2026-12-08 10:00:00",
        "matched": True,
        "tid": "T1",
    }
    return fake


def test_decrypt_asks_top_for_the_after_sales_number_and_keeps_it_until_it_lapses(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = worked_case(session, shop, agent, phone="", oaid="OAID-9")
    fake = top_giving_a_number()
    with serve(fake):
        handle_id, number = contact_handles.decrypt(
            session, case, agent, platform=top_client(fake), now=NOW
        )
    assert fake.problems == [] and number.written() == "18400913965-7576"
    handle = session.get(ContactHandle, handle_id)
    assert handle.kind is HandleKind.VIRTUAL and handle.source == "top"
    assert handle.expires_at == datetime(2026, 12, 8, 10, 0, tzinfo=SH)
    assert session.scalars(
        sa.select(AuditEvent.field).where(AuditEvent.field == "contact_decrypted")
    ).all()


def test_a_decrypt_the_platform_refuses_says_why_and_keeps_nothing(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = worked_case(session, shop, agent, phone="", oaid="OAID-9")
    fake = FakeTop()
    with serve(fake), pytest.raises(FieldError, match="不允许解密"):
        contact_handles.decrypt(session, case, agent, platform=top_client(fake), now=NOW)
    fake.receivers[("T1", "OAID-9")] = {
        "mobile": "18400913965-7576",
        "privacy_protection": True,
        "secret_no_expire_time": "2026-11-20 10:00:00",  # already lapsed
    }
    with serve(fake), pytest.raises(FieldError, match="已经失效"):
        contact_handles.decrypt(session, case, agent, platform=top_client(fake), now=NOW)
    no_oaid = worked_case(session, shop, agent, key="2", nick="乙", phone="")
    with pytest.raises(FieldError, match="OAID"):
        contact_handles.decrypt(session, no_oaid, agent, platform=top_client(fake), now=NOW)
    assert session.scalars(sa.select(ContactHandle)).all() == []


def test_a_buyer_who_asked_to_stop_has_no_number_shown_or_fetched(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """Numbers are shown on need: nobody calls a buyer who asked us to stop, so nobody
    opens theirs nor asks the platform for one (asked by nobody, the platform is not
    reached) until a supervisor lifts the stop; nothing is logged as accessed."""
    agent = make_user(Role.AGENT, shops=[shop])
    case = worked_case(session, shop, agent, oaid="OAID-9")
    handle = session.scalars(sa.select(ContactHandle)).one()
    case.buyer.do_not_contact_at = NOW - timedelta(minutes=5)
    session.commit()
    fake = top_giving_a_number()
    with pytest.raises(FieldError, match="要求勿扰"):
        contact_handles.reveal(session, case, handle.id, agent, now=NOW)
    with serve(fake), pytest.raises(FieldError, match="要求勿扰"):
        contact_handles.decrypt(session, case, agent, platform=top_client(fake), now=NOW)
    assert fake.requests == []
    accessed = sa.select(AuditEvent).where(
        AuditEvent.field.in_(("phone_revealed", "contact_decrypted"))
    )
    assert session.scalars(accessed).all() == []
    assert session.scalars(sa.select(ContactHandle)).all() == [handle]
    case.buyer.do_not_contact_at = NOW + timedelta(minutes=5)  # a reveal before they asked
    session.commit()
    assert contact_handles.reveal(session, case, handle.id, agent, now=NOW).written()


def test_no_number_is_fetched_again_for_an_order_before_the_buyers_erasure(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.services import erasure

    agent = make_user(Role.AGENT, shops=[shop])
    case = worked_case(session, shop, agent, phone="", oaid="OAID-9")
    fake = top_giving_a_number()
    assert case.buyer is not None
    erasure.erase(session, case.buyer, make_user(Role.ADMIN), reason="邮件要求", now=NOW)
    with serve(fake), pytest.raises(FieldError, match="买家已要求删除个人信息"):
        contact_handles.decrypt(session, case, agent, platform=top_client(fake), now=NOW)
    assert fake.requests == [] and session.scalars(sa.select(ContactHandle)).all() == []


def test_rotating_the_key_reseals_numbers_names_and_their_fingerprints(
    app,
    session: Session,
    shop: Shop,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    from tracker.domain.phone_numbers import parse_number

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "TRACKER_PERSONAL_DATA_KEY", old)
    agent = make_user(Role.AGENT, shops=[shop])
    case = worked_case(session, shop, agent)
    buyer_profiles.keep(case.buyer, name="李雷", region="浙江省杭州市", birthday=date(1990, 5, 1))
    session.commit()
    monkeypatch.setitem(app.config, "TRACKER_PERSONAL_DATA_KEY", f"{new},{old}")
    result = app.test_cli_runner().invoke(args=["rotate-personal-data"])
    assert result.exit_code == 0 and "1 个号码、1 位买家" in result.output
    monkeypatch.setitem(app.config, "TRACKER_PERSONAL_DATA_KEY", new)  # the old key retired
    handle = session.scalars(sa.select(ContactHandle)).one()
    assert contact_handles.reveal(session, case, handle.id, agent, now=NOW).number == "13812345678"
    again = contact_handles.remember(
        session,
        shop_id=shop.id,
        buyer_id=case.buyer_id,
        number=parse_number("13812345678"),
        source="import",
        now=NOW,
    )
    assert again.id == handle.id  # still found by its (new) fingerprint
    session.expire_all()
    assert buyer_profiles.opened(case.buyer) == buyer_profiles.Profile(
        "李雷", "浙江省杭州市", date(1990, 5, 1)
    )
    found = session.scalars(sa.select(Buyer).where(buyer_profiles.matching_name("李雷"))).all()
    assert [b.id for b in found] == [case.buyer_id]


def test_a_virtual_number_about_to_lapse_is_extended_through_top_and_logged(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, other = make_user(Role.AGENT, shops=[shop]), make_user(Role.AGENT, shops=[shop])
    lapses = NOW + timedelta(days=2)
    case = worked_case(
        session, shop, agent, phone="18400913965-7576", phone_expires_at=lapses, oaid="OAID-9"
    )
    handle = session.scalars(sa.select(ContactHandle)).one()
    fake = FakeTop()
    fake.receivers[("T1", "OAID-9")] = {
        "mobile": "18400913965-7576",
        "privacy_protection": True,
        "secret_no_expire_time": lapses.strftime("%Y-%m-%d %H:%M:%S"),
        "matched": True,
    }
    with serve(fake):
        with pytest.raises(PermissionError):
            contact_handles.extend(
                session, case, handle.id, other, platform=top_client(fake), now=NOW
            )
        until = contact_handles.extend(
            session, case, handle.id, agent, platform=top_client(fake), now=NOW
        )
    assert fake.problems == []
    sent = json.loads(fake.requests[-1]["extend_request"])
    assert sent == {"oaid": "OAID-9", "order_id": "T1", "scene": "2001", "extend_days": 7}
    assert until == lapses + timedelta(days=7)
    session.expire_all()
    assert session.scalars(sa.select(ContactHandle)).one().expires_at == until  # the same handle
    log = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "number_extended")).one()
    assert (log.actor_id, log.case_id) == (agent.id, case.id) and "延长 7 天" in log.new_value


def test_an_extension_the_platform_refuses_says_why_and_changes_nothing(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    lapses = NOW + timedelta(days=2)
    case = worked_case(
        session, shop, agent, phone="18400913965-7576", phone_expires_at=lapses, oaid="OAID-9"
    )
    own = worked_case(session, shop, agent, key="2", nick="乙", oaid="OAID-8")
    handle = session.scalars(
        sa.select(ContactHandle).where(ContactHandle.buyer_id == case.buyer_id)
    ).one()
    own_handle = session.scalars(
        sa.select(ContactHandle).where(ContactHandle.buyer_id == own.buyer_id)
    ).one()
    fake = FakeTop()  # knows no receiver for this order
    with serve(fake):
        with pytest.raises(FieldError, match="没有可延期的虚拟号"):
            contact_handles.extend(
                session, case, handle.id, agent, platform=top_client(fake), now=NOW
            )
        with pytest.raises(FieldError, match="只有平台给的虚拟号"):
            contact_handles.extend(
                session, own, own_handle.id, agent, platform=top_client(fake), now=NOW
            )
        with pytest.raises(FieldError, match="不属于本案件"):
            contact_handles.extend(
                session, case, own_handle.id, agent, platform=top_client(fake), now=NOW
            )
    session.expire_all()
    assert session.get(ContactHandle, handle.id).expires_at == lapses
    assert not session.scalars(
        sa.select(AuditEvent).where(AuditEvent.field == "number_extended")
    ).all()
