"""调班申请 on screen: an agent asks, the colleague of a swap answers, a supervisor sees what
approving would leave uncovered and decides; the 排班表 changes only then."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import as_new_request, login, other_browser, post_form
from tracker.clock import utcnow
from tracker.domain.working_hours import day_label
from tracker.models import Notification, ShiftRequest, Shop, User
from tracker.models.enums import Role, ShiftRequestState
from tracker.services import shift_requests

SH = ZoneInfo("Asia/Shanghai")
PAGE = "/account/shift-requests/"


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]*>", " ", html).split())


@pytest.fixture
def staff(session: Session, make_shop, make_user) -> tuple[Shop, User, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop(name="晨光小店")  # 09:00–12:00, 13:30–22:00 daily
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    early = make_user(Role.AGENT, shops=[shop], display_name="客服小王")
    late = make_user(Role.AGENT, shops=[shop], display_name="客服小李")
    early.shift = {"periods": [["09:00", "15:00"]], "weekdays": [0, 1, 2, 3, 4, 5, 6]}
    session.commit()
    return shop, boss, early, late


def _signed_in(client: FlaskClient, user: User) -> FlaskClient:
    """Another person's browser, logged in as ``user`` (the request context starts anew)."""
    as_new_request()
    other = other_browser(client)
    login(other, user)
    return other


