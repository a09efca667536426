"""满意度回访: after a case closes, one SMS with a signed link to a public page that asks
two questions, whether the problem was solved and how satisfied the buyer is; the answers
are the case's CSAT and the buyer's own word on the problem, reported per agent, reason and
product. A buyer who says it is not solved (or only partly) is news for the case's agent.

The link carries a signed token (itsdangerous, the app's SECRET_KEY, a purpose of its own)
naming only the survey: no login, nothing else reachable from it, one answer per case,
void after SURVEY_DAYS. Sending follows the contact policy (daytime, not to a buyer who
asked us to stop, within the day's and week's caps and after the gap since the last call)
and counts against it; like every send, it marks 发送中 before calling the provider.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from tracker.domain.wording import short_product, written_name
from tracker.models import (
    Buyer,
    Case,
    CaseReason,
    CaseSurvey,
    ContactHandle,
    MessageTemplate,
    Product,
    Shop,
    User,
)
from tracker.models.enums import CaseOutcome, MessagePurpose
from tracker.models.surveys import MAX_ROUNDS, RESOLVED, UNSOLVED, UNSOLVED_NEWS
from tracker.providers.contract import ProviderError, Sms, SmsProvider
from tracker.services import alerts, contact_handles, contact_log, messaging
from tracker.services.errors import FieldError
from tracker.services.survey_answers import counted_surveys
from tracker.services.transaction import transaction

SURVEY_DAYS = 7  # the link works this long
ASK_AFTER = timedelta(hours=1)  # after closing: the buyer has seen the result
ASK_WITHIN = timedelta(days=3)  # a case closed longer ago is not asked about
NOT_ASKED = (CaseOutcome.FALSE_ALARM, CaseOutcome.APPEAL_UPHELD)
SCORES = {5: "很满意", 4: "满意", 3: "一般", 2: "不满意", 1: "很不满意"}


class SurveyLinkError(ValueError):
    """A link that is not one of ours, expired, or already answered; ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _signer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="tracker case survey")


def token_for(survey_id: int, secret_key: str) -> str:
    return _signer(secret_key).dumps({"s": survey_id})


def survey_of(
    session: Session, token: str, secret_key: str, *, max_age_days: int = SURVEY_DAYS
) -> CaseSurvey:
    try:
        payload = _signer(secret_key).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired as exc:
        raise SurveyLinkError("这个回访链接已过期，感谢您的关注。") from exc
    except BadSignature as exc:
        raise SurveyLinkError("链接无效。") from exc
    survey = (
        session.get(CaseSurvey, int(payload.get("s", 0))) if isinstance(payload, dict) else None
    )
    if survey is None:
        raise SurveyLinkError("链接无效。")
    return survey


@dataclass(frozen=True)
class About:
    """What the buyer's page names: the shop that asks, and what the problem was about."""

    shop: str
    product: str | None
    # asked again: what the buyer answered the first time (还没有解决 or 解决了一部分)
    said_before: str | None = None


def about(session: Session, survey: CaseSurvey) -> About:
    """Who asks and about what, so a buyer who opens a link from an SMS knows it is the
    shop they bought from (the page showed neither)."""
    shop = session.get(Shop, survey.shop_id)
    case = session.get(Case, survey.case_id)
    product = session.get(Product, case.product_id) if case and case.product_id else None
    before = session.scalar(
        sa.select(CaseSurvey.resolved)
        .where(
            CaseSurvey.case_id == survey.case_id,
            CaseSurvey.id < survey.id,
            CaseSurvey.resolved.in_(UNSOLVED),
        )
        .order_by(CaseSurvey.id.desc())
        .limit(1)
    )
    return About(
        shop.name if shop else "",
        short_product(product.title) if product else None,
        RESOLVED[before] if before else None,
    )


def answer(
    session: Session,
    token: str,
    secret_key: str,
    score: int,
    comment: str,
    *,
    resolved: str,
    now: datetime,
) -> CaseSurvey:
    """The buyer's one answer; a second one is refused. A problem not solved, or only
    partly, is news for the case's agent (its supervisors when nobody owns it or its agent
    is 不在岗): the case stays closed, and whether to reopen it is a person's call."""
    with transaction(session):
        survey = survey_of(session, token, secret_key)
        if survey.answered_at is not None:
            raise SurveyLinkError("您已经评价过了，谢谢！")
        if resolved not in RESOLVED:
            raise FieldError("resolved", "请选择问题是否已经解决。")
        if score not in SCORES:
            raise FieldError("score", "请选择满意程度。")
        survey.score, survey.comment = score, comment.strip()[:500] or None
        survey.resolved, survey.answered_at = resolved, now
        if resolved in UNSOLVED:
            _tell_unsolved(session, survey, now=now)
        return survey


