"""满意度回访: which closed cases are asked, the SMS with its signed link, the link forged,
reused and expired, and CSAT per agent, reason and product."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session

from tests.aliyun_server import FakeAliyun
from tests.factories import approved_template, open_case
from tests.fakes import statements_seen, transactions_seen
from tests.platform_servers import serve
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    AuditEvent,
    Case,
    CaseSurvey,
    ContactHandle,
    MessageTemplate,
    Notification,
    Shop,
    User,
)
from tracker.models.enums import CaseOutcome, CaseStatus, Role
from tracker.providers.aliyun import AliyunSms
from tracker.services import messaging, surveys
from tracker.services.errors import FieldError
from tracker.sources.contract import SourceOptions

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 11, 0, tzinfo=SH)
SECRET = "a-test-secret-key-long-enough"


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    with serve(FakeAliyun()) as fake:
        fake.templates.add("SMS_S1")
        yield fake


def closed(
    session: Session,
    shop: Shop,
    key: str,
    outcome: CaseOutcome,
    hours_ago: float,
    owner: User | None = None,
):  # type: ignore[no-untyped-def]
    case = open_case(
        session,
        shop,
        at=NOW - timedelta(days=5),
        key=key,
        nick=f"n{key}",
        phone=f"1350000{int(key):04d}",
    )
    case.status = (
        CaseStatus.RECOVERED if outcome is CaseOutcome.REVIEW_REVISED else CaseStatus.UNRECOVERED
    )
    if outcome is CaseOutcome.FALSE_ALARM:
        case.status = CaseStatus.DISMISSED
    case.outcome, case.closed_at = outcome, NOW - timedelta(hours=hours_ago)
    case.owner_id = owner.id if owner else None
    session.commit()
    return case


@pytest.fixture
def survey_shop(
    session: Session, make_shop: Callable[..., Shop], make_user: Callable[..., User]
) -> Shop:
    shop = make_shop(contact_policy=None)
    template = approved_template(
        session,
        shop,
        "${name}您好，您的问题已处理完毕，请花十秒评价这次服务：${link}",
        at=NOW,
        code="SMS_S1",
    )
    session.commit()
    surveys.set_template(session, shop, template.id, actor=make_user(Role.ADMIN), now=NOW)
    return shop


def test_the_right_closed_cases_are_asked_once_by_sms_with_a_signed_link(
    session: Session, survey_shop: Shop, aliyun: FakeAliyun
) -> None:
    asked = closed(session, survey_shop, "1", CaseOutcome.REVIEW_REVISED, hours_ago=2)
    closed(session, survey_shop, "2", CaseOutcome.REFUSED, hours_ago=0.5)  # too soon
    closed(session, survey_shop, "3", CaseOutcome.REFUSED, hours_ago=80)  # too long ago
    closed(session, survey_shop, "4", CaseOutcome.FALSE_ALARM, hours_ago=2)  # not a complaint
    assert surveys.queue_due(session, now=NOW) == 1
    assert surveys.queue_due(session, now=NOW) == 0  # one per case
    assert _send(session, aliyun, NOW) == 1 and aliyun.problems == []
    link = aliyun.sent[0]["TemplateParam"]
    assert "https://t.example/s/" in link
    survey = session.scalars(sa.select(CaseSurvey)).one()
    assert survey.case_id == asked.id and survey.state == "sent"


def test_retiring_the_survey_template_stops_the_surveys(
    session: Session, survey_shop: Shop, aliyun: FakeAliyun, make_user: Callable[..., User]
) -> None:
    """Retired means the shop no longer sends that text: the scheduler went on sending it to
    every closed case. Retiring it now clears the shop's choice (audited), and a survey
    queued before is not sent with it."""
    closed(session, survey_shop, "1", CaseOutcome.REVIEW_REVISED, hours_ago=2)
    assert surveys.queue_due(session, now=NOW) == 1  # queued while the template was chosen
    template = session.get(MessageTemplate, survey_shop.survey_template_id)
    assert template is not None
    admin = make_user(Role.ADMIN)
    assert messaging.retire_template(session, template, actor=admin, now=NOW) is True
    session.refresh(survey_shop)
    assert survey_shop.survey_template_id is None
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.field == "survey_template_id")
    ).all()[-1]
    assert (audit.entity_id, audit.old_value, audit.new_value) == (
        survey_shop.id, str(template.id), None,
    )  # fmt: skip
    closed(session, survey_shop, "2", CaseOutcome.REVIEW_REVISED, hours_ago=2)
    assert surveys.queue_due(session, now=NOW) == 0  # nothing new is asked
    # a shop still pointing at a retired template (saved before this change): not sent
    survey_shop.survey_template_id = template.id
    session.commit()
    assert _send(session, aliyun, NOW) == 0 and aliyun.sent == []
    survey = session.scalars(sa.select(CaseSurvey)).one()
    assert (survey.state, survey.last_error) == ("failed", "回访模板已停用")
    other = approved_template(session, survey_shop, "${name}您好，已补发。", at=NOW, code="SMS_B")
    session.commit()
    assert messaging.retire_template(session, other, actor=admin, now=NOW) is False


def test_the_due_buyers_numbers_are_read_at_once_and_one_without_is_left(
    session: Session, survey_shop: Shop
) -> None:
    """The survey job runs all day: a case whose buyer has no number for SMS stays due for
    three days, so looking each case's number up alone cost a query per case per run."""
    cases = [
        closed(session, survey_shop, key, CaseOutcome.REVIEW_REVISED, hours_ago=2) for key in "1234"
    ]
    lapsed = session.scalars(
        sa.select(ContactHandle).where(ContactHandle.buyer_id == cases[3].buyer_id)
    ).all()
    for handle in lapsed:
        handle.expires_at = NOW - timedelta(hours=1)
    session.commit()
    with statements_seen(session, lambda s: "FROM contact_handles" in s) as reads:
        assert surveys.queue_due(session, now=NOW) == 3
    assert len(reads) == 1
    asked = dict(session.execute(sa.select(CaseSurvey.case_id, CaseSurvey.handle_id)).all())
    assert set(asked) == {c.id for c in cases[:3]}
    for case in cases[:3]:
        handle = session.get(ContactHandle, asked[case.id])
        assert handle is not None and handle.buyer_id == case.buyer_id


