"""The case board and case page through HTTP, as agents and supervisors use them."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import current_app, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import ANY_TIME, NOW, DatabaseDown, csrf_token, login, post_form, words
from tests.factories import answered_survey, open_case, recorded_remedy
from tests.fakes import KeywordScorer
from tracker import runtime
from tracker.clock import utcnow, whole_minute
from tracker.models import (
    AuditEvent,
    Case,
    CaseSurvey,
    ContactAttempt,
    ContactHandle,
    Remedy,
    Script,
    Shop,
    User,
)
from tracker.models.enums import (
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Platform,
    Rating,
    Role,
)
from tracker.services import browse, buyer_profiles
from tracker.services.intake import ingest
from tracker.sources.records import ReviewRecord

PAYLOAD = '<script>alert("x")</script>'


@pytest.fixture
def agent(make_user, shop: Shop) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.AGENT, shops=[shop], display_name="客服小林")


def recent_case(session: Session, shop: Shop, **kw):  # type: ignore[no-untyped-def]
    """A case on a review posted an hour ago (the factory posts 3 days after ``at``)."""
    return open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1), **kw)


def own_case(client: FlaskClient, session: Session, shop: Shop, agent: User):  # type: ignore[no-untyped-def]
    """A recent case ``agent`` owns, and its page's URL, with ``agent`` logged in."""
    case = recent_case(session, shop)
    case.owner_id = agent.id
    session.commit()
    login(client, agent)
    return case, f"/cases/{case.id}"


def page_version(client: FlaskClient, case_id: int) -> str:
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    return (
        re.search(
            r'id="attempt-version"[^>]*value="(\d+)"|value="(\d+)"[^>]*id="attempt-version"', html
        ).group(1)
        or "1"
    )


def local_input(moment) -> str:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def post_attempt(  # type: ignore[no-untyped-def]
    client: FlaskClient, case, outcome: str, *, channel: str = "phone", **fields: str
):
    """Log a contact attempt through the case page's form (``fields``: notes=…, …)."""
    url = f"/cases/{case.id}"
    form = {
        "attempt-version": str(case.version),
        "attempt-channel": channel,
        "attempt-outcome": outcome,
        "attempt-attempted_at": local_input(utcnow()),
    } | {f"attempt-{name}": value for name, value in fields.items()}
    return post_form(client, f"{url}/attempts", form, form_url=url)


def post_status(client: FlaskClient, case, status: str, outcome: str):  # type: ignore[no-untyped-def]
    """Move the case through the case page's status form."""
    url = f"/cases/{case.id}"
    form = {
        "status-version": str(case.version),
        "status-status": status,
        "status-outcome": outcome,
    }
    return post_form(client, f"{url}/status", form, form_url=url)


def add_attempt(  # type: ignore[no-untyped-def]
    session: Session, case, agent: User, at, outcome: AttemptOutcome, **fields
) -> None:
    """A contact already on the case's record, as if logged at ``at`` (on the phone)."""
    values = {"channel": Channel.PHONE, "notes": ""} | fields
    session.add(
        ContactAttempt(
            case_id=case.id,
            agent_id=agent.id,
            attempted_at=at,
            outcome=outcome,
            created_at=at,
            **values,
        )
    )


