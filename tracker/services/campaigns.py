"""Care and reactivation campaigns: choose buyers by segment, leave out those who must not
be messaged, hold back a random control group, send an approved marketing template at the
provider's rate within the day, exactly once per buyer, and measure the uplift.

Exactly once: recipients are marked 发送中 and committed before the provider is called;
after a crash (or a lost answer) a 发送中 recipient is looked up by its OutId at the
provider before anything is sent again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.dbtypes import seconds_between
from tracker.domain import case_flow, remedy_notices
from tracker.domain.campaigns import Audience, Exclusions, Tally, Uplift, split_control, uplift
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.phone_numbers import NumberError, parse_number
from tracker.domain.wording import written_name
from tracker.models import (
    Buyer,
    BuyerSegment,
    Campaign,
    CampaignRecipient,
    Case,
    ContactHandle,
    MessageTemplate,
    Order,
    OrderLine,
    Review,
    Shop,
    User,
)
from tracker.models.enums import MessagePurpose, Rating, RefundStatus
from tracker.providers.contract import Delivery, ProviderError, Sms, SmsProvider
from tracker.services import contact_handles, contact_log, messaging
from tracker.services.audit import record_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction
from tracker.vault import personal_vault

log = logging.getLogger(__name__)

SH = ZoneInfo("Asia/Shanghai")  # the providers' send dates are Beijing dates
RESULT_DAYS = 30  # orders within this many days of the send count for the campaign
LATE_WITHIN_DAYS = 30  # "delivered late": an order of the last 30 days
REFUNDING = (RefundStatus.REQUESTED, RefundStatus.REFUNDED)
OPT_OUT_WORDS = {"R", "TD", "T", "N", "退订", "拒收"}


@dataclass(frozen=True)
class CampaignDraft:
    name: str
    audience: Audience
    exclusions: Exclusions
    template_id: int
    control_share: float = 0.1
    coupon: str = ""
    coupon_value: Decimal | None = None
    care: str | None = None  # a care rule's kind (关怀): 收货后关怀 may send a notice


def create(
    session: Session, shop: Shop, draft: CampaignDraft, *, actor: User, now: datetime
) -> Campaign:
    with transaction(session):
        template = session.get(MessageTemplate, draft.template_id)
        refusal = template_refusal(template, shop.id, care=draft.care)
        if refusal:
            raise FieldError("template_id", refusal)
        assert template is not None  # a missing template is refused above
        if not 0 <= draft.control_share <= 0.5:
            raise FieldError("control_share", "对照组比例应在 0% 到 50% 之间。")
        if not draft.name.strip():
            raise FieldError("name", "请填写活动名称。")
        campaign = Campaign(
            shop_id=shop.id,
            name=draft.name.strip()[:100],
            audience=draft.audience.to_dict(),
            exclusions=draft.exclusions.to_dict(),
            template_id=template.id,
            coupon=draft.coupon.strip()[:200],
            coupon_value=draft.coupon_value,
            control_share=draft.control_share,
            state="draft",
            excluded={},
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(campaign)
        session.flush()
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="campaign",
            entity_id=campaign.id,
            field="created",
            old=None,
            new=campaign.name,
        )
        return campaign


# -- what a campaign may send -----------------------------------------------------------------
CAMPAIGN_PARAMETERS = {"name", "shop"}  # a campaign has no case: no product, no order
# care whose words are 会员关怀: the providers take birthday and holiday greetings as 推广短信
# only (a 通知短信 must not carry them), so such a rule needs a marketing template
MARKETING_ONLY_CARE = frozenset({"birthday", "holiday"})


def template_refusal(
    template: MessageTemplate | None, shop_id: int, *, care: str | None = None
) -> str | None:
    """Why a campaign, or a care rule of kind ``care``, cannot send this template (None when
    it can). Checked when the campaign or the rule is saved and when the page offers the
    choice, so nothing is saved that would fail each morning in the log alone."""
    if template is None or template.shop_id != shop_id or not template.is_active:
        return "请选择本店已登记的短信模板。"
    if template.provider != messaging.SMS:
        label = messaging.PROVIDER_LABELS.get(template.provider, template.provider)
        return f"{label}只能在案件里按订单发给一位买家；活动经阿里云短信发送。"
    missing = messaging.unfilled(template, CAMPAIGN_PARAMETERS)
    if "link" in missing:
        return "这是满意度回访模板（带 ${link}），由系统在结案后发送。"
    if missing:
        names = "、".join(f"${{{k}}}（{messaging.PARAMETERS.get(k, k)}）" for k in missing)
        return f"活动无法填写模板参数 {names}：活动只有称呼和店铺名。"
    if template.purpose is not MessagePurpose.MARKETING:
        if care is None:
            return "活动只能用营销类模板（带“拒收请回复R”）。"
        if care in MARKETING_ONLY_CARE:
            return "生日关怀、节日问候只能用营销类模板：运营商不许用通知短信发会员关怀。"
        if template.announces and remedy_notices.announces_remedy(template.announces):
            what = template.announces.label
            return f"这条通知告诉买家{what}已安排，只能从登记了{what}的案件发出。"
    return None


def campaign_text(
    template: MessageTemplate, shop: Shop, *, care: str | None = None
) -> messaging.TemplateOffer:
    """The words a buyer gets, shown even when refused (a draft's retired template): every
    salutation (X先生/女士) is as long as the sample's, so the length and the billed parts
    hold for each buyer (亲 is shorter)."""
    text = messaging.text_of(template, _values_named(messaging.SAMPLE_SALUTATION, shop))
    return messaging.TemplateOffer(template, text, template_refusal(template, shop.id, care=care))


def template_texts(
    session: Session, shop: Shop, *, care: str | None = None
) -> list[messaging.TemplateOffer]:
    """What the form offers: for a campaign the marketing templates, for a care rule of kind
    ``care`` all of the shop's active ones; each as read, or refused as saving would be."""
    templates = messaging.templates_of(session, shop.id)
    if care is None:
        templates = [t for t in templates if t.purpose is MessagePurpose.MARKETING]
    return [campaign_text(t, shop, care=care) for t in templates]


# -- choosing ---------------------------------------------------------------------------------
def choose(
    session: Session, shop_id: int, audience: Audience, exclusions: Exclusions, *, now: datetime
) -> tuple[dict[int, int], Tally]:
    """The buyers the campaign may message, each with the number to use, and how many were
    left out for which reason."""
    query = sa.select(BuyerSegment.buyer_id).where(BuyerSegment.shop_id == shop_id)
    if audience.classes:
        query = query.where(BuyerSegment.klass.in_([c.value for c in audience.classes]))
    if audience.big is not None:
        query = query.where(BuyerSegment.big.is_(audience.big))
    if audience.min_level is not None:
        query = query.where(BuyerSegment.level >= audience.min_level)
    if audience.days_since_order is not None:
        low, high = audience.days_since_order
        query = query.where(BuyerSegment.recency_days.between(low, high))
    ids = set(session.scalars(query))
    if audience.received_days_ago is not None:
        day = (now.astimezone(SH) - timedelta(days=audience.received_days_ago)).date()
        start = datetime.combine(day, datetime.min.time(), tzinfo=SH)
        ids &= set(
            session.scalars(
                sa.select(Order.buyer_id).where(
                    Order.shop_id == shop_id,
                    Order.received_at >= start,
                    Order.received_at < start + timedelta(days=1),
                )
            )
        )
    if audience.delivered_late_days is not None:
        late = seconds_between(Order.paid_at, Order.received_at)
        ids &= set(
            session.scalars(
                sa.select(Order.buyer_id).where(
                    Order.shop_id == shop_id,
                    Order.paid_at >= now - timedelta(days=LATE_WITHIN_DAYS),
                    Order.received_at.is_not(None),
                    late > audience.delivered_late_days * 86400,
                )
            )
        )
    if audience.birthday_within_days is not None:
        ids &= _birthdays(session, shop_id, now, audience.birthday_within_days)
    tally = Tally(matched=len(ids))
    for why, found in _left_out(session, shop_id, exclusions, now):
        tally.leave_out(why, len(ids & found))
        ids -= found
    numbers = contact_handles.sms_handles(session, ids, now)
    tally.leave_out("没有可发短信的号码", len(ids) - len(numbers))
    return numbers, tally


def _birthdays(session: Session, shop_id: int, now: datetime, days: int) -> set[int]:
    """Buyers whose birthday (month and day, kept in clear without the year) falls in the
    next ``days`` days, counted in Beijing dates (at 07:00 in Beijing it is still yesterday
    in UTC)."""
    today = now.astimezone(SH).date()
    upcoming = {
        day.month * 100 + day.day for day in (today + timedelta(days=d) for d in range(days + 1))
    }
    return set(
        session.scalars(
            sa.select(Buyer.id).where(Buyer.shop_id == shop_id, Buyer.birthday_md.in_(upcoming))
        )
    )


def _left_out(
    session: Session,
    shop_id: int,
    ex: Exclusions,
    now: datetime,
    among: Collection[int] | None = None,
) -> list[tuple[str, set[int]]]:
    """Who the exclusions leave out, by reason: of the shop's buyers when choosing, of a
    batch's buyers (``among``) when sending. As of ``now``: what came after it does not
    count (the demo runs a campaign in its past)."""

    def ids(query: sa.Select[tuple[int]]) -> set[int]:
        if among is not None:
            query = query.where(query.selected_columns[0].in_(among))
        return set(session.scalars(query))

    found = [
        (
            "买家要求勿扰或已退订",
            ids(
                sa.select(Buyer.id).where(
                    Buyer.shop_id == shop_id,
                    sa.or_(
                        Buyer.do_not_contact_at.is_not(None),
                        Buyer.marketing_opt_out_at.is_not(None),
                    ),
                )
            ),
        )
    ]
    if ex.open_case:
        found.append(
            (
                "有未结案件",
                ids(
                    sa.select(Case.buyer_id).where(
                        Case.shop_id == shop_id,
                        Case.status.in_(case_flow.OPEN),
                        Case.buyer_id.is_not(None),
                    )
                ),
            )
        )
    if ex.unhappy_review_days:
        since = now - timedelta(days=ex.unhappy_review_days)
        found.append(
            (
                f"{ex.unhappy_review_days} 天内有中差评",
                ids(
                    sa.select(Review.buyer_id).where(
                        Review.shop_id == shop_id,
                        Review.rating.in_((Rating.BAD, Rating.NEUTRAL)),
                        Review.posted_at.between(since, now),
                    )
                ),
            )
        )
    if ex.refund_days:
        since = now - timedelta(days=ex.refund_days)
        found.append(
            (
                f"{ex.refund_days} 天内有退款",
                ids(
                    sa.select(Order.buyer_id)
                    .join(OrderLine, OrderLine.order_id == Order.id)
                    .where(
                        Order.shop_id == shop_id,
                        Order.paid_at.between(since, now),
                        OrderLine.refund_status.in_(
                            (RefundStatus.REQUESTED, RefundStatus.REFUNDED)
                        ),
                    )
                ),
            )
        )
    if ex.contacted_days:
        since = now - timedelta(days=ex.contacted_days)
        found.append(
            (
                f"{ex.contacted_days} 天内联系过",
                contact_log.buyers_contacted(session, shop_id, since, among),
            )
        )
    return found


def launch(
    session: Session, campaign: Campaign, *, actor: User, now: datetime, care: str | None = None
) -> Campaign:
    """Choose the buyers, hold back the control group (seeded by the campaign, so it can be
    told again), queue the rest; nothing is sent here. The template is checked again: it
    may have been retired since the draft was saved (``care``: as for create)."""
    with transaction(session):
        if campaign.state != "draft":
            raise FieldError("state", "活动已经开始，不能再次发送。")
        template = session.get(MessageTemplate, campaign.template_id)
        refusal = template_refusal(template, campaign.shop_id, care=care)
        if refusal:
            raise FieldError("template_id", f"不能发送：{refusal}")
        numbers, tally = choose(
            session,
            campaign.shop_id,
            Audience.from_dict(campaign.audience),
            Exclusions.from_dict(campaign.exclusions),
            now=now,
        )
        sent, control = split_control(list(numbers), campaign.control_share, seed=campaign.id)
        rows = [
            {
                "campaign_id": campaign.id,
                "buyer_id": buyer_id,
                "handle_id": numbers[buyer_id],
                "control": is_control,
                "state": "control" if is_control else "queued",
                "out_id": uuid.uuid4().hex,
            }
            for group, is_control in ((sent, False), (control, True))
            for buyer_id in group
        ]
        for start in range(0, len(rows), 5_000):
            session.execute(sa.insert(CampaignRecipient), rows[start : start + 5_000])
        campaign.state = "sending" if sent else "done"
        campaign.chosen, campaign.held_back = len(numbers), len(control)
        campaign.excluded = dict(tally.excluded)
        campaign.started_at = now
        if not sent:
            campaign.finished_at = now
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="campaign",
            entity_id=campaign.id,
            field="state",
            old="draft",
            new=f"sending: {len(sent)} sent, {len(control)} control",
        )
        return campaign