def _send(session: Session, aliyun: FakeAliyun, now: datetime) -> int:
    client = AliyunSms(
        {"access_key_id": "LTAIlocal", "access_key_secret": "aliyun-secret"},
        SourceOptions(clock=lambda: datetime.now(UTC), url=aliyun.url, timeout=1.0, retries=0),
    )
    return surveys.send_due(
        session,
        now=now,
        clients=lambda shop, name: client,
        tz=SH,
        base_url="https://t.example",
        secret_key=SECRET,
    )


def test_a_survey_keeps_the_contact_policy_and_counts_against_it(
    session: Session, survey_shop: Shop, aliyun: FakeAliyun, make_user: Callable[..., User]
) -> None:
    """锲而不舍 without harassment holds for the survey too: not within two hours of the
    last call, not past the day's cap; and once sent, the next call waits two hours."""
    from tests.factories import logged_attempt
    from tracker.models.enums import AttemptOutcome
    from tracker.services import contact_log

    case = closed(session, survey_shop, "1", CaseOutcome.REFUSED, hours_ago=1.5)
    called = NOW - timedelta(hours=1)  # the last call of the case
    agent = make_user(Role.AGENT, [survey_shop])
    logged_attempt(session, case.id, agent.id, called, outcome=AttemptOutcome.REFUSED)
    session.commit()
    assert surveys.queue_due(session, now=NOW) == 1
    assert _send(session, aliyun, NOW) == 0  # an hour after the call: not yet
    assert session.scalars(sa.select(CaseSurvey)).one().state == "queued"
    later = called + timedelta(hours=2, minutes=1)
    assert _send(session, aliyun, later) == 1 and len(aliyun.sent) == 1
    survey = session.scalars(sa.select(CaseSurvey)).one()
    assert survey.state == "sent" and survey.sent_at == later
    # two contacts today (the call and the survey): a third today is refused, saying so
    times = contact_log.times_for_buyer(session, case.buyer_id)
    assert sorted(times) == [called, later]
    policy_says = ContactPolicy().refusals(later + timedelta(hours=3), times, tz=SH)
    assert any("今天已联系 2 次" in r for r in policy_says)