def _tell_unsolved(session: Session, survey: CaseSurvey, *, now: datetime) -> None:
    case = session.get(Case, survey.case_id)
    if case is None:
        return
    owner = session.get(User, case.owner_id) if case.owner_id else None
    said = f"{survey.score} 分（{SCORES[survey.score]}）"
    again = session.scalar(  # the second ask: worked again, and still not solved
        sa.select(sa.exists().where(CaseSurvey.case_id == case.id, CaseSurvey.id < survey.id))
    )
    asked = "再次回访仍说" if again else "回访说"
    alerts.tell_case_news(
        session,
        owner,
        case,
        kind=UNSOLVED_NEWS,
        key=f"survey-unsolved:{survey.id}",
        title=f"案件 #{case.id} 的买家{asked}问题{RESOLVED[survey.resolved]}",
        body=f"{said}：{survey.comment}"[:200] if survey.comment else said,
        now=now,
    )


# -- asking ----------------------------------------------------------------------------------
def queue_due(session: Session, *, now: datetime) -> int:
    """A survey for each case closed an hour to three days ago, in shops with a survey
    template, to a buyer with a number for SMS who has not asked us to stop.

    A case already asked is asked again only when its buyer answered that the problem was
    not (all) solved and the case has been reopened and closed since (the answer came
    before this closing): was it solved this time? Once (:data:`MAX_ROUNDS`); a buyer who
    did not answer, or said solved, is not asked twice."""
    with transaction(session):
        settled = sa.exists().where(  # an ask that leaves nothing to ask again
            CaseSurvey.case_id == Case.id,
            sa.or_(
                CaseSurvey.answered_at.is_(None),
                CaseSurvey.answered_at >= Case.closed_at,
                sa.func.coalesce(CaseSurvey.resolved, "").not_in(UNSOLVED),
            ),
        )
        rounds = (
            sa.select(sa.func.count())
            .where(CaseSurvey.case_id == Case.id)
            .correlate(Case)
            .scalar_subquery()
        )
        rows = session.execute(
            sa.select(Case.id, Case.shop_id, Case.buyer_id)
            .join(Shop, Shop.id == Case.shop_id)
            .join(Buyer, Buyer.id == Case.buyer_id)
            .where(
                Shop.survey_template_id.is_not(None),
                Case.closed_at <= now - ASK_AFTER,
                Case.closed_at > now - ASK_WITHIN,
                Case.outcome.not_in(NOT_ASKED),
                Buyer.do_not_contact_at.is_(None),
                ~settled,
                rounds < MAX_ROUNDS,
            )
        ).all()
        # every due buyer's number at once: a case whose buyer has none is due again at
        # every run for three days, and one query a case added up on every run
        numbers = contact_handles.sms_handles(session, {buyer_id for _, _, buyer_id in rows}, now)
        made = 0
        for case_id, shop_id, buyer_id in rows:
            handle_id = numbers.get(buyer_id)
            if handle_id is None:
                continue
            session.add(
                CaseSurvey(
                    case_id=case_id,
                    shop_id=shop_id,
                    handle_id=handle_id,
                    state="queued",
                    out_id=uuid.uuid4().hex,
                    created_at=now,
                )
            )
            made += 1
        return made