def resumes_at(shop: Shop, campaign: Campaign, *, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When a campaign still sending goes on, if the shop's contact hours hold it now (the
    page says so rather than leave a launch at 05:00 looking stuck); None when it is going."""
    if campaign.state != "sending":
        return None
    policy = shop.contact_rules
    return None if policy.in_hours(now, tz) else policy.earliest(now, [], tz=tz)


# -- sending ----------------------------------------------------------------------------------
@dataclass
class Progress:
    sent: int = 0
    failed: int = 0
    looked_up: int = 0
    waiting: int = 0  # left for the next run (the rate, the hour, a rate limit, held)
    skipped: int = 0  # stood aside at send time (opted out since, in a case…)
    held: int = 0  # held off until the contact policy allows (called an hour ago…)


def send_due(
    session: Session,
    *,
    now: datetime,
    clients: Callable[[Shop, str], object],
    tz: ZoneInfo,
    per_minute: int,
    batch: int = 100,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Progress:
    """One run of the sender (every minute): for each campaign still sending, within the
    shop's contact hours, up to ``per_minute`` messages at an even pace."""
    progress = Progress()
    campaigns = list(session.scalars(sa.select(Campaign).where(Campaign.state == "sending")))
    session.commit()
    for campaign in campaigns:
        shop = session.get(Shop, campaign.shop_id)
        if shop is None:
            continue
        policy = shop.contact_rules
        if not policy.in_hours(now, tz):
            continue  # marketing only in the day: the next run in the morning goes on
        try:
            client = clients(shop, "aliyun-sms")
        except ProviderError as exc:
            log.warning("campaign %s: %s", campaign.id, exc.message)
            continue
        assert isinstance(client, SmsProvider)
        pace = Pace(per_minute, batch, clock, sleep)
        _send_campaign(session, campaign, client, progress, now, pace, Rules(policy, tz))
    return progress