def test_the_link_forged_reused_and_expired(session: Session, survey_shop: Shop) -> None:
    closed(session, survey_shop, "1", CaseOutcome.REVIEW_REVISED, hours_ago=2)
    surveys.queue_due(session, now=NOW)
    survey = session.scalars(sa.select(CaseSurvey)).one()
    token = surveys.token_for(survey.id, SECRET)
    with pytest.raises(surveys.SurveyLinkError, match="无效"):
        surveys.survey_of(session, token, "another-secret")
    forged = URLSafeTimedSerializer(SECRET, salt="another purpose").dumps({"s": survey.id})
    with pytest.raises(surveys.SurveyLinkError, match="无效"):
        surveys.survey_of(session, forged, SECRET)
    with pytest.raises(surveys.SurveyLinkError, match="过期"):
        surveys.survey_of(session, token, SECRET, max_age_days=-1)
    with pytest.raises(FieldError, match="score"):
        surveys.answer(session, token, SECRET, 9, "", resolved="yes", now=NOW)
    with pytest.raises(FieldError, match="resolved"):
        surveys.answer(session, token, SECRET, 5, "", resolved="maybe", now=NOW)
    surveys.answer(session, token, SECRET, 5, "  客服很耐心  ", resolved="yes", now=NOW)
    with pytest.raises(surveys.SurveyLinkError, match="已经评价"):
        surveys.answer(session, token, SECRET, 1, "", resolved="no", now=NOW)
    session.refresh(survey)
    assert (survey.score, survey.comment, survey.resolved) == (5, "客服很耐心", "yes")
    assert session.scalars(sa.select(Notification)).all() == []  # solved: nobody is told


def test_a_buyer_who_says_it_is_not_solved_tells_the_cases_agent(
    session: Session, survey_shop: Shop, make_user: Callable[..., User]
) -> None:
    """还没有解决 or 解决了一部分 reaches the case's agent (its supervisors when nobody owns
    it) with the buyer's words; the case stays closed, reopening is a person's call."""
    lin = make_user(Role.AGENT, display_name="小林")
    boss = make_user(Role.SUPERVISOR, display_name="周主管", shops=[survey_shop])
    owned = closed(session, survey_shop, "1", CaseOutcome.REFUSED, hours_ago=2, owner=lin)
    nobodys = closed(session, survey_shop, "2", CaseOutcome.REFUSED, hours_ago=2)
    surveys.queue_due(session, now=NOW)
    token = {
        s.case_id: surveys.token_for(s.id, SECRET) for s in session.scalars(sa.select(CaseSurvey))
    }
    surveys.answer(session, token[owned.id], SECRET, 2, "还是漏水", resolved="no", now=NOW)
    surveys.answer(session, token[nobodys.id], SECRET, 3, "", resolved="partly", now=NOW)
    told = {
        (n.user_id, n.case_id): n
        for n in session.scalars(
            sa.select(Notification).where(Notification.kind == surveys.UNSOLVED_NEWS)
        )
    }
    assert set(told) == {(lin.id, owned.id), (boss.id, nobodys.id)}
    mine = told[(lin.id, owned.id)]
    assert mine.title == f"案件 #{owned.id} 的买家回访说问题还没有解决"
    assert mine.body == "2 分（不满意）：还是漏水"
    assert told[(boss.id, nobodys.id)].title.endswith("解决了一部分")
    # an agent on leave (不在岗) does not hear of it: the supervisors do, as with alerts
    away = make_user(Role.AGENT, display_name="小王", away_until=NOW + timedelta(days=5))
    hers = closed(session, survey_shop, "3", CaseOutcome.REFUSED, hours_ago=2, owner=away)
    surveys.queue_due(session, now=NOW)
    survey = session.scalars(sa.select(CaseSurvey).where(CaseSurvey.case_id == hers.id)).one()
    surveys.answer(
        session, surveys.token_for(survey.id, SECRET), SECRET, 1, "", resolved="no", now=NOW
    )
    notices = session.scalars(sa.select(Notification).where(Notification.case_id == hers.id))
    assert [n.user_id for n in notices] == [boss.id]
    session.refresh(owned)
    assert owned.status is CaseStatus.UNRECOVERED and owned.closed_at is not None
    # asked again after it was worked again, and still not solved: the notice says so
    owned.closed_at = NOW + timedelta(days=1)
    session.commit()
    assert surveys.queue_due(session, now=NOW + timedelta(days=1, hours=2)) == 1
    again = session.scalars(
        sa.select(CaseSurvey).where(CaseSurvey.case_id == owned.id).order_by(CaseSurvey.id.desc())
    ).first()
    surveys.answer(
        session, surveys.token_for(again.id, SECRET), SECRET, 2, "", resolved="partly", now=NOW
    )
    latest = session.scalars(
        sa.select(Notification)
        .where(Notification.case_id == owned.id)
        .order_by(Notification.id.desc())
    ).first()
    assert latest.title == f"案件 #{owned.id} 的买家再次回访仍说问题解决了一部分"


