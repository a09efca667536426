"""Everything the case page shows, gathered in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from tracker.domain import case_flow, compliance
from tracker.domain.contact_policy import stop_refusal, stopped
from tracker.domain.next_try import Suggestion, tried_enough
from tracker.domain.platform_rules import ReviewRules
from tracker.domain.privacy import may_take_in
from tracker.domain.wording import short_product, spoken_name
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    AuditEvent,
    BuyerSegment,
    Case,
    CaseSuggestion,
    CaseSurvey,
    ContactAttempt,
    Order,
    OrderLine,
    OutboundMessage,
    Review,
    Script,
    Shop,
    User,
)
from tracker.models.enums import CaseOutcome, CaseStatus, Reason
from tracker.services import (
    browse,
    buyer_flags,
    buyer_profiles,
    contact_handles,
    contact_log,
    follow_ups,
    messaging,
    recommendations,
    rereads,
    segments,
    shifts,
    surveys,
)
from tracker.services.buyer_flags import Caution
from tracker.services.case_access import works_case_of
from tracker.services.cases import (
    RemedyTotals,
    explanation_findings,
    explanation_window_ends,
    may_work,
    remedy_totals,
    rules_of_case,
)
from tracker.services.change_log import local_moment
from tracker.sources import registry
from tracker.sources.contract import Capability


@dataclass(frozen=True)
class FilledScript:
    title: str
    text: str
    reason_label: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    field: str
    old: str | None
    new: str | None
    is_access: bool = False  # a look at personal data: no change, only what was seen
    is_event: bool = False  # something done (a call logged, a check asked): no before/after


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    review: Review
    line: OrderLine | None
    order: Order | None
    purchases: browse.PurchaseSummary | None
    earlier_cases: list[Case]
    attempts: list[ContactAttempt]
    scripts: list[FilledScript]
    totals: RemedyTotals
    history: list[HistoryEntry]
    next_try: Suggestion | None
    follow_up_held: follow_ups.HeldBack | None  # the 下次跟进 the policy will refuse then
    # the owner on leave or off their 班次 at the 下次跟进: its reminder goes to the supervisors
    follow_up_owner_off: shifts.Unable | None
    explanation_open_until: datetime | None  # None: the platform sets no end
    rules: ReviewRules  # the shop's platform: what the buyer and the seller may still do
    caution: Caution | None  # the buyer's pattern of 中/差评, or a staff flag
    profile: buyer_profiles.Profile  # name, address, birthday: opened or hints (郑**)
    contact_refusals: list[str]  # why the buyer should not be contacted right now
    # the buyer asked us to stop (an open case): said instead of the refusals, and the
    # page offers no way to contact them (no number, no message, no call)
    stop_note: str | None
    handles: list[contact_handles.HandleView]  # numbers to call, masked
    can_see_numbers: bool  # the viewer works one of the buyer's open cases
    can_decrypt: bool  # the shop's platform decrypts a number for this order
    can_extend: bool  # ... and keeps a virtual number of this order longer
    can_bind: bool  # the shop has a privacy-number pool for click-to-call
    templates: list[messaging.TemplateOffer]  # approved texts, filled for this buyer
    messages: list[OutboundMessage]  # this case's outbox
    segment: BuyerSegment | None  # who is on the line: loyal, big, their member level
    suggestions: list[recommendations.ShownProduct]  # for this call (open cases only)
    suggestion_log: list[CaseSuggestion]  # suggested on earlier calls, mentioned, converted
    suggestion_bought: dict[int, str]  # converted by another size: which one, by suggestion id
    can_still_change: bool  # False: the buyer added their one 追评 and nothing can change
    staff_label: bool | None = None  # staff's word on the words (True: happy), over the model's
    # a privacy-number call just placed: what the buyer says on it is logged on it
    call_to_describe: ContactAttempt | None = None
    tried_enough: str | None = None  # never reached though tried enough: 联系不上买家 is fair
    survey_said: str | None = None  # the 满意度回访 after closing, in words
    survey_unsolved: bool = False  # …where the buyer said the problem is not (all) solved
    survey_before: str | None = None  # the answer to the first ask, once asked again
    # what keeps the saved explanation draft from being published (it is public)
    explanation_findings: tuple[compliance.Finding, ...] = ()

    def sent_text(self, message: OutboundMessage) -> str:
        """What the buyer's phone showed (or will show): the template filled as queued."""
        return messaging.text_of(message.template, message.params)

    @property
    def open_siblings(self) -> list[Case]:
        """The buyer's other open cases: one call settles them all (one buyer, one agent)."""
        return [c for c in self.earlier_cases if c.status in case_flow.OPEN]