def _ask(client: FlaskClient, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return post_form(client, PAGE, {"note": "", "periods": "", "swap_with": "0"} | data)


def test_a_swap_goes_from_the_agent_to_the_colleague_to_the_supervisor(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, late = staff
    day = utcnow().astimezone(SH).date() + timedelta(days=3)
    login(client, early)
    page = text(client.get("/account").get_data(as_text=True))
    assert "调班申请" in page and "调班可以申请" in page
    # what cannot be asked says what and where, and nothing is stored
    refused = _ask(client, {"day": day.isoformat(), "kind": "work"})
    assert refused.status_code == 400
    assert "请填写当天想上班的时段" in text(refused.get_data(as_text=True))
    refused = _ask(client, {"day": day.isoformat(), "kind": "swap"})
    assert refused.status_code == 400 and "请选一位同事换班" in text(refused.get_data(as_text=True))
    assert session.scalar(sa.select(sa.func.count()).select_from(ShiftRequest)) == 0

    done = _ask(
        client,
        {
            "day": day.isoformat(),
            "kind": "swap",
            "swap_with": str(late.id),
            "note": "下午去医院<script>x()</script>",
        },
    )
    assert done.status_code == 302
    html = client.get(PAGE).get_data(as_text=True)
    assert "<script>x()</script>" not in html and "&lt;script&gt;" in html
    assert f"{day_label(day)} 与客服小李换班 待同事同意" in text(html)
    request = session.scalar(sa.select(ShiftRequest))

    colleague = _signed_in(client, late)
    assert "有 1 份调班申请等你答复。" in text(colleague.get("/").get_data(as_text=True))
    assert 'id="shift-requests-link">调班申请 <span class="badge' in colleague.get(
        "/account"
    ).get_data(as_text=True)
    page = text(colleague.get(PAGE).get_data(as_text=True))
    assert f"客服小王 想和你换 {day_label(day)} 的班" in page
    assert "客服小王 09:00–15:00 → 09:00–12:00、13:30–22:00" in page
    # the supervisor has nothing to decide yet
    lead = _signed_in(client, boss)
    waiting = text(lead.get(PAGE).get_data(as_text=True))
    assert "现在没有待你批准的调班申请" in waiting and "客服小王 ·" not in waiting
    # nor a form to ask with: a supervisor sets days on the roster
    assert "申请调班" not in waiting and "我的申请" not in waiting
    assert "要直接给谁调班，在排班表里点那一天" in waiting
    refused = post_form(lead, PAGE, {"day": day.isoformat(), "kind": "off"})
    assert refused.status_code == 400
    assert "主管和管理员不用申请：在排班表里点那一天直接调班" in text(
        refused.get_data(as_text=True)
    )

    as_new_request()  # back at the colleague's browser
    agreed = post_form(
        colleague, f"{PAGE}{request.id}/answer", {"agree": "同意换班"}, form_url=PAGE
    )
    assert agreed.status_code == 302
    # the supervisor's notice opens the page, where the request waits with its outlook
    notice = session.scalar(sa.select(Notification).where(Notification.user_id == boss.id))
    as_new_request()
    opened = post_form(lead, f"/notifications/{notice.id}/open", {}, form_url="/notifications/")
    assert opened.location.endswith(PAGE)
    assert "有 1 份调班申请等你答复（批准或不批准）" in text(lead.get("/").get_data(as_text=True))
    page = text(lead.get(PAGE).get_data(as_text=True))
    assert "待你批准 1" in page and "这天上班：2 人 → 2 人" in page
    assert "店铺营业时段都有人" in page

    approved = post_form(
        lead, f"{PAGE}{request.id}/decide", {"answer": "", "approve": "批准"}, form_url=PAGE
    )
    assert approved.status_code == 302
    session.refresh(request)
    assert request.state is ShiftRequestState.APPROVED
    roster = text(lead.get("/reports/roster").get_data(as_text=True))
    # 客服小李 (first by name) takes the early hours, 客服小王 the shop's
    assert f"{day_label(day)} 2 09:00–15:00 调 09:00–12:00 13:30–22:00 调" in roster
    as_new_request()
    mine = text(client.get(PAGE).get_data(as_text=True))
    assert f"{day_label(day)} 与客服小李换班 已批准" in mine and "主管老陈批准" in mine


def test_my_request_reads_day_and_kind_apart_before_the_styles_apply(
    client: FlaskClient, staff
) -> None:  # type: ignore[no-untyped-def]
    """The list lays its parts out with flex gaps; until the stylesheet applies (a slow
    phone) only the markup's own spaces part them. CI's browser once read the list in that
    moment: "12-08 周二休息"."""
    _, _, early, _ = staff
    day = utcnow().astimezone(SH).date() + timedelta(days=3)
    login(client, early)
    assert _ask(client, {"day": day.isoformat(), "kind": "off"}).status_code == 302
    html = client.get(PAGE).get_data(as_text=True)
    mine = html[html.index('id="my-requests"') :]
    unstyled = " ".join(re.sub(r"<[^>]*>", "", mine).split())
    assert f"{day_label(day)} 休息 待主管批准" in unstyled


def test_the_supervisor_sees_the_hours_a_day_off_would_leave_uncovered_and_declines(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, late = staff
    day = utcnow().astimezone(SH).date() + timedelta(days=2)
    login(client, late)
    assert _ask(client, {"day": day.isoformat(), "kind": "off", "note": "搬家"}).status_code == 302
    request = session.scalar(sa.select(ShiftRequest))
    lead = _signed_in(client, boss)
    page = text(lead.get(PAGE).get_data(as_text=True))
    assert "客服小李 · " in page and "休息" in page and "说明：搬家" in page
    assert "这天上班：2 人 → 1 人 批准后无人当班：15:00–22:00" in page
    # an agent cannot decide, even by posting the form
    agent = _signed_in(client, early)
    post_form(agent, f"{PAGE}{request.id}/decide", {"approve": "批准"}, form_url=PAGE)
    assert "调班申请由主管批准" in text(agent.get(PAGE).get_data(as_text=True))
    # nor withdraw someone else's
    post_form(agent, f"{PAGE}{request.id}/withdraw", {}, form_url=PAGE)
    assert "只能撤回自己的申请" in text(agent.get(PAGE).get_data(as_text=True))

    as_new_request()
    post_form(
        lead,
        f"{PAGE}{request.id}/decide",
        {"answer": "那天大促", "decline": "不批准"},
        form_url=PAGE,
    )
    session.refresh(request)
    assert (request.state, request.answer) == (ShiftRequestState.DECLINED, "那天大促")
    session.refresh(late)
    assert late.shift_days == []
    as_new_request()
    mine = text(client.get(PAGE).get_data(as_text=True))
    assert f"{day_label(day)} 休息 未批准" in mine and "主管老陈不批准： 那天大促" in mine


def test_another_shops_requests_are_not_seen_or_answered(
    client: FlaskClient, session: Session, staff, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    _, _, early, late = staff
    day = utcnow().astimezone(SH).date() + timedelta(days=1)
    login(client, early)
    _ask(client, {"day": day.isoformat(), "kind": "swap", "swap_with": str(late.id)})
    request = session.scalar(sa.select(ShiftRequest))
    stranger = _signed_in(client, make_user(Role.SUPERVISOR, shops=[make_shop()]))
    assert "客服小王" not in stranger.get(PAGE).get_data(as_text=True)
    answered = post_form(
        stranger, f"{PAGE}{request.id}/answer", {"agree": "同意换班"}, form_url=PAGE
    )
    assert answered.status_code == 404
    session.refresh(request)
    assert request.state is ShiftRequestState.WITH_COLLEAGUE


def test_the_roster_marks_the_days_a_request_waits_on_until_it_is_answered(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, late = staff
    day = utcnow().astimezone(SH).date() + timedelta(days=2)
    login(client, early)
    _ask(client, {"day": day.isoformat(), "kind": "swap", "swap_with": str(late.id)})
    request = session.scalar(sa.select(ShiftRequest))
    # both agents' cells that day, on the agents' read-only roster too: the wish is marked,
    # the hours are still the plan's
    row = _roster_row(client.get("/account/roster").get_data(as_text=True), day)
    assert row.count(">申<") == 2 and ">调<" not in row
    lead = _signed_in(client, boss)
    assert _roster_row(lead.get("/reports/roster").get_data(as_text=True), day).count(">申<") == 2
    shift_requests.withdraw(session, request.id, early, now=utcnow())
    assert ">申<" not in _roster_row(lead.get("/reports/roster").get_data(as_text=True), day)


def _roster_row(html: str, day) -> str:  # type: ignore[no-untyped-def]
    """The roster's row of ``day``, as HTML."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S)
    return next(r for r in rows if day_label(day) in r)


def test_a_day_swapped_back_is_asked_answered_and_decided_on_one_form(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    """换休 on screen: the day back under the colleague field, refused under its own field
    when it cannot be; the colleague, the asker and the supervisor each see both days."""
    _, boss, early, late = staff
    day = utcnow().astimezone(SH).date() + timedelta(days=3)
    back = day + timedelta(days=2)
    login(client, early)
    refused = _ask(
        client,
        {"day": day.isoformat(), "kind": "swap", "swap_with": str(late.id), "swap_day": str(day)},
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert re.search(
        r'id="swap_day"[^>]*>\s*<div class="invalid-feedback[^>]*>\s*还班要选另一天', page
    )
    done = _ask(
        client,
        {"day": day.isoformat(), "kind": "swap", "swap_with": str(late.id), "swap_day": str(back)},
    )
    assert done.status_code == 302
    mine = text(client.get(PAGE).get_data(as_text=True))
    assert f"调班申请已提交（{day:%m-%d}、{back:%m-%d}），等同事答复。" in mine
    assert f"{day_label(day)} 与客服小李换班，{day_label(back)} 还班 待同事同意" in mine

    colleague = _signed_in(client, late)
    asked = text(colleague.get(PAGE).get_data(as_text=True))
    assert f"客服小王 想和你换 {day_label(day)} 的班，{day_label(back)} 还班：" in asked
    assert f"{day_label(back)} 客服小王 09:00–15:00 → 09:00–12:00、13:30–22:00" in asked
    request = session.scalars(sa.select(ShiftRequest)).one()
    agreed = post_form(
        colleague, f"{PAGE}{request.id}/answer", {"agree": "同意换班"}, form_url=PAGE
    )
    assert agreed.status_code == 302

    lead = _signed_in(client, boss)
    waiting = text(lead.get(PAGE).get_data(as_text=True))
    assert f"{day_label(day)} 上班：2 人 → 2 人" in waiting
    assert f"{day_label(back)} 上班：2 人 → 2 人" in waiting
    approved = post_form(lead, f"{PAGE}{request.id}/decide", {"approve": "批准"}, form_url=PAGE)
    assert approved.status_code == 302
    session.refresh(early)
    assert sorted(row.day for row in early.shift_days) == [day, back]
