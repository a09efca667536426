"""Messages to buyers: approved templates only, through an outbox.

An agent picks an approved template on the case page; its parameters come from the case
(salutation, short product name, shop), never typed. Queuing it is a contact attempt under
the shop's contact policy. The scheduler sends the outbox, retries what can be retried,
never sends a message twice (a send whose answer was lost is looked up by its ``out_id``
before any retry), and reads delivery receipts back into the attempt.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import compliance, remedy_notices
from tracker.domain.contact_policy import stopped
from tracker.domain.phone_numbers import PhoneNumber
from tracker.domain.sms_length import billed_parts
from tracker.domain.wording import short_product, written_name
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    Buyer,
    Case,
    ContactAttempt,
    ContactHandle,
    MessageTemplate,
    Order,
    OutboundMessage,
    Product,
    ProviderAccount,
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
)
from tracker.providers.aliyun import PROVIDERS
from tracker.providers.contract import Delivery, ProviderError, Receipt, Sms, SmsProvider
from tracker.sealing import Sealer
from tracker.services import contact_handles, source_credentials
from tracker.services.audit import record_change, record_shop_change
from tracker.services.cases import AttemptDraft, case_transaction, check_can_work, record_attempt
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction
from tracker.sources.contract import PlatformMessage, SendsMessages, SourceError

log = logging.getLogger(__name__)

SMS = "aliyun-sms"
AXB = "aliyun-axb"
PLATFORM = "platform"  # the shop's own platform SMS by order and OAID
PROVIDER_LABELS = {SMS: "阿里云短信", PLATFORM: "平台短信（按订单）"}
PARAMETERS = {  # what a template may ask for, all filled from the case
    "name": "称呼",
    "product": "商品简称",
    "shop": "店铺名",
    "order": "订单号后四位",
    "link": "回访链接（仅用于满意度回访模板）",
}
_PARAM = re.compile(r"\$\{(\w+)\}")
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
TRIES = len(RETRY_AFTER) + 1
RECEIPTS_FOR = timedelta(hours=72)  # Aliyun keeps send details for a few days
LOOK_AGAIN = timedelta(minutes=2)  # a send whose answer was lost is looked up after this


# -- provider accounts ----------------------------------------------------------------------
def has_account(session: Session, shop_id: int, provider: str) -> bool:
    return session.get(ProviderAccount, (shop_id, provider)) is not None


def account_hints(session: Session, shop_id: int) -> dict[str, str]:
    rows = session.scalars(sa.select(ProviderAccount).where(ProviderAccount.shop_id == shop_id))
    return {row.provider: row.hint for row in rows}


def not_configured(provider: str) -> str:
    """What is said wherever a send waits for the shop's provider account."""
    return f"本店还没有设置{PROVIDERS[provider].label}账号（管理 → 联系渠道）"


def missing_account(session: Session, shop_id: int, provider: str) -> str | None:
    """``not_configured`` when the shop has no account with the provider, else None."""
    return None if session.get(ProviderAccount, (shop_id, provider)) else not_configured(provider)


def account_values(
    session: Session, shop_id: int, provider: str, *, sealer: Sealer
) -> dict[str, str] | None:
    row = session.get(ProviderAccount, (shop_id, provider))
    return {k: str(v) for k, v in sealer.open(row.sealed).items()} if row else None


def save_account(
    session: Session,
    shop: Shop,
    provider: str,
    values: Mapping[str, str],
    *,
    sealer: Sealer,
    actor: User,
    now: datetime,
) -> None:
    """Save a provider account; a secret left blank keeps the saved one."""
    spec = PROVIDERS[provider]
    with transaction(session):
        row = session.get(ProviderAccount, (shop.id, provider))
        account = source_credentials.merged(
            spec, values, row.sealed if row else None, sealer=sealer
        )
        for name, message in spec.problems(account):
            raise FieldError(name, message)
        hint = source_credentials.hint(spec, account)
        if row is None:
            row = ProviderAccount(shop_id=shop.id, provider=provider, updated_at=now)
            session.add(row)
        row.sealed, row.hint = sealer.seal(account), hint
        row.updated_at, row.updated_by_id = now, actor.id
        session.flush()
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor.id,
            field=f"provider:{provider}",
            old=None,
            new=hint,
        )