@dataclass(frozen=True)
class Pace:
    """At most ``per_minute`` sends a run, evenly spaced; ``batch`` marked 发送中 at a time."""

    per_minute: int
    batch: int
    clock: Callable[[], float]
    sleep: Callable[[float], None]


@dataclass(frozen=True)
class Rules:
    """The shop's contact policy, read at send time."""

    policy: ContactPolicy
    tz: ZoneInfo


TOO_OFTEN = "联系频次已达上限（本店联系规则）"
# how long after the launch a buyer the contact policy holds off may still get the message:
# a campaign speaks of its days (新品, 节日, 好久不见); later it is skipped (TOO_OFTEN)
HOLD_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class NotNow:
    """Buyers of a batch who must not get the message now: ``skip`` for good, each with
    why; ``hold`` until the contact policy allows (buyer → that moment)."""

    skip: dict[int, str]
    hold: dict[int, datetime]


def _not_now(
    session: Session, campaign: Campaign, buyer_ids: list[int], rules: Rules, now: datetime
) -> NotNow:
    """A big campaign goes out over hours or days: since the launch a buyer may have replied
    R, asked not to be contacted, posted a 差评 now worked as a case: skipped, as the
    campaign's exclusions say. One called an hour ago or twice today is held until the
    shop's contact policy (per day, per week, the gap; this send counts like a call) allows,
    within ``HOLD_WINDOW`` of the launch, and skipped beyond it."""
    skip: dict[int, str] = {}
    exclusions = Exclusions.from_dict(campaign.exclusions)
    for reason, found in _left_out(session, campaign.shop_id, exclusions, now, buyer_ids):
        for buyer_id in found:
            skip.setdefault(buyer_id, reason)
    times = contact_log.times_by_buyer(session, buyer_ids, now - timedelta(days=7))
    last_chance = (campaign.started_at or now) + HOLD_WINDOW
    hold: dict[int, datetime] = {}
    for buyer_id in buyer_ids:
        if buyer_id in skip:
            continue
        earlier = times.get(buyer_id, [])
        allowed = rules.policy.earliest(now, earlier, tz=rules.tz)
        if allowed == now:  # the policy allows it now
            continue
        # earliest() gives up after a while and returns a moment still refused
        if allowed <= last_chance and not rules.policy.refusals(allowed, earlier, tz=rules.tz):
            hold[buyer_id] = allowed
        else:
            skip[buyer_id] = TOO_OFTEN
    return NotNow(skip, hold)