def load_case(session: Session, case_id: int) -> Case | None:
    return (
        session.scalars(
            sa.select(Case)
            .where(Case.id == case_id)
            .options(
                joinedload(Case.review).selectinload(Review.revisions),
                joinedload(Case.buyer),
                joinedload(Case.product),
                joinedload(Case.owner),
                selectinload(Case.reasons),
                selectinload(Case.remedies),
            )
        )
        .unique()
        .one_or_none()
    )


UPDATE_REQUEST = "{更新评价}"


def fill(template: str, name: str | None, product_title: str, rules: ReviewRules) -> str:
    """{买家} and {商品} as said on the phone: the buyer's name as the viewer may see it
    (else 亲) and the short name of the product (tracker.domain.wording); {更新评价} as the
    shop's platform allows it (把评价改一下, or a 追评 on Tmall)."""
    return (
        template.replace("{买家}", spoken_name(name))
        .replace("{商品}", short_product(product_title))
        .replace(UPDATE_REQUEST, rules.update_request)
    )


def scripts_for(
    session: Session,
    case: Case,
    rules: ReviewRules,
    name: str | None,
    *,
    can_still_change: bool,
) -> list[FilledScript]:
    """The shop's and the common scripts for the case's reasons; those asking for a new
    review ({更新评价}) only while the buyer can still give one."""
    reasons = [r.reason for r in case.reasons]
    rows = session.scalars(
        sa.select(Script)
        .where(
            sa.or_(Script.shop_id.is_(None), Script.shop_id == case.shop_id),
            sa.or_(Script.reason.is_(None), Script.reason.in_(reasons)),
        )
        .order_by(Script.reason.is_not(None), Script.id)
    )
    title = case.product.title if case.product else ""
    return [
        FilledScript(
            s.title, fill(s.body, name, title, rules), s.reason.label if s.reason else "通用"
        )
        for s in rows
        if can_still_change or UPDATE_REQUEST not in s.body
    ]


FIELD_LABELS = {
    "status": "状态",
    "outcome": "结果",
    "owner": "负责人",
    "attempt": "联系",
    "remedy": "补偿",
    "reasons": "原因",
    "explanation_draft": "解释草稿",
    "explanation_posted": "解释发布",
    "first_contact_due_at": "首次联系时限",
    "next_follow_up_at": "下次跟进",  # moved by hand (改约); a contact's is in its 联系 row
    "promised_at": "买家承诺",  # cleared when a closed case is reopened
    "confirmation": "判定",  # of the review: 是差评 in 待确认 or 评价, a 误报, 本店校准后开案
    rereads.CHECK_FIELD: "向平台核实",
    "phone_revealed": contact_handles.ACCESS_FIELDS["phone_revealed"],
    buyer_profiles.SHOWN: contact_handles.ACCESS_FIELDS[buyer_profiles.SHOWN],
}
# Rows that record a happening, not a field's change: read as 联系：电话 · 未接通.
EVENTS = frozenset({"attempt", "remedy", "explanation_posted", rereads.CHECK_FIELD})
VALUE_LABELS = {
    "status": CaseStatus,
    "outcome": CaseOutcome,
    "reasons": Reason,
    rereads.CHECK_FIELD: rereads.Checked,
}


def _label(field: str, value: str | None, tz: ZoneInfo) -> str | None:
    """Stored values are codes and UTC times; people read labels ("recovered" -> 已挽回)
    and local times (2026-12-01T03:00:00+00:00 -> 12-01 11:00)."""
    if value is None:
        return None
    enum = VALUE_LABELS.get(field)
    if enum is None:
        return local_moment(value, tz)
    parts = [p.strip() for p in value.split(",")]
    try:
        return "、".join(enum(p).label for p in parts)
    except ValueError:
        return value