# -- templates ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TemplateDraft:
    provider: str
    name: str
    sign_name: str
    template_code: str
    body: str
    purpose: MessagePurpose
    announces: RemedyNotice | None = None  # the remedy a notice says was arranged


def template_problems(draft: TemplateDraft) -> list[tuple[str, str]]:
    problems = [
        ("body", problem)
        for problem in compliance.check_message(
            draft.body, marketing=draft.purpose is MessagePurpose.MARKETING
        )
    ]
    asked = announce_problems(draft.purpose, draft.body, draft.announces)
    problems += [("announces", question) for question in asked]
    unknown = sorted(set(_PARAM.findall(draft.body)) - set(PARAMETERS))
    if unknown:
        known = "、".join(f"${{{k}}}（{v}）" for k, v in PARAMETERS.items())
        problems.append(("body", f"参数 {', '.join(unknown)} 无法从案件填写；可用：{known}"))
    if draft.provider not in PROVIDER_LABELS:
        problems.append(("provider", "请选择发送渠道。"))
    return problems


def announce_problems(
    purpose: MessagePurpose, body: str, announces: RemedyNotice | None
) -> list[str]:
    """A notice naming a remedy must say whether it announces it; marketing announces none."""
    if purpose is MessagePurpose.MARKETING:
        if remedy_notices.announces_remedy(announces):
            return ["营销短信不通知补偿：补偿只在案件里、针对问题本身给出。"]
        return []
    question = remedy_notices.undecided(body, announces)
    return [question] if question else []


def save_template(
    session: Session, shop: Shop, draft: TemplateDraft, *, actor: User, now: datetime
) -> MessageTemplate:
    """Record a template the provider approved; refused (naming the rule) when it induces
    or presses, invites a review in a notice, or lacks the marketing opt-out."""
    with transaction(session):
        for name, message in template_problems(draft):
            raise FieldError(name, message)
        clash = session.scalar(
            sa.select(MessageTemplate).where(
                MessageTemplate.shop_id == shop.id,
                MessageTemplate.provider == draft.provider,
                MessageTemplate.template_code == draft.template_code,
            )
        )
        if clash is not None:
            raise FieldError(
                "template_code", f"模板 CODE {draft.template_code} 已登记（{clash.name}）。"
            )
        template = MessageTemplate(
            shop_id=shop.id,
            provider=draft.provider,
            name=draft.name.strip(),
            sign_name=draft.sign_name.strip(),
            template_code=draft.template_code.strip(),
            body=draft.body.strip(),
            purpose=draft.purpose,
            announces=draft.announces,
            is_active=True,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(template)
        session.flush()
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="message_template",
            entity_id=template.id,
            field="created",
            old=None,
            new=f"{template.name} {template.template_code}",
        )
        return template


def set_announces(
    session: Session,
    template: MessageTemplate,
    announces: RemedyNotice | None,
    *,
    actor: User,
    now: datetime,
) -> None:
    """Say (or correct) which remedy a registered template announces: its text is the
    provider's and cannot change, but what it tells the buyer is the shop's to say."""
    with transaction(session):
        for message in announce_problems(template.purpose, template.body, announces):
            raise FieldError("announces", message)
        if announces == template.announces:
            return
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="message_template",
            entity_id=template.id,
            field="announces",
            old=template.announces.label if template.announces else None,
            new=announces.label if announces else None,
        )
        template.announces = announces