def _send_campaign(
    session: Session,
    campaign: Campaign,
    client: SmsProvider,
    progress: Progress,
    now: datetime,
    pace: Pace,
    rules: Rules,
) -> None:
    template = session.get(MessageTemplate, campaign.template_id)
    assert template is not None
    _resolve_unsure(session, campaign, client, progress)
    budget = 0 if _retired(session, campaign, template, progress) else pace.per_minute
    gap = 60.0 / pace.per_minute
    clock, sleep, batch = pace.clock, pace.sleep, pace.batch
    last = clock() - gap
    while budget > 0:
        with transaction(session):
            queued = dict(
                session.execute(
                    sa.select(CampaignRecipient.id, CampaignRecipient.buyer_id)
                    .where(
                        CampaignRecipient.campaign_id == campaign.id,
                        CampaignRecipient.state == "queued",
                        sa.or_(
                            CampaignRecipient.not_before.is_(None),
                            CampaignRecipient.not_before <= now,
                        ),
                    )
                    .order_by(CampaignRecipient.id)
                    .limit(min(batch, budget))
                ).all()
            )
            if not queued:
                break
            not_now = _not_now(session, campaign, list(queued.values()), rules, now)
            skipped = {r: not_now.skip[b] for r, b in queued.items() if b in not_now.skip}
            for recipient_id, why in skipped.items():
                _if_queued(session, recipient_id, state="skipped", last_error=why, not_before=None)
            held = {r: not_now.hold[b] for r, b in queued.items() if b in not_now.hold}
            for recipient_id, until in held.items():
                _if_queued(session, recipient_id, not_before=until, last_error=TOO_OFTEN)
            progress.skipped += len(skipped)
            progress.held += len(held)
            ids = [r for r in queued if r not in skipped and r not in held]
            if not ids:
                continue  # the whole batch stood aside: the next one, with the same budget
            session.execute(
                sa.update(CampaignRecipient)
                .where(CampaignRecipient.id.in_(ids), CampaignRecipient.state == "queued")
                .values(state="sending", sent_at=now)
            )
        # 发送中 is committed: from here a crash leaves rows to look up, never to resend
        done: dict[int, tuple[str, str | None, str | None]] = {}
        stop = False
        # the messages are built first and the read ends: no transaction stays open
        # while the provider is called
        with transaction(session):
            outgoing: list[tuple[int, Sms | str]] = []
            for recipient in _loaded(session, ids):
                try:
                    outgoing.append((recipient.id, _sms(session, recipient, template)))
                except (FieldError, NumberError) as exc:
                    outgoing.append((recipient.id, str(getattr(exc, "message", exc))))
        for recipient_id, sms in outgoing:
            if isinstance(sms, str):
                done[recipient_id] = ("failed", None, sms)
                progress.failed += 1
                continue
            wait = gap - (clock() - last)
            if wait > 0:
                sleep(wait)
            last = clock()
            try:
                ref = client.send(sms)
                done[recipient_id] = ("sent", ref, None)
                progress.sent += 1
            except ProviderError as exc:
                error = f"{exc.code}：{exc.message}"
                if exc.uncertain:
                    done[recipient_id] = ("sending", None, error)
                elif exc.retryable:  # the provider's own limit: back to the queue, stop
                    done[recipient_id] = ("queued", None, error)
                    stop = True
                    break
                else:
                    done[recipient_id] = ("failed", None, error)
                    progress.failed += 1
        untouched = [i for i in ids if i not in done]
        with transaction(session):
            for rid, (state, ref, error) in done.items():
                session.execute(
                    sa.update(CampaignRecipient)
                    .where(CampaignRecipient.id == rid)
                    .values(state=state, provider_ref=ref, last_error=error)
                )
            if untouched:
                session.execute(
                    sa.update(CampaignRecipient)
                    .where(CampaignRecipient.id.in_(untouched))
                    .values(state="queued", sent_at=None)
                )
        budget -= len(ids)
        if stop:
            break
    with transaction(session):
        left = session.scalar(
            sa.select(sa.func.count())
            .select_from(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.state.in_(("queued", "sending")),
            )
        )
        progress.waiting += left or 0
        fresh = session.get(Campaign, campaign.id)
        if not left and fresh is not None and fresh.state == "sending":
            fresh.state, fresh.finished_at = "done", now