def test_a_case_reopened_before_its_survey_went_is_not_asked_until_it_closes_again(
    session: Session, survey_shop: Shop, aliyun: FakeAliyun
) -> None:
    """Queued an hour after closing, then reopened (the buyer wrote back) before the contact
    policy let it go: 您反映的问题已处理完毕 would be untrue, so it is withdrawn, and asked
    afresh after the case closes again."""
    case = closed(session, survey_shop, "1", CaseOutcome.REFUSED, hours_ago=2)
    assert surveys.queue_due(session, now=NOW) == 1
    case.status, case.outcome, case.closed_at = CaseStatus.CONTACTING, None, None
    session.commit()
    assert _send(session, aliyun, NOW) == 0 and aliyun.sent == []
    assert session.scalars(sa.select(CaseSurvey)).all() == []
    case.status, case.outcome = CaseStatus.UNRECOVERED, CaseOutcome.REFUSED
    case.closed_at = NOW + timedelta(hours=1)
    session.commit()
    later = NOW + timedelta(hours=3)
    assert surveys.queue_due(session, now=later) == 1
    assert _send(session, aliyun, later) == 1 and len(aliyun.sent) == 1


def test_a_buyer_who_said_not_solved_is_asked_once_more_after_the_case_is_worked_again(
    session: Session, survey_shop: Shop, aliyun: FakeAliyun, make_user: Callable[..., User]
) -> None:
    """主动 · 锲而不舍 until the problem is solved: the buyer said 还没有解决, the agent reopened
    the case and closed it again, so the buyer is asked whether it is solved now; their
    last answer is what the figures, the board and the case page read. Asked twice at most,
    and never again when they did not answer or said solved."""
    from tracker.services import alerts, board, case_page

    lin = make_user(Role.AGENT, display_name="小林", shops=[survey_shop])
    unsolved = closed(session, survey_shop, "1", CaseOutcome.REFUSED, hours_ago=2, owner=lin)
    solved = closed(session, survey_shop, "2", CaseOutcome.REFUSED, hours_ago=2, owner=lin)
    silent = closed(session, survey_shop, "3", CaseOutcome.REFUSED, hours_ago=2, owner=lin)
    assert surveys.queue_due(session, now=NOW) == 3
    assert _send(session, aliyun, NOW) == 3
    first = {s.case_id: s for s in session.scalars(sa.select(CaseSurvey))}
    for case, resolved in ((unsolved, "no"), (solved, "yes")):
        token = surveys.token_for(first[case.id].id, SECRET)
        surveys.answer(session, token, SECRET, 2, "", resolved=resolved, now=NOW)
    assert surveys.queue_due(session, now=NOW + timedelta(hours=1)) == 0  # not reopened yet
    (told,) = alerts.inbox(session, lin.id)
    assert told.asked_again is None and "再次回访" not in told.now_line

    def rework(case, hours: float) -> None:  # type: ignore[no-untyped-def]
        """Reopened after the answer, worked, and closed again ``hours`` after NOW."""
        case.status, case.outcome, case.closed_at = CaseStatus.CONTACTING, None, None
        session.commit()
        case.status, case.outcome = CaseStatus.UNRECOVERED, CaseOutcome.SATISFIED_UNCHANGED
        case.closed_at = NOW + timedelta(hours=hours)
        session.commit()

    for case in (unsolved, solved, silent):
        rework(case, hours=20)
    later = NOW + timedelta(hours=22)
    assert surveys.queue_due(session, now=later) == 1  # only the buyer who said not solved
    second = session.scalars(
        sa.select(CaseSurvey).where(CaseSurvey.case_id == unsolved.id, CaseSurvey.state == "queued")
    ).one()
    assert surveys.about(session, second).said_before == "还没有解决"
    assert surveys.about(session, first[unsolved.id]).said_before is None
    assert _send(session, aliyun, later) == 1
    token = surveys.token_for(second.id, SECRET)

    def csat() -> surveys.CsatRow:
        (row,) = surveys.csat(session, survey_shop.id, NOW - timedelta(days=1), later, "agent")
        return row

    def flagged() -> list[int]:
        f = board.BoardFilter((survey_shop.id,), "all", include_closed=True, survey_unsolved=True)
        return list(session.scalars(board.matching_ids(f, user_id=lin.id, now=later, tz=SH)))

    def page_says():  # type: ignore[no-untyped-def]
        detail = case_page.detail(
            session, unsolved, viewer=lin, now=later, hours=WorkingHours(tz=SH)
        )
        return detail.survey_said, detail.survey_before

    def notice_says() -> str:  # the agent's notice of the first answer, as the inbox shows it
        (item,) = alerts.inbox(session, lin.id)
        assert item.notification.kind == surveys.UNSOLVED_NEWS
        return item.now_line

    # not answered yet: the case counts once, its 还没有解决 standing
    assert notice_says().endswith(" · 已再次回访，买家还没答复")
    row = csat()
    assert (row.sent, row.answers, row.unsolved, row.solved) == (3, 2, 1, 1)
    assert flagged() == [unsolved.id]
    said, before = page_says()
    assert said.endswith("已发出，买家还没回答") and before == "问题还没有解决 · 2 分（不满意）"
    surveys.answer(session, token, SECRET, 5, "", resolved="yes", now=later + timedelta(hours=1))
    row = csat()
    assert (row.sent, row.answers, row.unsolved, row.solved) == (3, 2, 0, 2)
    assert flagged() == []
    assert board.cards(session, [unsolved.id])[0].survey_said is None
    assert page_says() == ("问题已经解决了 · 5 分（很满意）", "问题还没有解决 · 2 分（不满意）")
    assert notice_says().endswith("小林 · 尚未联系 · 再次回访：问题已经解决了")  # (set by hand)
    # a third closing asks nobody: twice at most
    rework(unsolved, hours=40)
    assert surveys.queue_due(session, now=NOW + timedelta(hours=42)) == 0