def retire_template(
    session: Session, template: MessageTemplate, *, actor: User, now: datetime
) -> bool:
    """Retire a template; True when it carried the shop's 满意度回访, which stops with it
    (before, the scheduler went on sending the retired text to every closed case)."""
    with transaction(session):
        template.is_active = False
        shop = session.get(Shop, template.shop_id)
        carried_survey = shop is not None and shop.survey_template_id == template.id
        if shop is not None and carried_survey:
            record_survey_template(session, shop, None, actor=actor, now=now)
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="message_template",
            entity_id=template.id,
            field="is_active",
            old=True,
            new=False,
        )
        return carried_survey


def record_survey_template(
    session: Session, shop: Shop, template_id: int | None, *, actor: User, now: datetime
) -> None:
    """Set (or clear) the template that carries the shop's 满意度回访, audited; the caller's
    transaction, and its checks (surveys.set_template), come first."""
    record_shop_change(
        session,
        shop.id,
        now=now,
        actor_id=actor.id,
        field="survey_template_id",
        old=shop.survey_template_id,
        new=template_id,
    )
    shop.survey_template_id = template_id


def templates_of(
    session: Session, shop_id: int, *, all_of_them: bool = False
) -> list[MessageTemplate]:
    query = sa.select(MessageTemplate).where(MessageTemplate.shop_id == shop_id)
    if not all_of_them:
        query = query.where(MessageTemplate.is_active.is_(True))
    return list(session.scalars(query.order_by(MessageTemplate.name)))


# the buyer of a preview with no case (a campaign, the survey): one on file as 张 reads
# 张先生/女士, the longest a salutation gets (亲 without a name), so a preview's length holds
SAMPLE_SALUTATION = written_name("张")


@dataclass(frozen=True)
class TemplateOffer:
    """An approved template as its buyer would read it, or why it cannot go from here: who
    chooses (an agent on a case, a supervisor for a campaign, an admin for 满意度回访) sees
    the very words and what they cost before anything is sent, never just a name."""

    template: MessageTemplate
    text: str | None  # 【签名】 and the body, its parameters filled (a sample's, if no case)
    refusal: str | None  # why it cannot be sent from here (no number, no OAID, ...)
    awaited: bool = False  # a remedy's notice the buyer waits for: the gap and caps pass it

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS.get(self.template.provider, self.template.provider)

    @property
    def parts(self) -> int:
        """The SMS it is billed as (an over-long text costs two or more)."""
        return billed_parts(self.text or "")


def sent_from_cases(template: MessageTemplate) -> bool:
    """A template an agent may send from a case: a notice, not the 满意度回访's (its
    ${link} goes by itself when a case closes)."""
    return template.purpose is MessagePurpose.NOTICE and "${link}" not in template.body


def case_templates(session: Session, case: Case, *, now: datetime) -> list[TemplateOffer]:
    """What an agent may send from a case (active notices, not the survey's ${link}), each
    filled for this buyer, or refused as sending it would be refused."""
    notices = [t for t in templates_of(session, case.shop_id) if sent_from_cases(t)]
    if not notices:
        return []
    if case.buyer is not None and stopped(case.buyer.do_not_contact_at, now):
        # sending would be refused, whoever sends: 勿扰 is lifted, not gone past
        return [TemplateOffer(t, None, "买家已要求勿扰，不再联系") for t in notices]
    shop = session.get(Shop, case.shop_id)
    order, handle = _ways_to(session, case, now, sms=any(t.provider == SMS for t in notices))
    announced = _announced(session, case.id)
    offered = []
    for template in notices:
        try:
            params = _params_for(template, case, shop, order, handle)
        except FieldError as refused:
            offered.append(TemplateOffer(template, None, refused.message))
        else:
            waits = _awaited(case, template, announced)
            offered.append(TemplateOffer(template, text_of(template, params), None, waits))
    return offered


def notices_of(session: Session, shop_id: int, kind: RemedyKind) -> list[MessageTemplate]:
    """The shop's active notices that announce a remedy of this kind: what to tell the
    buyer once it is recorded."""
    return [
        t
        for t in templates_of(session, shop_id)
        if t.announces is not None and kind in remedy_notices.REMEDIES[t.announces]
    ]