TEMPLATE_RETIRED = "模板已停用"


def _retired(
    session: Session, campaign: Campaign, template: MessageTemplate, progress: Progress
) -> bool:
    """A template retired while its campaign was sending: the shop no longer sends that
    text, so those still waiting are skipped (they stay in the sent group, as every skip)."""
    if template.is_active:
        return False
    with transaction(session):
        skipped = session.execute(
            sa.update(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.state == "queued",
            )
            .values(state="skipped", last_error=TEMPLATE_RETIRED, not_before=None)
        )
        progress.skipped += skipped.rowcount or 0
    return True


def _if_queued(session: Session, recipient_id: int, **values: object) -> None:
    """Set ``values`` on a recipient still queued: one another run has moved on is left."""
    session.execute(
        sa.update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient_id, CampaignRecipient.state == "queued")
        .values(**values)
    )


def _loaded(session: Session, ids: list[int]) -> list[CampaignRecipient]:
    return list(
        session.scalars(
            sa.select(CampaignRecipient)
            .where(CampaignRecipient.id.in_(ids))
            .order_by(CampaignRecipient.id)
        )
    )


def _sms(session: Session, recipient: CampaignRecipient, template: MessageTemplate) -> Sms:
    handle = session.get(ContactHandle, recipient.handle_id) if recipient.handle_id else None
    if handle is None or handle.sealed is None:
        raise FieldError("handle", "号码已失效")
    number = contact_handles.opened(handle)
    buyer = session.get(Buyer, recipient.buyer_id)
    shop = session.get(Shop, template.shop_id)
    params = messaging.template_params(template, _values(buyer, shop))
    return Sms(number.number, template.sign_name, template.template_code, params, recipient.out_id)


