"""客户关怀 rules become a day's campaign once a day, for the right buyers only."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import approved_template, buyer_with_order
from tracker.domain.campaigns import Audience, Exclusions
from tracker.models import Buyer, Campaign, CampaignRecipient, CareRule, Shop, User
from tracker.models.enums import MessagePurpose, RemedyNotice, Role
from tracker.services import campaigns, care, segments
from tracker.services.errors import FieldError

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 30, tzinfo=SH)


def person(
    session: Session, shop: Shop, n: int, *, received_days_ago: int, birthday: date | None = None
) -> Buyer:
    received = NOW - timedelta(days=received_days_ago)
    return buyer_with_order(
        session,
        shop,
        f"p{n}",
        phone=f"136{n:08d}",
        payment="60",
        paid_at=received - timedelta(days=3),
        received_at=received,
        birthday=birthday,
    )


def test_care_rules_run_once_a_day_for_that_days_buyers(
    session: Session, make_shop: Callable[..., Shop], make_user: Callable[..., User]
) -> None:
    shop = make_shop(contact_policy=None)
    admin = make_user(Role.ADMIN)
    notice = approved_template(
        session,
        shop,
        "${name}您好，脐橙收到后请冷藏保存，有任何问题随时联系我们。",
        at=NOW,
        name="使用提醒",
        code="SMS_C1",
    )
    greeting = approved_template(
        session,
        shop,
        "${name}您好，${shop}祝您生日快乐、节日愉快！拒收请回复R",
        at=NOW,
        purpose=MessagePurpose.MARKETING,
        name="祝福",
        code="SMS_G1",
    )
    arrived = [person(session, shop, i, received_days_ago=3) for i in range(3)]
    person(session, shop, 10, received_days_ago=4)
    born = person(session, shop, 20, received_days_ago=40, birthday=date(1990, 11, 30))
    session.commit()
    segments.recompute(session, shop, now=NOW)
    with pytest.raises(FieldError, match="MM-DD"):
        care.add_rule(
            session,
            shop,
            care.RuleDraft("holiday", "春节", notice.id, holiday="2-9"),
            actor=admin,
            now=NOW,
        )
    care.add_rule(
        session, shop, care.RuleDraft("after_receipt", "", notice.id, days=3), actor=admin, now=NOW
    )
    care.add_rule(
        session, shop, care.RuleDraft("birthday", "生日祝福", greeting.id), actor=admin, now=NOW
    )
    care.add_rule(
        session,
        shop,
        care.RuleDraft("holiday", "元旦", greeting.id, holiday="01-01"),
        actor=admin,
        now=NOW,
    )
    assert care.run_due(session, now=NOW.replace(hour=9), tz=SH) == []  # from ten
    started = care.run_due(session, now=NOW, tz=SH)
    assert sorted(c.name for c in started) == ["收货后关怀 · 11-30", "生日祝福 · 11-30"]
    assert care.run_due(session, now=NOW + timedelta(hours=2), tz=SH) == []  # once a day
    chosen = {
        c.name: set(
            session.scalars(
                sa.select(CampaignRecipient.buyer_id).where(CampaignRecipient.campaign_id == c.id)
            )
        )
        for c in session.scalars(sa.select(Campaign))
    }
    assert chosen["收货后关怀 · 11-30"] == {b.id for b in arrived}
    assert chosen["生日祝福 · 11-30"] == {born.id}
    assert len(care.run_due(session, now=NOW + timedelta(days=1), tz=SH)) == 2  # the next day again


def test_birthdays_are_counted_in_beijing_dates(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    """At 07:00 on 12-01 in Beijing it is still 11-30 in UTC: the birthdays are 12-01's,
    and a buyer's birthday is kept only as month and day in clear."""
    shop = make_shop()
    today = person(session, shop, 1, received_days_ago=40, birthday=date(1990, 12, 1))
    person(session, shop, 2, received_days_ago=40, birthday=date(1985, 11, 30))
    session.commit()
    segments.recompute(session, shop, now=NOW)
    early = datetime(2026, 12, 1, 7, 0, tzinfo=SH).astimezone(UTC)  # as the clock gives it
    numbers, _ = campaigns.choose(
        session, shop.id, Audience(birthday_within_days=0), Exclusions(), now=early
    )
    assert set(numbers) == {today.id}
    assert today.birthday_md == 1201


