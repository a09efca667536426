"""调班 and the 排班表 on screen: a supervisor gives one day of an agent's its own hours (or
a day off) from the 班次 page or a cell of the 排班表; the load page, the agent's account and
the user page's history say so."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.conftest import csrf_token, login, other_browser, post_form
from tracker.clock import utcnow
from tracker.domain.working_hours import day_label
from tracker.models import Shop, User
from tracker.models.enums import Role

SH = ZoneInfo("Asia/Shanghai")


def text(html: str) -> str:
    """A page's words, each tag and run of whitespace one space (a table's cells apart)."""
    return " ".join(re.sub(r"<[^>]*>", " ", html).split())


@pytest.fixture
def staff(session: Session, make_shop, make_user) -> tuple[Shop, User, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop(name="晨光小店")
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    early = make_user(Role.AGENT, shops=[shop], display_name="客服小王")
    late = make_user(Role.AGENT, shops=[shop], display_name="客服小李")
    early.shift = {"periods": [["09:00", "15:00"]], "weekdays": [0, 1, 2, 3, 4, 5, 6]}
    session.commit()
    return shop, boss, early, late


def _post_day(client: FlaskClient, agent: User, data: dict[str, str], query: str = ""):  # type: ignore[no-untyped-def]
    page = f"/reports/agents/{agent.id}/shift{query}"
    token = csrf_token(client, page)
    return client.post(
        f"/reports/agents/{agent.id}/shift/day{query}",
        data={**{f"day-{k}": v for k, v in data.items()}, "day-csrf_token": token},
    )


def test_a_supervisor_sets_a_day_of_its_own_and_takes_it_back(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = staff
    login(client, boss)
    day = utcnow().astimezone(SH).date() + timedelta(days=3)
    page = text(client.get(f"/reports/agents/{early.id}/shift").get_data(as_text=True))
    assert "调班（按日期）" in page and "今天起没有调班" in page

    refused = _post_day(client, early, {"day": day.isoformat(), "kind": "work", "periods": ""})
    assert refused.status_code == 400
    assert "请填写当天的上班时段，或选“休息”" in text(refused.get_data(as_text=True))
    refused = _post_day(
        client, early, {"day": day.isoformat(), "kind": "work", "periods": "18:00-09:00"}
    )
    assert refused.status_code == 400 and "结束早于开始" in text(refused.get_data(as_text=True))
    past = day - timedelta(days=5)
    refused = _post_day(client, early, {"day": past.isoformat(), "kind": "off"})
    assert refused.status_code == 400 and "已经过去" in text(refused.get_data(as_text=True))
    session.refresh(early)
    assert early.shift_days == []

    done = _post_day(
        client,
        early,
        {"day": day.isoformat(), "kind": "work", "periods": "09:00-12:00，13:30-18:00"},
    )
    assert done.status_code == 302 and done.location.endswith(f"/reports/agents/{early.id}/shift")
    page = text(client.get(done.location).get_data(as_text=True))
    assert f"客服小王 {day:%m-%d} 调班：09:00–12:00、13:30–18:00。" in page
    assert f"{day_label(day)} 09:00–12:00、13:30–18:00" in page
    # the day becomes a day off, then follows the shift again
    _post_day(client, early, {"day": day.isoformat(), "kind": "off", "periods": "10:00-11:00"})
    session.refresh(early)
    assert [(r.day, r.periods) for r in early.shift_days] == [(day, [])]
    page = f"/reports/agents/{early.id}/shift"
    # 恢复按班次 as the browser sends it: every field of the row's form
    form = re.search(
        r'<form method="post" action="(/reports/agents/\d+/shift/day/clear)"[^>]*>(.*?)</form>',
        client.get(page).get_data(as_text=True),
        re.S,
    )
    assert form is not None
    fields = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2))
    assert [name for name, _ in fields].count("day") == 1
    cleared = client.post(form.group(1), data=dict(fields))
    assert cleared.status_code == 302
    assert f"{day:%m-%d} 恢复按班次" in text(client.get(page).get_data(as_text=True))
    session.refresh(early)
    assert early.shift_days == []


def test_the_roster_shows_two_weeks_and_a_cell_opens_that_day(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, late = staff
    login(client, boss)
    today = utcnow().astimezone(SH).date()
    sale = today + timedelta(days=2)
    _post_day(
        client, early, {"day": sale.isoformat(), "kind": "work", "periods": "09:00-21:00"},
        query="?from=roster",
    )  # fmt: skip
    _post_day(client, late, {"day": sale.isoformat(), "kind": "off"})
    html = client.get("/reports/roster").get_data(as_text=True)
    shown = text(html)
    assert "晨光小店 · 排班表" in shown
    assert f"{day_label(today)} 至 {day_label(today + timedelta(days=13))}" in shown
    cell = f"/reports/agents/{early.id}/shift?day={sale.isoformat()}&amp;from=roster"
    assert cell in html
    # how many work that day and the hours nobody covers, then each by name (小李, 小王)
    assert f"{day_label(sale)} 1 无人 21:00–22:00 休息 调 09:00–21:00 调" in shown
    plain_day = day_label(today + timedelta(days=1))
    assert f"{plain_day} 2 09:00–12:00 13:30–22:00 09:00–15:00" in shown
    # 返回 from a page opened by a cell leads back to the roster
    page = client.get(f"/reports/agents/{early.id}/shift?day={sale}&from=roster")
    assert page.status_code == 200 and 'href="/reports/roster"' in page.get_data(as_text=True)
    assert f'value="{sale.isoformat()}"' in page.get_data(as_text=True)
    # the day form starts from the day as it stands: its 调班, else what the shift says
    assert re.search(r'id="day-periods"[^>]*value="09:00-21:00"', page.get_data(as_text=True))
    off = client.get(f"/reports/agents/{late.id}/shift?day={sale}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="off"|value="off"[^>]*checked', off)
    plain = today + timedelta(days=1)
    usual = client.get(f"/reports/agents/{early.id}/shift?day={plain}").get_data(as_text=True)
    assert re.search(r'id="day-periods"[^>]*value="09:00-15:00"', usual)
    # the next two weeks, and never before today
    later = text(
        client.get(f"/reports/roster?start={today + timedelta(days=14)}").get_data(as_text=True)
    )
    assert day_label(today + timedelta(days=14)) in later and "← 前两周" in later
    earlier = text(client.get("/reports/roster?start=2020-01-01").get_data(as_text=True))
    assert f"{day_label(today)} 至" in earlier and "← 前两周" not in earlier
    assert client.get("/reports/roster?start=<script>").status_code == 200


def test_the_load_page_and_the_agents_account_say_todays_day(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = staff
    login(client, boss)
    today = utcnow().astimezone(SH).date()
    _post_day(client, early, {"day": today.isoformat(), "kind": "off"})
    load = text(client.get("/reports/agents").get_data(as_text=True))
    assert "今天调班：休息" in load and "排班表" in load
    client = other_browser(client)
    login(client, early)
    # the agent was told; opening the notice shows their hours on 我的账号
    inbox = client.get("/notifications/").get_data(as_text=True)
    assert f"主管老陈给你调班：{day_label(today)} 休息" in inbox
    notice = re.search(r'action="(/notifications/\d+/open)"', inbox)
    assert notice is not None
    opened = client.post(
        notice.group(1), data={"csrf_token": csrf_token(client, "/notifications/")}
    )
    assert opened.status_code == 302 and opened.location.endswith("/account")
    account = text(client.get("/account").get_data(as_text=True))
    assert f"我的班次：每天 09:00–15:00；调班：{day_label(today)} 休息" in account
    # an agent reads the team's weeks, and plans none of them
    assert client.get("/reports/roster").status_code == 403
    assert 'href="/account/roster"' in client.get("/account").get_data(as_text=True)
    team = client.get("/account/roster").get_data(as_text=True)
    # one's own column first (客服小王 before 客服小李, whom the name would put first)
    assert "日期 上班 客服小王（我） 客服小李" in text(team)
    assert f"{day_label(today)} 1 休息 调 09:00–12:00 13:30–22:00" in text(team)
    assert "要休息、改时段或和同事换班，点“调班申请”" in text(team)
    assert "/reports/agents/" not in team and "点此调班" not in team  # no cell opens a 班次
    later = text(
        client.get(f"/account/roster?start={today + timedelta(days=14)}").get_data(as_text=True)
    )
    assert "← 前两周" in later and 'href="/account/roster?start=' in client.get(
        "/account/roster"
    ).get_data(as_text=True)


def test_a_supervisor_of_another_shop_cannot_see_or_set_an_agents_days(
    client: FlaskClient, session: Session, staff, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    _, _, early, _ = staff
    stranger = make_user(Role.SUPERVISOR, shops=[make_shop()])
    login(client, stranger)
    assert client.get(f"/reports/agents/{early.id}/shift").status_code == 404
    token = csrf_token(client, "/reports/agents")
    day = (utcnow().astimezone(SH).date() + timedelta(days=1)).isoformat()
    refused = client.post(
        f"/reports/agents/{early.id}/shift/day",
        data={"day-day": day, "day-kind": "off", "day-csrf_token": token},
    )
    assert refused.status_code == 404
    session.refresh(early)
    assert early.shift_days == []


def test_a_supervisor_sets_a_rotation_and_the_form_and_the_account_say_it(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    """早晚班轮换 set on the 班次 page: each week's fields, 本周是, errors under the week's
    field; the form shows it back, and the agent reads it on 我的账号."""
    _, boss, _, late = staff
    login(client, boss)
    url = f"/reports/agents/{late.id}/shift"
    page = client.get(url).get_data(as_text=True)
    assert "两周轮换" in page and "第2周上班时段" in page and "本周是" in page
    week = [str(d) for d in range(7)]
    typed = {
        "weeks": "2",
        "periods": "09:00-15:00",
        "weekdays": week,
        "periods_2": "22:00-15:00",
        "weekdays_2": week,
        "this_week": "2",
    }
    refused = post_form(client, url, typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    # under the second week's periods, which keep what was typed
    assert re.search(r'id="periods_2"[^>]*value="22:00-15:00"[^<]*>\s*<div class="invalid', page)
    assert "第2周：时段 22:00-15:00 的结束早于开始" in text(page)
    refused = post_form(client, url, {**typed, "periods_2": "15:00-22:00", "this_week": "3"})
    assert refused.status_code == 400
    assert "2 周一轮，本周只能是第1至第2周" in text(refused.get_data(as_text=True))
    session.refresh(late)
    assert late.shift is None

    done = post_form(client, url, {**typed, "periods_2": "15:00-22:00"})
    assert done.status_code == 302
    session.refresh(late)
    today = utcnow().astimezone(SH).date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    assert late.shift["rotation"] == {
        "from": last_monday.isoformat(),
        "weeks": [{"periods": [["15:00", "22:00"]], "weekdays": list(range(7))}],
    }
    said = "两周轮换（本周第2周）：第1周 每天 09:00–15:00；第2周 每天 15:00–22:00"
    assert f"客服小李 的班次：{said}。" in text(client.get(done.location).get_data(as_text=True))
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="weeks"[^>]*value="2"', page)
    assert re.search(r'<input checked[^>]*name="this_week"[^>]*value="2"', page)
    assert re.search(r'id="periods_2"[^>]*value="15:00-22:00"', page)

    # 每周一样 again: the second week's fields, still filled in, are not stored (set back
    # after: the agent reads the rotation)
    again = post_form(client, url, {**typed, "weeks": "1"})
    assert again.status_code == 302, text(again.get_data(as_text=True))
    session.refresh(late)
    assert late.shift == {"periods": [["09:00", "15:00"]], "weekdays": list(range(7))}
    assert post_form(client, url, {**typed, "periods_2": "15:00-22:00"}).status_code == 302
    other = other_browser(client)
    login(other, late)
    assert f"我的班次：{said}" in text(other.get("/account").get_data(as_text=True))


def test_the_roster_exports_four_weeks_to_excel_for_leads_and_agents(
    client: FlaskClient, session: Session, staff
) -> None:  # type: ignore[no-untyped-def]
    """导出 Excel: the month's roster a team posts to its group; a 调班 marked, a request
    still waiting left out, the hours nobody works named; an agent exports it too."""
    _, boss, early, late = staff
    login(client, boss)
    today = utcnow().astimezone(SH).date()
    sale = today + timedelta(days=20)  # past the page's two weeks, within the file's four
    _post_day(client, late, {"day": sale.isoformat(), "kind": "off"})
    page = client.get("/reports/roster").get_data(as_text=True)
    assert f'href="/reports/roster.xlsx?start={today.isoformat()}"' in page
    got = client.get(f"/reports/roster.xlsx?start={today.isoformat()}")
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    assert (
        f'filename="roster-{staff[0].code}-{today:%Y%m%d}.xlsx"'
        in got.headers["Content-Disposition"]
    )
    sheet = load_workbook(io.BytesIO(got.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "排班表"
    assert rows[0] == ["日期", "上班人数", "客服小李", "客服小王", "无人当班"]
    assert len(rows) == 1 + 28 and rows[1][0] == day_label(today)
    assert rows[1 + 20] == [day_label(sale), 1, "休息（调班）", "09:00–15:00", "15:00–22:00"]
    assert rows[2][2:] == ["09:00–12:00、13:30–22:00", "09:00–15:00", None]
    # a later start is honoured; an agent exports the team's from 我的账号's page
    later = today + timedelta(days=14)
    assert client.get(f"/reports/roster.xlsx?start={later}").status_code == 200
    client = other_browser(client)
    login(client, early)
    assert 'href="/account/roster.xlsx?start=' in client.get("/account/roster").get_data(
        as_text=True
    )
    mine = load_workbook(io.BytesIO(client.get("/account/roster.xlsx").data)).active
    assert [c.value for c in next(mine.iter_rows())][2:4] == ["客服小李", "客服小王"]
