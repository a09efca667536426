"""A buyer's request to see and copy their personal data: what the workbook holds, what it
leaves out, and the access log's line."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.factories import give_profile, logged_attempt, open_case
from tracker.models import Remedy, Shop, User
from tracker.models.enums import AttemptOutcome, RemedyKind, Role
from tracker.services import access_log, personal_copy
from tracker.services.errors import FieldError
from tracker.services.reports import Period

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def sheets(body: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_the_copy_holds_what_the_shop_keeps_about_the_buyer_and_is_logged(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, lead = make_user(Role.AGENT, shops=[shop]), make_user(Role.SUPERVISOR, shops=[shop])
    case = open_case(session, shop, at=NOW - timedelta(days=5), nick="橙子买家")
    buyer = case.buyer
    assert buyer is not None
    give_profile(buyer)
    buyer.tags, buyer.preferences = ["回头客"], "喜欢下午送货"
    logged_attempt(
        session,
        case.id,
        agent.id,
        NOW - timedelta(days=4),
        outcome=AttemptOutcome.AGREED,
        notes="客服内部备注：买家脾气急",
    )
    session.add(
        Remedy(
            case_id=case.id,
            kind=RemedyKind.RESEND,
            amount=Decimal("39.90"),
            cost=Decimal("20"),
            created_by_id=agent.id,
            created_at=NOW - timedelta(days=4),
        )
    )
    session.commit()
    with pytest.raises(FieldError, match="请写明依据"):
        personal_copy.copy(session, buyer, shop, lead, reason=" ", now=NOW, tz=SH)

    made = personal_copy.copy(session, buyer, shop, lead, reason="买家来电要求", now=NOW, tz=SH)
    assert made.filename == f"personal-data-{shop.code}-{buyer.id}-20261123.xlsx"
    book = sheets(made.body)
    assert list(book) == ["个人信息", "订单", "评价", "联系记录", "售后"]
    about = dict(book["个人信息"][1:])
    assert about["姓名"] == "郑俊杰" and about["地址"] == "浙江省杭州市西湖区文三路 100 号"
    assert about["生日"] == date(1990, 5, 1).isoformat() and about["平台昵称"] == "橙子买家"
    assert about["标签"] == "回头客" and about["偏好备注"] == "喜欢下午送货"
    assert about["联系号码（店铺自有号码，导入文件）"] == "13812345678"  # in full
    [order] = book["订单"][1:]
    assert order[0] == "T1" and order[2] == "赣南脐橙 5斤装 × 1"
    assert order[1] == (NOW - timedelta(days=5)).replace(tzinfo=None)  # Beijing time
    [review] = book["评价"][1:]
    assert review[2:4] == ("差评", "质量太差了，坏了")
    [contact] = book["联系记录"][1:]
    assert contact[1:] == ("电话", "已接通-同意修改")
    [handled] = book["售后"][1:]
    assert handled[1] == "赣南脐橙 5斤装" and handled[4] == "补发 ¥39.90"
    # what staff wrote and who they are stay out
    text = repr(book)
    assert "脾气急" not in text and agent.display_name not in text

    day = NOW.date()
    [line] = access_log.entries(session, shop.id, Period(day, day, SH))
    assert (line.who, line.what, line.buyer) == (lead.display_name, "导出个人信息副本", "橙子买家")
    assert line.detail == "号码 1 个、订单 1、评价 1、联系记录 1、售后 1 · 依据：买家来电要求"
