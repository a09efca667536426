"""The pages for reaching buyers: provider accounts and templates (admin), sending an
approved SMS from the case page, the personal-data access log (supervisors)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session

from tests.conftest import as_new_request, count, login, other_browser, post_form
from tests.factories import approved_template, open_case
from tracker.clock import utcnow, whole_minute
from tracker.models import (
    Case,
    ContactHandle,
    MessageTemplate,
    OutboundMessage,
    ProviderAccount,
    Remedy,
    Shop,
    User,
)
from tracker.models.enums import MessagePurpose, MessageState, RemedyKind, RemedyNotice, Role
from tracker.services import erasure, messaging

SH = ZoneInfo("Asia/Shanghai")


def agents_case(
    session: Session, shop: Shop, make_user: Callable[..., User], **kw: object
) -> tuple[User, Case]:
    """An agent of the shop and a case of three days ago they own; the caller commits."""
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1), **kw)  # type: ignore[arg-type]
    case.owner_id = agent.id
    return agent, case


def test_admin_keeps_provider_accounts_sealed_and_templates_checked(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    login(client, make_user(Role.ADMIN))
    page = f"/admin/shops/{shop.id}/contact"
    assert client.get(page).status_code == 200
    post_form(
        client,
        f"/admin/shops/{shop.id}/contact/aliyun-sms",
        {"aliyun-sms-access_key_id": "LTAIkey", "aliyun-sms-access_key_secret": "s3cret-value"},
        form_url=page,
    )
    row = session.get(ProviderAccount, (shop.id, "aliyun-sms"))
    assert row is not None and "s3cret-value" not in row.sealed and "s3cret-value" not in row.hint
    html = client.get(page).get_data(as_text=True)
    assert "LTAIkey" in html and "s3cret-value" not in html
    fields = {
        "tpl-provider": "aliyun-sms",
        "tpl-purpose": "notice",
        "tpl-name": "补发通知",
        "tpl-sign_name": "好店",
        "tpl-template_code": "SMS_1",
    }
    refused = post_form(
        client,
        f"/admin/shops/{shop.id}/templates",
        fields | {"tpl-body": "亲，好评返现5元"},
        form_url=page,
    )
    assert refused.status_code == 400 and "第九条" in refused.get_data(as_text=True)
    assert session.scalars(sa.select(MessageTemplate)).all() == []
    resend = fields | {"tpl-body": "${name}您好，您的${product}已安排补发。"}
    asked = post_form(client, f"/admin/shops/{shop.id}/templates", resend, form_url=page)
    assert asked.status_code == 400 and "模板内容提到补发" in asked.get_data(as_text=True)
    assert session.scalars(sa.select(MessageTemplate)).all() == []
    post_form(
        client,
        f"/admin/shops/{shop.id}/templates",
        resend | {"tpl-announces": "resend"},
        form_url=page,
    )
    saved = session.scalars(sa.select(MessageTemplate)).one()
    assert (saved.name, saved.announces) == ("补发通知", RemedyNotice.RESEND)


def test_a_reissue_notice_goes_from_the_case_page_once_the_reissue_is_recorded(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """A template registered before the question: the admin answers it on the list, and
    the case page then holds the notice back until the case records the reissue."""
    agent, case = agents_case(session, shop, make_user)
    template = approved_template(
        session, shop, "${name}您好，您的${product}已安排补发。", at=utcnow(), name="补发已安排"
    )
    session.commit()
    login(client, make_user(Role.ADMIN))
    page = f"/admin/shops/{shop.id}/contact"
    listed = client.get(page).get_data(as_text=True)
    assert f'id="announces-{template.id}"' in listed and "模板内容提到补发" in listed
    post_form(
        client,
        f"/admin/templates/{template.id}/announces",
        {f"announces-{template.id}-announces": "resend"},
        form_url=page,
    )
    session.refresh(template)
    assert template.announces is RemedyNotice.RESEND
    assert "模板内容提到补发" not in client.get(page).get_data(as_text=True)

    client = other_browser(client)
    login(client, agent)
    url = f"/cases/{case.id}"
    html = client.get(url).get_data(as_text=True)
    radio = re.search(rf'<input[^>]*id="message-template-{template.id}"[^>]*>', html)
    assert radio is not None and "disabled" in radio.group(0)
    assert "发不了：“补发已安排”告诉买家补发已安排，本案件还没有登记补发" in html
    post_form(
        client,
        f"{url}/remedies",
        {
            "remedy-version": str(case.version),
            "remedy-kind": "resend",
            "remedy-amount": "0",
            "remedy-cost": "30",
        },
        form_url=url,
    )
    html = client.get(url).get_data(as_text=True)
    assert "已添加补偿。可以在“联系买家”的短信模板里选“补发已安排”告诉买家。" in html
    assert session.scalars(sa.select(Remedy.kind)).all() == [RemedyKind.RESEND]
    radio = re.search(rf'<input[^>]*id="message-template-{template.id}"[^>]*>', html)
    assert radio is not None and "disabled" not in radio.group(0)
    assert "亲您好，您的赣南脐橙已安排补发。" in html
    assert "买家在等这条通知：补偿已登记，不受联系间隔和次数限制" in html
    check_up = case.next_follow_up_at = whole_minute(utcnow() + timedelta(days=2))
    session.commit()  # the call that agreed the reissue planned a check-up
    sent = post_form(client, f"{url}/message", {"message-template": str(template.id)}, form_url=url)
    assert sent.status_code == 302
    flashed = client.get(url).get_data(as_text=True)
    assert f"下次跟进不变：{check_up.astimezone(SH):%m-%d %H:%M}。" in flashed
    assert 'id="next-try"' not in flashed  # news they waited for: no 再试 follows it
    session.refresh(case)
    assert case.next_follow_up_at == check_up


def test_an_agent_sends_an_approved_sms_from_the_case(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent, case = agents_case(session, shop, make_user)
    template = approved_template(
        session, shop, "${name}您好，您的${product}已安排补发。", at=utcnow(), name="补发通知"
    )
    session.commit()
    filled = []  # the SMS choice reads the buyer's number and order: only for one who sends
    offers = messaging.case_templates
    monkeypatch.setattr(
        messaging, "case_templates", lambda *a, **k: filled.append(1) or offers(*a, **k)
    )
    onlooker = other_browser(client)  # another agent: may look, not send
    login(onlooker, make_user(Role.AGENT, shops=[shop]))
    url = f"/cases/{case.id}"
    assert 'id="message-form"' not in onlooker.get(url).get_data(as_text=True) and not filled
    as_new_request()
    login(client, agent)
    assert 'id="message-form"' in client.get(url).get_data(as_text=True) and filled
    answer = post_form(
        client, f"{url}/message", {"message-template": str(template.id)}, form_url=url
    )
    assert answer.status_code == 302
    message = session.scalars(sa.select(OutboundMessage)).one()
    assert message.state is MessageState.QUEUED and message.case_id == case.id
    html = client.get(url).get_data(as_text=True)
    assert 'id="outbox"' in html and "待发送" in html
    # until the buyer answers, the case is on the agent's list at the next try
    session.refresh(case)
    when = case.next_follow_up_at.astimezone(SH).strftime("%m-%d %H:%M")
    assert f"买家没回复的话，下次跟进：{when}" in html


def test_admin_reads_the_survey_sms_with_its_link_and_what_it_costs_before_choosing(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """满意度回访's SMS carries a signed link: the page shows the text with a link of this
    installation's address and a real token's length, so the cost (a link often makes it
    two messages) is seen before choosing; a template that cannot carry it is greyed out."""
    survey = approved_template(
        session,
        shop,
        "${name}您好，请评价这次服务：${link}",
        at=utcnow(),
        name="回访",
        code="SMS_S",
    )
    marketing = approved_template(
        session, shop, "${name}您好，新品九折：${link} 拒收请回复R", at=utcnow(),
        purpose=MessagePurpose.MARKETING, name="推广", code="SMS_M",
    )  # fmt: skip
    approved_template(
        session, shop, "${name}您好，已补发。", at=utcnow(), name="补发", code="SMS_B"
    )
    session.commit()
    login(client, make_user(Role.ADMIN))
    page = f"/admin/shops/{shop.id}/contact"
    html = client.get(page).get_data(as_text=True)
    offered = html.split('id="survey-templates"', 1)[1].split("</fieldset>", 1)[0]
    base = client.application.config["TRACKER_BASE_URL"]
    link = re.search(rf"{re.escape(base)}/s/[\w.-]+", offered)
    assert link is not None and len(link.group(0)) > 60
    # the next survey's token (its length grows with the id alone): none sent yet, so 1's
    _, named = URLSafeTimedSerializer("any").loads_unsafe(link.group(0).rsplit("/", 1)[1])
    assert named == {"s": 1}
    text = f"【好店】张先生/女士您好，请评价这次服务：{link.group(0)}"
    assert text in offered and f"{len(text)} 字 · 按 2 条短信计费" in offered
    assert "补发" not in offered  # no ${link}: not offered for the survey at all
    radio = re.search(rf'<input[^>]*id="survey-template-{marketing.id}"[^>]*>', offered)
    assert radio is not None and "disabled" in radio.group(0)
    assert "发不了：回访模板须为通知类" in offered
    assert re.search(r'id="survey-template-none" value="" checked', offered)  # 不发回访
    post_form(client, f"/admin/shops/{shop.id}/survey-template", {"survey_template": str(survey.id)}, form_url=page)  # fmt: skip
    session.refresh(shop)
    assert shop.survey_template_id == survey.id
    html = client.get(page).get_data(as_text=True)
    assert re.search(rf'id="survey-template-{survey.id}" value="{survey.id}" checked', html)
    refused = post_form(client, f"/admin/shops/{shop.id}/survey-template", {"survey_template": str(marketing.id)}, form_url=page)  # fmt: skip
    assert "回访模板须为通知类" in client.get(refused.location).get_data(as_text=True)
    session.refresh(shop)
    assert shop.survey_template_id == survey.id
    post_form(client, f"/admin/shops/{shop.id}/survey-template", {"survey_template": ""}, form_url=page)  # fmt: skip
    session.refresh(shop)
    assert shop.survey_template_id is None
    # retiring the survey's template says that the surveys stop with it
    post_form(client, f"/admin/shops/{shop.id}/survey-template", {"survey_template": str(survey.id)}, form_url=page)  # fmt: skip
    retired = post_form(client, f"/admin/templates/{survey.id}/retire", {}, form_url=page)
    said = client.get(retired.location).get_data(as_text=True)
    assert "模板“回访”已停用；满意度回访用的是它，已停发" in said
    session.refresh(shop)
    assert shop.survey_template_id is None


def test_the_agent_reads_each_text_before_choosing_and_the_outbox_keeps_what_went(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, case = agents_case(session, shop, make_user, title="<b>脐橙</b> 礼盒")
    resend = approved_template(
        session, shop, "${name}您好，您的${product}已安排补发。", at=utcnow(), name="补发通知"
    )
    progress = approved_template(
        session,
        shop,
        "${name}您好，您反映的问题我们在处理。",
        at=utcnow(),
        name="处理进度",
        code="SMS_2",
        sign_name="好店客服",
    )
    session.commit()
    login(client, agent)
    url = f"/cases/{case.id}"
    html = client.get(url).get_data(as_text=True)
    picker = html[
        html.index('id="message-form"') : html.index("</form>", html.index('id="message-form"'))
    ]
    assert "【好店】亲您好，您的&lt;b&gt;脐橙&lt;/b&gt;已安排补发。" in picker  # escaped
    assert "【好店客服】亲您好，您反映的问题我们在处理。" in picker
    assert picker.count('type="radio"') == 2 and "checked" not in picker  # the agent picks
    assert "22 字 · 按 1 条短信计费" in picker  # what the text costs

    refused = post_form(client, f"{url}/message", {}, form_url=url)
    assert refused.status_code == 302 and count(session, OutboundMessage) == 0
    assert "请选择短信模板" in client.get(url).get_data(as_text=True)

    post_form(client, f"{url}/message", {"message-template": str(progress.id)}, form_url=url)
    message = session.scalars(sa.select(OutboundMessage)).one()
    assert message.template_id == progress.id != resend.id
    outbox = client.get(url).get_data(as_text=True)
    outbox = outbox[outbox.index('id="outbox"') :]
    assert "【好店客服】亲您好，您反映的问题我们在处理。" in outbox


def test_a_template_with_no_way_to_the_buyer_is_offered_disabled_with_why(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, case = agents_case(session, shop, make_user, phone="18400913965-7576")
    template = approved_template(session, shop, "${name}您好，已安排补发。", at=utcnow())
    session.commit()
    login(client, agent)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    radio = re.search(rf'<input[^>]*id="message-template-{template.id}"[^>]*>', html)
    assert radio is not None and "disabled" in radio.group(0)
    assert "发不了：没有可发短信的有效号码" in html


def test_supervisors_read_and_export_the_access_log(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1), nick="橙子买家")
    case.owner_id = agent.id
    session.commit()
    handle = session.scalars(sa.select(ContactHandle)).one()
    login(client, agent)
    url = f"/cases/{case.id}"
    post_form(client, f"{url}/numbers/{handle.id}", {}, form_url=url)
    assert client.get("/reports/access-log").status_code == 403  # supervisors only
    g.pop("_login_user", None)  # tests share one app context: another browser starts clean
    g.pop("csrf_token", None)
    other = client.application.test_client()
    login(other, make_user(Role.SUPERVISOR, shops=[shop]))
    html = other.get("/reports/access-log").get_data(as_text=True)
    assert "客服小林" in html and "橙子买家" in html and "查看完整号码" in html
    csv_text = other.get("/reports/access-log.csv").get_data(as_text=True)
    assert "客服小林" in csv_text and f"{case.id}" in csv_text and "138****5678" in csv_text
    assert "13812345678" not in csv_text


def test_the_board_filters_on_numbers_about_to_lapse(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    soon = open_case(
        session,
        shop,
        at=utcnow() - timedelta(days=3, hours=1),
        phone="18400913965-7576",
        phone_expires_at=utcnow() + timedelta(days=1),
    )
    open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1), key="2", nick="乙")
    login(client, agent)
    html = client.get("/cases?view=list&scope=all&number_expiring=y&sort=number").get_data(
        as_text=True
    )
    assert f'data-case-id="{soon.id}"' in html and html.count("data-case-id=") == 1
    board = client.get("/cases?scope=all").get_data(as_text=True)
    assert "号码" in board and "后失效" in board


def connected_top(client: FlaskClient, shop: Shop, monkeypatch, *, lapses):  # type: ignore[no-untyped-def]
    """The shop connected to a TOP stand-in that knows order T1's virtual number (OAID-7),
    lapsing at ``lapses``."""
    from tests.top_server import FakeTop

    fake = FakeTop()
    fake.receivers[("T1", "OAID-7")] = {
        "mobile": "18400913965-7576",
        "privacy_protection": True,
        "secret_no_expire_time": lapses.astimezone(SH).strftime("%Y-%m-%d %H:%M:%S"),
    }
    creds = {
        shop.code: {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}
    }
    monkeypatch.setitem(client.application.config, "TRACKER_SHOP_CREDENTIALS", creds)
    return fake


def test_an_agent_gets_a_number_from_the_platform_on_the_case_page(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.top_server import serve

    agent, case = agents_case(session, shop, make_user, phone="", oaid="OAID-7")
    session.commit()
    fake = connected_top(client, shop, monkeypatch, lapses=utcnow() + timedelta(days=5))
    app = client.application
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="decrypt"' in page and 'id="no-number"' in page
    with serve(fake):
        monkeypatch.setitem(app.config, "TRACKER_SOURCE_URLS", {"top": fake.url})
        html = post_form(client, f"{url}/decrypt", {}, form_url=url).get_data(as_text=True)
    assert fake.problems == [] and 'href="tel:18400913965,7576"' in html
    assert "184****3965 转 7576" in html and "后失效" in html
    assert "18400913965" not in client.get(url).get_data(as_text=True)  # shown once only
    assert case.buyer is not None
    erasure.erase(session, case.buyer, agent, reason="买家来电要求", now=utcnow())
    page = client.get(url).get_data(as_text=True)
    assert 'id="decrypt"' not in page and 'id="erased-numbers"' in page


def test_a_virtual_number_about_to_lapse_is_extended_from_the_case_page(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.top_server import serve

    agent = make_user(Role.AGENT, shops=[shop])
    lapses = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    case = open_case(
        session,
        shop,
        at=utcnow() - timedelta(days=3, hours=1),
        phone="18400913965-7576",
        phone_expires_at=lapses,
        oaid="OAID-7",
    )
    case.owner_id = agent.id
    session.commit()
    fake = connected_top(client, shop, monkeypatch, lapses=lapses)
    app = client.application
    login(client, agent)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    [handle_id] = re.findall(r'id="extend-(\d+)"', page)
    with serve(fake):
        monkeypatch.setitem(app.config, "TRACKER_SOURCE_URLS", {"top": fake.url})
        response = post_form(client, f"{url}/numbers/{handle_id}/extend", {}, form_url=url)
    assert response.status_code == 302 and fake.problems == []
    html = client.get(url).get_data(as_text=True)
    until = (lapses + timedelta(days=7)).astimezone(SH)
    assert f"平台已把这个号码的有效期延长到 {until:%m-%d %H:%M}" in html
    assert 'id="extend-' not in html  # eight days left: no longer about to lapse


def test_the_case_offers_only_notices_an_agent_may_send(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, case = agents_case(session, shop, make_user)
    for name, body, purpose in (
        ("补发通知", "${name}您好，已安排补发。", MessagePurpose.NOTICE),
        ("满意度回访", "${name}您好，请评价：${link}", MessagePurpose.NOTICE),
        ("老客回访", "新品九折，拒收请回复R", MessagePurpose.MARKETING),
    ):
        approved_template(
            session, shop, body, at=utcnow(), purpose=purpose, name=name, code=f"SMS_{name}"
        )
    session.commit()
    login(client, agent)
    form = client.get(f"/cases/{case.id}").get_data(as_text=True)
    picker = form[form.index('id="message-form"') :]
    assert "补发通知" in picker and "满意度回访" not in picker and "老客回访" not in picker


def test_a_buyer_who_asked_to_stop_is_offered_no_number_message_or_call(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """Once the agent logs 买家要求勿扰, the case page says so in place of the policy's
    refusals and offers no way to reach the buyer: no number, no decrypt or extension, no
    message. A supervisor's reason goes past none of it; the supervisor lifts the stop."""
    from tests.web.test_case_pages import post_attempt

    agent, case = agents_case(
        session,
        shop,
        make_user,
        phone="18400913965-7576",
        phone_expires_at=utcnow() + timedelta(days=1),
        oaid="OAID-7",
    )
    template = approved_template(
        session, shop, "${name}您好，您的${product}问题我们正在处理。", at=utcnow(), name="处理进度"
    )
    template.provider = messaging.PLATFORM  # by the order's OAID (a virtual number takes none)
    session.commit()
    handle_id = session.scalars(sa.select(ContactHandle.id)).one()
    login(client, agent)
    url = f"/cases/{case.id}"
    radio = rf'<input[^>]*id="message-template-{template.id}"[^>]*>'
    before = client.get(url).get_data(as_text=True)
    assert (
        'id="decrypt"' in before and ">显示完整号码</button>" in before and 'id="extend-' in before
    )
    assert "disabled" not in re.search(radio, before).group(0) and 'id="message-submit"' in before
    assert post_attempt(client, case, "do_not_contact").status_code == 302

    page = client.get(url).get_data(as_text=True)
    stop = page[page.index('id="buyer-stopped"') :]
    assert "要求勿扰，不再电话、短信联系" in stop and "请主管解除勿扰" in stop
    assert 'id="lift-reason"' not in page and 'id="contact-policy"' not in page
    assert 'id="decrypt"' not in page and ">显示完整号码</button>" not in page
    assert 'id="extend-' not in page
    assert "买家已要求勿扰，不显示完整号码" in page
    assert "disabled" in re.search(radio, page).group(0) and "发不了：买家已要求勿扰" in page
    assert 'id="message-submit"' not in page  # nothing to send: no button
    assert '<option selected value="buyer_replied">' in page  # all there is to log now
    shown = post_form(client, f"{url}/numbers/{handle_id}", {}, form_url=url)
    assert shown.status_code == 302 and "18400913965" not in shown.get_data(as_text=True)
    assert "不显示号码" in client.get(url).get_data(as_text=True)
    board = client.get("/cases?scope=all").get_data(as_text=True)
    assert "买家已要求勿扰 · 不再联系" in board and "number-expiring" not in board
    # the buyer's new review since: a case no one may contact them about, with no clock
    newer = open_case(session, shop, key="2", nick="又一条", at=utcnow() - timedelta(hours=1))
    newer.buyer_id = newer.review.buyer_id = case.buyer_id
    session.commit()
    page = client.get(f"/cases/{newer.id}").get_data(as_text=True)
    assert 'id="first-contact-stopped"' in page and "js-countdown" not in page
    card = client.get("/cases?scope=all").get_data(as_text=True)
    card = card[card.index(f'data-case-id="{newer.id}"') :].split("</a>")[0]
    assert "买家已要求勿扰" in card and "js-countdown" not in card

    boss = make_user(Role.SUPERVISOR, shops=[shop])
    client = other_browser(client)
    login(client, boss)
    page = client.get(url).get_data(as_text=True)
    assert 'id="lift-reason"' in page and "先在本页写明原因解除勿扰" in page
    session.refresh(case)
    refused = post_attempt(client, case, "no_answer", override_reason="买家约好今天回电")
    assert refused.status_code == 400 and "要求勿扰" in refused.get_data(as_text=True)
    sent = post_form(
        client,
        f"{url}/message",
        {"message-template": str(template.id), "message-override_reason": "买家约好的"},
        form_url=url,
    )
    assert sent.status_code == 302  # refused with a flash: nothing queued (below)
    session.refresh(case)
    assert case.attempt_count == 1 and count(session, OutboundMessage) == 0
    post_form(client, f"{url}/lift-stop", {"lift-reason": "买家主动来电要求回电"}, form_url=url)
    page = client.get(url).get_data(as_text=True)
    assert 'id="buyer-stopped"' not in page and "发不了：买家已要求勿扰" not in page