def history(session: Session, case_id: int, tz: ZoneInfo) -> list[HistoryEntry]:
    rows = session.execute(
        sa.select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.case_id == case_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(200)
    )
    return [
        HistoryEntry(
            e.occurred_at,
            name or "系统",
            FIELD_LABELS.get(e.field, e.field),
            _label(e.field, e.old_value, tz),
            # an access line stores "case 3 · 177****5004": the case is this page
            (e.new_value or "").partition(" · ")[2]
            if e.field in contact_handles.ACCESS_FIELDS
            else _label(e.field, e.new_value, tz),
            is_access=e.field in contact_handles.ACCESS_FIELDS,
            is_event=e.field in EVENTS or e.field in contact_handles.ACCESS_FIELDS,
        )
        for e, name in rows
    ]


def _platform_can(shop: Shop | None, capability: Capability) -> bool:
    adapter = registry.for_platform(shop.platform) if shop else None
    return adapter is not None and capability in adapter.capabilities


def survey_words(survey: CaseSurvey | None, *, now: datetime, tz: ZoneInfo) -> str | None:
    """What came of a closed case's 满意度回访, as the case page says it."""
    if survey is None:
        return None
    if survey.score is not None:
        said = f"{survey.score} 分（{surveys.SCORES[survey.score]}）"
        if survey.resolved is not None:
            said = f"问题{surveys.RESOLVED[survey.resolved]} · {said}"
        return f"{said}：{survey.comment}" if survey.comment else said
    if survey.state == "sent" and survey.sent_at is not None:
        sent = survey.sent_at.astimezone(tz).strftime("%m-%d %H:%M")
        if survey.sent_at + timedelta(days=surveys.SURVEY_DAYS) <= now:
            return f"{sent} 已发出，买家没有回答（链接已过期）"
        return f"{sent} 已发出，买家还没回答"
    if survey.state in ("queued", "sending") and survey.last_error:
        return f"排队中，上次没有发出：{survey.last_error}"
    if survey.state in ("queued", "sending"):
        return "排队中，在买家可联系的时段发出"
    return f"未发出：{survey.last_error or '原因未记录'}"