def send_due(
    session: Session,
    *,
    now: datetime,
    clients: object,
    tz: ZoneInfo,
    base_url: str,
    secret_key: str,
    limit: int = 200,
) -> int:
    """Send queued surveys in the shop's contact hours; a send whose answer was lost is
    looked up by its OutId before it could go twice. Returns how many went out."""
    sent = 0
    ids = list(
        session.scalars(
            sa.select(CaseSurvey.id)
            .where(CaseSurvey.state.in_(("queued", "sending")))
            .order_by(CaseSurvey.id)
            .limit(limit)
        )
    )
    session.commit()
    for survey_id in ids:
        lookup: messaging.LookupAsk | None = None
        with transaction(session):
            survey = session.get(CaseSurvey, survey_id)
            shop = session.get(Shop, survey.shop_id) if survey else None
            if survey is None or shop is None or shop.survey_template_id is None:
                continue
            case = session.get(Case, survey.case_id)
            if case is not None and case.closed_at is None and survey.state == "queued":
                # reopened before it went: the problem is not 处理完毕, so it is not asked;
                # asked afresh once the case closes again
                session.delete(survey)
                continue
            buyer = session.get(Buyer, case.buyer_id) if case and case.buyer_id else None
            policy = shop.contact_rules
            if buyer is None or buyer.do_not_contact_at is not None:
                survey.state, survey.last_error = "failed", "买家已要求勿扰"
                continue
            # quiet hours, the day's or week's contacts, the gap since the last: asked later
            # (a send left 发送中 already passed; it only waits for the day)
            earlier = (
                [] if survey.state == "sending" else contact_log.times_for_buyer(session, buyer.id)
            )
            if policy.refusals(now, earlier, tz=tz):
                continue
            template = session.get(MessageTemplate, shop.survey_template_id)
            handle = session.get(ContactHandle, survey.handle_id or 0)
            if template is None or handle is None or handle.sealed is None:
                survey.state, survey.last_error = "failed", "模板或号码已失效"
                continue
            if not template.is_active and survey.state != "sending":  # one sent is looked up
                survey.state, survey.last_error = "failed", "回访模板已停用"
                continue
            try:
                client = clients(shop, template.provider)  # type: ignore[operator]
            except ProviderError as exc:
                survey.last_error = exc.message
                continue
            if not isinstance(client, SmsProvider):
                survey.state, survey.last_error = "failed", "回访模板须为短信服务商模板"
                continue
            number = contact_handles.opened(handle).number
            if survey.state == "sending":  # the answer was lost: asked below, no row held
                sent_on = (survey.sent_at or now).astimezone(tz).date()
                lookup = messaging.LookupAsk(survey.out_id, number, sent_on)
            else:
                link = f"{base_url.rstrip('/')}/s/{token_for(survey.id, secret_key)}"
                try:
                    params = messaging.template_params(
                        template, {"name": written_name(buyer.name_hint), "link": link}
                    )
                except FieldError as exc:
                    survey.state, survey.last_error = "failed", exc.message
                    continue
                sms = Sms(number, template.sign_name, template.template_code, params, survey.out_id)
                survey.state, survey.sent_at = "sending", now
        if lookup is not None:
            _settle_lookup(session, survey_id, client, lookup)
            continue
        try:
            ref = client.send(sms)
        except ProviderError as exc:
            with transaction(session):
                survey = session.get(CaseSurvey, survey_id)
                survey.last_error = f"{exc.code}：{exc.message}"
                if not exc.uncertain:
                    survey.state = "queued" if exc.retryable else "failed"
            continue
        with transaction(session):
            survey = session.get(CaseSurvey, survey_id)
            survey.state, survey.provider_ref = "sent", ref
            sent += 1
    return sent


def _settle_lookup(
    session: Session, survey_id: int, client: SmsProvider, ask: messaging.LookupAsk
) -> None:
    """A 发送中 survey whose answer was lost: 已发送 if the provider has a send with its
    OutId, back to the queue otherwise (sent on the next run, through the checks again);
    the provider is asked with no transaction open."""
    try:
        ref = ask.reference_at(client)
    except ProviderError:
        return  # still unsure: asked again next run, never sent blind
    with transaction(session):
        survey = session.get(CaseSurvey, survey_id)
        if survey is None or survey.state != "sending":
            return
        if ref is not None:
            survey.state, survey.provider_ref = "sent", ref
        else:
            survey.state, survey.sent_at = "queued", None


# -- CSAT -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CsatRow:
    label: str
    answers: int
    average: float | None  # None: nobody answered
    satisfied: float | None  # share answering 4 or 5
    asked_solved: int = 0  # answers that include 问题解决了吗 (not those given before it)
    solved: int = 0  # 已经解决了
    unsolved: int = 0  # 解决了一部分 or 还没有解决
    sent: int = 0  # surveys that reached the buyer's phone: what the answers are out of

    @property
    def solved_share(self) -> float | None:
        """Of the buyers asked, the share who say the problem is solved; None: none asked."""
        return self.solved / self.asked_solved if self.asked_solved else None


