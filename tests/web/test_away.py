"""不在岗 on screen: a supervisor marks an agent away from 客服负荷, an agent marks themselves
from 我的账号; the home page, the case page and the assignment lists say so."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, csrf_token, login, other_browser, post_form, words
from tests.factories import open_case
from tracker.clock import utcnow
from tracker.models import Case, Shop, User
from tracker.models.enums import Role

SH = ZoneInfo("Asia/Shanghai")


def _today():  # type: ignore[no-untyped-def]
    return utcnow().astimezone(SH).date()


@pytest.fixture
def staff(session: Session, make_shop, make_user) -> tuple[Shop, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop()
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小王")
    return shop, boss, agent


def test_a_supervisor_marks_an_agent_away_releasing_their_cases_and_back_again(
    client: FlaskClient, session: Session, staff, make_shop
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent = staff
    sister = make_shop()
    agent.shops = [shop, sister]
    case = open_case(session, shop, at=NOW)
    theirs = open_case(session, sister, at=NOW, nick="别店买家")
    case.owner_id = theirs.owner_id = agent.id
    session.commit()
    login(client, boss)
    load = client.get("/reports/agents").get_data(as_text=True)
    assert f'href="/reports/agents/{agent.id}/away"' in load and "设为不在岗" in load

    form = client.get(f"/reports/agents/{agent.id}/away").get_data(as_text=True)
    assert "客服小王不在岗" in words(
        form
    ) and "把 TA 的 2 件进行中的案件（2 个店铺）交给同事" in words(form)
    last = _today() + timedelta(days=2)
    done = post_form(
        client,
        f"/reports/agents/{agent.id}/away",
        {"last_day": last.isoformat(), "release": "y"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/reports/agents")
    load = client.get("/reports/agents").get_data(as_text=True)
    assert f"客服小王 不在岗至 {last:%m-%d}（含）。2 件进行中的案件已放回未分配。" in load
    assert f"不在岗至 {last:%m-%d}" in words(load) and "回岗" in load
    session.refresh(case)
    session.refresh(theirs)
    session.refresh(agent)
    assert case.owner_id is None and theirs.owner_id is None and agent.is_away(utcnow())

    post_form(client, f"/reports/agents/{agent.id}/back", {}, form_url="/reports/agents")
    session.refresh(agent)
    assert agent.away_until is None
    assert "客服小王 已回岗。" in client.get("/reports/agents").get_data(as_text=True)


def test_a_bad_day_is_refused_next_to_the_field_and_nothing_changes(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, agent = staff
    login(client, boss)
    url = f"/reports/agents/{agent.id}/away"
    for value, message in (
        ((_today() - timedelta(days=1)).isoformat(), "已经过去，请选今天或以后"),
        ((_today() + timedelta(days=120)).isoformat(), "最长可设 92 天"),
        ("", "请选不在岗的最后一天"),
        ("12/05", "不是有效的日期"),
    ):
        refused = post_form(client, url, {"last_day": value})
        assert refused.status_code == 400, value
        html = refused.get_data(as_text=True)
        shown = re.search(
            r'id="last_day".*?class="invalid-feedback[^"]*"[^>]*>([^<]+)<', html, re.S
        )
        assert shown and message in shown.group(1), (value, html[-2000:])
    session.refresh(agent)
    assert agent.away_until is None
    # without the page's token, nothing is saved either
    assert client.post(url, data={"last_day": _today().isoformat()}).status_code == 400
    session.refresh(agent)
    assert agent.away_until is None


def test_a_supervisor_cannot_mark_another_shops_agent_or_a_supervisor(
    client: FlaskClient, session: Session, staff, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, _ = staff
    stranger = make_user(Role.AGENT, shops=[make_shop()])
    peer = make_user(Role.SUPERVISOR, shops=[shop])
    login(client, boss)
    token = csrf_token(client, "/reports/agents")
    for user in (stranger, peer):
        assert client.get(f"/reports/agents/{user.id}/away").status_code == 404
        day = {"last_day": _today().isoformat(), "csrf_token": token}
        assert client.post(f"/reports/agents/{user.id}/away", data=day).status_code == 404
        session.refresh(user)
        assert user.away_until is None


def test_an_agent_marks_themself_away_the_home_page_says_so_and_they_come_back(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, _, agent = staff
    login(client, agent)
    account = client.get("/account").get_data(as_text=True)
    assert 'href="/account/away"' in account
    form = client.get("/account/away").get_data(as_text=True)
    assert "我不在岗" in words(form) and "你手上没有进行中的案件" in words(form)
    post_form(client, "/account/away", {"last_day": _today().isoformat()})
    home = client.get("/").get_data(as_text=True)
    assert 'id="away-banner"' in home and f"不在岗，至 {_today():%m-%d}（含）" in words(home)
    assert "你现在不在岗" in client.get("/account").get_data(as_text=True)
    post_form(client, "/account/back", {}, form_url="/")
    session.refresh(agent)
    assert agent.away_until is None
    assert 'id="away-banner"' not in client.get("/").get_data(as_text=True)


def test_assignment_lists_mark_who_is_away_and_refuse_them_with_the_reason(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent = staff
    case = open_case(session, shop, at=NOW)
    case.owner_id = agent.id
    agent.away_until = utcnow() + timedelta(days=1)
    session.commit()
    login(client, boss)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="owner-away"' in page and "客服小王（不在岗）" in page
    board = client.get("/cases?view=list&scope=all").get_data(as_text=True)
    assert "客服小王（不在岗）" in board
    case.owner_id = None
    session.commit()
    refused = post_form(
        client,
        "/cases/assign",
        {"case_ids": [str(case.id)], "owner_id": str(agent.id)},
        form_url="/cases?view=list&scope=all",
    )
    assert refused.status_code == 302
    shown = client.get("/cases?view=list&scope=all").get_data(as_text=True)
    assert "客服小王 不在岗，请分给在岗的同事。" in shown
    assert session.scalar(sa.select(Case.owner_id).where(Case.id == case.id)) is None
    # a leave booked ahead: listed with its first day, and still a valid choice until then
    first = _today() + timedelta(days=3)
    agent.away_from = datetime.combine(first, time(), tzinfo=SH)
    agent.away_until = agent.away_from + timedelta(days=2)
    session.commit()
    board = client.get("/cases?view=list&scope=all").get_data(as_text=True)
    assert f"客服小王（{first:%m-%d} 起不在岗）" in board and "客服小王（不在岗）" not in board
    post_form(
        client,
        "/cases/assign",
        {"case_ids": [str(case.id)], "owner_id": str(agent.id)},
        form_url="/cases?view=list&scope=all",
    )
    session.refresh(case)
    assert case.owner_id == agent.id
    page = words(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert f"负责人：客服小王 {first:%m-%d} 起不在岗" in page


def test_a_supervisor_turns_automatic_assignment_on_and_off(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    from tracker.models import AuditEvent

    shop, boss, _ = staff
    login(client, boss)
    page = client.get("/reports/agents").get_data(as_text=True)
    assert "新案件自动分配：未开启" in words(page) and "开启自动分配" in page
    assert client.post("/reports/agents/auto-assign", data={"on": "y"}).status_code == 400
    session.refresh(shop)
    assert not shop.auto_assign  # no token, no change
    post_form(client, "/reports/agents/auto-assign", {"on": "y"}, form_url="/reports/agents")
    session.refresh(shop)
    page = client.get("/reports/agents").get_data(as_text=True)
    assert shop.auto_assign and "已开启自动分配：新案件分给在岗的客服。" in page
    assert "新案件自动分配：已开启" in words(page) and "关闭自动分配" in page
    post_form(client, "/reports/agents/auto-assign", {"on": ""}, form_url="/reports/agents")
    session.refresh(shop)
    assert not shop.auto_assign
    changes = session.scalars(
        sa.select(AuditEvent.new_value)
        .where(AuditEvent.entity_type == "shop", AuditEvent.field == "auto_assign")
        .order_by(AuditEvent.id)
    ).all()
    assert len(changes) == 2 and changes[0] != changes[1]


def test_leave_booked_ahead_shows_as_booked_everywhere_and_can_be_called_off(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent = staff
    case = open_case(session, shop, at=NOW)
    case.owner_id = agent.id
    session.commit()
    first, last = _today() + timedelta(days=7), _today() + timedelta(days=9)
    login(client, boss)
    form = client.get(f"/reports/agents/{agent.id}/away").get_data(as_text=True)
    assert 'id="first_day"' in form and f'value="{_today().isoformat()}"' in form
    done = post_form(
        client,
        f"/reports/agents/{agent.id}/away",
        {"first_day": first.isoformat(), "last_day": last.isoformat(), "release": "y"},
    )
    assert done.status_code == 302
    load = words(client.get("/reports/agents").get_data(as_text=True))
    assert (
        f"已安排 客服小王 {first:%m-%d} 至 {last:%m-%d}（含）不在岗，那天起进行中的案件交给同事"
        in load
    )
    assert f"{first:%m-%d} 起不在岗" in load and "取消" in load
    session.refresh(case)
    assert case.owner_id == agent.id  # they work it until the leave starts
    # the form opens on the booking
    again = client.get(f"/reports/agents/{agent.id}/away").get_data(as_text=True)
    assert f'value="{first.isoformat()}"' in again and "取消安排" in again

    client = other_browser(client)  # the agent, at a browser of their own
    login(client, agent)
    home = words(client.get("/").get_data(as_text=True))
    assert f"已安排你 {first:%m-%d} 至 {last:%m-%d}（含）不在岗，那天起手上的案件交给同事" in home
    assert "你现在不在岗" not in home
    account = words(client.get("/account").get_data(as_text=True))
    assert f"已安排 {first:%m-%d} 至 {last:%m-%d}（含）不在岗" in account
    post_form(client, "/account/back", {}, form_url="/account")
    session.refresh(agent)
    assert agent.away_until is None and agent.away_from is None
    assert "已安排" not in words(client.get("/").get_data(as_text=True))


def test_a_supervisor_sets_an_agents_shift_and_the_load_page_says_who_is_on_shift(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, agent = staff
    login(client, boss)
    load = client.get("/reports/agents").get_data(as_text=True)
    assert f'href="/reports/agents/{agent.id}/shift"' in load
    form = words(client.get(f"/reports/agents/{agent.id}/shift").get_data(as_text=True))
    assert (
        "客服小王的班次" in form
        and "没设班次的客服按店铺工作时间（每天 09:00–12:00、13:30–22:00）" in form
    )

    refused = post_form(
        client, f"/reports/agents/{agent.id}/shift", {"periods": "15:00-09:00", "weekdays": ["0"]}
    )
    assert refused.status_code == 400 and "结束早于开始" in words(refused.get_data(as_text=True))
    refused = post_form(client, f"/reports/agents/{agent.id}/shift", {"periods": "9点到3点"})
    assert refused.status_code == 400 and "开始-结束" in words(refused.get_data(as_text=True))
    session.refresh(agent)
    assert agent.shift is None

    tomorrow = _today() + timedelta(days=1)  # the only working day: off shift now, surely
    done = post_form(
        client,
        f"/reports/agents/{agent.id}/shift",
        {"periods": "09:00-15:00", "weekdays": [str(tomorrow.weekday())]},
    )
    assert done.status_code == 302
    session.refresh(agent)
    assert agent.shift == {"periods": [["09:00", "15:00"]], "weekdays": [tomorrow.weekday()]}
    load = words(client.get("/reports/agents").get_data(as_text=True))
    day = "一二三四五六日"[tomorrow.weekday()]
    assert f"客服小王 的班次：周{day} 09:00–15:00。" in load
    assert f"休息 · {tomorrow:%m-%d} 09:00 上班" in load
    # back to the shop's hours: on shift or not by them, and the form is empty again
    post_form(client, f"/reports/agents/{agent.id}/shift", {"periods": "", "weekdays": ["0"]})
    session.refresh(agent)
    assert agent.shift is None
    page = client.get(f"/reports/agents/{agent.id}/shift").get_data(as_text=True)
    assert re.search(r'id="periods"[^>]*value=""', page)
    agent.shift = {"periods": [["09:00", "15:00"]], "weekdays": [0, 1, 2, 3, 4]}
    session.commit()
    client = other_browser(client)  # the agent sees their shift on 我的账号
    login(client, agent)
    account = words(client.get("/account").get_data(as_text=True))
    assert "我的班次：周一至周五 09:00–15:00（由主管在“客服负荷”设置，调班可以申请）" in account