def test_board_shows_my_and_unassigned_cases(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    mine = recent_case(session, shop, key="1", nick="我的买家", text="我的案件文字")
    free = recent_case(session, shop, key="2", nick="没人管", text="未分配案件文字")
    theirs = recent_case(session, shop, key="3", nick="别人的", text="别人的案件文字")
    mine.owner_id = agent.id
    theirs.owner_id = make_user(Role.AGENT, shops=[shop]).id
    session.commit()
    login(client, agent)
    html = client.get("/cases").get_data(as_text=True)
    assert "我的案件文字" in html and "未分配案件文字" in html and "别人的案件文字" not in html
    assert html.index("我的案件文字") < html.index("未分配案件文字")  # mine first
    all_html = client.get("/cases?scope=all&view=list").get_data(as_text=True)
    assert "别人的案件文字" in all_html
    assert "未分配案件文字" not in client.get("/cases?scope=mine").get_data(as_text=True)
    assert free.id and theirs.id


def test_a_case_page_names_the_buyers_other_open_cases(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:  # type: ignore[no-untyped-def]
    first = recent_case(session, shop, key="1", nick="小鱼", title="赣南脐橙 5斤装")
    second = recent_case(session, shop, key="2", nick="小鱼儿", title="冰糖橙 3斤装")
    closed = recent_case(session, shop, key="3", nick="小鱼仔", title="砂糖橘")
    second.buyer_id = closed.buyer_id = first.buyer_id  # one buyer, three reviews
    first.owner_id = agent.id
    closed.status, closed.closed_at = CaseStatus.RECOVERED, utcnow()
    session.commit()
    login(client, agent)
    board = client.get("/cases?scope=all").get_data(as_text=True)
    for case_id in (first.id, second.id):  # each card says the other is the same buyer's
        card = board[board.index(f'data-case-id="{case_id}"') :].split("</a>")[0]
        assert "同买家 +1" in card
    page = client.get(f"/cases/{second.id}").get_data(as_text=True)
    note = page[page.index('id="same-buyer"') :].split("</div>")[0]
    assert "还有 1 个进行中的案件" in note and f"#{first.id}" in note and "客服小林" in note
    assert f"#{closed.id}" not in note  # closed: under 以往案件 only
    assert 'id="same-buyer"' not in client.get(f"/cases/{closed.id}").get_data(as_text=True)
    third = recent_case(session, shop, key="4", nick="鱼", title="沃柑")
    third.buyer_id = first.buyer_id
    session.commit()
    before = client.get(f"/cases/{second.id}").get_data(as_text=True)
    assert (
        "认领（含同一买家另 1 件）" in before
        and f'title="同一买家未分配的案件一并认领：#{third.id}"' in before
    )
    post_form(client, f"/cases/{second.id}/claim", {}, form_url=f"/cases/{second.id}")
    claimed = client.get(f"/cases/{second.id}").get_data(as_text=True)
    assert f"已认领。同一买家的 #{third.id} 也一并认领。" in claimed  # not #first: 小林's already


def test_one_contact_is_logged_on_each_of_the_buyers_cases_ticked(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    """The page says 一次联系一并处理, and the form does it: the buyer's other open cases
    the agent may work are ticked; a colleague's is not offered."""
    first = recent_case(session, shop, key="1", nick="小鱼", title="赣南脐橙 5斤装")
    second = recent_case(session, shop, key="2", nick="小鱼儿", title="冰糖橙 3斤装")
    theirs = recent_case(session, shop, key="3", nick="小鱼仔", title="砂糖橘")
    second.buyer_id = theirs.buyer_id = first.buyer_id
    theirs.owner_id = make_user(Role.AGENT, shops=[shop]).id
    session.commit()
    login(client, agent)
    page = client.get(f"/cases/{first.id}").get_data(as_text=True)
    field = page[page.index('id="attempt-together-field"') :].split("</ul>")[0]
    assert f"#{second.id} 冰糖橙 3斤装 · 待联系" in field and f"#{theirs.id}" not in field
    box = re.search(rf'<input[^>]*value="{second.id}"[^>]*>', field).group(0)
    assert "checked" in box
    answer = post_attempt(client, first, "considering", together=str(second.id))
    assert answer.status_code == 302
    html = client.get(f"/cases/{first.id}").get_data(as_text=True)
    assert f"同一次联系也记到了 #{second.id}" in html
    session.refresh(second)
    session.refresh(theirs)
    assert second.attempt_count == 1 and second.owner_id == agent.id
    assert second.first_attempt_at is not None and theirs.attempt_count == 0
    other = client.get(f"/cases/{second.id}").get_data(as_text=True)
    assert "联系记录（1）" in other


def test_a_yes_about_one_review_asks_what_the_buyer_said_of_the_other(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """已接通-同意修改 went along to the ticked case as its own promise."""
    first = recent_case(session, shop, key="1", nick="小鱼", title="赣南脐橙 5斤装")
    second = recent_case(session, shop, key="2", nick="小鱼儿", title="冰糖橙 3斤装")
    second.buyer_id = first.buyer_id
    session.commit()
    login(client, agent)
    page = client.get(f"/cases/{first.id}").get_data(as_text=True)
    field = page[page.index('id="attempt-together-outcome-field"') :].split("</select>")[0]
    assert '<option selected value="">与本案件相同</option>' in field
    assert '<option value="agreed">已接通-同意修改</option>' in field
    answer = post_attempt(client, first, "agreed", together=str(second.id))
    assert answer.status_code == 400  # the form again, with the error beside the field
    html = answer.get_data(as_text=True)
    error = html[html.index('id="attempt-together-outcome-field"') :].split("</select>")[1]
    assert "“已接通-同意修改”是买家对这条评价的答复：请选买家对勾选的案件怎么说" in error
    session.refresh(second)
    assert second.attempt_count == 0
    answer = post_attempt(
        client,
        first,
        "agreed",
        together=str(second.id),
        together_outcome="handling",
        next_attempt_at=local_input(utcnow() + timedelta(days=2)),
    )
    assert answer.status_code == 302
    session.refresh(first)
    session.refresh(second)
    assert first.promised_at is not None and second.promised_at is None
    assert second.attempt_count == 1 and second.next_follow_up_at is not None


def test_a_supervisors_board_shows_the_whole_team_by_default(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    """A supervisor owns few cases: a board of "mine + unassigned" would show 联系中 and
    等待买家 empty while the team works them."""
    worked = recent_case(session, shop, key="1", nick="有人管", text="客服在跟的案件")
    worked.owner_id = agent.id
    worked.status = CaseStatus.CONTACTING
    session.commit()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    html = client.get("/cases").get_data(as_text=True)
    assert "客服在跟的案件" in html
    assert '<option selected value="all">' in html  # and the filter says so
    assert "客服在跟的案件" not in client.get("/cases?scope=mine").get_data(as_text=True)


def test_a_card_says_when_its_follow_up_was_missed(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    missed, planned = (recent_case(session, shop, key=k, nick=f"买家{k}") for k in "12")
    for case, follow_up in ((missed, -3), (planned, 20)):
        case.owner_id, case.status = agent.id, CaseStatus.CONTACTING
        case.first_attempt_at = utcnow() - timedelta(hours=5)
        case.next_follow_up_at = utcnow() + timedelta(hours=follow_up)
    session.commit()
    login(client, agent)
    html = client.get("/cases").get_data(as_text=True)
    card = {
        c.id: html.split(f'data-case-id="{c.id}"')[1].split("</a>")[0] for c in (missed, planned)
    }
    assert "follow-up-missed" in card[missed.id] and "已过" in card[missed.id]
    assert "follow-up-missed" not in card[planned.id] and "已过" not in card[planned.id]


def test_a_card_shows_what_the_buyer_complained_of_and_the_follow_up_as_one(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A recovered case's 追评 (换货已经收到，很满意) shown in place of the review read as the
    complaint, under reason tags that no longer fit it: both are shown, the 追评 named."""
    case = recent_case(session, shop, text="快递太慢了，等了一个星期")
    case.review.follow_up_text = "换货已经收到，这次很满意"
    session.commit()
    login(client, agent)
    for view in ("kanban", "list"):
        html = client.get(f"/cases?view={view}").get_data(as_text=True)
        row = html.split(f'data-case-id="{case.id}"')[1]
        row = row.split("</a>" if view == "kanban" else "</tr>")[0]
        assert "快递太慢了，等了一个星期" in row
        assert row.index("快递太慢了") < row.index("追评：</span>换货已经收到，这次很满意")


def test_reason_tags_read_apart_before_the_styles_apply(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """Two reasons are two badges that only the styles' margins or gap set apart: a page
    read before the stylesheet applies (a slow phone, a screen reader, a copy) must not
    run them together into 物流问题包装问题."""
    case = recent_case(session, shop, text="外包装破损，物流太慢了")
    case.owner_id = agent.id
    session.commit()
    login(client, agent)

    def unstyled(html: str) -> str:
        return " ".join(re.sub(r"<[^>]*>", "", html).split())

    card = client.get("/cases").get_data(as_text=True).split(f'data-case-id="{case.id}"')[1]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True).split('id="reason-tags"')[1]
    for html in (card.split("</a>")[0], page.split("</div>")[0]):
        assert re.search(r"物流问题(（推断）)? 包装问题", unstyled(html)), unstyled(html)


def test_the_case_page_says_when_the_buyers_window_is_about_to_end(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    app,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the card does, in red, with the time left: a case a month old may have hours. Red
    from the moment the owner is told 30 天挽回期限即将结束, whatever lead the shop set."""
    case, url = own_case(client, session, shop, agent)

    def window() -> str:
        html = client.get(url).get_data(as_text=True)
        return html.split('id="buyer-window"')[1].split("</span>")[0]

    assert "text-danger" not in window() and "（" not in window()  # 30 days left
    assert "30 天期限：" not in client.get("/cases").get_data(as_text=True)
    case.revision_window_ends_at = utcnow() + timedelta(hours=60)
    session.commit()
    assert "text-danger" in window()  # within the default 72 hours
    monkeypatch.setitem(app.config, "TRACKER_ALERT_REVISION_LEAD_HOURS", 48)
    assert "text-danger" not in window()  # not yet told
    assert "30 天期限：" not in client.get("/cases").get_data(as_text=True)
    case.revision_window_ends_at = utcnow() + timedelta(hours=5, minutes=30)
    session.commit()
    assert "text-danger" in window() and re.search(r"（剩 5小时(29|30)分）", window())
    board = client.get("/cases").get_data(as_text=True)  # the card, by the same rule
    assert "30 天期限：" in board.split(f'data-case-id="{case.id}"')[1].split("</a>")[0]
    case.revision_window_ends_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert "text-danger" in window() and "（已过）" in window()
    case.status, case.outcome = CaseStatus.UNRECOVERED, CaseOutcome.REFUSED
    case.closed_at = utcnow()
    session.commit()
    assert "text-danger" not in window() and "（" not in window()  # closed: nothing to chase


def test_a_closed_cases_page_shows_the_buyers_survey_answer(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case, url = own_case(client, session, shop, agent)
    assert 'id="survey"' not in client.get(url).get_data(as_text=True)  # open: none asked
    case.status, case.outcome = CaseStatus.RECOVERED, CaseOutcome.REVIEW_REVISED
    case.closed_at = utcnow() - timedelta(days=1)
    session.add(
        CaseSurvey(
            case_id=case.id,
            shop_id=shop.id,
            state="sent",
            out_id="s1",
            created_at=utcnow(),
            sent_at=utcnow(),
            answered_at=utcnow(),
            score=5,
            comment=PAYLOAD,
        )
    )
    session.commit()
    html = client.get(url).get_data(as_text=True)
    said = html[html.index('id="survey"') :][:300]
    assert "满意度回访：5 分（很满意）：&lt;script&gt;" in said and PAYLOAD not in html
    assert 'id="survey" class="text-danger"' not in html
    # the buyer said it is not solved, and the agent reopened it: the answer stays in sight
    survey = session.scalars(sa.select(CaseSurvey).where(CaseSurvey.case_id == case.id)).one()
    survey.resolved, survey.score = "no", 2
    case.status, case.outcome, case.closed_at = CaseStatus.CONTACTING, None, None
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert (
        '<span id="survey" class="text-danger">满意度回访：问题还没有解决 · 2 分（不满意）' in html
    )
    # the board finds it (a filter box) and says so on its card and its list row
    board = client.get("/cases?survey_unsolved=y").get_data(as_text=True)
    card = board.split(f'data-case-id="{case.id}"')[1].split("</a>")[0]
    assert '<div class="text-danger mt-1 survey-unsolved">满意度回访：问题还没有解决</div>' in card
    assert '<input checked class="form-check-input" id="survey_unsolved"' in board
    assert "（近 7 天）" not in board  # its closed columns go back as far as answers do
    assert "未挽回（近 7 天）" in client.get("/cases").get_data(as_text=True)
    listed = client.get("/cases?view=list&survey_unsolved=y").get_data(as_text=True)
    assert '<div class="small text-danger survey-unsolved">回访：还没有解决</div>' in listed
    survey.resolved = "yes"
    session.commit()
    assert f'data-case-id="{case.id}"' not in client.get("/cases?survey_unsolved=y").get_data(
        as_text=True
    )
    assert "survey-unsolved" not in client.get("/cases").get_data(as_text=True)
    survey.resolved = "no"
    session.commit()
    survey.answered_at = survey.score = survey.resolved = None  # not answered: an open case
    session.commit()  # shows nothing of it (a queued survey is withdrawn)
    assert 'id="survey"' not in client.get(url).get_data(as_text=True)
    case.status, case.outcome = CaseStatus.RECOVERED, CaseOutcome.REVIEW_REVISED
    case.closed_at = utcnow() - timedelta(days=1)
    survey.answered_at, survey.score, survey.comment = utcnow(), 5, PAYLOAD
    session.commit()
    # won back by its 追评: the page no longer advises how to close it (it did, closed)
    shop.platform = Platform.TMALL  # where a 追评 leaves nothing to change
    case.review.follow_up_text = "问题解决了，谢谢"
    case.outcome = CaseOutcome.POSITIVE_FOLLOW_UP
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert 'id="nothing-to-change"' not in html and "结果：已追评转好" in html


def test_board_filters_and_search(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    recent_case(session, shop, key="1", nick="小鱼", text="快递太慢了")
    recent_case(session, shop, key="2", nick="阿狸", text="质量很差，坏了")
    login(client, agent)
    html = client.get("/cases?view=list&reason=logistics").get_data(as_text=True)
    assert "快递太慢了" in html and "质量很差" not in html
    html = client.get("/cases?view=list&q=阿狸").get_data(as_text=True)
    assert "质量很差" in html and "快递太慢了" not in html
    html = client.get("/cases?view=list&q=T1").get_data(as_text=True)  # order id
    assert "快递太慢了" in html and "质量很差" not in html
    html = client.get("/cases?view=list&q=太慢").get_data(as_text=True)  # words of the review
    assert "快递太慢了" in html and "质量很差" not in html
    html = client.get("/cases?view=list&q=O2").get_data(as_text=True)  # the review's key
    assert "质量很差" in html and "快递太慢了" not in html
    html = client.get("/cases?view=list&q=%25").get_data(as_text=True)  # % is a character
    assert "没有符合条件的案件" in html
    html = client.get("/cases?view=list&overdue=y").get_data(as_text=True)
    assert "没有符合条件的案件" in html
    for bad in ("status=nonsense", "priority=9", "opened_from=yesterday", "sort=evil"):
        assert client.get(f"/cases?{bad}").status_code == 200
    html = client.get("/cases?view=list&q=了").get_data(as_text=True)
    assert "共 2 个" in html and 'id="broad-search"' not in html


def test_a_board_search_matching_too_many_says_so(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in "123":
        recent_case(session, shop, key=key, nick=f"买家{key}", text="快递太慢了")
    monkeypatch.setattr(browse, "SEARCH_LIMIT", 2)
    login(client, agent)
    html = client.get("/cases?view=list&q=太慢").get_data(as_text=True)
    notice = html[html.index('id="broad-search"') :][:120]
    assert "符合的案件超过 2 个" in notice and html.count("快递太慢了") == 2  # the first two
    assert "超过 2 个，第 1 / 1 页" in html  # the pager counts cases as the notice does


def test_kanban_closed_columns_hold_last_weeks_cases_the_list_holds_all(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    cases = [
        recent_case(session, shop, key=str(i), nick=f"买家{i}", text=f"案件文字{i}")
        for i in range(3)
    ]
    for case, closed_days_ago in zip(cases, (1, 2, 8), strict=True):
        case.status, case.outcome = CaseStatus.RECOVERED, CaseOutcome.REVIEW_REVISED
        case.closed_at = utcnow() - timedelta(days=closed_days_ago)
    session.commit()
    login(client, agent)
    html = client.get("/cases?scope=all").get_data(as_text=True)
    column = html[html.index('data-status="recovered"') :]
    assert "已挽回（近 7 天）" in html and '<span class="badge text-bg-light">2</span>' in column
    assert column.index("案件文字0") < column.index("案件文字1")  # last closed first
    assert "案件文字2" not in html  # closed eight days ago: off the kanban
    assert "sort=closed" in column and "status=recovered" in column
    listed = client.get("/cases?scope=all&view=list&status=recovered&sort=closed")
    text = listed.get_data(as_text=True)
    assert text.index("案件文字0") < text.index("案件文字1") < text.index("案件文字2")


def test_on_tmall_the_buyer_agrees_to_a_follow_up_not_a_change(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A Tmall review cannot change: the form, the log, the history, the promise and the
    refusal all say 追评, so no one tells a buyer to do what the platform does not allow."""
    shop.platform = Platform.TMALL
    case = recent_case(session, shop)
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert ">已接通-同意追评</option>" in page and "同意修改" not in page
    assert post_attempt(client, case, "agreed").status_code == 302
    page = client.get(url).get_data(as_text=True)
    timeline = page[page.index('id="attempts"') :]
    assert ">已接通-同意追评</span>" in timeline
    history = page[page.index('id="history"') :]
    assert "联系：电话 · 已接通-同意追评" in history and "同意修改" not in page
    promise = page[page.index('id="promise"') :]
    assert "承诺追评" in promise[:200] and "到期未追评" in promise[:200]
    session.refresh(case)
    refused = post_status(client, case, "recovered", "positive_follow_up")
    assert refused.status_code == 400
    assert "请记录联系结果“已接通-同意追评”" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("platform", "rating"),
    [(Platform.TMALL, Rating.BAD), (Platform.TAOBAO, Rating.GOOD)],
)
def test_a_buyer_who_added_their_one_follow_up_is_not_asked_for_another(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    platform: Platform,
    rating: Rating,
) -> None:
    """Once a Tmall review, or a hidden negative anywhere, has its 追评, nothing the buyer
    can do changes it: the page says so, offers no 同意追评 and no script asking for one,
    and the server refuses a promise nobody can keep."""
    shop.platform = platform
    session.add(
        Script(
            shop_id=shop.id,
            title="请买家追评",
            body="问题解决后，麻烦您{更新评价}，谢谢。",
            updated_at=utcnow(),
        )
    )
    case = recent_case(session, shop, rating=rating, text="还行吧")
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert "同意追评" in page and "挽回跟进至" in page and "麻烦您在订单里追评" in page
    case.review.follow_up_text, case.review.follow_up_at = "用了两天就坏了，很失望", utcnow()
    session.commit()
    page = client.get(url).get_data(as_text=True)
    said = page[page.index('id="nothing-to-change"') :][:200]
    assert "买家已追评（每条评价只能追评一次）" in said and "买家满意但未改评" in said
    assert "挽回跟进至" not in page and "同意追评" not in page and "麻烦您" not in page
    assert ">已接通-考虑中</option>" in page  # the rest of the form is there
    refused = post_attempt(client, case, "agreed")
    assert refused.status_code == 400
    assert "买家已经追评过" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count(ContactAttempt.id))) == 0
    assert post_attempt(client, case, "considering").status_code == 302


def test_on_taobao_a_hidden_negative_is_asked_for_a_follow_up_not_a_change(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A Taobao buyer may revise a 中/差评, but a 好评 with unhappy words is one already:
    the call asks for a 追评, whatever a bad review's call would ask."""
    shop.platform = Platform.TAOBAO
    hidden = recent_case(
        session, shop, key="h", nick="买家乙", rating=Rating.GOOD, text="好评是给快递的，东西很差"
    )
    bad = recent_case(session, shop, key="b")
    login(client, agent)
    page = client.get(f"/cases/{hidden.id}").get_data(as_text=True)
    assert ">已接通-同意追评</option>" in page and "同意修改" not in page
    # the tracker's horizon, named as such: Taobao allows a 追评 180 days after the trade
    window = page[page.index('id="buyer-window"') :][:300]
    assert "挽回跟进至" in window and "淘宝买家在交易成功后 180 天内可追评一次" in window
    page = client.get(f"/cases/{bad.id}").get_data(as_text=True)
    assert ">已接通-同意修改</option>" in page and "买家可修改评价至" in page
    window = page[page.index('id="buyer-window"') :][:300]
    assert "淘宝买家可在评价发布后 30 天内修改评价" in window


def test_claim_and_the_second_claimer_is_told_who_has_it(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = recent_case(session, shop)
    login(client, agent)
    response = post_form(client, f"/cases/{case.id}/claim", {}, form_url=f"/cases/{case.id}")
    assert response.status_code == 302
    session.refresh(case)
    assert case.owner_id == agent.id
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.AGENT, shops=[shop]))
    response = post_form(client, f"/cases/{case.id}/claim", {}, form_url=f"/cases/{case.id}")
    assert "已由客服小林认领" in client.get(response.location).get_data(as_text=True)


def test_log_attempts_a_promise_and_the_platform_closes_it_as_recovered(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case = recent_case(session, shop)
    login(client, agent)
    url = f"/cases/{case.id}"
    assert post_attempt(client, case, "no_answer", notes="响铃无人接").status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "响铃无人接" in html and 'id="next-try"' in html  # a tip for the next try
    session.refresh(case)
    # 下次跟进 left blank: the tip is kept as the case's follow-up, and the page says so
    when = case.next_follow_up_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
    assert f"下次跟进：{when}（按建议安排" in html
    # the form offers the tip's channel for the try to come, not its time as the follow-up
    # after it (logged at that time, it was refused: 下次联系时间应晚于本次联系时间)
    follow_up = re.search(r'<input[^>]*name="attempt-next_attempt_at"[^>]*>', html)
    assert follow_up and 'value="2' not in follow_up[0]
    response = post_attempt(client, case, "agreed", channel="wangwang", duration_minutes="3")
    assert response.status_code == 302
    session.refresh(case)
    assert case.status is CaseStatus.WAITING and case.attempt_count == 2
    assert case.promised_at is not None  # 买家承诺修改: the case waits for the platform
    page = client.get(url).get_data(as_text=True)
    assert 'id="promise"' in page and 'value="review_revised"' not in page
    assert "承诺修改" in page  # Taobao: a 中差评 may be changed (on Tmall it says 承诺追评)
    # typed by hand all the same: refused, nothing written
    response = post_status(client, case, "recovered", "review_revised")
    assert response.status_code == 400
    assert "由平台数据确认后自动设置" in response.get_data(as_text=True)
    session.refresh(case)
    assert case.status is CaseStatus.WAITING
    review = case.review
    ingest(  # the next pull shows the buyer's change (this shop is on Taobao)
        session,
        shop,
        [
            ReviewRecord(
                review.platform_key,
                "买家",
                Rating.GOOD,
                "问题解决了，好评",
                utcnow(),
            )
        ],
        now=utcnow(),
        scorer=KeywordScorer(),
        settings=runtime.settings(current_app, shop),
    )
    session.commit()
    session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.RECOVERED, CaseOutcome.REVIEW_REVISED)
    assert "已挽回" in client.get(url).get_data(as_text=True)


def test_a_note_that_reads_as_an_offer_for_the_review_is_kept_and_flagged(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A note is what happened and is saved as written; the agent is told what it reads as
    (an inducement, or the buyer's demand: the appeal's), a plain note is not."""
    case = recent_case(session, shop)
    login(client, agent)
    url = f"/cases/{case.id}"
    note = "答应买家改好评后返20元"
    assert post_attempt(client, case, "considering", notes=note).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert note in page and "涉嫌诱导好评" in page and "提交评价申诉" in page
    assert session.scalars(sa.select(ContactAttempt.notes)).all() == [note]
    assert (
        post_attempt(client, case, "considering", notes="买家说橙子已经吃完了").status_code == 302
    )
    assert "涉嫌" not in client.get(url).get_data(as_text=True)


def test_a_call_that_put_the_problem_in_hand_is_logged_as_such(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """The form offers 已接通-问题处理中 beside the review outcomes; logged with when to
    check back, the record shows it as a call that reached the buyer."""
    case = recent_case(session, shop)
    login(client, agent)
    url = f"/cases/{case.id}"
    form = client.get(url).get_data(as_text=True)
    assert ">已接通-问题处理中</option>" in form
    assert "选“问题处理中”时必填，到时回访确认问题解决" in form  # said before it is refused
    check = local_input(utcnow() + timedelta(days=2))
    assert post_attempt(client, case, "handling", next_attempt_at=check).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert '<span class="badge text-bg-success">已接通-问题处理中</span>' in page
    session.refresh(case)
    assert case.status is CaseStatus.CONTACTING and case.next_follow_up_at is not None


def test_a_contact_left_at_the_time_the_page_showed_is_logged_when_sent(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A case page left open before the call put the opening time in 联系时间: logged as
    it was, a call made after the deadline counted as on time. Left as shown it is now the
    time the form was sent; a time typed in (补记 an earlier call) is kept."""
    from tracker.web.cases import views

    late = recent_case(session, shop, key="1")
    typed = recent_case(session, shop, key="2", nick="买家乙")
    late.owner_id = typed.owner_id = agent.id
    session.commit()
    login(client, agent)
    opened = utcnow()
    shown = re.search(
        r'name="attempt-attempted_at_shown"[^>]*value="([^"]+)"',
        client.get(f"/cases/{late.id}").get_data(as_text=True),
    )
    assert shown is not None and shown.group(1) == local_input(opened)
    sent = opened + timedelta(minutes=50)
    monkeypatch.setattr(views, "utcnow", lambda: sent)
    for case, written in (
        (late, shown.group(1)),
        (typed, local_input(opened - timedelta(hours=1))),
    ):
        form = {
            "attempt-version": str(case.version),
            "attempt-channel": "phone",
            "attempt-outcome": "no_answer",
            "attempt-attempted_at": written,
            "attempt-attempted_at_shown": shown.group(1),
        }
        url = f"/cases/{case.id}"
        assert post_form(client, f"{url}/attempts", form, form_url=url).status_code == 302
    query = sa.select(ContactAttempt.case_id, ContactAttempt.attempted_at)
    logged = dict(session.execute(query).tuples().all())
    assert logged[late.id] == sent
    assert local_input(logged[typed.id]) == local_input(opened - timedelta(hours=1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"attempt-attempted_at": ""}, "请填写联系时间"),
        ({"attempt-attempted_at": "not a time"}, ""),
        ({"attempt-duration_minutes": "999"}, "0 到 360"),
        ({"attempt-outcome": "teleported"}, ""),
        ({"attempt-next_attempt_at": "2000-01-01T10:00"}, "下次联系时间应晚于本次"),
        # a text is answered or not: busy and unanswered are what a call gets
        ({"attempt-channel": "sms", "attempt-outcome": "busy"}, "短信没有“占线/挂断”"),
        ({"attempt-channel": "email", "attempt-outcome": "no_answer"}, "请选“已留言”"),
        # the problem is in hand: the call that checks it is solved needs a time
        ({"attempt-outcome": "handling"}, "需要下次跟进时间"),
    ],
)
def test_bad_attempts_are_refused_next_to_the_field(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    data: dict[str, str],
    message: str,
) -> None:
    case = recent_case(session, shop)
    login(client, agent)
    form = {
        "attempt-version": str(case.version),
        "attempt-channel": "phone",
        "attempt-outcome": "no_answer",
        "attempt-attempted_at": local_input(utcnow()),
    } | data
    response = post_form(client, f"/cases/{case.id}/attempts", form, form_url=f"/cases/{case.id}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "invalid-feedback" in html and message in html
    assert session.scalar(sa.select(sa.func.count(ContactAttempt.id))) == 0


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("status", {"status-status": "recovered", "status-outcome": ""}, "结案需要选择结果"),
        ("status", {"status-status": "recovered", "status-outcome": "refused"}, "对应“未挽回”"),
        ("status", {"status-status": "new"}, "已经是“待联系”"),
        ("reasons", {}, "至少选择一个原因"),
        (
            "remedies",
            {"remedy-kind": "coupon", "remedy-amount": "-5", "remedy-cost": "0"},
            "0 到 999999.99",
        ),
        (
            "remedies",
            {"remedy-kind": "coupon", "remedy-amount": "", "remedy-cost": "0"},
            "请填写金额",
        ),
        ("explanation", {"explanation-explanation": "字" * 501}, "最多 500 字"),
        ("explanation", {"explanation-explanation": ""}, "请填写解释内容"),
    ],
)
def test_every_case_form_rejects_bad_input_and_writes_nothing(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    url: str,
    data: dict[str, str],
    message: str,
) -> None:
    case = recent_case(session, shop)
    login(client, agent)
    prefix = {
        "status": "status",
        "reasons": "reasons",
        "remedies": "remedy",
        "explanation": "explanation",
    }[url]
    response = post_form(
        client,
        f"/cases/{case.id}/{url}",
        {f"{prefix}-version": str(case.version)} | data,
        form_url=f"/cases/{case.id}",
    )
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert message in response.get_data(as_text=True)
    session.refresh(case)
    assert case.status is CaseStatus.NEW and case.version == 1 and not case.remedies
    assert case.explanation_draft is None


def test_remedy_and_explanation_through_the_page(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case = recent_case(session, shop)
    login(client, agent)
    url = f"/cases/{case.id}"
    post_form(
        client,
        f"{url}/remedies",
        {
            "remedy-version": "1",
            "remedy-kind": "coupon",
            "remedy-amount": "10",
            "remedy-cost": "10",
        },
        form_url=url,
    )
    assert session.scalar(sa.select(Remedy.amount)) == 10
    post_form(
        client,
        f"{url}/explanation",
        {"explanation-version": "2", "explanation-explanation": "亲，已为您补发"},
        form_url=url,
    )
    html = client.get(url).get_data(as_text=True)  # a 优惠券 recorded, not the 补发 it says
    box = html[html.index('id="explanation-findings"') :]
    assert "“亲，已为您补发”说了本案件没有登记的补偿（本案件还没有登记补发" in box
    assert "我已手动发布" not in html
    post_form(
        client,
        f"{url}/remedies",
        {
            "remedy-version": "3",
            "remedy-kind": "resend",
            "remedy-amount": "39",
            "remedy-cost": "20",
        },
        form_url=url,
    )
    html = client.get(url).get_data(as_text=True)
    assert "我已手动发布" in html and "复制，到千牛粘贴发布" in html
    post_form(client, f"{url}/explanation/post", {"post-version": "4"}, form_url=url)
    session.refresh(case)
    assert case.explanation_posted_at is not None
    assert "已于" in client.get(url).get_data(as_text=True)


def test_an_explanation_offering_something_for_the_review_is_refused_in_words(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case, url = own_case(client, session, shop, agent)
    draft = "亲，已为您补发，改个好评送您优惠券"
    form = {"explanation-version": str(case.version), "explanation-explanation": draft}
    post_form(client, f"{url}/explanation", form, form_url=url)
    assert "请修改后再发布" in client.get(url).get_data(as_text=True)  # saved, with a warning
    session.refresh(case)
    response = post_form(
        client, f"{url}/explanation/post", {"post-version": str(case.version)}, form_url=url
    )
    assert response.status_code == 302  # refused above the page, not under a hidden field
    page = client.get(url).get_data(as_text=True)
    assert "涉嫌诱导好评" in page and "已于" not in page
    session.refresh(case)
    assert case.explanation_posted_at is None


def test_a_draft_naming_the_buyer_offers_no_way_to_publish_and_says_why(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case, url = own_case(client, session, shop, agent)
    recorded_remedy(session, case.id, agent.id, utcnow())
    session.commit()
    nick = case.buyer.platform_nick
    form = {
        "explanation-version": str(case.version),
        "explanation-explanation": f"{nick}您好，已补发",
    }
    post_form(client, f"{url}/explanation", form, form_url=url)
    html = client.get(url).get_data(as_text=True)
    box = html[html.index('id="explanation-findings"') :]
    assert f"“{nick}您好，已补发”写出了买家的个人信息" in box[: box.index("</div>")]
    assert "我已手动发布" not in html and "复制，到千牛粘贴发布" not in html
    session.refresh(case)
    draft = "亲，<b>已为您补发</b>，请查收"  # a draft that passes: the saved words are copied
    form = {"explanation-version": str(case.version), "explanation-explanation": draft}
    post_form(client, f"{url}/explanation", form, form_url=url)
    html = client.get(url).get_data(as_text=True)
    assert (
        'id="explanation-findings"' not in html and 'data-copy-target="#explanation-saved"' in html
    )
    assert (
        '<div id="explanation-saved" hidden>亲，&lt;b&gt;已为您补发&lt;/b&gt;，请查收</div>' in html
    )


def test_a_stale_page_is_refused_with_who_changed_it(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = recent_case(session, shop)
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="周主管")
    from tracker.services import cases as svc

    at = utcnow()
    svc.assign(session, [case], agent, actor=boss, now=at)  # version 1 -> 2
    login(client, agent)
    response = post_form(
        client,
        f"/cases/{case.id}/status",
        {"status-version": "1", "status-status": "contacting"},
        form_url=f"/cases/{case.id}",
    )
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    beijing = at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"已被周主管于 {beijing:%H:%M}修改" in html and "请刷新页面" in html  # not UTC
    session.refresh(case)
    assert case.status is CaseStatus.NEW


def test_phone_is_shown_in_full_only_to_the_agent_working_the_case(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case = recent_case(session, shop, phone="13812345678")
    login(client, agent)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "138****5678" in html and "13812345678" not in html
    url = f"/cases/{case.id}"
    handle = session.scalar(sa.select(ContactHandle).where(ContactHandle.buyer_id == case.buyer_id))
    reveal = f"{url}/numbers/{handle.id}"
    assert post_form(client, reveal, {}, form_url=url).status_code == 403
    post_form(client, f"{url}/claim", {}, form_url=url)
    html = client.get(url).get_data(as_text=True)
    assert "13812345678" not in html and f'action="{reveal}"' in html  # one click away
    html = post_form(client, reveal, {}, form_url=url).get_data(as_text=True)
    assert 'href="tel:13812345678"' in html
    reveals = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.field == "phone_revealed", AuditEvent.case_id == case.id
        )
    ).all()
    assert [(r.actor_id, r.entity_id) for r in reveals] == [(agent.id, case.buyer_id)]
    assert "13812345678" not in client.get(url).get_data(as_text=True)  # not kept on the page


def test_user_text_is_escaped_on_board_and_case_page(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case = recent_case(session, shop, nick=PAYLOAD, text=PAYLOAD, title=PAYLOAD)
    login(client, agent)
    for url in ("/cases", "/cases?view=list", f"/cases/{case.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html, url


def test_other_shops_cases_are_not_found(
    client: FlaskClient, session: Session, agent: User, make_shop
) -> None:  # type: ignore[no-untyped-def]
    other = recent_case(session, make_shop())
    login(client, agent)
    assert client.get(f"/cases/{other.id}").status_code == 404
    response = post_form(client, f"/cases/{other.id}/claim", {}, form_url="/cases")
    assert response.status_code == 404


def test_agents_cannot_assign_supervisors_can(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    cases = [recent_case(session, shop, key=str(i), nick=f"n{i}") for i in range(2)]
    login(client, agent)
    data = {"owner_id": str(agent.id), "case_ids": [str(c.id) for c in cases]}
    assert post_form(client, "/cases/assign", data, form_url="/cases").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    response = post_form(client, "/cases/assign", data, form_url="/cases?view=list")
    assert response.status_code == 302
    assert {c.owner_id for c in session.scalars(sa.select(Case))} == {agent.id}
    no_owner = {"owner_id": "0", "case_ids": data["case_ids"]}
    post_form(client, "/cases/assign", no_owner, form_url="/cases?view=list")
    assert {c.owner_id for c in session.scalars(sa.select(Case))} == {agent.id}  # unchanged
    assert "请选择负责人" in client.get("/cases?view=list").get_data(as_text=True)
    explicit = no_owner | {"unassign": "取消分配"}
    post_form(client, "/cases/assign", explicit, form_url="/cases?view=list")
    assert {c.owner_id for c in session.scalars(sa.select(Case))} == {None}


def test_bulk_assignment_leaves_the_cases_of_shops_the_supervisor_cannot_see(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    other_shop = make_shop()
    mine = recent_case(session, shop, key="1", nick="n1")
    theirs = recent_case(session, other_shop, key="2", nick="n2")
    theirs_id = theirs.id
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    data = {"owner_id": str(agent.id), "case_ids": [str(mine.id), str(theirs_id)]}
    post_form(client, "/cases/assign", data, form_url="/cases?view=list")
    session.expire_all()
    assert session.get(Case, mine.id).owner_id == agent.id
    assert session.get(Case, theirs_id).owner_id is None
    only_theirs = {"owner_id": str(agent.id), "case_ids": [str(theirs_id)]}
    post_form(client, "/cases/assign", only_theirs, form_url="/cases?view=list")
    assert "请先勾选要分配的案件" in client.get("/cases?view=list").get_data(as_text=True)


def test_the_list_finds_closed_cases_under_all_and_due_today_means_today(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    from tracker.models.enums import CaseOutcome

    closed = recent_case(session, shop, key="1", nick="n1")
    closed.status, closed.outcome, closed.closed_at = (
        CaseStatus.UNRECOVERED,
        CaseOutcome.REFUSED,
        utcnow(),
    )
    late = recent_case(session, shop, key="2", nick="n2")
    late.first_contact_due_at = utcnow() - timedelta(days=3)
    today = recent_case(session, shop, key="3", nick="n3")
    today.first_contact_due_at = utcnow().replace(microsecond=0)
    session.commit()
    login(client, agent)
    open_only = client.get("/cases?view=list&scope=all&q=T1").get_data(as_text=True)
    assert f'href="/cases/{closed.id}"' not in open_only
    everything = client.get("/cases?view=list&scope=all&status=all&q=T1").get_data(as_text=True)
    assert f'href="/cases/{closed.id}"' in everything
    due = client.get("/cases?view=list&scope=all&due_today=y").get_data(as_text=True)
    assert f'href="/cases/{late.id}"' not in due
    assert f'href="/cases/{today.id}"' in due


def test_the_case_page_offers_the_owner_picker_to_supervisors_only(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = recent_case(session, shop, key="1", nick="n1")
    login(client, agent)
    assert 'id="assign-owner_id"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    response = post_form(
        client,
        f"/cases/{case.id}/assign",
        {"assign-owner_id": str(agent.id)},
        form_url=f"/cases/{case.id}",
    )
    assert response.status_code == 302  # refused with a message: only supervisors assign
    assert session.get(Case, case.id).owner_id is None

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    picker = re.search(r'<select[^>]*id="assign-owner_id".*?</select>', html, re.S)
    assert picker is not None and "客服小林" in picker.group(0)
    wrong = post_form(
        client,
        f"/cases/{case.id}/assign",
        {"assign-owner_id": "999999"},
        form_url=f"/cases/{case.id}",
    )
    assert wrong.status_code == 400 and 'id="assign-owner_id"' in wrong.get_data(as_text=True)
    response = post_form(
        client,
        f"/cases/{case.id}/assign",
        {"assign-owner_id": str(agent.id)},
        form_url=f"/cases/{case.id}",
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).owner_id == agent.id


def test_scripts_are_written_by_supervisors_and_filled_in_on_the_case(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    agent: User,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    login(client, agent)
    assert client.get("/scripts").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    response = post_form(
        client,
        "/scripts/new",
        {
            "title": "物流道歉",
            "reason": "logistics",
            "shop_id": str(shop.id),
            "body": "{买家}您好，{商品}的物流让您久等了",
        },
    )
    assert response.status_code == 302
    response = post_form(
        client, "/scripts/new", {"title": "", "reason": "", "shop_id": "0", "body": ""}
    )
    html = response.get_data(as_text=True)
    assert "请填写标题" in html and "请填写话术内容" in html
    response = post_form(
        client, "/scripts/new", {"title": "通用", "reason": "", "shop_id": "0", "body": "您好"}
    )
    assert "只有管理员" in response.get_data(as_text=True)
    case = recent_case(session, shop, text="快递太慢了")
    buyer_profiles.keep(case.buyer, name="韩梅梅")
    session.commit()
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    # the supervisor does not work this case: the script greets the masked name
    assert "韩**您好，赣南脐橙的物流让您久等了" in html and "韩梅梅" not in html
    assert (
        session.scalar(sa.select(sa.func.count(Script.id).filter(Script.title == "物流道歉"))) == 1
    )
    assert NOW


def test_a_database_outage_fails_cleanly_and_the_app_recovers(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case = recent_case(session, shop)
    login(client, agent)
    url = f"/cases/{case.id}"
    token, version = csrf_token(client, url), page_version(client, case.id)
    form = {
        "csrf_token": token,
        "attempt-version": version,
        "attempt-channel": "phone",
        "attempt-outcome": "no_answer",
        "attempt-attempted_at": local_input(utcnow()),
    }
    session.expunge_all()  # nothing cached: every page must go to the database
    with DatabaseDown(session):
        for method, target in (("GET", "/cases"), ("POST", f"{url}/attempts")):
            g.pop("_login_user", None)  # the test's app context would keep the signed-in user
            response = client.open(target, method=method, data=form if method == "POST" else None)
            html = response.get_data(as_text=True)
            assert response.status_code == 503 and response.headers["Retry-After"]
            assert "数据库暂时无法响应" in html and "没有保存" in html
    assert session.scalar(sa.select(sa.func.count(ContactAttempt.id))) == 0
    g.pop("_login_user", None)
    assert client.get("/cases").status_code == 200  # no restart needed
    assert client.post(f"{url}/attempts", data=form).status_code == 302
    assert session.scalar(sa.select(sa.func.count(ContactAttempt.id))) == 1


def test_a_supervisor_cannot_take_a_script_meant_for_every_shop(
    client: FlaskClient, session: Session, shop: Shop, make_user, make_shop
) -> None:  # type: ignore[no-untyped-def]
    other = make_shop()
    shared = Script(title="通用开场", body="您好", shop_id=None, updated_at=utcnow())
    session.add(shared)
    session.commit()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    response = post_form(
        client,
        f"/scripts/{shared.id}",
        {"title": "通用开场", "reason": "", "shop_id": str(shop.id), "body": "您好"},
    )
    assert "只有管理员" in response.get_data(as_text=True)
    assert session.scalar(sa.select(Script.shop_id).where(Script.id == shared.id)) is None
    assert other.id  # the other shop still sees it: it is still for every shop


def test_an_agent_cannot_note_preferences_on_another_agents_case(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = recent_case(session, shop)
    case.owner_id = agent.id
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop], display_name="客服小王"))
    url = f"/cases/{case.id}"
    answer = client.post(
        f"{url}/preferences",
        data={
            "prefs-preferences": "喜欢甜橙",
            "prefs-csrf_token": csrf_token(client, url),
            "csrf_token": csrf_token(client, url),
        },
        follow_redirects=True,
    )
    assert "您不能操作" in answer.get_data(as_text=True)
    assert not session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.field == "preferences")
    )


def test_a_script_that_induces_reviews_is_refused_naming_the_rule(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    login(client, boss)
    response = post_form(
        client,
        "/scripts/new",
        {
            "title": "回访",
            "body": "亲，改成五星好评送您一张20元优惠券",
            "reason": "",
            "shop_id": str(shop.id),
        },
        form_url="/scripts/new",
    )
    page = response.get_data(as_text=True)  # the form again, the rule next to the text
    assert "网络反不正当竞争暂行规定" in page and "第九条" in page
    assert session.scalar(sa.select(sa.func.count(Script.id)).where(Script.title == "回访")) == 0


def test_a_closed_case_offers_no_contact_or_remedy_and_nothing_is_preselected(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    from tracker.models.enums import CaseOutcome

    case, url = own_case(client, session, shop, agent)
    page = client.get(url).get_data(as_text=True)
    assert 'id="attempt-form"' in page and 'id="remedy-form"' in page
    assert re.search(r'<option value="" selected>请选择…</option>', page)
    refused = post_form(
        client, f"{url}/status", {"status-version": str(case.version)}, form_url=url
    )
    assert refused.status_code == 400 and "请选择新的状态" in refused.get_data(as_text=True)
    case.status, case.outcome, case.closed_at = (
        CaseStatus.UNRECOVERED,
        CaseOutcome.REFUSED,
        utcnow(),
    )
    session.commit()
    closed = client.get(url).get_data(as_text=True)
    assert 'id="attempt-form"' not in closed and 'id="remedy-form"' not in closed
    assert 'id="closed-note"' in closed and "买家拒绝" in closed
    # one click back to work, next to the note (the status card is a phone's scroll away)
    reopen = closed[closed.index('id="reopen-form"') :]
    reopen = reopen[: reopen.index("</form>")]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', reopen))
    assert fields["status-status"] == "contacting" and "改回联系中" in reopen
    assert fields["status-version"] == str(case.version)
    reopened = client.post(f"{url}/status", data=fields)
    assert reopened.status_code == 302
    session.refresh(case)
    assert case.status is CaseStatus.CONTACTING and case.closed_at is None
    # a colleague's case: the note without the button
    case.status, case.outcome, case.closed_at = (
        CaseStatus.UNRECOVERED,
        CaseOutcome.REFUSED,
        utcnow(),
    )
    case.owner_id = make_user(Role.AGENT, shops=[shop], display_name="客服小陈").id
    session.commit()
    onlooker = client.get(url).get_data(as_text=True)
    assert 'id="closed-note"' in onlooker and 'id="reopen-form"' not in onlooker
    assert "改回联系中后，负责人可查看完整号码。" in onlooker  # not 认领
    case.status, case.outcome, case.closed_at = CaseStatus.CONTACTING, None, None
    session.commit()
    worked = client.get(url).get_data(as_text=True)  # the colleague's to call: not 认领 either
    assert (
        '<p class="small text-muted mb-2" id="numbers-hidden">负责这个案件的客服可查看完整号码。'
        in worked
    )
    case.owner_id = None
    session.commit()
    assert "认领此案件后可查看完整号码。" in client.get(url).get_data(as_text=True)


def test_the_home_page_puts_the_agents_own_work_first(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    overdue = recent_case(session, shop, key="1", nick="超时的买家")
    overdue.owner_id = agent.id
    overdue.first_contact_due_at = utcnow() - timedelta(days=2)
    someone_elses = recent_case(session, shop, key="2", nick="别人的买家")
    someone_elses.first_contact_due_at = utcnow() - timedelta(days=2)
    session.commit()
    login(client, agent)
    html = client.get("/").get_data(as_text=True)
    day = html[html.index('id="my-day"') : html.index('id="counted-at"')]
    assert "我的超时未联系" in day and f'href="/cases/{overdue.id}"' in day
    due = overdue.first_contact_due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    late = f'<span class="text-nowrap text-danger">{due:%m-%d %H:%M}</span> <a href="/cases/{overdue.id}"'
    assert late in day  # each first contact with its deadline
    assert f'href="/cases/{someone_elses.id}"' not in day
    assert "scope=mine" in day and "overdue=y" in day
    # a glance at the shop shows nicks as the platforms show them publicly, like the board
    unhappy = html[html.index("最新中差评") :]
    assert "超***家" in unhappy and "别***家" in unhappy
    assert "超时的买家" not in html and "别人的买家" not in html


def test_the_board_finds_the_call_backs_that_were_missed(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """跟进已过, a box on the board: the cases whose 下次跟进 passed with no contact since."""
    missed = recent_case(session, shop, key="1", nick="错过的买家")
    planned = recent_case(session, shop, key="2", nick="约好的买家")
    for case, hours in ((missed, -3), (planned, 3)):
        case.owner_id, case.status = agent.id, CaseStatus.CONTACTING
        case.next_follow_up_at = utcnow() + timedelta(hours=hours)
    session.commit()
    login(client, agent)
    page = client.get("/cases?view=list&follow_up_missed=y").get_data(as_text=True)
    assert '<input checked class="form-check-input" id="follow_up_missed"' in page
    assert f'data-case-id="{missed.id}"' in page and f'data-case-id="{planned.id}"' not in page
    row = page.split(f'data-case-id="{missed.id}"')[1].split("</tr>")[0]
    was = missed.next_follow_up_at.astimezone(ZoneInfo("Asia/Shanghai"))
    shown = "%H:%M" if was.date() == utcnow().astimezone(was.tzinfo).date() else "%m-%d %H:%M"
    assert (
        f'<div class="follow-up-at">跟进 <span class="text-nowrap text-danger">'
        f"{was.strftime(shown)} 已过</span></div>"
    ) in row  # each row says when the call-back was due
    assert 'id="follow_up_missed"' in client.get("/cases").get_data(as_text=True)
    # and the case page says it in red at the top; a planned one plainly
    said = client.get(f"/cases/{missed.id}").get_data(as_text=True)
    assert '<span id="next-follow-up" class="text-danger">下次跟进：' in said
    assert "（已过，还没再联系）</span>" in said
    plain = client.get(f"/cases/{planned.id}").get_data(as_text=True)
    assert '<span id="next-follow-up">下次跟进：' in plain and "已过，还没再联系" not in plain


def test_the_home_pages_follow_ups_say_when_to_call_back(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """我今天要跟进 gives each buyer's time, as the board's 今天的跟进: later today its
    time, one missed earlier today its time in red, one missed on an earlier day its day
    and time in red."""
    now = utcnow()
    shanghai = ZoneInfo("Asia/Shanghai")
    local = now.astimezone(shanghai)
    tonight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=shanghai)
    missed = recent_case(session, shop, key="1", nick="错过的买家")
    later = recent_case(session, shop, key="2", nick="晚点的买家")
    for case, at in ((missed, now - timedelta(days=2)), (later, now + (tonight - now) / 2)):
        case.owner_id, case.status, case.next_follow_up_at = agent.id, CaseStatus.CONTACTING, at
    session.commit()
    login(client, agent)
    html = client.get("/").get_data(as_text=True)
    day = html[html.index("我今天要跟进") : html.index('id="counted-at"')]
    was = missed.next_follow_up_at.astimezone(shanghai).strftime("%m-%d %H:%M")
    assert (
        f'<span class="text-nowrap text-danger">{was} 已过</span> <a href="/cases/{missed.id}"'
        in day
    )
    if tonight - now > timedelta(minutes=2):  # (in the day's last minutes "later" is past)
        due = later.next_follow_up_at.astimezone(shanghai).strftime("%H:%M")
        assert f'<span class="text-nowrap">{due}</span> <a href="/cases/{later.id}"' in day
    if local.hour or local.minute > 2:  # (just after midnight, a minute ago was yesterday)
        later.next_follow_up_at = now - timedelta(minutes=1)
        session.commit()
        day = client.get("/").get_data(as_text=True)
        was = later.next_follow_up_at.astimezone(shanghai).strftime("%H:%M")
        assert (
            f'<span class="text-nowrap text-danger">{was} 已过</span> <a href="/cases/{later.id}"'
            in day
        )
    assert day.index(f"/cases/{missed.id}") < day.index(f"/cases/{later.id}")  # in order
    overdue = html[html.index("我的超时未联系") : html.index("我今天要跟进")]
    assert "已过" not in overdue  # a deadline is late in red, not 已过 as a call-back is


def test_a_supervisors_home_shows_the_teams_morning(
    client: FlaskClient, session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    """A supervisor owns few cases: their home leads with the shop's overdue, due-today and
    unclaimed cases and the 待确认 queue, not four zeros of their own."""
    overdue = recent_case(session, shop, key="1", nick="超时的买家")
    overdue.first_contact_due_at = utcnow() - timedelta(hours=3)
    claimed = recent_case(session, shop, key="2", nick="有人管的")
    claimed.owner_id = agent.id
    claimed.first_contact_due_at = utcnow() + timedelta(days=2)
    session.commit()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    html = client.get("/").get_data(as_text=True)
    team = html[html.index('id="team-day"') : html.index('id="counted-at"')]
    assert "全店超时未联系" in team and f'href="/cases/{overdue.id}"' in team
    due = overdue.first_contact_due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    shown = "%H:%M" if due.date() == utcnow().astimezone(due.tzinfo).date() else "%m-%d %H:%M"
    assert f'text-danger">{due.strftime(shown)}</span> <a href="/cases/{overdue.id}"' in team
    assert "未分配" in team and "scope=unassigned" in team
    assert f'href="/cases/{claimed.id}"' not in team  # claimed, due in two days: not yet
    assert 'href="/cases/confirm"' in team
    assert 'id="my-day"' not in html  # nothing of their own: no row of zeros

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, agent)
    mine = client.get("/").get_data(as_text=True)
    assert 'id="my-day"' in mine and 'id="team-day"' not in mine


def test_home_lists_the_cases_whose_buyer_said_not_solved_until_someone_reaches_them(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A notice is read once; the home page keeps 回访说没解决、还没跟进 in sight (the
    buyer's words in red, the nick escaped), reopened or not, until someone talks to the
    buyer, and opens the board list of them with its box ticked; with none, no card."""
    login(client, agent)
    assert "回访说没解决、还没跟进" not in client.get("/").get_data(as_text=True)
    case = recent_case(session, shop, nick="<b>买家</b>")
    case.owner_id, case.status, case.outcome = agent.id, CaseStatus.UNRECOVERED, CaseOutcome.REFUSED
    case.closed_at = utcnow() - timedelta(days=1)
    answered_survey(session, case, "partly", at=utcnow() - timedelta(minutes=30))
    session.commit()
    html = client.get("/").get_data(as_text=True)
    day = html[html.index('id="my-day"') : html.index('id="counted-at"')]
    card = day[day.index("回访说没解决、还没跟进") - 400 :]
    assert '<span class="stat-value text-danger">1</span>' in card
    assert (
        f'<span class="text-danger">解决了一部分</span> <a href="/cases/{case.id}">&lt;***&gt;</a>'
        in card
    )
    link = re.search(r'href="(/cases\?[^"]*survey_unheeded=y[^"]*)"', card)
    assert link is not None
    listed = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert '<input checked class="form-check-input" id="survey_unheeded"' in listed
    assert f'data-case-id="{case.id}"' in listed and "共 1 个" in listed
    case.status, case.outcome, case.closed_at = CaseStatus.CONTACTING, None, None  # reopened
    session.commit()
    assert "回访说没解决、还没跟进" in client.get("/").get_data(as_text=True)
    session.refresh(case)
    answered = post_attempt(client, case, "considering")  # reached: they hear us out
    assert answered.status_code == 302
    assert "回访说没解决、还没跟进" not in client.get("/").get_data(as_text=True)


def test_pages_say_beijing_time_and_have_an_icon(client: FlaskClient, agent: User) -> None:
    login(client, agent)
    html = client.get("/").get_data(as_text=True)
    assert "时间均为北京时间" in html and 'rel="icon"' in html
    assert client.get("/favicon.ico").status_code == 301
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200


def test_the_page_asks_for_a_privacy_calls_result_and_writes_it_on_the_call(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case, url = own_case(client, session, shop, agent)
    placed_at = utcnow() - timedelta(minutes=5)
    add_attempt(
        session,
        case,
        agent,
        placed_at,
        AttemptOutcome.CALL_PLACED,
        notes="隐私号外呼：请用本人手机拨打 17000000000",
    )
    case.attempt_count, case.first_attempt_at = 1, placed_at
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert 'id="call-result-hint"' in html and "不算又一次联系" in html
    assert 'id="next-try"' not in html  # the call's answer comes first
    assert re.search(r'<option selected value="phone">|<option value="phone" selected', html)
    # 2 hours between contacts would refuse a second attempt; this one is the call's result
    response = post_attempt(client, case, "considering", notes="买家说再看看")
    assert response.status_code == 302
    local = placed_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"已记在 {local:%H:%M} 的隐私号外呼上" in client.get(url).get_data(as_text=True)
    [call] = session.scalars(sa.select(ContactAttempt)).all()
    session.refresh(call)
    assert call.outcome is AttemptOutcome.CONSIDERING and "买家说再看看" in call.notes
    assert 'id="call-result-hint"' not in client.get(url).get_data(as_text=True)


def test_the_page_says_when_a_buyer_was_tried_enough_to_close_as_unreachable(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    case = tried_daily(
        session,
        shop,
        agent,
        [
            (Channel.PHONE, AttemptOutcome.NO_ANSWER),
            (Channel.WANGWANG, AttemptOutcome.MESSAGE_LEFT),
            (Channel.PHONE, AttemptOutcome.BUSY),
            (Channel.WANGWANG, AttemptOutcome.MESSAGE_LEFT),
            (Channel.PHONE, AttemptOutcome.NO_ANSWER),
        ],
    )
    login(client, agent)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="tried-enough"' in html and "5 天里用电话、旺旺/千牛联系了 5 次" in html


def tried_daily(  # type: ignore[no-untyped-def]
    session: Session, shop: Shop, agent: User, tries: list[tuple[Channel, AttemptOutcome]]
):
    """The agent's case opened 9 days ago, tried once a day on each of the last days."""
    case = open_case(session, shop, at=utcnow() - timedelta(days=9))
    case.owner_id = agent.id
    for days_ago, (channel, outcome) in zip(range(len(tries), 0, -1), tries, strict=True):
        add_attempt(
            session, case, agent, utcnow() - timedelta(days=days_ago), outcome, channel=channel
        )
    case.attempt_count, case.status = len(tries), CaseStatus.CONTACTING
    session.commit()
    return case


def test_a_jd_shops_pages_name_its_own_chat_not_wangwang(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A JD shop's agent was offered 旺旺/千牛 in 渠道, read it in the case's record and the
    next try (改用旺旺/千牛再试) and saw the buyer's account as 旺旺：…: Taobao's words on a
    platform whose chat is 京东咚咚. The tip went round to 微信, a way nobody has to them."""
    shop.platform = Platform.JD
    case = tried_daily(
        session,
        shop,
        agent,
        [
            (Channel.PHONE, AttemptOutcome.NO_ANSWER),
            (Channel.WANGWANG, AttemptOutcome.MESSAGE_LEFT),
            (Channel.SMS, AttemptOutcome.MESSAGE_LEFT),
            (Channel.PHONE, AttemptOutcome.BUSY),
            (Channel.WANGWANG, AttemptOutcome.MESSAGE_LEFT),
        ],
    )
    case.explanation_draft = "感谢反馈，我们已经改进了包装。"
    session.commit()
    login(client, agent)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "复制，到京麦粘贴发布" in html and "千牛" not in html
    assert "旺旺" not in html and "微信" not in html.split('id="tried-enough"')[0]
    assert '<option value="wangwang">京东咚咚</option>' in html
    assert "5 天里用电话、京东咚咚、短信联系了 5 次" in html
    assert "昵称：" in html
    tip = html.split('id="next-try"')[1].split("</div>")[0]
    assert "改用短信再试：上次 已留言（京东咚咚）" in tip
    assert len(re.findall(r"</strong> 京东咚咚", html)) == 2  # each contact's record


def test_a_first_contact_made_late_is_said_late_not_shown_as_met(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """The reports count a first try after the deadline as late; the case page and the
    list said 已联系 in green all the same. They now say how late."""
    late = recent_case(session, shop, key="1", nick="晚联系的买家")
    on_time = recent_case(session, shop, key="2", nick="按时的买家")
    for case, after in ((late, timedelta(hours=2, minutes=48, seconds=50)), (on_time, None)):
        case.owner_id, case.status = agent.id, CaseStatus.CONTACTING
        due = case.first_contact_due_at
        case.first_attempt_at = due + after if after else due - timedelta(minutes=5)
    session.commit()
    login(client, agent)
    page = client.get(f"/cases/{late.id}").get_data(as_text=True)
    made = late.first_attempt_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
    assert (
        f'<span id="first-contact-made" class="text-danger">（{made} 已联系，晚了 2小时48分）</span>'
    ) in page
    page = client.get(f"/cases/{on_time.id}").get_data(as_text=True)
    assert '<span id="first-contact-made" class="text-success">（' in page and "晚了" not in page
    listed = client.get("/cases?view=list").get_data(as_text=True)
    row = listed.split(f'data-case-id="{late.id}"')[1].split("</tr>")[0]
    assert '<div class="small first-contact-made text-danger">晚 2小时48分 联系</div>' in row
    row = listed.split(f'data-case-id="{on_time.id}"')[1].split("</tr>")[0]
    assert '<div class="small first-contact-made text-success">按时联系</div>' in row


def test_the_case_page_says_when_a_follow_up_set_will_be_refused_and_when_it_would_not(
    client: FlaskClient, session: Session, make_shop, make_user
) -> None:
    """A 下次跟进 twenty minutes after a call, with the shop's two hours between contacts:
    the head says the policy will refuse it then, and from when it would not."""
    shop = make_shop(contact_policy={**ANY_TIME, "min_gap_minutes": 120})
    agent = make_user(Role.AGENT, shops=[shop])
    case = recent_case(session, shop)
    called = utcnow() - timedelta(minutes=10)
    add_attempt(
        session,
        case,
        agent,
        called,
        AttemptOutcome.CONSIDERING,
        next_attempt_at=called + timedelta(minutes=30),
    )
    case.owner_id, case.status = agent.id, CaseStatus.WAITING
    case.next_follow_up_at = called + timedelta(minutes=30)
    session.commit()
    login(client, agent)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    earliest = whole_minute(called + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (
        '<span id="follow-up-held" class="text-warning-emphasis">按本店联系规则，到时还不能联系：'
        f"距上次联系不足 2 小时。最早 {earliest:%m-%d %H:%M}；买家约了这个时间的话，"
        "到时请主管填写原因后联系。</span>"
    ) in page
    case.next_follow_up_at = called + timedelta(hours=3)
    session.commit()
    assert 'id="follow-up-held"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_the_boards_follow_up_times_say_which_the_contact_policy_will_refuse(
    client: FlaskClient, session: Session, make_shop, make_user
) -> None:
    """Two hours between contacts: a call-back planned twenty minutes after a call, or one
    passed half an hour after it, would be refused. The board's 今天的跟进, its cards and
    list rows, and the home page's 我今天要跟进 say from when it would not, the reasons on
    hover; a follow-up past the gap is shown plainly."""
    shop = make_shop(contact_policy={**ANY_TIME, "min_gap_minutes": 120})
    agent = make_user(Role.AGENT, shops=[shop])
    now = utcnow()
    planned = {"passed": -10, "soon": 20, "later": 180}  # minutes from now
    cases = {}
    for key, (name, minutes) in enumerate(planned.items()):
        case = recent_case(session, shop, key=str(key), nick=f"买家{name}")
        called = now - timedelta(minutes=40 if name == "passed" else 10)
        add_attempt(session, case, agent, called, AttemptOutcome.CONSIDERING)
        case.owner_id, case.status = agent.id, CaseStatus.WAITING
        case.first_attempt_at = called
        case.next_follow_up_at = now + timedelta(minutes=minutes)
        cases[name] = (case, called)
    session.commit()
    login(client, agent)

    def said(case, called):  # type: ignore[no-untyped-def]
        earliest = whole_minute(called + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Shanghai"))
        today = earliest.date() == utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
        when = "现在" if case.next_follow_up_at <= utcnow() else "到时"
        return (
            f'<span class="follow-up-held text-warning-emphasis text-nowrap" title="按本店联系规则'
            f'{when}还不能联系：距上次联系不足 2 小时">按规则最早 <span class="text-nowrap">'
            f"{earliest:{'%H:%M' if today else '%m-%d %H:%M'}}</span></span>"
        )

    kanban = client.get("/cases").get_data(as_text=True)
    listing = client.get("/cases?view=list").get_data(as_text=True)
    card = {
        n: kanban.split(f'data-case-id="{c.id}"')[1].split("</a>")[0] for n, (c, _) in cases.items()
    }
    row = {
        n: listing.split(f'data-case-id="{c.id}"')[1].split("</tr>")[0]
        for n, (c, _) in cases.items()
    }
    for name in ("passed", "soon"):
        assert said(*cases[name]) in card[name]
        assert said(*cases[name]) in row[name]
    assert "follow-up-held" not in card["later"] and "follow-up-held" not in row["later"]
    # 今天的跟进 (a passed follow-up is always today's) and the home page's list
    today = kanban.split("今天的跟进")[1].split("</details>")[0]
    assert said(*cases["passed"]) in today
    home = client.get("/").get_data(as_text=True).split("我今天要跟进")[1].split("</ul>")[0]
    assert said(*cases["passed"]) in home


def test_the_case_log_colours_an_attempt_that_went_well_as_the_buyers_history_does(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A privacy call connected and an SMS delivered went as hoped: green on the buyer's
    contact history, and now on the case's log too (a list in the template left them grey)."""
    case = recent_case(session, shop)
    case.owner_id, case.status = agent.id, CaseStatus.CONTACTING
    start = utcnow() - timedelta(hours=3)
    outcomes = {
        AttemptOutcome.CALL_CONNECTED: True,
        AttemptOutcome.MESSAGE_DELIVERED: True,
        AttemptOutcome.HANDLING: True,
        AttemptOutcome.NO_ANSWER: False,
        AttemptOutcome.CALL_PLACED: False,
    }
    for n, outcome in enumerate(outcomes):
        add_attempt(session, case, agent, start + timedelta(minutes=10 * n), outcome)
    session.commit()
    login(client, agent)
    log = client.get(f"/cases/{case.id}").get_data(as_text=True).split('id="attempts"')[1]
    log = log.split("</ul>")[0]
    history = client.get(f"/shop/buyers/{case.buyer_id}").get_data(as_text=True)
    for outcome, well in outcomes.items():
        colour = "text-bg-success" if well else "text-bg-light border"
        assert f'<span class="badge {colour}">{outcome.label}</span>' in log, outcome
        assert f'<span class="badge {colour}">{outcome.label}</span>' in history, outcome


def follow_up_on_a_day_off(session: Session, shop: Shop, agent: User, boss: User):  # type: ignore[no-untyped-def]
    """A case of ``agent``'s waiting for a follow-up at 10:00 tomorrow, their day off (a
    调班 ``boss`` set); and tomorrow's date."""
    from tracker.services import shifts

    sh = ZoneInfo("Asia/Shanghai")
    tomorrow = utcnow().astimezone(sh).date() + timedelta(days=1)
    shifts.set_day(session, agent, tomorrow, [], actor=boss, now=utcnow(), tz=sh)
    case = recent_case(session, shop)
    case.owner_id, case.status = agent.id, CaseStatus.WAITING
    case.next_follow_up_at = datetime.combine(tomorrow, time(10), tzinfo=sh)
    session.commit()
    return case, tomorrow


def test_the_case_page_says_a_follow_up_falls_on_its_owners_day_off(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:
    """Tomorrow 10:00 for an agent who has tomorrow off: the agent reads that they will be
    off and what to do, a supervisor reads whose case it is and that they can hand it on."""
    from tracker.services import shifts

    sh = ZoneInfo("Asia/Shanghai")
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    agent = make_user(Role.AGENT, shops=[shop], display_name="<b>小林</b>")
    case, tomorrow = follow_up_on_a_day_off(session, shop, agent, boss)
    back = shifts.next_on_shift(agent, shop, case.next_follow_up_at, sh)
    assert back is not None and back.astimezone(sh).date() > tomorrow
    login(client, agent)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert (
        f'<span id="follow-up-owner-off" class="text-warning-emphasis">到时你休息（'
        f"{back.astimezone(sh):%m-%d %H:%M} 上班），跟进提醒会发给主管；"
        "可改约你上班的时间，或请主管转给当班的同事。</span>"
    ) in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, boss)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "到时&lt;b&gt;小林&lt;/b&gt;休息（" in page and "可先转给当班的同事。" in page
    case.next_follow_up_at = datetime.combine(tomorrow + timedelta(days=1), time(10), tzinfo=sh)
    session.commit()
    assert 'id="follow-up-owner-off"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_handing_a_case_over_for_its_follow_up_marks_who_will_be_off_then(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:
    """A supervisor hands over a case for tomorrow's 10:00 follow-up: the 负责人 list marks
    the agent who has tomorrow off (跟进时休息), not the one who works it; with no follow-up
    to come, nobody is marked."""
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    off = make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    case, _ = follow_up_on_a_day_off(session, shop, off, boss)
    login(client, boss)

    def owners() -> list[str]:
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        listed = page.split('id="assign-owner_id"')[1].split("</select>")[0]
        return re.findall(r">([^<]+)</option>", listed)

    assert "客服小陈（跟进时休息）" in owners() and "客服小林" in owners()
    case.next_follow_up_at = None
    session.commit()
    assert "客服小陈" in owners() and "客服小陈（跟进时休息）" not in owners()


def test_the_owner_moves_a_follow_up_from_the_case_page(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:
    """改约 from the case head: the owner moves tomorrow's 10:00 (their day off) to the day
    after; the page says the new time, no longer says they will be off, and its history
    has the move. An empty time is refused next to the field, the form left open. A passed
    follow-up is not the agent's to move (the contact that was due moves it), a supervisor's."""
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    case, tomorrow = follow_up_on_a_day_off(session, shop, agent, boss)
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="reschedule"' in page and 'id="follow-up-owner-off"' in page
    after = tomorrow + timedelta(days=1)
    answer = post_form(
        client,
        f"/cases/{case.id}/follow-up",
        {"follow-version": case.version, "follow-at": f"{after:%Y-%m-%d}T10:00"},
        form_url=url,
    )
    assert answer.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert f"下次跟进：{after:%m-%d} 10:00。" in page
    assert f"下次跟进：{after:%Y-%m-%d} 10:00" in page
    assert 'id="follow-up-owner-off"' not in page
    assert f"下次跟进：{tomorrow:%m-%d} 10:00 → {after:%m-%d} 10:00" in words(page)
    session.refresh(case)
    answer = post_form(
        client,
        f"/cases/{case.id}/follow-up",
        {"follow-version": case.version, "follow-at": ""},
        form_url=url,
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert '<details id="reschedule" open>' in page and "请填写新的跟进时间。" in page
    # passed with no contact: the agent logs the contact that was due, a supervisor may move it
    case.next_follow_up_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert 'id="reschedule"' not in client.get(url).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, boss)
    assert 'id="reschedule"' in client.get(url).get_data(as_text=True)


def test_a_check_up_is_planned_without_a_contact_to_log(
    client: FlaskClient, session: Session, shop: Shop, agent: User
) -> None:
    """A reissue recorded after the call, and nothing planned: the agent wants to ring back
    when it arrives. 改约 showed only beside a 下次跟进 already set; the only way was to log
    a contact that did not happen. 安排跟进 sets one on a case already contacted."""
    case = recent_case(session, shop)
    case.owner_id, case.status = agent.id, CaseStatus.CONTACTING
    session.commit()
    login(client, agent)
    url = f"/cases/{case.id}"
    assert 'id="reschedule"' not in client.get(url).get_data(as_text=True)  # not yet tried
    add_attempt(session, case, agent, utcnow() - timedelta(hours=1), AttemptOutcome.HANDLING)
    case.first_attempt_at = utcnow() - timedelta(hours=1)
    session.commit()
    page = client.get(url).get_data(as_text=True)
    head = page[page.index('id="reschedule"') :].split("</details>")[0]
    assert '<summary class="small">安排跟进</summary>' in head and "跟进时间" in head
    assert 'value="安排跟进"' in head
    at = whole_minute(utcnow() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    answer = post_form(
        client,
        f"{url}/follow-up",
        {"follow-version": case.version, "follow-at": f"{at:%Y-%m-%dT%H:%M}"},
        form_url=url,
    )
    assert answer.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert f"下次跟进：{at:%m-%d %H:%M}。" in page and f"下次跟进：{at:%Y-%m-%d %H:%M}" in page
    assert '<summary class="small">改约</summary>' in page
    session.refresh(case)
    assert case.next_follow_up_at == at


def test_the_home_page_tells_an_agent_of_their_follow_ups_due_while_they_are_off(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:
    """Before the weekend: the agent's home page names the follow-up that falls on their day
    off, linking the case, so they re-book it or ask for a hand-over; once moved, nothing."""
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    case, tomorrow = follow_up_on_a_day_off(session, shop, agent, boss)
    login(client, agent)
    banner = client.get("/").get_data(as_text=True).split('id="my-follow-ups-off"')[1]
    banner = words(banner.split("</div>")[0])
    assert banner == (
        f">你有 1 个跟进约在你不在班时（#{case.id} {tomorrow:%m-%d} 10:00），到时提醒会发给主管："
        "可在案件页改约到你上班的时间，或请主管转给当班的同事。"
    )
    case.next_follow_up_at += timedelta(days=1)
    session.commit()
    assert 'id="my-follow-ups-off"' not in client.get("/").get_data(as_text=True)


def test_the_boards_follow_up_times_say_which_fall_while_their_owner_is_off(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:
    """The supervisor's board: the card and the list row of a case whose follow-up falls
    on its owner's day off say 到时客服小陈休息 (when they are back on hover); the owner's own
    board says 到时你休息; once moved to a day they work, neither does."""
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    case, _ = follow_up_on_a_day_off(session, shop, agent, boss)
    case.first_attempt_at = utcnow() - timedelta(hours=1)  # a card gives a tried case's follow-up
    session.commit()
    login(client, boss)

    def marks() -> tuple[str, str]:
        kanban = client.get("/cases?scope=all").get_data(as_text=True)
        listing = client.get("/cases?view=list&scope=all").get_data(as_text=True)
        card = kanban.split(f'data-case-id="{case.id}"')[1].split("</a>")[0]
        row = listing.split(f'data-case-id="{case.id}"')[1].split("</tr>")[0]
        return card, row

    said = '<span class="follow-up-owner-off text-warning-emphasis text-nowrap" title="到时跟进提醒会发给主管；'
    for shown in marks():
        assert said in shown and ">到时客服小陈休息</span>" in shown
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, agent)  # their own case: 你
    assert all(">到时你休息</span>" in shown for shown in marks())
    case.next_follow_up_at += timedelta(days=1)
    session.commit()
    assert all("follow-up-owner-off" not in shown for shown in marks())