def test_csat_per_agent(
    session: Session, survey_shop: Shop, make_user: Callable[..., User]
) -> None:
    lin, wang = (
        make_user(Role.AGENT, display_name="小林"),
        make_user(Role.AGENT, display_name="小王"),
    )
    zhang = make_user(Role.AGENT, display_name="小张")
    scores, owners = {}, {}
    for key, owner, score in (
        ("1", lin, 5),
        ("2", lin, 4),
        ("3", wang, 2),
        ("4", lin, 3),
        ("5", lin, None),  # sent, not answered
        ("6", wang, None),  # queued: never reached the buyer
        ("7", zhang, None),  # sent, not answered: a row of none answered
    ):
        case = closed(session, survey_shop, key, CaseOutcome.REFUSED, hours_ago=2, owner=owner)
        scores[case.id], owners[case.id] = score, owner
    said = {5: "yes", 4: None, 3: "partly", 2: "no", None: None}  # 4: before it was asked
    surveys.queue_due(session, now=NOW)
    for survey in session.scalars(sa.select(CaseSurvey)):
        survey.score = scores[survey.case_id]
        survey.answered_at = NOW if survey.score else None
        survey.resolved = said[survey.score]
        waits = survey.score is None and owners[survey.case_id] is wang
        survey.state = "queued" if waits else "sent"
    session.commit()
    rows = {
        r.label: r
        for r in surveys.csat(session, survey_shop.id, NOW - timedelta(days=1), NOW, "agent")
    }
    assert (rows["小林"].answers, rows["小林"].sent) == (3, 4)  # out of the 4 sent
    assert (rows["小王"].answers, rows["小王"].sent) == (1, 1)  # the queued one is not sent
    assert (rows["小张"].answers, rows["小张"].sent, rows["小张"].average) == (0, 1, None)
    assert rows["小张"].satisfied is None and list(rows)[-1] == "小张"
    assert rows["小林"].answers == 3 and rows["小林"].average == pytest.approx(4.0)
    assert rows["小林"].satisfied == pytest.approx(2 / 3)
    # of 小林's two buyers asked 问题解决了吗, one says solved; the one never asked is no answer
    assert (rows["小林"].asked_solved, rows["小林"].solved, rows["小林"].unsolved) == (2, 1, 1)
    assert rows["小林"].solved_share == pytest.approx(0.5)
    assert rows["小王"].average == pytest.approx(2.0) and rows["小王"].satisfied == 0
    assert rows["小王"].solved_share == 0 and rows["小王"].unsolved == 1
    assert surveys.CsatRow("x", 1, 4.0, 1.0).solved_share is None  # none asked: no share