def _announced(session: Session, case_id: int) -> dict[RemedyNotice, int]:
    """How many notices of each remedy went, or are going, to the case's buyer (a send
    that failed told them nothing)."""
    return dict(
        session.execute(
            sa.select(MessageTemplate.announces, sa.func.count(OutboundMessage.id))
            .join(MessageTemplate, MessageTemplate.id == OutboundMessage.template_id)
            .where(
                OutboundMessage.case_id == case_id,
                OutboundMessage.state != MessageState.FAILED,
                MessageTemplate.announces.is_not(None),
            )
            .group_by(MessageTemplate.announces)
        )
        .tuples()
        .all()
    )


def _awaited(case: Case, template: MessageTemplate, announced: dict[RemedyNotice, int]) -> bool:
    if template.announces is None:
        return False
    recorded = [remedy.kind for remedy in case.remedies]
    return remedy_notices.awaited(
        template.announces, recorded, announced.get(template.announces, 0)
    )


def text_of(template: MessageTemplate, params: Mapping[str, str]) -> str:
    """The message as the buyer's phone shows it: 【签名】 then the body, filled."""
    body = _PARAM.sub(lambda m: params.get(m.group(1), m.group(0)), template.body)
    return f"【{template.sign_name}】{body}"


def _ways_to(
    session: Session, case: Case, now: datetime, *, sms: bool
) -> tuple[Order | None, ContactHandle | None]:
    """The case's order (its OAID, its 尾号) and, when an SMS may go, the buyer's newest
    number that takes one."""
    order = contact_handles.order_of(session, case)
    buyer = case.buyer
    handle = contact_handles.sms_handle(session, buyer.id, now) if sms and buyer else None
    return order, handle


def _params_for(
    template: MessageTemplate,
    case: Case,
    shop: Shop,
    order: Order | None,
    handle: ContactHandle | None,
) -> dict[str, str]:
    """The template's values for the case's buyer, when the template has a way to them
    (a number that takes an SMS for the provider's SMS, the order's OAID for the
    platform's); else FieldError says what lacks. The page offers and the send sends by
    this one check."""
    buyer = case.buyer
    if buyer is None:
        raise FieldError("template", "这条评价没有买家档案，无法发短信。")
    if template.provider == SMS:
        if handle is None:
            raise FieldError(
                "template",
                "没有可发短信的有效号码（虚拟号带分机号不能收短信）：请改用平台短信。",
            )
    elif order is None or not order.oaid:
        raise FieldError("template", "平台短信按订单发送：没有这笔订单的 OAID。")
    recorded = {remedy.kind for remedy in case.remedies}
    if template.announces and remedy_notices.unrecorded(template.announces, recorded):
        raise FieldError("template", remedy_notices.refusal(template.announces, template.name))
    return fill(template, case, buyer, shop, order.tid if order else None)


def messages_of(session: Session, case_id: int) -> list[OutboundMessage]:
    return list(
        session.scalars(
            sa.select(OutboundMessage)
            .where(OutboundMessage.case_id == case_id)
            .order_by(OutboundMessage.created_at.desc())
        )
    )


# -- queueing -------------------------------------------------------------------------------
def fill(
    template: MessageTemplate, case: Case, buyer: Buyer, shop: Shop, tid: str | None
) -> dict[str, str]:
    product = case.product.title if isinstance(case.product, Product) else None
    values = {
        "name": written_name(buyer.name_hint),
        "product": short_product(product),
        "shop": shop.name[:20],
    }
    if tid:  # a review that came without its order has no 订单尾号: not sent blank
        values["order"] = tid[-4:]
    if "link" in _PARAM.findall(template.body):
        raise FieldError("template", "这是满意度回访模板，结案后由系统发送。")
    return template_params(template, values)


def unfilled(template: MessageTemplate, available: set[str]) -> list[str]:
    """The parameters the template's text names that a kind of send cannot fill."""
    return sorted(set(_PARAM.findall(template.body)) - available)


