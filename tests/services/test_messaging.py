"""Messages through providers: approved templates only, an outbox that retries what can be
retried and never sends twice, the contact policy on every send, receipts into attempts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.aliyun_server import FakeAliyun
from tests.factories import approved_template, open_case
from tests.fakes import transactions_seen
from tests.top_server import FakeTop
from tests.top_server import serve as serve_top
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    AuditEvent,
    Case,
    ContactAttempt,
    MessageTemplate,
    OutboundMessage,
    Shop,
    User,
)
from tracker.models.enums import (
    AttemptOutcome,
    Channel,
    MessagePurpose,
    MessageState,
    RemedyKind,
    RemedyNotice,
    Role,
)
from tracker.providers.aliyun import AliyunSms
from tracker.services import buyer_profiles, cases, follow_ups, messaging
from tracker.services.errors import FieldError
from tracker.sources.contract import SourceOptions
from tracker.sources.top import TopSource

SH = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(tz=SH)
MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
CREDS = {"access_key_id": "LTAIlocal", "access_key_secret": "aliyun-secret"}


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(contact_policy=None)  # the default: 09:00–21:00, 2 a day, 2 h apart


def clients_for(fake: FakeAliyun, top: FakeTop | None = None) -> messaging.Clients:
    options = SourceOptions(clock=lambda: datetime.now(UTC), url=fake.url, timeout=1.0, retries=0)

    def clients(shop: Shop, name: str) -> object:
        if name == messaging.PLATFORM:
            assert top is not None
            creds = {"app_key": top.app_key, "app_secret": top.secret, "session": top.session}
            return TopSource(creds, SourceOptions(clock=lambda: MON_10, url=top.url, retries=0))
        return AliyunSms(CREDS, options)

    return clients


def template(
    session: Session,
    shop: Shop,
    code: str = "SMS_1",
    provider: str = "aliyun-sms",
    *,
    name: str = "处理进度",
    body: str = "${name}您好，您的${product}的问题我们已在处理。",
    announces: RemedyNotice | None = None,
) -> MessageTemplate:
    admin = session.scalar(sa.select(User).where(User.role == Role.ADMIN)) or User(
        username=f"admin-{shop.id}",
        display_name="管理员",
        password_hash="x",
        role=Role.ADMIN,
        created_at=MON_10,
    )
    session.add(admin)
    session.flush()
    return messaging.save_template(
        session,
        shop,
        messaging.TemplateDraft(
            provider=provider,
            name=name,
            sign_name="好店",
            template_code=code,
            body=body,
            purpose=MessagePurpose.NOTICE,
            announces=announces,
        ),
        actor=admin,
        now=MON_10,
    )


def reissue_notice(session: Session, shop: Shop) -> MessageTemplate:
    """补发已安排, registered as the notice of a reissue."""
    return template(
        session,
        shop,
        "SMS_5",
        name="补发已安排",
        body="${name}您好，您的${product}已安排补发，请留意查收。",
        announces=RemedyNotice.RESEND,
    )


def record_remedy(
    session: Session, case: Case, agent: User, kind: RemedyKind, *, at: datetime
) -> None:
    """A remedy of ``kind`` on the case's 补偿, as its agent records it."""
    draft = cases.RemedyDraft(kind, Decimal("30"), Decimal("30"))
    cases.add_remedy(session, case, draft, actor=agent, now=at, expected_version=None)


def claimed_case(session: Session, shop: Shop, agent: User, **kw: object) -> Case:
    case = open_case(session, shop, at=MON_10 - timedelta(hours=2), **kw)  # type: ignore[arg-type]
    case.owner_id = agent.id
    session.commit()
    return case


def queued(session: Session, shop: Shop, make_user: Callable[..., User]):  # type: ignore[no-untyped-def]
    """An agent's claimed case with a notice queued for its buyer at MON_10."""
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent)
    message = messaging.queue(
        session, case, template(session, shop).id, actor=agent, now=MON_10, hours=HOURS
    )
    return agent, case, message


