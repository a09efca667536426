"""The supervisors' pages over HTTP: who may open them, what they show, what they export."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from tests.conftest import login, post_form, words
from tests.factories import logged_attempt, open_case
from tracker.clock import utcnow
from tracker.extensions import cache
from tracker.models import Case, CaseSurvey, Shop, User
from tracker.models.enums import CaseOutcome, CaseStatus, Role

SHANGHAI = ZoneInfo("Asia/Shanghai")

FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture
def shop(session: Session, make_shop) -> Shop:  # type: ignore[no-untyped-def]
    shop = make_shop()
    open_case(session, shop, key="1", at=utcnow() - timedelta(days=5), text=FORMULA)
    open_case(session, shop, key="2", nick="-1+1", at=utcnow() - timedelta(days=4))
    return shop


@pytest.fixture
def boss(make_user, shop: Shop) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.SUPERVISOR, shops=[shop])


@pytest.mark.parametrize(
    "url",
    [
        "/reports/",
        "/reports/agents",
        "/reports/shops",
        "/reports/export.csv",
        "/reports/charts/cases.svg",
    ],
)
def test_agents_cannot_open_the_supervisors_pages(
    client: FlaskClient, make_user, shop: Shop, url: str
) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user(Role.AGENT, shops=[shop]))
    assert client.get(url).status_code == 403


def test_the_dashboard_shows_figures_charts_and_tables(
    client: FlaskClient, shop: Shop, boss: User
) -> None:
    login(client, boss)
    html = client.get("/reports/").get_data(as_text=True)
    assert 'id="headline"' in html and 'id="breakdown"' in html
    assert "（未分配）" in html  # both cases unassigned
    assert (
        "隐性差评（好评但文字不满）" in html
        and "开案件数，含待确认判为差评 0、模型漏判客服发现 0；开案后判为误报 0。"
        "待确认判为误报 0（未开案）。均为客服判定"
        in html
    )
    for name in ("cases", "response", "rates", "reviews", "products", "reasons"):
        assert f'id="chart-{name}"' in html
    assert "<details" in html  # every chart has its table one click away
    # the default period ends today: its day is drawn as far as it has gone, and said so
    today = utcnow().astimezone(SHANGHAI).strftime("%m-%d")
    assert f'<p class="small text-muted mb-2" id="trend-unfinished">* {today} 是今天' in html
    assert f"<tr><td>{today}*</td>" in html
    weekly = client.get("/reports/?grain=week").get_data(as_text=True)
    assert "是本周，还没过完" in weekly
    past = client.get("/reports/?start=2026-01-01&end=2026-01-31").get_data(as_text=True)
    assert 'id="trend-unfinished"' not in past and "截至今天" not in past
    # a period that runs past today: its headline says its figures stop at today
    assert "（数字截至今天）" not in html  # the default one ends today
    day = utcnow().astimezone(SHANGHAI).date()
    running = f"/reports/?start={day - timedelta(days=3)}&end={day + timedelta(days=10)}"
    assert f"{day + timedelta(days=10)}（数字截至今天）" in client.get(running).get_data(
        as_text=True
    )
    ahead = "/reports/charts/cases.svg?start=2099-01-01&end=2099-01-31"
    assert client.get(ahead).status_code == 200  # no day begun: an empty chart
    html = client.get("/reports/?by=reason&grain=week").get_data(as_text=True)
    assert "按原因" in html and "质量问题" in html
    html = client.get("/reports/?start=2020-01-01&end=2020-01-31").get_data(as_text=True)
    assert "该时间段没有案件" in html


def test_the_dashboard_lists_contact_notes_the_guard_flags(
    client: FlaskClient, session: Session, shop: Shop, boss: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    login(client, boss)
    assert "联系记录合规提示（0）" in words(client.get("/reports/").get_data(as_text=True))
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服<b>小林</b>")
    case_id = session.scalars(sa.select(Case.id)).first()
    assert case_id is not None
    logged_attempt(
        session, case_id, agent.id, utcnow() - timedelta(hours=2), notes="好评返现<i>5元</i>"
    )
    session.commit()
    assert "联系记录合规提示（0）" in words(client.get("/reports/").get_data(as_text=True))
    cache.clear()  # computed once a minute, as the figures are
    html = client.get("/reports/").get_data(as_text=True)
    text = words(html)
    assert "联系记录合规提示（1）" in text and "按客服：客服&lt;b&gt;小林&lt;/b&gt; 1 条" in text
    assert f'href="/cases/{case_id}"' in html and "诱导好评" in text
    assert "<b>小林</b>" not in html and "<i>5元</i>" not in html  # staff text escaped


def new_cases(html: str) -> int:
    match = re.search(r'新开案件</div><div class="fs-5 fw-semibold">(\d+)</div>', html)
    assert match, "headline not found"
    return int(match.group(1))


def test_figures_are_computed_once_a_minute_per_shop_and_period(
    client: FlaskClient, session: Session, shop: Shop, boss: User, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    login(client, boss)
    html = client.get("/reports/").get_data(as_text=True)
    assert new_cases(html) == 2 and "数据计算于" in html and "每分钟更新" in html
    open_case(session, shop, key="3", nick="新来的", at=utcnow() - timedelta(days=3))
    assert new_cases(client.get("/reports/").get_data(as_text=True)) == 2  # within the minute
    assert new_cases(client.get("/reports/?by=product").get_data(as_text=True)) == 3  # new view
    start = (utcnow() - timedelta(days=10)).date().isoformat()
    assert new_cases(client.get(f"/reports/?start={start}").get_data(as_text=True)) == 3
    cache.clear()  # the minute is over
    assert new_cases(client.get("/reports/").get_data(as_text=True)) == 3
    other = make_shop(code="other", name="别的店")  # the same period, another shop: its own
    post_form(client, "/logout", {}, form_url="/reports/")
    login(client, make_user(Role.SUPERVISOR, shops=[other]))
    assert "该时间段没有案件" in client.get("/reports/").get_data(as_text=True)


def test_a_bad_period_is_reported_on_its_field(client: FlaskClient, shop: Shop, boss: User) -> None:
    login(client, boss)
    html = client.get("/reports/?start=2026-13-01").get_data(as_text=True)
    assert "不是 YYYY-MM-DD 格式" in html and 'id="headline"' in html


def test_charts_are_svg_images(client: FlaskClient, shop: Shop, boss: User) -> None:
    login(client, boss)
    response = client.get("/reports/charts/reviews.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<svg" in svg and "差评" in svg and "http://kozea" not in svg
    assert client.get("/reports/charts/nope.svg").status_code == 404


def test_exports_open_in_excel_and_neutralise_formulas(
    client: FlaskClient, shop: Shop, boss: User
) -> None:
    login(client, boss)
    response = client.get("/reports/export.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号" and len(rows) == 3
    header = rows[0]
    text_at, nick_at = header.index("评价内容"), header.index("买家")
    texts = {row[text_at] for row in rows[1:]}
    nicks = {row[nick_at] for row in rows[1:]}
    assert "'" + FORMULA in texts and "'-1+1" in nicks
    assert {row[header.index("订单编号")] for row in rows[1:]} == {"T1", "T2"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", rows[1][header.index("开案时间")])
    response = client.get("/reports/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "案件编号" and len(values) == 3
    assert {r[text_at] for r in values[1:]} == texts
    assert isinstance(values[1][header.index("开案时间")], datetime)  # a date, not text
    assert (
        sheet.freeze_panes == "A2"
        and sheet.auto_filter.ref == f"A1:{get_column_letter(len(header))}3"
    )
    assert sheet.column_dimensions["A"].width >= 8
    assert client.get("/reports/export.pdf").status_code == 404


def test_the_agent_view_lists_each_agents_load_and_opens_their_cases(
    client: FlaskClient, session: Session, make_user, shop: Shop, boss: User
) -> None:  # type: ignore[no-untyped-def]
    """A supervisor whose agent called in sick opens that agent's cases from their load and
    reassigns them from the list (the board's 负责人 filter)."""
    sick = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    theirs = open_case(session, shop, key="ag1", nick="甲", text="小林的案件文字", at=utcnow())
    other = open_case(
        session, shop, key="ag2", nick="乙", text="别人的案件文字", at=utcnow(), title="冰糖橙"
    )
    theirs.owner_id = sick.id
    theirs.status, theirs.next_follow_up_at = CaseStatus.CONTACTING, utcnow() - timedelta(hours=2)
    session.commit()
    login(client, boss)
    html = client.get("/reports/agents").get_data(as_text=True)
    assert "客服小林" in html and 'id="agent-load"' in html
    # a call-back they missed: counted under 今日待跟进, linking those cases
    missed = re.search(
        r'<a class="link-danger small follow-ups-missed" href="([^"]+)"[^>]*>已过 1</a>', html
    )
    assert (
        missed
        and f"owner_id={sick.id}" in missed.group(1)
        and "follow_up_missed=y" in missed.group(1)
    )
    assert "小林的案件文字" in client.get(missed.group(1).replace("&amp;", "&")).get_data(
        as_text=True
    )
    link = f"/cases?view=list&amp;scope=all&amp;owner_id={sick.id}"
    assert f'href="{link}"' in html
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "小林的案件文字" in listed and "别人的案件文字" not in listed
    assert f'<option value="{sick.id}" selected>客服小林</option>' in listed
    assert other.id


def test_charts_come_drawn_for_a_phone_too(client: FlaskClient, shop: Shop, boss: User) -> None:
    login(client, boss)
    page = client.get("/reports/").get_data(as_text=True)
    assert 'media="(max-width: 575.98px)"' in page and "narrow=1" in page
    wide = client.get("/reports/charts/response.svg").get_data(as_text=True)
    narrow = client.get("/reports/charts/response.svg?narrow=1").get_data(as_text=True)
    assert 'width="900"' in wide.split(">", 2)[1] or 'viewBox="0 0 900' in wide
    assert 'viewBox="0 0 420' in narrow
    # weeks a period cuts say their days, whole (pygal's own truncation dropped the end), and
    # tilted, so the last one does not run off the right edge: five days are never a whole week
    today = utcnow().astimezone(SHANGHAI).date()
    cut = f"grain=week&start={today - timedelta(days=6)}&end={today - timedelta(days=2)}"
    for narrow in ("", "&narrow=1"):
        svg = client.get(f"/reports/charts/cases.svg?{cut}{narrow}").get_data(as_text=True)
        weeks = set(re.findall(r">(\d\d-\d\d) 周（(\d)天）<", svg))
        assert sum(int(days) for _, days in weeks) == 5 and "rotate(45" in svg


def test_a_supervisor_of_several_shops_compares_them_and_opens_one(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    make_shop,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    """Each shop the supervisor works for, on one line with its dashboard's figures; a
    shop they do not work for is not there; 看报表 switches to that shop's dashboard."""
    from tracker.models.enums import Platform

    other = make_shop(code="jd1", name="京东自营店", platform=Platform.JD)
    reached = open_case(session, other, key="j1", at=utcnow() - timedelta(days=6))
    reached.first_attempt_at = reached.opened_at + timedelta(minutes=30)  # reached in time
    late = open_case(session, other, key="j2", nick="买家乙", at=utcnow() - timedelta(days=7))
    late.first_contact_due_at = utcnow() - timedelta(hours=1)
    make_shop(code="not-mine", name="别人的店")
    # two cases closed with a survey sent, one answered: 已解决 of those asked, of the sent
    unanswered = open_case(session, other, key="j3", nick="买家丙", at=utcnow() - timedelta(days=5))
    unanswered.first_attempt_at = unanswered.opened_at + timedelta(minutes=30)
    for n, case in enumerate((reached, unanswered)):
        case.closed_at = utcnow() - timedelta(days=2)
        session.add(
            CaseSurvey(
                case_id=case.id, shop_id=other.id, state="sent", out_id=f"jd{n}",
                created_at=utcnow(), sent_at=utcnow(), score=5 if case is reached else None,
                resolved="yes" if case is reached else None,
                answered_at=utcnow() if case is reached else None,
            )
        )  # fmt: skip
    session.commit()
    login(client, make_user(Role.SUPERVISOR, shops=[shop, other]))
    dashboard = client.get("/reports/").get_data(as_text=True)
    assert 'id="compare-shops"' in dashboard
    html = client.get("/reports/shops").get_data(as_text=True)
    table = html[html.index('id="shops"') :]
    assert "京东自营店" in table and shop.name in table and "别人的店" not in table
    rows = table.split("<tr>")[1:]
    jd = next(r for r in rows if "京东自营店" in r)
    cells = re.findall(r'<td class="text-end[^"]*">([^<]*)', jd)
    assert cells[0] == "3" and cells[3] == "1"  # three cases; one overdue now
    # the survey as the dashboard's table counts it: solved of those asked, answers of sent
    said = re.search(r'<td class="text-end survey">(.*?)</td>', jd, re.S)
    assert said and said[1].replace("<br>", " ").count("1/2 · 5.0 分") == 1
    assert words(said[1]).startswith("100.0%")
    mine = next(r for r in rows if shop.name in r)
    assert "未发出" in re.search(r'<td class="text-end survey">(.*?)</td>', mine, re.S)[1]
    assert "2 / 3" in jd  # two reached in time of the three judged
    # a phone's card gives the recovery rate of all cases too, as the table does
    cards = html[html.index('id="shop-cards"') :].split('class="card mb-2"')[1:]
    jd_card = next(c for c in cards if "京东自营店" in c)
    rate = re.search(r'class="[^"]*recovery">([^<]*)<br>([^<]*)</dd>', jd_card)
    assert rate and rate[1].startswith("已结案 ") and rate[2].startswith("全部 ")
    assert re.search(r"回访已解决</dt><dd [^>]*>100.0%<br>", jd_card)
    assert "共 2 家" in html
    assert "新开的案件，" in html  # the default period ends today
    # a period that runs past today says its figures stop at today, as the dashboard does
    day = utcnow().astimezone(SHANGHAI).date()
    running = f"/reports/shops?start={day - timedelta(days=3)}&end={day + timedelta(days=10)}"
    assert f"{day + timedelta(days=10)} 新开的案件（数字截至今天）" in client.get(running).get_data(
        as_text=True
    )
    answer = post_form(
        client,
        "/shop/switch",
        {"shop_id": str(other.id), "next": "/reports/?start=2026-11-01&end=2026-11-30"},
        form_url="/reports/shops",
    )
    assert answer.headers["Location"] == "/reports/?start=2026-11-01&end=2026-11-30"
    assert "京东自营店 · 报表" in client.get("/reports/").get_data(as_text=True)
    # a next that leaves the site goes home instead
    for away in ("//evil.example/", "/\\evil.example", "https://evil.example/", "/\t/evil.example"):
        answer = post_form(
            client,
            "/shop/switch",
            {"shop_id": str(shop.id), "next": away},
            form_url="/reports/shops",
        )
        assert answer.headers["Location"] == "/"


def test_one_shop_has_no_comparison_link(client: FlaskClient, shop: Shop, boss: User) -> None:
    login(client, boss)
    assert 'id="compare-shops"' not in client.get("/reports/").get_data(as_text=True)


def test_the_survey_table_says_how_many_buyers_say_their_problem_is_solved(
    client: FlaskClient, session: Session, shop: Shop, boss: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    """Of the buyers asked 问题解决了吗, the share saying 已经解决了, and how many did not; an
    answer from before the question was asked counts in the CSAT but not in these."""
    agent = make_user(Role.AGENT, shops=[shop], display_name="小林")
    cases = session.scalars(sa.select(Case).order_by(Case.id)).all()
    closed_at = utcnow() - timedelta(days=1)
    for n, (case, resolved) in enumerate(zip(cases, ("yes", None), strict=True)):
        case.owner_id, case.closed_at = agent.id, closed_at
        session.add(
            CaseSurvey(
                case_id=case.id,
                shop_id=shop.id,
                state="sent",
                out_id=f"s{n}",
                created_at=closed_at,
                answered_at=closed_at,
                score=5,
                resolved=resolved,
            )
        )
    session.commit()
    login(client, boss)
    html = client.get("/reports/").get_data(as_text=True)
    table = html[html.index('id="csat"') :]
    table = table[: table.index("</table>")]
    assert '>已解决</th><th class="text-end text-nowrap">未解决</th>' in table
    assert re.sub(r"\s+", "", words(table)).endswith("小林2/25.0100.0%100.0%0")
    session.execute(sa.update(CaseSurvey).values(resolved=None))  # both answered before
    session.commit()
    cache.clear()
    html = client.get("/reports/").get_data(as_text=True)
    table = html[html.index('id="csat"') :]
    table = table[: table.index("</table>")]
    assert re.sub(r"\s+", "", words(table)).endswith("小林2/25.0100.0%——")  # none asked
    # the note under the table leads to the cases themselves, closed ones included
    session.execute(
        sa.update(CaseSurvey).where(CaseSurvey.case_id == cases[1].id).values(resolved="no")
    )
    cases[1].status, cases[1].outcome = CaseStatus.UNRECOVERED, CaseOutcome.REFUSED
    session.commit()
    link = re.search(r'href="([^"]+)" id="survey-unsolved-cases"', html)
    assert link is not None
    listed = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'href="/cases/{cases[1].id}"' in listed and f'href="/cases/{cases[0].id}"' not in listed
    assert "回访：还没有解决" in listed
    closed_at = cases[1].closed_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    assert f'<div class="text-muted closed-at">结案 {closed_at}</div>' in listed  # 最近结案


def test_the_agent_view_says_which_follow_ups_fall_on_an_agents_day_off(
    client: FlaskClient, session: Session, make_user, shop: Shop, boss: User
) -> None:  # type: ignore[no-untyped-def]
    """Tomorrow off, a follow-up tomorrow at 10:00: under the agent's duty, how many, each
    case and time on hover, and the link to their cases by follow-up."""
    from tracker.services import shifts

    sh = ZoneInfo("Asia/Shanghai")
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    tomorrow = utcnow().astimezone(sh).date() + timedelta(days=1)
    shifts.set_day(session, agent, tomorrow, [], actor=boss, now=utcnow(), tz=sh)
    case = open_case(session, shop, key="off1", nick="甲", at=utcnow())
    case.owner_id, case.status = agent.id, CaseStatus.WAITING
    case.next_follow_up_at = datetime.combine(tomorrow, datetime.min.time(), tzinfo=sh).replace(
        hour=10
    )
    session.commit()
    login(client, boss)
    html = client.get("/reports/agents").get_data(as_text=True)
    found = re.search(
        r'<a class="small text-warning-emphasis follow-ups-off" href="([^"]+)" title="([^"]+)">'
        r"1 个跟进到期时不在班</a>",
        html,
    )
    assert found, html
    assert f"owner_id={agent.id}" in found.group(1) and "sort=follow_up" in found.group(1)
    assert found.group(2).startswith(f"#{case.id} {tomorrow:%m-%d} 10:00（休息）：")
    case.status = CaseStatus.RECOVERED
    session.commit()
    assert "follow-ups-off" not in client.get("/reports/agents").get_data(as_text=True)
