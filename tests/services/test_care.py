"""客户关怀 rules become a day's campaign once a day, for the right buyers only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.factories import approved_template, buyer_with_order
from tracker.models import Buyer, Campaign, CampaignRecipient, Shop, User
from tracker.models.enums import Role
from tracker.services import care, segments
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
        session, shop, care.RuleDraft("birthday", "生日祝福", notice.id), actor=admin, now=NOW
    )
    care.add_rule(
        session,
        shop,
        care.RuleDraft("holiday", "元旦", notice.id, holiday="01-01"),
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
    from tracker.domain.campaigns import Audience, Exclusions
    from tracker.services import campaigns

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