def detail(
    session: Session, case: Case, *, viewer: User, now: datetime, hours: WorkingHours
) -> CaseDetail:
    works = works_case_of(session, viewer, case)
    profile = (  # first: its access-log line commits, and expires what was loaded
        buyer_profiles.for_viewer(
            session, case.buyer, viewer, works=works, now=now, tz=hours.tz, case=case
        )
        if case.buyer
        else buyer_profiles.Profile(full=False)
    )
    review = case.review
    rules = rules_of_case(session, case)
    can_change = rules.can_still_change(has_follow_up=bool(review.follow_up_text))
    line = (
        session.scalars(
            sa.select(OrderLine)
            .where(OrderLine.id == review.order_line_id)
            .options(joinedload(OrderLine.order))
        ).first()
        if review.order_line_id
        else None
    )
    attempts = list(
        session.scalars(
            sa.select(ContactAttempt)
            .where(ContactAttempt.case_id == case.id)
            .options(joinedload(ContactAttempt.agent))
            .order_by(ContactAttempt.attempted_at.desc(), ContactAttempt.id.desc())
        )
    )
    earlier = (
        list(
            session.scalars(
                sa.select(Case)
                .where(Case.buyer_id == case.buyer_id, Case.id != case.id)
                .options(joinedload(Case.product), joinedload(Case.review), joinedload(Case.owner))
                .order_by(Case.opened_at.desc())
                .limit(20)
            )
        )
        if case.buyer_id
        else []
    )
    asked = list(  # at most two (surveys.MAX_ROUNDS), latest first
        session.scalars(
            sa.select(CaseSurvey)
            .where(CaseSurvey.case_id == case.id)
            .order_by(CaseSurvey.id.desc())
        )
    )
    answered = next((s for s in asked if s.answered_at is not None), None)
    # closed: how its latest ask went; open: only what a buyer answered before it was
    # reopened matters. An earlier answer beside a later ask is said too (上次回访).
    survey = (asked[0] if asked else None) if case.closed_at else answered
    asked_before = next(
        (s for s in asked if survey and s.id < survey.id and s.answered_at is not None), None
    )
    shop = session.get(Shop, case.shop_id)
    erased_at = case.buyer.personal_data_erased_at if case.buyer else None
    has_oaid = bool(  # and the buyer did not ask after this order for their data's deletion
        line and line.order.oaid and may_take_in(erased_at, line.order.paid_at)
    )
    stopped_at = (
        case.buyer.do_not_contact_at
        if case.buyer is not None
        and case.status in case_flow.OPEN
        and stopped(case.buyer.do_not_contact_at, now)
        else None
    )
    reachable = stopped_at is None  # numbers, the platform's decrypt, click-to-call
    policy = contact_log.policy_of(session, case.shop_id)
    contacted = contact_log.times_for_buyer(session, case.buyer_id) if case.buyer_id else []
    notices = follow_ups.remedy_notice_attempts().where(OutboundMessage.case_id == case.id)
    news = set(session.scalars(notices))  # what the buyer waited for, not tries to reach them
    tried = [(a.channel, a.attempted_at, a.outcome) for a in reversed(attempts) if a.id not in news]
    tip = follow_ups.next_try_for(
        session, case, hours=hours, now=now, tried=tried, contacted=contacted
    )
    suggested = recommendations.case_suggestions(session, case.id)
    coming = follow_ups.still_to_come(case, now)
    return CaseDetail(
        case=case,
        review=review,
        line=line,
        order=line.order if line else None,
        purchases=browse.purchase_summary(session, case.buyer_id) if case.buyer_id else None,
        earlier_cases=earlier,
        attempts=attempts,
        scripts=scripts_for(session, case, rules, profile.name, can_still_change=can_change),
        totals=remedy_totals(case),
        history=history(session, case.id, hours.tz),
        next_try=tip,
        follow_up_held=(  # one still to come: a passed one is the page's own refusals
            follow_ups.held_back(
                session, case, coming, policy=policy, contacted=contacted, tz=hours.tz
            )
            if coming is not None
            else None
        ),
        follow_up_owner_off=(
            shifts.unable(case.owner, shop, coming, hours.tz)
            if coming is not None and case.owner is not None and shop is not None
            else None
        ),
        explanation_open_until=explanation_window_ends(session, case),
        rules=rules,
        contact_refusals=(
            contact_log.refusals(session, policy, case.buyer, now, tz=hours.tz, contacted=contacted)
            if case.buyer is not None and case.status in case_flow.OPEN and reachable
            else []
        ),
        stop_note=(stop_refusal(stopped_at, hours.tz, leads=viewer.leads) if stopped_at else None),
        caution=buyer_flags.caution(session, case.buyer) if case.buyer else None,
        profile=profile,
        handles=contact_handles.of_buyer(session, case.buyer_id, now) if case.buyer_id else [],
        can_see_numbers=works and reachable,
        can_decrypt=reachable and has_oaid and _platform_can(shop, Capability.DECRYPT_CONTACT),
        can_extend=reachable and has_oaid and _platform_can(shop, Capability.EXTEND_CONTACT),
        can_bind=reachable and messaging.has_account(session, case.shop_id, messaging.AXB),
        templates=(  # the SMS choice, drawn only for one who may send from this case
            messaging.case_templates(session, case, now=now)
            if case.status in case_flow.OPEN and may_work(case, viewer)
            else []
        ),
        messages=messaging.messages_of(session, case.id),
        segment=segments.of_buyer(session, case.buyer_id) if case.buyer_id else None,
        suggestions=(
            recommendations.suggestions_for(session, case, now=now)
            if case.status in case_flow.OPEN
            else []
        ),
        suggestion_log=suggested,
        suggestion_bought=recommendations.bought_instead(session, suggested),
        staff_label=browse.corrections(session, [review.id]).get(review.id),
        can_still_change=can_change,
        tried_enough=(
            tried_enough(tried, hours, named=rules.channel_label)
            if case.status in case_flow.OPEN
            else None
        ),
        explanation_findings=(
            tuple(explanation_findings(session, case, case.explanation_draft))
            if case.explanation_draft and case.explanation_posted_at is None
            else ()
        ),
        survey_said=survey_words(survey, now=now, tz=hours.tz),
        survey_unsolved=survey is not None and survey.resolved in surveys.UNSOLVED,
        survey_before=survey_words(asked_before, now=now, tz=hours.tz),
        call_to_describe=(  # tried[-1] is attempts[0], the latest
            attempts[0]
            if case.status in case_flow.OPEN and tried and case_flow.awaits_result(tried[-1], now)
            else None
        ),
    )