def csat(
    session: Session, shop_id: int, since: datetime, until: datetime, by: str
) -> list[CsatRow]:
    """Answers to surveys of cases closed in [since, until), per agent, reason or product
    (or the shop's one row, for 各店对比), with how many were sent: a few happy answers out
    of many asked are not a happy row."""
    counted = counted_surveys(shop_id)
    label = {
        "agent": User.display_name,
        "reason": CaseReason.reason,
        "product": Product.title,
        "shop": Shop.name,
    }[by]
    query = (
        sa.select(
            label,
            sa.func.count(CaseSurvey.score),
            sa.func.avg(CaseSurvey.score),
            sa.func.avg(
                sa.case((CaseSurvey.score >= 4, 1.0), (CaseSurvey.score.is_not(None), 0.0))
            ),
            sa.func.count(CaseSurvey.resolved),
            sa.func.count(sa.case((CaseSurvey.resolved == "yes", 1))),
            sa.func.count(sa.case((CaseSurvey.resolved.in_(UNSOLVED), 1))),
            sa.func.count(CaseSurvey.id),
        )
        .select_from(CaseSurvey)
        .join(counted, counted.c.survey_id == CaseSurvey.id)
        .join(Case, Case.id == CaseSurvey.case_id)
        .where(Case.closed_at >= since, Case.closed_at < until)
        .group_by(label)
        .order_by(sa.func.count(CaseSurvey.score).desc(), sa.func.count(CaseSurvey.id).desc())
    )
    if by == "agent":
        query = query.outerjoin(User, User.id == Case.owner_id)
    elif by == "reason":
        query = query.join(CaseReason, CaseReason.case_id == Case.id)
    elif by == "shop":
        query = query.join(Shop, Shop.id == CaseSurvey.shop_id)
    else:
        query = query.outerjoin(Product, Product.id == Case.product_id)
    rows = []
    for key, n, avg, happy, asked, solved, unsolved, sent in session.execute(query):
        name = key.label if hasattr(key, "label") else (key or "（未分配）")
        rows.append(
            CsatRow(
                str(name),
                int(n),
                None if avg is None else float(avg),
                None if happy is None else float(happy),
                int(asked),
                int(solved),
                int(unsolved),
                int(sent),
            )
        )
    return rows


def template_refusal(template: MessageTemplate | None, shop_id: int) -> str | None:
    """Why a template cannot carry the shop's 满意度回访 (None when it can): checked when it
    is chosen and when the page offers it."""
    if template is None or template.shop_id != shop_id or not template.is_active:
        return "请选择本店已登记的模板。"
    if template.provider != messaging.SMS:
        return "回访短信走短信服务商发送：请选择阿里云短信模板。"
    if template.purpose is not MessagePurpose.NOTICE or "${link}" not in template.body:
        return "回访模板须为通知类，且内容里有 ${link}（回访链接）。"
    if messaging.unfilled(template, {"name", "link"}):
        return "回访模板只能用 ${name} 和 ${link} 两个参数。"
    return None


def template_offers(
    session: Session, shop: Shop, *, base_url: str, secret_key: str
) -> list[messaging.TemplateOffer]:
    """The shop's templates with a ${link}, each as a buyer reads it, the link included: a
    link of this installation's address and the token of the next survey (its length grows
    with the survey's id only), so the length and the billed parts (a link often makes it
    two) are what the next survey costs."""
    following = (session.scalar(sa.select(sa.func.max(CaseSurvey.id))) or 0) + 1
    link = f"{base_url.rstrip('/')}/s/{token_for(following, secret_key)}"
    values = {"name": messaging.SAMPLE_SALUTATION, "link": link}
    return [
        messaging.TemplateOffer(t, messaging.text_of(t, values), template_refusal(t, shop.id))
        for t in messaging.templates_of(session, shop.id)
        if "${link}" in t.body
    ]


def set_template(
    session: Session, shop: Shop, template_id: int | None, *, actor: User, now: datetime
) -> None:
    """Which approved notice (with ${link}) carries the shop's 满意度回访; None stops them."""
    with transaction(session):
        if template_id:
            refusal = template_refusal(session.get(MessageTemplate, template_id), shop.id)
            if refusal:
                raise FieldError("survey_template", refusal)
        messaging.record_survey_template(session, shop, template_id or None, actor=actor, now=now)