def test_a_rule_is_saved_only_with_a_template_its_campaigns_can_send(
    session: Session, make_shop: Callable[..., Shop], make_user: Callable[..., User]
) -> None:
    """Each morning a rule's campaign is made from its template: one it cannot send (a
    greeting as a notice, an order's platform SMS, a parameter a campaign cannot fill) is
    refused when the rule is saved, not found out in the log every day at ten."""
    shop = make_shop(contact_policy=None)
    admin = make_user(Role.ADMIN)
    notice = approved_template(
        session, shop, "${name}您好，收到后请冷藏保存。", at=NOW, name="使用提醒", code="SMS_C1"
    )
    survey = approved_template(
        session, shop, "${name}您好，请评价这次服务：${link}", at=NOW, name="回访", code="SMS_S"
    )
    resend = approved_template(
        session, shop, "${name}您好，您的${product}已补发，订单尾号${order}。", at=NOW,
        name="补发", code="SMS_R",
    )  # fmt: skip
    by_order = approved_template(
        session, shop, "${name}您好，您的问题我们在处理。", at=NOW, name="进度", code="TPL_1"
    )
    by_order.provider = "platform"
    exchanged = approved_template(
        session, shop, "${name}您好，您的换货已安排，请留意查收。", at=NOW, name="换货",
        code="SMS_E",
    )  # fmt: skip
    exchanged.announces = RemedyNotice.EXCHANGE  # true only of a case that records it
    born = person(session, shop, 1, received_days_ago=40, birthday=date(1990, 11, 30))
    session.commit()
    segments.recompute(session, shop, now=NOW)
    for draft, refusal in (
        (care.RuleDraft("birthday", "", notice.id), "生日关怀、节日问候只能用营销类模板"),
        (care.RuleDraft("holiday", "", notice.id, holiday="11-30"), "只能用营销类模板"),
        (care.RuleDraft("after_receipt", "", survey.id, days=3), "满意度回访模板（带 ${link}），由系统在结案后发送"),
        (care.RuleDraft("after_receipt", "", resend.id, days=3), "${order}（订单号后四位）、${product}"),
        (care.RuleDraft("after_receipt", "", by_order.id, days=3), "平台短信（按订单）只能在案件里"),
        (care.RuleDraft("after_receipt", "", exchanged.id, days=3), "只能从登记了换货的案件发出"),
    ):  # fmt: skip
        with pytest.raises(FieldError, match=re.escape(refusal)) as refused:
            care.add_rule(session, shop, draft, actor=admin, now=NOW)
        assert refused.value.field == "template_id"
    assert care.rules_of(session, shop.id) == []
    # a rule saved before this check (a birthday as a notice) is listed with why it sends
    # nothing, and sends nothing
    saved = CareRule(
        shop_id=shop.id, kind="birthday", name="生日", template_id=notice.id, control_share=0,
        is_active=True, created_by_id=admin.id, created_at=NOW,
    )  # fmt: skip
    session.add(saved)
    session.commit()
    [row] = care.rules_of(session, shop.id)
    assert row.rule.id == saved.id and row.template is notice
    assert row.refusal is not None and "只能用营销类模板" in row.refusal
    assert care.run_due(session, now=NOW, tz=SH) == []
    assert session.scalar(sa.select(sa.func.count(Campaign.id))) == 0
    chosen, _ = campaigns.choose(  # nothing was sent, though the day had a birthday
        session, shop.id, Audience(birthday_within_days=0), Exclusions(), now=NOW
    )
    assert set(chosen) == {born.id}
    notice.is_active = False  # retired: the list names the template
    session.commit()
    assert care.rules_of(session, shop.id)[0].refusal == "模板“使用提醒”已停用。"
    saved.is_active = False  # a retired rule is only greyed out
    session.commit()
    assert care.rules_of(session, shop.id)[0].refusal is None