def test_templates_that_induce_invite_or_press_cannot_be_saved(
    session: Session, shop: Shop
) -> None:
    admin = User(
        username="a1", display_name="管理员", password_hash="x", role=Role.ADMIN, created_at=MON_10
    )
    session.add(admin)
    session.commit()
    for body, purpose, why in (
        ("亲，好评返现5元，详询客服", MessagePurpose.NOTICE, "第九条"),
        ("${name}您好，收到后麻烦给个好评哦", MessagePurpose.NOTICE, "运营商"),
        ("${name}您好，老客专享九折", MessagePurpose.MARKETING, "拒收请回复R"),
        ("${name}您好，您的${coupon}已到账", MessagePurpose.NOTICE, "coupon"),
    ):
        draft = messaging.TemplateDraft("aliyun-sms", "x", "好店", "SMS_9", body, purpose)
        with pytest.raises(FieldError) as refused:
            messaging.save_template(session, shop, draft, actor=admin, now=MON_10)
        assert why in refused.value.message
    assert session.scalars(sa.select(MessageTemplate)).all() == []


def test_a_message_is_sent_once_and_its_receipt_updates_the_attempt(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent, title="【顺丰包邮】赣南脐橙 5斤装 新鲜")
    buyer_profiles.keep(case.buyer, name="李雷")
    tpl = template(session, shop)
    message = messaging.queue(session, case, tpl.id, actor=agent, now=MON_10, hours=HOURS)
    attempt = session.get(ContactAttempt, message.attempt_id)
    assert attempt.outcome is AttemptOutcome.MESSAGE_QUEUED and case.first_attempt_at == MON_10
    # a message has no 下次跟进 box: until the buyer answers, the next try is on the list
    assert case.next_follow_up_at is not None
    assert case.next_follow_up_at >= MON_10 + timedelta(hours=2)
    assert message.params == {"name": "李先生/女士", "product": "赣南脐橙"}
    clients = clients_for(aliyun)
    for _ in range(2):  # a second run finds nothing to send
        messaging.send_due(session, now=MON_10 + timedelta(minutes=1), clients=clients, tz=SH)
    session.refresh(message)
    assert message.state is MessageState.SENT and len(aliyun.sent) == 1
    assert aliyun.sent[0]["PhoneNumbers"] == "13812345678" and aliyun.problems == []
    assert session.get(ContactAttempt, message.attempt_id).outcome is AttemptOutcome.MESSAGE_SENT
    aliyun.deliver(message.provider_ref)
    changed = messaging.poll_receipts(
        session, now=MON_10 + timedelta(minutes=6), clients=clients, tz=SH
    )
    assert changed == 1
    session.refresh(message)
    assert message.state is MessageState.DELIVERED
    assert (
        session.get(ContactAttempt, message.attempt_id).outcome is AttemptOutcome.MESSAGE_DELIVERED
    )
    access = session.scalars(
        sa.select(AuditEvent.field).where(AuditEvent.field == "message_queued")
    ).all()
    assert access == ["message_queued"]