def _values(buyer: Buyer | None, shop: Shop | None) -> dict[str, str]:
    return _values_named(written_name(buyer.name_hint if buyer else None), shop)


def _values_named(salutation: str, shop: Shop | None) -> dict[str, str]:
    return {"name": salutation, "shop": shop.name[:20] if shop else ""}


def _resolve_unsure(
    session: Session, campaign: Campaign, client: SmsProvider, progress: Progress
) -> None:
    """发送中 recipients left by a crash or a lost answer: sent if the provider has a send
    with their OutId, queued again otherwise. The provider is asked with no transaction
    open (a big campaign's crash leaves a batch of them); a recipient settled meanwhile is
    left as it is."""
    asks: list[tuple[int, messaging.LookupAsk]] = []
    with transaction(session):
        unsure = list(
            session.scalars(
                sa.select(CampaignRecipient).where(
                    CampaignRecipient.campaign_id == campaign.id,
                    CampaignRecipient.state == "sending",
                )
            )
        )
        for recipient in unsure:
            handle = (
                session.get(ContactHandle, recipient.handle_id) if recipient.handle_id else None
            )
            if handle is None or handle.sealed is None:
                recipient.state, recipient.last_error = "failed", "号码已失效"
                continue
            day = (recipient.sent_at or campaign.started_at or datetime.now(SH)).astimezone(SH)
            number = contact_handles.opened(handle).number
            asks.append((recipient.id, messaging.LookupAsk(recipient.out_id, number, day.date())))
    found: dict[int, str | None] = {}
    for recipient_id, ask in asks:
        try:
            found[recipient_id] = ask.reference_at(client)
        except ProviderError as exc:
            log.warning("campaign %s lookup: %s", campaign.id, exc)
            continue  # still unsure: asked again next run, never sent blind
        progress.looked_up += 1
    if not found:
        return
    with transaction(session):
        for recipient_id, ref in found.items():
            settled = (
                {"state": "sent", "provider_ref": ref}
                if ref is not None
                else {"state": "queued", "sent_at": None}
            )
            session.execute(
                sa.update(CampaignRecipient)
                .where(CampaignRecipient.id == recipient_id, CampaignRecipient.state == "sending")
                .values(**settled)
            )