def test_the_public_page_takes_one_answer(app: Flask, session: Session, survey_shop: Shop) -> None:
    from tests.conftest import csrf_token

    closed(session, survey_shop, "1", CaseOutcome.REVIEW_REVISED, hours_ago=2)
    surveys.queue_due(session, now=NOW)
    survey = session.scalars(sa.select(CaseSurvey)).one()
    url = f"/s/{surveys.token_for(survey.id, app.config['SECRET_KEY'])}"
    client = app.test_client()
    assert client.get("/s/forged-token").status_code == 404
    page = client.get(url).get_data(as_text=True)
    assert 'id="survey-form"' in page and "/cases" not in page  # nothing else reachable
    # who asks and about what: a buyer opening a link from an SMS knows the shop
    assert f'<span id="survey-shop">{survey_shop.name}</span> · 满意度回访' in page
    assert "您前几天反映的赣南脐橙的问题已处理完毕" in page
    # the buyer never sees the after-sales tool's name (差评挽回助手), in the tab or the page
    assert f"<title>{survey_shop.name} · 满意度回访</title>" in page and "差评" not in page
    assert "您反映的问题解决了吗？" in page and "只有两个问题" in page
    token = csrf_token(client, url)
    unsaid = client.post(url, data={"score": "4", "csrf_token": token})  # one question left
    assert "请选择问题是否已经解决。" in unsaid.get_data(as_text=True)
    forged = client.post(url, data={"score": "4", "resolved": "yes!", "csrf_token": token})
    assert "感谢您的评价" not in forged.get_data(as_text=True)
    done = client.post(
        url, data={"resolved": "partly", "score": "4", "comment": "不错", "csrf_token": token}
    )
    assert "感谢您的评价" in done.get_data(as_text=True)
    assert "我们已转告负责这次售后的客服" in done.get_data(as_text=True)  # partly: told
    assert "差评" not in done.get_data(as_text=True)
    assert "差评" not in client.get("/s/forged-token").get_data(as_text=True)
    for cut in ("/s/", "/s"):  # the token lost on the way: the buyer's page, not the tool's
        lost = client.get(cut, follow_redirects=True)
        assert lost.status_code == 404 and "链接无效" in lost.get_data(as_text=True)
        assert "差评" not in lost.get_data(as_text=True)
    assert "已经评价过了" in client.get(url).get_data(as_text=True)
    session.refresh(survey)
    assert (survey.score, survey.resolved) == (4, "partly")
    # asked again after the case was worked again: the page says what they said before
    case = session.get(Case, survey.case_id)
    case.closed_at = survey.answered_at + timedelta(hours=1)  # reopened and closed again
    session.commit()
    assert surveys.queue_due(session, now=case.closed_at + timedelta(hours=2)) == 1
    again = session.scalars(sa.select(CaseSurvey).where(CaseSurvey.id != survey.id)).one()
    page = client.get(f"/s/{surveys.token_for(again.id, app.config['SECRET_KEY'])}")
    said = page.get_data(as_text=True)
    assert (
        '<p class="small text-muted" id="asked-again">您好！上次回访时您说赣南脐橙的问题解决了一部分，'
        in said
    )
    assert "已处理完毕" not in said and "差评" not in said