def template_params(template: MessageTemplate, values: dict[str, str]) -> dict[str, str]:
    """The values of the parameters the template's text names (the provider refuses a
    send that lacks one); FieldError names those this send cannot fill."""
    missing = unfilled(template, set(values))
    if missing:
        names = "、".join(f"${{{k}}}（{PARAMETERS.get(k, k)}）" for k in missing)
        raise FieldError("template", f"模板“{template.name}”的参数 {names} 在这里无法填写。")
    return {key: values[key] for key in _PARAM.findall(template.body)}


def queue(
    session: Session,
    case: Case,
    template_id: int,
    *,
    actor: User,
    now: datetime,
    hours: WorkingHours,
    override_reason: str = "",
) -> OutboundMessage:
    """Put an approved message for the case's buyer in the outbox: a contact attempt by
    itself, refused where the contact policy refuses a call."""
    with case_transaction(session):
        check_can_work(case, actor, session)
        template = session.get(MessageTemplate, template_id)
        if template is None or template.shop_id != case.shop_id or not template.is_active:
            raise FieldError("template", "请选择本店已登记的短信模板。")
        if template.purpose is not MessagePurpose.NOTICE:
            raise FieldError("template", "案件里只能发通知类短信；营销短信请走客户运营活动。")
        shop = session.get(Shop, case.shop_id)
        order, handle = _ways_to(session, case, now, sms=template.provider == SMS)
        params = _params_for(template, case, shop, order, handle)
        attempt = record_attempt(
            session,
            case,
            AttemptDraft(
                channel=Channel.SMS,
                attempted_at=now,
                outcome=AttemptOutcome.MESSAGE_QUEUED,
                notes=f"短信模板：{template.name}",
                override_reason=override_reason,
                awaited=_awaited(case, template, _announced(session, case.id)),
            ),
            actor=actor,
            now=now,
            hours=hours,
        )
        session.flush()
        message = OutboundMessage(
            shop_id=case.shop_id,
            case_id=case.id,
            attempt_id=attempt.id,
            template_id=template.id,
            handle_id=handle.id if handle is not None else None,
            provider=template.provider,
            params=params,
            state=MessageState.QUEUED,
            next_try_at=now,
            out_id=uuid.uuid4().hex,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(message)
        contact_handles.audit_access(session, case, actor, "message_queued", template.name, now)
        return message


# -- sending --------------------------------------------------------------------------------
Clients = Callable[[Shop, str], object]  # (shop, provider) -> SmsProvider or SendsMessages


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    problems: list[str] = field(default_factory=list)


def send_due(
    session: Session, *, now: datetime, clients: Clients, tz: ZoneInfo, limit: int = 200
) -> SendReport:
    """Send what is due, one message per transaction. A message is marked 发送中 and
    committed before the provider is called, so a crash never sends it twice: a send left
    发送中 is looked up by its out_id before anything is sent again."""
    report = SendReport()
    for message_id in _due(session, now, limit):
        try:
            _send_one(session, message_id, now=now, clients=clients, tz=tz, report=report)
        except Exception as exc:  # one bad message never stops the outbox
            session.rollback()
            log.exception("message %s: %s", message_id, exc)
            report.problems.append(f"{message_id}: {exc}")
    return report


def _due(session: Session, now: datetime, limit: int) -> list[int]:
    with transaction(session):
        return list(
            session.scalars(
                sa.select(OutboundMessage.id)
                .where(
                    OutboundMessage.state.in_(
                        (MessageState.QUEUED, MessageState.RETRY, MessageState.SENDING)
                    ),
                    OutboundMessage.next_try_at <= now,
                )
                .order_by(OutboundMessage.next_try_at, OutboundMessage.id)
                .limit(limit)
            )
        )


def _locked(session: Session, message_id: int) -> OutboundMessage | None:
    query = sa.select(OutboundMessage).where(OutboundMessage.id == message_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # another sender has it
    return session.scalar(query)


def _send_one(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    clients: Clients,
    tz: ZoneInfo,
    report: SendReport,
) -> None:
    with transaction(session):
        message = _locked(session, message_id)
        if message is None or message.state not in (
            MessageState.QUEUED,
            MessageState.RETRY,
            MessageState.SENDING,
        ):
            return
        case = session.get(Case, message.case_id)
        shop = session.get(Shop, message.shop_id)
        buyer = case.buyer if case else None
        if case is None or shop is None or buyer is None:
            _finish(session, message, now, error="案件或买家已不存在")
            report.failed += 1
            return
        try:
            client = clients(shop, message.provider)
            if message.state is MessageState.SENDING:
                # the last try's answer was lost: ask whether it went out, with no
                # transaction open; the row is claimed until then (another sender skips it)
                ask = _look_up_ask(session, message, client, tz)
                message.next_try_at = now + LOOK_AGAIN
            else:
                request = _request(session, message, message.template)
        except ProviderError as exc:
            if exc.retryable:  # no client now (the account, the network): later
                message.next_try_at = now + LOOK_AGAIN
                report.retried += 1
            else:
                _finish(session, message, now, error=exc.message)
                report.failed += 1
            return
        except (FieldError, SourceError) as exc:
            _finish(session, message, now, error=exc.message)
            report.failed += 1
            return
        looking_up = message.state is MessageState.SENDING
        if not looking_up:
            if not message.template.is_active:  # retired while the message waited (night)
                _finish(session, message, now, error="模板已停用，短信未发送")
                report.failed += 1
                return
            if buyer.do_not_contact_at is not None:
                _finish(session, message, now, error="买家已要求勿扰，短信未发送")
                report.failed += 1
                return
            policy = shop.contact_rules
            if not policy.in_hours(now, tz):  # quiet hours: wait for the morning
                message.next_try_at = policy.earliest(now, [], tz=tz)
                report.deferred += 1
                return
            if message.tries >= TRIES:  # the last answers were all lost: stop guessing
                _finish(session, message, now, error=message.last_error or "多次发送都没有结果")
                report.failed += 1
                return
            message.state = MessageState.SENDING
            message.tries += 1
            message.next_try_at = now + LOOK_AGAIN
    if looking_up:
        if _answer_lookup(session, message_id, client, ask, now=now, report=report):
            # it never went out: an ordinary send now, through every check again
            _send_one(session, message_id, now=now, clients=clients, tz=tz, report=report)
        return
    # The provider is called outside any transaction: the row says 发送中 meanwhile.
    try:
        ref = _call(client, request)
    except ProviderError as exc:
        _failed_try(
            session, message_id, now, exc.code, exc.message, exc.retryable, exc.uncertain, report
        )
        return
    except SourceError as exc:
        retry = exc.code in ("timeout", "network") or exc.code.startswith("http-5")
        _failed_try(
            session, message_id, now, exc.code, exc.message, retry, exc.code == "timeout", report
        )
        return
    with transaction(session):
        message = session.get(OutboundMessage, message_id)
        _sent(session, message, ref, now)
        report.sent += 1


def _request(
    session: Session, message: OutboundMessage, template: MessageTemplate
) -> Sms | PlatformMessage:
    if message.provider == SMS:
        handle = session.get(ContactHandle, message.handle_id) if message.handle_id else None
        if handle is None or handle.sealed is None:
            raise FieldError("handle", "号码已失效，短信未发送")
        number: PhoneNumber = contact_handles.opened(handle)
        return Sms(
            number.number,
            template.sign_name,
            template.template_code,
            message.params,
            message.out_id,
        )
    order = contact_handles.order_of(session, session.get(Case, message.case_id))
    if order is None or not order.oaid:
        raise FieldError("order", "没有订单 OAID，平台短信未发送")
    return PlatformMessage(
        order.tid,
        order.oaid,
        template.sign_name,
        template.template_code,
        message.params,
        message.out_id,
    )


def _call(client: object, request: Sms | PlatformMessage) -> str:
    if isinstance(request, Sms):
        assert isinstance(client, SmsProvider)
        return client.send(request)
    assert isinstance(client, SendsMessages)
    return client.send_message(request)


@dataclass(frozen=True)
class LookupAsk:
    """What to ask the provider about a send whose answer was lost (case messages, campaign
    recipients, 满意度回访 alike); asked with no transaction open."""

    out_id: str
    phone: str
    sent_on: date

    def reference_at(self, client: SmsProvider) -> str | None:
        """The provider's reference for the send with this OutId, or None: it never went
        out."""
        return client.find(self.out_id, self.phone, self.sent_on)


def _look_up_ask(
    session: Session, message: OutboundMessage, client: object, tz: ZoneInfo
) -> LookupAsk:
    """What to ask the provider about an earlier try. A platform SMS cannot be looked up:
    it is reported failed rather than risk a double."""
    if message.provider != SMS or not isinstance(client, SmsProvider):
        raise ProviderError("uncertain", "发送结果未知（平台短信无法查询），未重发，请人工核实")
    request = _request(session, message, message.template)
    assert isinstance(request, Sms)
    sent_on = (message.sent_at or message.next_try_at or message.created_at).astimezone(tz).date()
    return LookupAsk(message.out_id, request.phone, sent_on)


def _answer_lookup(
    session: Session,
    message_id: int,
    client: object,
    ask: LookupAsk,
    *,
    now: datetime,
    report: SendReport,
) -> bool:
    """Ask (no transaction open), then: found → 已提交; the provider cannot say now → asked
    again after LOOK_AGAIN; not found → back to the queue, and True: the caller sends it."""
    assert isinstance(client, SmsProvider)
    try:
        found = ask.reference_at(client)
    except ProviderError as exc:
        if exc.retryable:
            report.retried += 1  # still 发送中, claimed until LOOK_AGAIN: asked again then
            return False
        with transaction(session):
            message = _locked(session, message_id)
            if message is not None and message.state is MessageState.SENDING:
                _finish(session, message, now, error=exc.message)
                report.failed += 1
        return False
    with transaction(session):
        message = _locked(session, message_id)
        if message is None or message.state is not MessageState.SENDING:
            return False  # settled meanwhile: nothing to do
        if found is not None:
            _sent(session, message, found, now)
            report.sent += 1
            return False
        message.state, message.next_try_at = MessageState.RETRY, now
        return True


def _sent(session: Session, message: OutboundMessage, ref: str, now: datetime) -> None:
    message.state = MessageState.SENT
    message.provider_ref = ref or None
    message.sent_at = now
    message.next_try_at = None
    message.last_error = None
    if message.provider == PLATFORM:
        message.finished_at = now  # platform SMS report no delivery
    _attempt_outcome(session, message, AttemptOutcome.MESSAGE_SENT)


def _finish(session: Session, message: OutboundMessage, now: datetime, *, error: str) -> None:
    message.state = MessageState.FAILED
    message.last_error = error
    message.next_try_at = None
    message.finished_at = now
    _attempt_outcome(session, message, AttemptOutcome.MESSAGE_FAILED, note=error)


def _failed_try(
    session: Session,
    message_id: int,
    now: datetime,
    code: str,
    why: str,
    retryable: bool,
    uncertain: bool,
    report: SendReport,
) -> None:
    with transaction(session):
        message = session.get(OutboundMessage, message_id)
        error = f"{code}：{why}" if why else code
        if uncertain:
            message.last_error = error  # stays 发送中: looked up before any retry
            message.next_try_at = now + LOOK_AGAIN
            report.retried += 1
        elif retryable and message.tries < TRIES:
            message.state = MessageState.RETRY
            message.last_error = error
            message.next_try_at = now + RETRY_AFTER[message.tries - 1]
            report.retried += 1
        else:
            _finish(session, message, now, error=error)
            report.failed += 1


def _attempt_outcome(
    session: Session, message: OutboundMessage, outcome: AttemptOutcome, note: str = ""
) -> None:
    attempt = session.get(ContactAttempt, message.attempt_id)
    if attempt is None:
        return
    attempt.outcome = outcome
    if note and note not in attempt.notes:
        attempt.notes = f"{attempt.notes}（{note}）".strip()


# -- receipts -------------------------------------------------------------------------------
def undelivered(receipt: Receipt) -> str:
    """Why the operator did not deliver a message, as staff read it (its carrier code)."""
    return f"运营商回执：{receipt.error or '发送失败'}"


@dataclass(frozen=True)
class ReceiptAsk:
    """One send whose receipt is asked for: the row it belongs to, read before asking."""

    key: int  # the message's or the campaign recipient's id
    shop_id: int
    ref: str  # the provider's reference of the send
    number: str
    day: date  # the send's local day (Aliyun looks sends up by day)


def ask_receipts(
    session: Session, asks: list[ReceiptAsk], clients: Clients, *, what: str
) -> dict[int, Receipt]:
    """The final receipts (delivered or not) of ``asks``, by key, asked with no transaction
    open: a slow provider never holds rows or a connection's transaction. A shop whose
    client cannot be made, an error or a receipt still to come: not in the answer, asked
    again next run."""
    answers: dict[int, Receipt] = {}
    client_of: dict[int, SmsProvider | None] = {}
    for ask in asks:
        if ask.shop_id not in client_of:
            shop = session.get(Shop, ask.shop_id)
            try:
                client = clients(shop, SMS) if shop is not None else None
            except ProviderError as exc:
                log.warning("%s receipts of shop %s: %s", what, ask.shop_id, exc.message)
                client = None
            session.commit()  # the lookups above end their read
            client_of[ask.shop_id] = client if isinstance(client, SmsProvider) else None
        client = client_of[ask.shop_id]
        if client is None:
            continue
        try:
            receipt = client.receipt(ask.ref, ask.number, ask.day)
        except ProviderError as exc:
            log.warning("%s receipt %s: %s", what, ask.key, exc)
            continue
        if receipt is not None and receipt.delivery is not Delivery.WAITING:
            answers[ask.key] = receipt
    return answers


def poll_receipts(session: Session, *, now: datetime, clients: Clients, tz: ZoneInfo) -> int:
    """Read delivery back from the provider for messages it accepted; returns how many
    changed. Past a few days without a receipt a message stays 已提交 for good. The
    provider is asked with no transaction open (ask_receipts)."""
    changed = 0
    asks: list[ReceiptAsk] = []
    with transaction(session):
        waiting = list(
            session.scalars(
                sa.select(OutboundMessage).where(
                    OutboundMessage.state == MessageState.SENT,
                    OutboundMessage.finished_at.is_(None),
                    OutboundMessage.provider == SMS,
                )
            )
        )
        for message in waiting:
            if message.sent_at is None or now - message.sent_at > RECEIPTS_FOR:
                message.finished_at = now
                continue
            handle = session.get(ContactHandle, message.handle_id) if message.handle_id else None
            if handle is None or handle.sealed is None:
                message.finished_at = now  # the number is gone: nothing to ask about
                continue
            asks.append(
                ReceiptAsk(
                    message.id,
                    message.shop_id,
                    message.provider_ref or "",
                    contact_handles.opened(handle).number,
                    message.sent_at.astimezone(tz).date(),
                )
            )
    answers = ask_receipts(session, asks, clients, what="message")
    with transaction(session):
        for message_id, receipt in answers.items():
            message = session.get(OutboundMessage, message_id)
            if message is None or message.finished_at is not None:
                continue  # settled meanwhile (another run)
            message.finished_at = receipt.at or now
            if receipt.delivery is Delivery.DELIVERED:
                message.state = MessageState.DELIVERED
                _attempt_outcome(session, message, AttemptOutcome.MESSAGE_DELIVERED)
            else:
                message.state = MessageState.FAILED
                message.last_error = undelivered(receipt)
                _attempt_outcome(
                    session, message, AttemptOutcome.MESSAGE_FAILED, note=message.last_error
                )
            changed += 1
    return changed