# -- receipts ---------------------------------------------------------------------------------
RECEIPTS_PER_RUN = 500  # a run every few minutes; a big campaign's receipts take a few runs


def poll_receipts(
    session: Session,
    *,
    now: datetime,
    clients: Callable[[Shop, str], object],
    tz: ZoneInfo,
    limit: int = RECEIPTS_PER_RUN,
) -> int:
    """Read back whether the operator delivered each campaign message the provider accepted
    (送达 / 未送达); returns how many changed. A receipt that has not come while the
    provider keeps them is unknown for good. The provider is asked with no transaction
    open, as the sender does."""
    asks: list[messaging.ReceiptAsk] = []
    changed = 0
    with transaction(session):
        campaign_ids = sa.select(Campaign.id).where(
            sa.or_(
                Campaign.state == "sending",
                sa.and_(  # long enough after the last send to mark what never came
                    Campaign.state == "done",
                    Campaign.finished_at >= now - 2 * messaging.RECEIPTS_FOR,
                ),
            )
        )
        waiting = session.scalars(
            sa.select(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id.in_(campaign_ids),
                CampaignRecipient.state == "sent",
                CampaignRecipient.delivery.is_(None),
            )
            .order_by(CampaignRecipient.sent_at, CampaignRecipient.id)
            .limit(limit)
        ).all()
        shop_of = dict(
            session.execute(
                sa.select(Campaign.id, Campaign.shop_id).where(
                    Campaign.id.in_({r.campaign_id for r in waiting})
                )
            ).all()
        )
        for recipient in waiting:
            handle = (
                session.get(ContactHandle, recipient.handle_id) if recipient.handle_id else None
            )
            too_late = recipient.sent_at is None or now - recipient.sent_at > messaging.RECEIPTS_FOR
            if too_late or handle is None or handle.sealed is None or not recipient.provider_ref:
                recipient.delivery = "unknown"  # nothing more will come, or nothing to ask
                changed += 1
                continue
            asks.append(
                messaging.ReceiptAsk(
                    recipient.id,
                    shop_of[recipient.campaign_id],
                    recipient.provider_ref,
                    contact_handles.opened(handle).number,
                    recipient.sent_at.astimezone(tz).date(),
                )
            )
    answers = messaging.ask_receipts(session, asks, clients, what="campaign")
    with transaction(session):
        for recipient_id, receipt in answers.items():
            delivered = receipt.delivery is Delivery.DELIVERED
            values: dict[str, object] = {
                "delivery": "delivered" if delivered else "undelivered",
                "delivered_at": receipt.at or now,
            }
            if not delivered:
                values["last_error"] = messaging.undelivered(receipt)
            session.execute(
                sa.update(CampaignRecipient)
                .where(CampaignRecipient.id == recipient_id, CampaignRecipient.delivery.is_(None))
                .values(**values)
            )
    return changed + len(answers)


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignResults:
    sent: int
    control: int
    failed: int
    waiting: int
    revenue: Uplift | None  # per buyer, sent minus control, within RESULT_DAYS
    conversion: Uplift | None  # share who ordered
    until: datetime | None  # the end of the result window
    # of the sent: the operator's receipts (the uplift compares everyone sent to, as
    # chosen: leaving out the undelivered would flatter it)
    delivered: int = 0
    undelivered: int = 0
    no_receipt: int = 0  # none came, or none yet
    # of the waiting: held off by the contact policy until a later moment (the earliest);
    # one whose moment has come is waiting like any other, for the next batch
    held: int = 0
    held_until: datetime | None = None
    # stood aside at send time, by why; still in the sent group of the uplift, as the
    # control group keeps those who would have stood aside too (leaving them out would
    # compare the buyers still reachable with everyone). So are the failed: a number that
    # lapsed, a send the provider refused.
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def sent_group(self) -> int:
        """How many the uplift's sent group holds: everyone chosen to be sent to whose turn
        came (sent, failed, skipped at send time): the group as chosen, against the control
        group as chosen."""
        return self.sent + self.failed + sum(self.skipped.values())