def test_a_survey_whose_answer_was_lost_is_looked_up_with_no_row_held(
    session: Session, survey_shop: Shop, aliyun: FakeAliyun
) -> None:
    """Two surveys left 发送中: one went out before the crash (found by its OutId, never sent
    twice), one never did (queued again, then sent once); the provider is asked with no
    transaction open."""
    closed(session, survey_shop, "1", CaseOutcome.REFUSED, hours_ago=2)
    closed(session, survey_shop, "2", CaseOutcome.REFUSED, hours_ago=2)
    assert surveys.queue_due(session, now=NOW) == 2
    assert _send(session, aliyun, NOW) == 2
    went, never = session.scalars(sa.select(CaseSurvey).order_by(CaseSurvey.id)).all()
    for survey in (went, never):  # the crash: both marked, the answers lost
        survey.state, survey.provider_ref = "sending", None
    aliyun.sent[:] = [s for s in aliyun.sent if s["OutId"] == went.out_id]
    session.commit()
    with transactions_seen(session, AliyunSms, "find") as open_while_asked:
        assert _send(session, aliyun, NOW + timedelta(minutes=5)) == 0  # looked up only
        assert open_while_asked == [False, False]
        session.refresh(went)
        session.refresh(never)
        assert (went.state, never.state) == ("sent", "queued") and went.provider_ref
        assert _send(session, aliyun, NOW + timedelta(minutes=10)) == 1
    session.refresh(never)
    assert never.state == "sent"
    assert sorted(s["OutId"] for s in aliyun.sent) == sorted([went.out_id, never.out_id])


def test_the_case_page_says_what_came_of_the_survey() -> None:
    """Queued, sent and waiting, expired, answered (with the buyer's words), or not sent and
    why: a closed case's page says which, so nobody reads the CSAT table to find one."""
    from tracker.services.case_page import survey_words

    sent_at = NOW - timedelta(days=1)
    survey = CaseSurvey(state="queued", out_id="x", created_at=sent_at)
    assert survey_words(None, now=NOW, tz=SH) is None
    assert survey_words(survey, now=NOW, tz=SH) == "排队中，在买家可联系的时段发出"
    survey.last_error = "本店还没有设置阿里云短信账号（管理 → 联系渠道）"  # it will not go alone
    assert survey_words(survey, now=NOW, tz=SH) == (
        "排队中，上次没有发出：本店还没有设置阿里云短信账号（管理 → 联系渠道）"
    )
    survey.last_error = None
    survey.state, survey.sent_at = "sent", sent_at
    assert survey_words(survey, now=NOW, tz=SH) == "11-29 11:00 已发出，买家还没回答"
    later = NOW + timedelta(days=surveys.SURVEY_DAYS)
    assert (
        survey_words(survey, now=later, tz=SH) == "11-29 11:00 已发出，买家没有回答（链接已过期）"
    )
    survey.score = 4
    assert survey_words(survey, now=NOW, tz=SH) == "4 分（满意）"
    survey.score, survey.comment = 1, "问题还是没解决"
    assert survey_words(survey, now=NOW, tz=SH) == "1 分（很不满意）：问题还是没解决"
    survey.resolved = "no"  # asked since 2026-12-05
    assert survey_words(survey, now=NOW, tz=SH) == (
        "问题还没有解决 · 1 分（很不满意）：问题还是没解决"
    )
    failed = CaseSurvey(state="failed", out_id="y", created_at=sent_at, last_error="买家已要求勿扰")
    assert survey_words(failed, now=NOW, tz=SH) == "未发出：买家已要求勿扰"