def test_a_failed_receipt_says_why_on_the_attempt(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    _agent, _case, message = queued(session, shop, make_user)
    clients = clients_for(aliyun)
    messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
    aliyun.deliver(aliyun.sent[0]["BizId"], ok=False, error="MK:0001")
    messaging.poll_receipts(session, now=MON_10 + timedelta(minutes=5), clients=clients, tz=SH)
    attempt = session.get(ContactAttempt, message.attempt_id)
    assert attempt.outcome is AttemptOutcome.MESSAGE_FAILED and "MK:0001" in attempt.notes


def test_receipts_are_asked_for_with_no_transaction_open(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    """A slow provider must not hold the messages' and attempts' rows while it answers."""
    _agent, _case, message = queued(session, shop, make_user)
    clients = clients_for(aliyun)
    messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
    aliyun.deliver(aliyun.sent[0]["BizId"])
    later = MON_10 + timedelta(minutes=5)
    with transactions_seen(session, AliyunSms, "receipt") as open_while_asked:
        assert messaging.poll_receipts(session, now=later, clients=clients, tz=SH) == 1
    assert open_while_asked == [False]
    session.refresh(message)
    assert message.state is MessageState.DELIVERED


def test_quiet_hours_caps_and_the_stop_refuse_a_send(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    supervisor = make_user(Role.SUPERVISOR, shops=[shop])
    case = claimed_case(session, shop, agent)
    tpl = template(session, shop)
    night = MON_10.replace(hour=22)
    with pytest.raises(FieldError, match="休息时间"):
        messaging.queue(session, case, tpl.id, actor=agent, now=night, hours=HOURS)
    case.owner_id = supervisor.id
    session.commit()
    messaging.queue(
        session,
        case,
        tpl.id,
        actor=supervisor,
        now=night,
        hours=HOURS,
        override_reason="买家约了晚上",
    )
    override = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.field == "contact_policy_override")
    ).one()
    assert override.new_value == "买家约了晚上" and override.actor_id == supervisor.id
    case.owner_id = agent.id
    case.buyer.do_not_contact_at = MON_10
    session.commit()
    with pytest.raises(FieldError, match="勿扰"):
        messaging.queue(
            session, case, tpl.id, actor=agent, now=MON_10 + timedelta(days=1), hours=HOURS
        )


def test_the_sender_holds_a_message_for_the_morning_and_drops_it_after_a_stop(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    _agent, case, message = queued(session, shop, make_user)
    clients = clients_for(aliyun)
    late = MON_10.replace(hour=21, minute=30)  # queued in the day, the sender ran at night
    report = messaging.send_due(session, now=late, clients=clients, tz=SH)
    session.refresh(message)
    assert report.deferred == 1 and aliyun.sent == []
    assert message.next_try_at == (MON_10 + timedelta(days=1)).replace(hour=9, minute=0)
    case.buyer.do_not_contact_at = late
    session.commit()
    messaging.send_due(session, now=message.next_try_at, clients=clients, tz=SH)
    session.refresh(message)
    assert (
        message.state is MessageState.FAILED and "勿扰" in message.last_error and aliyun.sent == []
    )


def test_a_message_whose_template_was_retired_overnight_is_not_sent(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    """Held for the morning, and meanwhile the admin retired the text: it is not sent."""
    agent, _case, message = queued(session, shop, make_user)
    clients = clients_for(aliyun)
    late = MON_10.replace(hour=21, minute=30)
    assert messaging.send_due(session, now=late, clients=clients, tz=SH).deferred == 1
    messaging.retire_template(session, message.template, actor=agent, now=late)
    report = messaging.send_due(session, now=message.next_try_at, clients=clients, tz=SH)
    session.refresh(message)
    assert report.failed == 1 and aliyun.sent == []
    assert (message.state, message.last_error) == (MessageState.FAILED, "模板已停用，短信未发送")


def test_retries_after_a_rate_limit_and_gives_up_on_a_rejected_template(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent, _case, message = queued(session, shop, make_user)
    clients = clients_for(aliyun)
    aliyun.faults = ["throttle"]
    messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
    session.refresh(message)
    assert message.state is MessageState.RETRY and "频率限制" in (message.last_error or "")
    assert message.next_try_at == MON_10 + messaging.RETRY_AFTER[0]
    messaging.send_due(session, now=message.next_try_at, clients=clients, tz=SH)
    session.refresh(message)
    assert message.state is MessageState.SENT and message.tries == 2 and len(aliyun.sent) == 1

    other = claimed_case(session, shop, agent, key="2", nick="买家乙")
    rejected = template(session, shop, code="SMS_404")  # registered here, not approved there
    bad = messaging.queue(session, other, rejected.id, actor=agent, now=MON_10, hours=HOURS)
    messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
    session.refresh(bad)
    assert bad.state is MessageState.FAILED and bad.tries == 1 and "模板" in bad.last_error
    assert session.get(ContactAttempt, bad.attempt_id).outcome is AttemptOutcome.MESSAGE_FAILED


def test_a_send_whose_answer_was_lost_is_looked_up_not_sent_again(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    _agent, _case, message = queued(session, shop, make_user)
    clients = clients_for(aliyun)
    aliyun.faults = ["lost"]
    messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
    session.refresh(message)
    assert message.state is MessageState.SENDING and len(aliyun.sent) == 1
    messaging.send_due(session, now=MON_10 + timedelta(minutes=3), clients=clients, tz=SH)
    session.refresh(message)
    assert message.state is MessageState.SENT and message.provider_ref == aliyun.sent[0]["BizId"]
    assert len(aliyun.sent) == 1  # found by its OutId, never sent twice


def test_the_lookup_holds_no_row_and_a_try_that_never_went_out_is_sent_once(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    """A 发送中 left by a crash before the provider was reached: the provider is asked with
    no transaction open (a slow answer holds no row), finds nothing, and the message goes
    out once, through the usual checks, in the same run."""
    _agent, _case, message = queued(session, shop, make_user)
    message.state, message.tries = MessageState.SENDING, 1  # marked, then the crash
    session.commit()
    clients = clients_for(aliyun)
    with transactions_seen(session, AliyunSms, "find") as open_while_asked:
        report = messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
        assert open_while_asked == [False] and report.sent == 1
        session.refresh(message)
        assert message.state is MessageState.SENT and message.tries == 2
        messaging.send_due(session, now=MON_10 + timedelta(minutes=5), clients=clients, tz=SH)
    assert len(aliyun.sent) == 1 and open_while_asked == [False]  # nothing left to ask


def test_platform_sms_goes_by_order_and_oaid(
    session: Session, shop: Shop, make_user: Callable[..., User], aliyun: FakeAliyun
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent, oaid="OAID-1")
    tpl = template(session, shop, code="TPL_9", provider="platform")
    message = messaging.queue(session, case, tpl.id, actor=agent, now=MON_10, hours=HOURS)
    top = FakeTop()
    top.approved_templates = {"TPL_9"}
    with serve_top(top):
        messaging.send_due(session, now=MON_10, clients=clients_for(aliyun, top), tz=SH)
    session.refresh(message)
    assert top.problems == [] and top.sms[0]["oaid"] == "OAID-1" and top.sms[0]["order_id"] == "T1"
    assert message.state is MessageState.SENT and message.finished_at is not None  # no receipts


def test_no_number_for_sms_is_said_before_anything_is_recorded(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent, phone="18400913965-7576")  # a virtual number
    tpl = template(session, shop)
    with pytest.raises(FieldError, match="平台短信"):
        messaging.queue(session, case, tpl.id, actor=agent, now=MON_10, hours=HOURS)
    assert session.scalars(sa.select(ContactAttempt)).all() == []


def test_each_template_is_offered_as_its_buyer_reads_it_or_says_why_it_cannot_go(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    virtual = claimed_case(session, shop, agent, phone="18400913965-7576", oaid="OAID-1")
    mobile = claimed_case(session, shop, agent, key="2", nick="买家乙")  # no OAID
    buyer_profiles.keep(virtual.buyer, name="郑俊杰")
    sms = template(session, shop)
    platform = template(session, shop, code="TPL_9", provider="platform")
    session.commit()

    offered = {
        (case.id, choice.template.id): choice
        for case in (virtual, mobile)
        for choice in messaging.case_templates(session, case, now=MON_10)
    }
    assert (
        offered[virtual.id, platform.id].text
        == "【好店】郑先生/女士您好，您的赣南脐橙的问题我们已在处理。"
    )
    assert offered[virtual.id, platform.id].provider_label == "平台短信（按订单）"
    assert offered[virtual.id, sms.id].text is None
    assert "没有可发短信的有效号码" in offered[virtual.id, sms.id].refusal
    assert offered[mobile.id, sms.id].text == "【好店】亲您好，您的赣南脐橙的问题我们已在处理。"
    assert offered[mobile.id, platform.id].text is None
    assert "没有这笔订单的 OAID" in offered[mobile.id, platform.id].refusal
    # what the page offers is what sending does: the refused one is refused, with its reason
    with pytest.raises(FieldError, match="OAID"):
        messaging.queue(session, mobile, platform.id, actor=agent, now=MON_10, hours=HOURS)
    message = messaging.queue(session, mobile, sms.id, actor=agent, now=MON_10, hours=HOURS)
    assert messaging.text_of(sms, message.params) == offered[mobile.id, sms.id].text


def test_a_notice_that_a_remedy_is_arranged_goes_only_from_a_case_that_records_it(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent)
    resend = reissue_notice(session, shop)
    refund = template(
        session,
        shop,
        "SMS_6",
        name="退款已办理",
        body="${name}您好，您的退款已办理，请留意到账。",
        announces=RemedyNotice.REFUND,
    )
    said = template(
        session,
        shop,
        "SMS_7",
        body="${name}您好，如需补发请联系客服。",
        announces=RemedyNotice.NOTHING,
    )
    session.commit()

    def offers() -> dict[int, messaging.TemplateOffer]:
        return {o.template.id: o for o in messaging.case_templates(session, case, now=MON_10)}

    before = offers()
    assert before[resend.id].text is None
    assert "“补发已安排”告诉买家补发已安排，本案件还没有登记补发" in before[resend.id].refusal
    assert "还没有登记退款（部分或全额）" in before[refund.id].refusal
    assert before[said.id].refusal is None  # it mentions a reissue, announces none
    with pytest.raises(FieldError, match="还没有登记补发"):
        messaging.queue(session, case, resend.id, actor=agent, now=MON_10, hours=HOURS)
    assert session.scalars(sa.select(ContactAttempt)).all() == []

    record_remedy(session, case, agent, RemedyKind.PARTIAL_REFUND, at=MON_10)
    after = offers()
    assert after[refund.id].text == "【好店】亲您好，您的退款已办理，请留意到账。"
    assert "还没有登记补发" in after[resend.id].refusal  # a refund is no reissue
    message = messaging.queue(session, case, refund.id, actor=agent, now=MON_10, hours=HOURS)
    assert message.template_id == refund.id


def test_the_notice_of_a_remedy_agreed_on_the_call_goes_right_after_it(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """The contact policy's two hours between contacts held the reissue's notice after the
    call that agreed it; an agent needed a supervisor to tell the buyer what they waited
    for. Once per recorded remedy, it goes; anything more waits as before."""
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent)  # opened on Thursday at 08:00
    thu_10 = MON_10 + timedelta(days=3)
    resend = reissue_notice(session, shop)
    progress = template(session, shop, "SMS_6")
    session.commit()
    call = cases.AttemptDraft(  # the buyer agreed to a reissue on the phone
        Channel.PHONE,
        thu_10 - timedelta(minutes=20),
        AttemptOutcome.HANDLING,
        next_attempt_at=thu_10 + timedelta(days=2),
    )
    cases.log_attempt(
        session, case, call, actor=agent, now=thu_10, expected_version=None, hours=HOURS
    )
    record_remedy(session, case, agent, RemedyKind.RESEND, at=thu_10)

    def offer(t: MessageTemplate) -> messaging.TemplateOffer:
        (found,) = [
            o for o in messaging.case_templates(session, case, now=thu_10) if o.template == t
        ]
        return found

    assert offer(resend).awaited and not offer(progress).awaited
    with pytest.raises(FieldError, match="距上次联系不足 2 小时"):  # not a notice they wait for
        messaging.queue(session, case, progress.id, actor=agent, now=thu_10, hours=HOURS)
    messaging.queue(session, case, resend.id, actor=agent, now=thu_10, hours=HOURS)
    # it asks no reply: the check-up planned on the call stands (not the next try's time)
    assert case.next_follow_up_at == thu_10 + timedelta(days=2)
    assert follow_ups.next_try_for(session, case, hours=HOURS, now=thu_10) is None  # no 再试
    assert not offer(resend).awaited  # one notice per reissue recorded
    with pytest.raises(FieldError, match="距上次联系不足 2 小时"):
        messaging.queue(session, case, resend.id, actor=agent, now=thu_10, hours=HOURS)
    # a second reissue may be announced too, but not at night
    record_remedy(session, case, agent, RemedyKind.RESEND, at=thu_10)
    assert offer(resend).awaited
    night = thu_10 + timedelta(hours=12)
    with pytest.raises(FieldError, match="休息时间"):
        messaging.queue(session, case, resend.id, actor=agent, now=night, hours=HOURS)
    sent = session.scalars(sa.select(OutboundMessage)).all()
    assert [m.template_id for m in sent] == [resend.id]


def test_a_notice_naming_a_remedy_says_whether_it_announces_it(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN)
    body = "${name}您好，您的${product}已安排补发。"
    draft = messaging.TemplateDraft(
        "aliyun-sms", "补发", "好店", "SMS_3", body, MessagePurpose.NOTICE
    )
    with pytest.raises(FieldError) as asked:
        messaging.save_template(session, shop, draft, actor=admin, now=MON_10)
    assert asked.value.field == "announces"
    assert "模板内容提到补发" in asked.value.message and "请选“补发”" in asked.value.message
    assert session.scalars(sa.select(MessageTemplate)).all() == []
    mentioned = messaging.TemplateDraft(
        "aliyun-sms",
        "售后",
        "好店",
        "SMS_4",
        "${name}您好，如需补发或退款请联系客服。",
        MessagePurpose.NOTICE,
        RemedyNotice.NOTHING,
    )
    assert messaging.save_template(session, shop, mentioned, actor=admin, now=MON_10).id
    marketing = messaging.TemplateDraft(
        "aliyun-sms",
        "上新",
        "好店",
        "SMS_8",
        "${name}您好，新品上市。拒收请回复R",
        MessagePurpose.MARKETING,
        RemedyNotice.GIFT,
    )
    with pytest.raises(FieldError, match="营销短信不通知补偿"):
        messaging.save_template(session, shop, marketing, actor=admin, now=MON_10)

    # a template registered before the question is answered afterwards, and audited
    older = approved_template(session, shop, body, at=MON_10, name="补发", code="SMS_9")
    session.commit()
    assert older.announces is None
    messaging.set_announces(session, older, RemedyNotice.RESEND, actor=admin, now=MON_10)
    assert older.announces is RemedyNotice.RESEND
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.field == "announces")).one()
    assert (event.entity_id, event.old_value, event.new_value) == (older.id, None, "补发")
    with pytest.raises(FieldError, match="模板内容提到补发"):
        messaging.set_announces(session, older, None, actor=admin, now=MON_10)
    assert older.announces is RemedyNotice.RESEND


def test_a_template_naming_the_order_is_not_offered_for_a_review_without_one(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent)
    tracked = messaging.save_template(
        session,
        shop,
        messaging.TemplateDraft(
            "aliyun-sms",
            "订单处理进度",
            "好店",
            "SMS_7",
            "${name}您好，订单尾号${order}的问题我们已在处理。",
            MessagePurpose.NOTICE,
        ),
        actor=agent,
        now=MON_10,
    )
    (with_order,) = messaging.case_templates(session, case, now=MON_10)
    assert with_order.text == "【好店】亲您好，订单尾号T1的问题我们已在处理。"
    case.review.order_line_id = None  # imported without its order
    session.commit()
    (without,) = messaging.case_templates(session, case, now=MON_10)
    assert without.text is None and "${order}（订单号后四位）" in without.refusal
    with pytest.raises(FieldError, match="订单号后四位"):
        messaging.queue(session, case, tracked.id, actor=agent, now=MON_10, hours=HOURS)


def test_the_outbox_reaches_the_shops_own_provider_account_or_says_it_has_none(
    app,
    session: Session,
    shop: Shop,
    make_user: Callable[..., User],
    aliyun: FakeAliyun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    from tracker import runtime

    monkeypatch.setitem(app.config, "TRACKER_PROVIDER_URLS", {"aliyun-sms": aliyun.url})
    agent = make_user(Role.AGENT, shops=[shop])
    case = claimed_case(session, shop, agent)
    tpl = template(session, shop)
    first = messaging.queue(session, case, tpl.id, actor=agent, now=MON_10, hours=HOURS)
    clients = runtime.message_clients(app, session)
    messaging.send_due(session, now=MON_10, clients=clients, tz=SH)
    session.refresh(first)
    assert first.state is MessageState.FAILED and "没有设置阿里云短信服务账号" in first.last_error
    admin = make_user(Role.ADMIN)
    messaging.save_account(
        session, shop, messaging.SMS, CREDS, sealer=runtime.sealer(app), actor=admin, now=MON_10
    )
    second = messaging.queue(
        session, case, tpl.id, actor=agent, now=MON_10 + timedelta(hours=3), hours=HOURS
    )
    messaging.send_due(session, now=MON_10 + timedelta(hours=3), clients=clients, tz=SH)
    session.refresh(second)
    assert second.state is MessageState.SENT and len(aliyun.sent) == 1 and aliyun.problems == []