SENT_GROUP = ("sent", "failed", "skipped")  # recipients whose turn came, however it went


def results(session: Session, campaign: Campaign, *, now: datetime) -> CampaignResults:
    """What a campaign did so far, as its page shows it at ``now`` (who is still held)."""
    states = dict(
        session.execute(
            sa.select(CampaignRecipient.state, sa.func.count())
            .where(CampaignRecipient.campaign_id == campaign.id)
            .group_by(CampaignRecipient.state)
        ).all()
    )
    if campaign.started_at is None:
        return CampaignResults(0, 0, 0, 0, None, None, None)
    receipts = dict(
        session.execute(
            sa.select(CampaignRecipient.delivery, sa.func.count())
            .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "sent")
            .group_by(CampaignRecipient.delivery)
        ).all()
    )
    until = campaign.started_at + timedelta(days=RESULT_DAYS)
    spent = dict(
        session.execute(
            sa.select(Order.buyer_id, sa.func.sum(Order.payment))
            .join(CampaignRecipient, CampaignRecipient.buyer_id == Order.buyer_id)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                Order.shop_id == campaign.shop_id,
                Order.paid_at >= campaign.started_at,
                Order.paid_at < until,
            )
            .group_by(Order.buyer_id)
        ).all()
    )
    groups: dict[bool, list[int]] = defaultdict(list)
    for buyer_id, control in session.execute(
        sa.select(CampaignRecipient.buyer_id, CampaignRecipient.control).where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.state.in_((*SENT_GROUP, "control")),
        )
    ):
        groups[control].append(buyer_id)
    skipped = dict(
        session.execute(
            sa.select(CampaignRecipient.last_error, sa.func.count())
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.state == "skipped",
            )
            .group_by(CampaignRecipient.last_error)
        ).all()
    )
    held, held_until = session.execute(
        sa.select(sa.func.count(), sa.func.min(CampaignRecipient.not_before)).where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.state == "queued",
            CampaignRecipient.not_before > now,
        )
    ).one()
    money = {k: [float(spent.get(b, 0) or 0) for b in ids] for k, ids in groups.items()}
    bought = {k: [1.0 if spent.get(b) else 0.0 for b in ids] for k, ids in groups.items()}
    return CampaignResults(
        sent=states.get("sent", 0),
        control=states.get("control", 0),
        failed=states.get("failed", 0),
        waiting=states.get("queued", 0) + states.get("sending", 0),
        revenue=uplift(money.get(False, []), money.get(True, [])),
        conversion=uplift(bought.get(False, []), bought.get(True, [])),
        until=until,
        delivered=receipts.get("delivered", 0),
        undelivered=receipts.get("undelivered", 0),
        no_receipt=receipts.get(None, 0) + receipts.get("unknown", 0),
        skipped={str(why): n for why, n in skipped.items()},
        held=held,
        held_until=held_until,
    )


# -- replies ----------------------------------------------------------------------------------
def unsubscribe(session: Session, shop_id: int, phone: str, text: str, *, now: datetime) -> int:
    """A reply R (拒收) to a marketing SMS stops every further campaign for the buyers with
    that number; other replies change nothing. Returns how many buyers were opted out."""
    if text.strip().upper() not in OPT_OUT_WORDS:
        return 0
    try:
        number = parse_number(phone)
    except NumberError:
        return 0
    fingerprint = personal_vault().fingerprint(number.written())
    with transaction(session):
        buyers = list(
            session.scalars(
                sa.select(Buyer).where(
                    Buyer.shop_id == shop_id,
                    Buyer.id.in_(
                        sa.select(ContactHandle.buyer_id).where(
                            ContactHandle.fingerprint == fingerprint
                        )
                    ),
                    Buyer.marketing_opt_out_at.is_(None),
                )
            )
        )
        for buyer in buyers:
            buyer.marketing_opt_out_at = now
            record_change(
                session,
                now=now,
                actor_id=None,
                entity_type="buyer",
                entity_id=buyer.id,
                field="marketing_opt_out_at",
                old=None,
                new=f"回复 {text.strip()[:8]}",
            )
        return len(buyers)
