"""A supervisor builds a campaign on its page, previews who it reaches, launches it; a
buyer's reply R comes back through the provider's push and opts them out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import login, post_form, words
from tests.factories import approved_template, buyer_with_order
from tracker import runtime
from tracker.clock import utcnow
from tracker.models import Buyer, Campaign, CampaignRecipient, MessageTemplate, Shop, User
from tracker.models.enums import MessagePurpose, Role
from tracker.services import calls, messaging, segments


def _dormant_buyers(session: Session, shop: Shop, n: int) -> list[Buyer]:
    made = [
        buyer_with_order(
            session,
            shop,
            f"睡{i}",
            phone=f"137{i:08d}",
            payment="99",
            paid_at=utcnow() - timedelta(days=120),
        )
        for i in range(n)
    ]
    session.commit()
    segments.recompute(session, shop, now=utcnow())
    return made


def _marketing_template(session: Session, shop: Shop) -> MessageTemplate:
    return approved_template(
        session,
        shop,
        "${name}您好，新品九折，拒收请回复R",
        at=utcnow(),
        purpose=MessagePurpose.MARKETING,
        name="老客回访",
        code="SMS_M1",
    )


def test_a_supervisor_builds_previews_and_launches_a_campaign(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    _dormant_buyers(session, shop, 12)
    template = _marketing_template(session, shop)
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    assert client.get("/shop/campaigns").status_code == 403
    lead = client.application.test_client()
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    login(lead, make_user(Role.SUPERVISOR, shops=[shop]))
    # a coupon's value that is no number (a signaling NaN broke the range check: a 500)
    refused = post_form(
        lead,
        "/shop/campaigns/new",
        {"name": "唤醒沉睡客户", "template_id": str(template.id), "coupon_value": "sNaN"},
        form_url="/shop/campaigns/new",
    )
    assert refused.status_code == 200 and "请填写一个有效的数字" in refused.get_data(as_text=True)
    # 客户类型 as Bootstrap's inline checkboxes, not a bulleted list drawn in a text box
    types = refused.get_data(as_text=True).split('id="classes"', 1)[1][:1500]
    assert types.count('class="form-check form-check-inline"') == 5 and "<ul" not in types
    # the template as its buyers read it, and what each costs; none chosen until picked
    choices = refused.get_data(as_text=True).split('id="campaign-templates"', 1)[1]
    choices = " ".join(words(choices[: choices.index("</fieldset>")]).split())
    assert "老客回访 阿里云短信 · 营销 【好店】张先生/女士您好，新品九折，拒收请回复R" in choices
    assert "24 字 · 按 1 条短信计费" in choices
    assert f'value="{template.id}" checked' in refused.get_data(as_text=True)  # kept
    fresh = lead.get("/shop/campaigns/new").get_data(as_text=True)
    assert "checked" not in fresh.split('id="campaign-templates"', 1)[1][:1500]
    unpicked = post_form(
        lead, "/shop/campaigns/new", {"name": "唤醒沉睡客户"}, form_url="/shop/campaigns/new"
    )
    html = unpicked.get_data(as_text=True)
    assert (
        unpicked.status_code == 200
        and "请选择本店已登记的短信模板" in html.split('id="campaign-templates"', 1)[1]
    )
    answer = post_form(
        lead,
        "/shop/campaigns/new",
        {
            "name": "唤醒沉睡客户",
            "classes": ["dormant"],
            "days_from": "90",
            "days_to": "180",
            "exclude_open_case": "y",
            "unhappy_days": "30",
            "refund_days": "30",
            "contacted_days": "7",
            "template_id": str(template.id),
            "control_percent": "25",
            "coupon": "新品九折",
        },
        form_url="/shop/campaigns/new",
    )
    assert answer.status_code == 302
    campaign = session.scalars(sa.select(Campaign)).one()
    page = lead.get(f"/shop/campaigns/{campaign.id}").get_data(as_text=True)
    # the offer is recorded, not issued: the page says the buyer learns of it from the text
    assert "新品九折 <span" in page and "系统不发券，买家从短信文字里得知" in page
    assert "现在会选中 <strong>12</strong> 人" in page
    message = page.split('id="campaign-message">', 1)[1]
    message = " ".join(words(message[: message.index("</dd>")]).split())
    assert message.startswith(
        "老客回访【好店】张先生/女士您好，新品九折，拒收请回复R 24 字 · 每人按 1 条"
    )
    assert "${name}" not in page
    # what launching will send and bill: the control group's size is the launch's own
    assert "其中发送 9 人、对照 3 人：约 9 条短信计费" in page
    # without the shop's SMS account nothing would go out, and both pages say so
    missing = "本店还没有设置阿里云短信服务账号（管理 → 联系渠道）"
    assert f"{missing}：设置之前开始发送，短信也不会发出。" in page
    launched = post_form(
        lead, f"/shop/campaigns/{campaign.id}/launch", {}, form_url=f"/shop/campaigns/{campaign.id}"
    )
    page = lead.get(launched.location).get_data(as_text=True)
    assert f"活动已开始，但{missing}：设置之后才会发出。" in page
    assert f"{missing}：短信在设置之后发出。" in page
    messaging.save_account(
        session, shop, messaging.SMS, {"access_key_id": "LTAIkey", "access_key_secret": "s3cret"},
        sealer=runtime.sealer(lead.application), actor=make_user(Role.ADMIN), now=utcnow(),
    )  # fmt: skip
    assert missing not in lead.get(f"/shop/campaigns/{campaign.id}").get_data(as_text=True)
    session.refresh(campaign)
    assert campaign.state == "sending" and campaign.held_back == 3
    listing = lead.get("/shop/campaigns").get_data(as_text=True)
    assert "唤醒沉睡客户" in listing and "发送中" in listing
    assert session.scalar(sa.select(sa.func.count()).select_from(CampaignRecipient)) == 12
    sent = session.scalars(sa.select(CampaignRecipient).where(~CampaignRecipient.control)).all()
    for recipient, delivery in zip(sent, ("delivered", "delivered", "undelivered"), strict=False):
        recipient.state, recipient.delivery = "sent", delivery
    sent[3].state, sent[3].last_error = "skipped", "买家要求勿扰或已退订"
    held_until = utcnow().replace(microsecond=0) + timedelta(hours=1)
    for recipient in sent[4:6]:  # the contact policy holds them (called an hour ago)
        recipient.not_before = held_until
    sent[6].not_before = held_until - timedelta(hours=2)  # held, and its moment has come
    session.commit()
    page = lead.get(f"/shop/campaigns/{campaign.id}").get_data(as_text=True)
    row = page[page.index('id="campaign-delivery"') :]
    assert ">2</td>" in row[:120] and "未送达 1 · 回执未到 0" in words(row[:800])
    people = page[page.index('id="campaign-results"') :]
    assert ">4</td>" in people[:400]  # the sent group: three sent and one skipped
    assert "已发 3 · 待发 5 · 失败 0 · 发送时跳过 1" in words(people)
    # nobody has ordered yet: both groups spend nothing, and the page says what that means
    assert "¥0.00 ~ ¥0.00" in people and "0.0 ~ 0.0 个百分点" in people
    assert people.count("无可靠差别") == 2
    # a phone shows the interval under the difference (its column is hidden there)
    assert "区间 ¥0.00 ~ ¥0.00" in words(people) and "区间 0.0 ~ 0.0 个百分点" in words(people)
    assert "买家要求勿扰或已退订 1 人" in page[page.index('id="campaign-skipped"') :]
    held = words(page[page.index('id="campaign-held"') :][:300])
    local = held_until.astimezone(ZoneInfo("Asia/Shanghai"))
    assert "有 2 位按本店联系规则稍后发送" in held and f"最早 {local:%Y-%m-%d %H:%M} 起" in held


def test_a_reply_r_pushed_by_the_provider_opts_the_buyer_out(
    app: Flask, session: Session, shop: Shop
) -> None:
    [buyer] = _dormant_buyers(session, shop, 1)
    client = app.test_client()
    token = calls.receipt_token(app.config["SECRET_KEY"], shop.id, "sms-replies")
    reply = [{"phone_number": "13700000000", "content": "R", "sign_name": "好店"}]
    assert client.post(f"/api/v1/sms-replies/{shop.id}/forged", json=reply).status_code == 404
    answer = client.post(f"/api/v1/sms-replies/{shop.id}/{token}", json=reply)
    assert answer.status_code == 200 and answer.get_json()["unsubscribed"] == 1
    session.refresh(buyer)
    assert buyer.marketing_opt_out_at is not None


def test_a_supervisor_adds_and_retires_a_care_rule(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    from tracker.models import CareRule

    template = approved_template(
        session,
        shop,
        "${name}您好，收到后请冷藏保存。",
        at=utcnow(),
        name="使用提醒",
        code="SMS_C1",
    )
    session.commit()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    post_form(
        client,
        "/shop/care-rules",
        {
            "kind": "after_receipt",
            "name": "",
            "days": "3",
            "template_id": str(template.id),
            "control_percent": "0",
        },
        form_url="/shop/campaigns",
    )
    rule = session.scalars(sa.select(CareRule)).one()
    assert (rule.kind, rule.days, rule.name) == ("after_receipt", 3, "收货后关怀")
    page = client.get("/shop/campaigns").get_data(as_text=True)
    assert "收货后 3 天" in page and page.count('id="care-rules"') == 1
    assert "<title>客户运营活动" in page
    rules = page[page.index('id="care-rules"') : page.index('id="care-form"')]
    # nothing goes out before the shop has its SMS account, and the row says so
    assert "使用提醒<span" in rules and "不会发送：本店还没有设置阿里云短信服务账号" in rules
    messaging.save_account(
        session, shop, messaging.SMS, {"access_key_id": "LTAIkey", "access_key_secret": "s3cret"},
        sealer=runtime.sealer(client.application), actor=make_user(Role.ADMIN), now=utcnow(),
    )  # fmt: skip
    page = client.get("/shop/campaigns").get_data(as_text=True)
    rules = page[page.index('id="care-rules"') : page.index('id="care-form"')]
    assert 'data-label="模板">使用提醒</td>' in rules
    template.is_active = False  # an admin retired the template: the rule names no template
    session.commit()
    rules = client.get("/shop/campaigns").get_data(as_text=True)
    row = words(rules[rules.index(f'id="care-rule-{rule.id}"') :][:1200])
    assert "（已停用）不会发送：模板“使用提醒”已停用。" in row
    template.is_active = True
    session.commit()
    # a bad value is refused under its field, what was typed stays, and nothing is stored
    for typed, field, message in (
        ({"kind": "holiday", "holiday": "2-9"}, "holiday", "节日日期写作 MM-DD"),
        ({"kind": "holiday", "holiday": "02-09", "control_percent": "10%"}, "control_percent", "不是有效的整数"),
        ({"kind": "holiday", "holiday": "02-09", "control_percent": "60"}, "control_percent", "应在 0 到 50 之间"),
        ({"kind": "after_receipt", "days": ""}, "days", "收货后天数应在 1 到 90 之间"),
        ({"kind": "after_receipt", "days": "365"}, "days", "90"),
        ({"kind": "holiday", "holiday": "02-09"}, "care-templates", "节日问候只能用营销类模板"),
    ):  # fmt: skip
        answer = post_form(
            client,
            "/shop/care-rules",
            {"name": "春节问候", "template_id": str(template.id)} | typed,
            form_url="/shop/campaigns",
        )
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400, typed
        after = html[html.index(f'id="{field}"') :]
        assert message in after[: after.index("</div>") + 200], typed
        assert 'value="春节问候"' in html, typed
    assert session.scalar(sa.select(sa.func.count(CareRule.id))) == 1
    post_form(client, f"/shop/care-rules/{rule.id}/retire", {}, form_url="/shop/campaigns")
    session.refresh(rule)
    assert not rule.is_active


def test_the_campaign_list_is_paged(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """Each care rule adds a campaign a day: the list shows a page of them, newest first,
    and counts results only for those."""
    lead = make_user(Role.SUPERVISOR, shops=[shop])
    template = _marketing_template(session, shop)
    for i in range(25):
        session.add(
            Campaign(
                shop_id=shop.id, name=f"生日关怀第{i:02d}天", audience={}, exclusions={},
                template_id=template.id, created_by_id=lead.id, created_at=utcnow(),
            )
        )  # fmt: skip
    session.commit()
    login(client, lead)
    first = client.get("/shop/campaigns").get_data(as_text=True)
    rows = first[first.index('id="campaigns"') : first.index('id="care-rules"')]
    assert "生日关怀第24天" in rows and "生日关怀第05天" in rows and "生日关怀第04天" not in rows
    assert "共 25 个，第 1 / 2 页" in first
    second = client.get("/shop/campaigns?page=2").get_data(as_text=True)
    rows = second[second.index('id="campaigns"') : second.index('id="care-rules"')]
    assert "生日关怀第04天" in rows and "生日关怀第05天" not in rows
