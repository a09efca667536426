"""客户关怀: a shop's own rules — N days after an order arrived, on a buyer's birthday, on a
holiday — each day become a campaign of that day's buyers, chosen, excluded, held back and
sent exactly as any campaign (tracker.services.campaigns)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.campaigns import Audience, Exclusions
from tracker.domain.segments import BuyerClass
from tracker.models import Campaign, CareRule, MessageTemplate, Shop, User
from tracker.services import campaigns, messaging
from tracker.services.audit import record_change
from tracker.services.errors import FieldError
from tracker.services.transaction import transaction

log = logging.getLogger(__name__)

RUN_FROM = time(10)  # the shop's morning: the day's care goes out from ten
KINDS = {"after_receipt": "收货后关怀", "birthday": "生日关怀", "holiday": "节日问候"}
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


@dataclass(frozen=True)
class RuleDraft:
    kind: str
    name: str
    template_id: int
    days: int | None = None
    holiday: str | None = None
    control_share: float = 0.0


def add_rule(
    session: Session, shop: Shop, draft: RuleDraft, *, actor: User, now: datetime
) -> CareRule:
    with transaction(session):
        if draft.kind not in KINDS:
            raise FieldError("kind", "请选择关怀类型。")
        if draft.kind == "after_receipt" and not (draft.days and 1 <= draft.days <= 90):
            raise FieldError("days", "收货后天数应在 1 到 90 之间。")
        if draft.kind == "holiday" and not (draft.holiday and _MONTH_DAY.match(draft.holiday)):
            raise FieldError("holiday", "节日日期写作 MM-DD，例如 01-29。")
        template = session.get(MessageTemplate, draft.template_id)
        refusal = campaigns.template_refusal(template, shop.id, care=draft.kind)
        if refusal:
            raise FieldError("template_id", refusal)
        assert template is not None  # a missing template is refused above
        if not 0 <= draft.control_share <= 0.5:
            raise FieldError("control_share", "对照组比例应在 0% 到 50% 之间。")
        rule = CareRule(
            shop_id=shop.id,
            kind=draft.kind,
            days=draft.days if draft.kind == "after_receipt" else None,
            holiday=draft.holiday if draft.kind == "holiday" else None,
            name=(draft.name.strip() or KINDS[draft.kind])[:64],
            template_id=template.id,
            control_share=draft.control_share,
            is_active=True,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(rule)
        session.flush()
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="care_rule",
            entity_id=rule.id,
            field="created",
            old=None,
            new=rule.name,
        )
        return rule


@dataclass(frozen=True)
class RuleRow:
    """A rule as its list shows it: its template, and why an active rule sends nothing (its
    template was retired, or was saved before the check and cannot serve this kind; the
    shop has no SMS account)."""

    rule: CareRule
    template: MessageTemplate | None
    refusal: str | None


def rules_of(session: Session, shop_id: int) -> list[RuleRow]:
    """The shop's rules, retired ones too (the page shows them greyed), oldest first."""
    rules = list(
        session.scalars(
            sa.select(CareRule).where(CareRule.shop_id == shop_id).order_by(CareRule.id)
        )
    )
    no_account = messaging.missing_account(session, shop_id, messaging.SMS) if rules else None
    rows = []
    for rule in rules:
        template = session.get(MessageTemplate, rule.template_id)
        refusal = campaigns.template_refusal(template, shop_id, care=rule.kind)
        if refusal and template is not None and not template.is_active:
            refusal = f"模板“{template.name}”已停用。"
        refusal = refusal or (f"{no_account}。" if no_account else None)
        rows.append(RuleRow(rule, template, refusal if rule.is_active else None))
    return rows


def retire_rule(session: Session, rule: CareRule, *, actor: User, now: datetime) -> None:
    with transaction(session):
        rule.is_active = False
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="care_rule",
            entity_id=rule.id,
            field="is_active",
            old=True,
            new=False,
        )


def _audience(rule: CareRule, today: str) -> Audience | None:
    if rule.kind == "after_receipt":
        return Audience(received_days_ago=rule.days)
    if rule.kind == "birthday":
        return Audience(birthday_within_days=0)
    if rule.kind == "holiday" and rule.holiday == today:
        active = frozenset({BuyerClass.NEW, BuyerClass.REPEAT, BuyerClass.LOYAL})
        return Audience(classes=active)
    return None  # a holiday rule on another day


def run_due(session: Session, *, now: datetime, tz: ZoneInfo) -> list[Campaign]:
    """Today's care for every active rule not yet run today (from 10:00 shop time)."""
    local = now.astimezone(tz)
    if local.time() < RUN_FROM:
        return []
    today = local.date()
    started = []
    rules = list(
        session.scalars(
            sa.select(CareRule).where(
                CareRule.is_active.is_(True),
                sa.or_(CareRule.last_run_on.is_(None), CareRule.last_run_on < today),
            )
        )
    )
    session.commit()
    for rule in rules:
        audience = _audience(rule, f"{today:%m-%d}")
        shop = session.get(Shop, rule.shop_id)
        actor = session.get(User, rule.created_by_id)
        if audience is not None and shop is not None and actor is not None:
            draft = campaigns.CampaignDraft(
                name=f"{rule.name} · {today:%m-%d}",
                audience=audience,
                exclusions=Exclusions(),
                template_id=rule.template_id,
                control_share=rule.control_share,
                care=rule.kind,
            )
            try:
                campaign = campaigns.create(session, shop, draft, actor=actor, now=now)
                launched = campaigns.launch(session, campaign, actor=actor, now=now, care=rule.kind)
                started.append(launched)
            except FieldError as exc:  # its template was retired: the rules list says so too
                log.warning("care rule %s: %s", rule.id, exc.message)
        with transaction(session):
            fresh = session.get(CareRule, rule.id)
            if fresh is not None:
                fresh.last_run_on = today
    return started
