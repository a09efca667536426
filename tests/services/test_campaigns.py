"""Campaigns: who is chosen and who is left out, the control group, every recipient messaged
exactly once (a crash and a lost answer included), the day's hours, R unsubscribes, and
the results against the control group."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.aliyun_server import FakeAliyun
from tests.factories import approved_template, buyer_with_order
from tests.fakes import transactions_seen
from tests.platform_servers import serve
from tracker.domain.campaigns import Audience, Exclusions
from tracker.domain.phone_numbers import parse_number
from tracker.domain.segments import BuyerClass
from tracker.models import (
    Buyer,
    Campaign,
    CampaignRecipient,
    MessageTemplate,
    Order,
    Shop,
    User,
)
from tracker.models.enums import MessagePurpose, Rating, Role
from tracker.providers.aliyun import AliyunSms
from tracker.services import campaigns, contact_handles, segments
from tracker.services.errors import FieldError
from tracker.sources.contract import SourceOptions

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=SH)
CREDS = {"access_key_id": "LTAIlocal", "access_key_secret": "aliyun-secret"}


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(contact_policy=None)  # the default: messages only 09:00–21:00


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    with serve(FakeAliyun()) as fake:
        fake.templates.add("SMS_M1")
        yield fake


def clients(fake: FakeAliyun) -> Callable[[Shop, str], object]:
    client = AliyunSms(
        CREDS, SourceOptions(clock=lambda: datetime.now(UTC), url=fake.url, timeout=1.0, retries=0)
    )
    return lambda shop, name: client


def send(session: Session, aliyun: FakeAliyun, now: datetime, **pace: object) -> campaigns.Progress:
    """One run of the sender through the Aliyun stand-in, 600 a minute, without waiting."""
    options = {"per_minute": 600, "sleep": lambda s: None} | pace
    return campaigns.send_due(session, now=now, clients=clients(aliyun), tz=SH, **options)  # type: ignore[arg-type]


def buyer(
    session: Session, shop: Shop, n: int, *, days_ago: int, phone: str | None = None
) -> Buyer:
    return buyer_with_order(
        session,
        shop,
        f"b{n}",
        name=f"王{n}",
        phone=phone or f"139{n:08d}",
        paid_at=NOW - timedelta(days=days_ago),
    )


@pytest.fixture
def setup(session: Session, shop: Shop, make_user: Callable[..., User]):  # type: ignore[no-untyped-def]
    admin = make_user(Role.ADMIN)
    template = approved_template(
        session,
        shop,
        "${name}您好，好久不见，新品上市老客专享九折，拒收请回复R",
        at=NOW,
        purpose=MessagePurpose.MARKETING,
        name="老客回访",
        code="SMS_M1",
    )
    session.commit()
    return admin, template


def dormant_campaign(
    session: Session,
    shop: Shop,
    admin: User,
    template: MessageTemplate,
    exclusions: Exclusions | None = None,
    **kw: object,
) -> Campaign:
    draft = campaigns.CampaignDraft(
        name="唤醒沉睡客户",
        audience=Audience(frozenset({BuyerClass.DORMANT}), days_since_order=(90, 180)),
        exclusions=exclusions or Exclusions(),
        template_id=template.id,
        **kw,  # type: ignore[arg-type]
    )
    return campaigns.create(session, shop, draft, actor=admin, now=NOW)


def launched(
    session: Session,
    shop: Shop,
    setup,
    buyers: int,
    control_share: float,  # type: ignore[no-untyped-def]
) -> Campaign:
    """A dormant-buyer campaign over ``buyers`` new dormant buyers, launched (nothing sent)."""
    admin, template = setup
    for i in range(buyers):
        buyer(session, shop, i, days_ago=120)
    session.commit()
    segments.recompute(session, shop, now=NOW)
    campaign = dormant_campaign(session, shop, admin, template, control_share=control_share)
    campaigns.launch(session, campaign, actor=admin, now=NOW)
    return campaign


def test_exclusions_and_the_control_group(session: Session, shop: Shop, setup) -> None:  # type: ignore[no-untyped-def]
    admin, template = setup
    chosen = [buyer(session, shop, i, days_ago=120) for i in range(20)]
    buyer(session, shop, 90, days_ago=10)  # active: not in the audience
    open_case_buyer, unhappy, stopped, opted_out = chosen[:4]
    from tests.factories import open_case

    case = open_case(session, shop, at=NOW - timedelta(days=10), key="c1", nick="有案件")
    case.buyer_id = open_case_buyer.id  # an open case of a chosen buyer
    other = open_case(session, shop, at=NOW - timedelta(days=8), key="c2", nick="别人")
    other.review.buyer_id = unhappy.id  # a 差评 of a chosen buyer five days ago
    stopped.do_not_contact_at = NOW - timedelta(days=1)
    opted_out.marketing_opt_out_at = NOW - timedelta(days=1)
    from tests.factories import add_sale

    later = add_sale(session, shop, nick="以后", rating=Rating.BAD, at=NOW + timedelta(days=2))
    later.buyer_id = chosen[5].id  # a 差评 after the launch: not known then, not a reason
    virtual = chosen[4]
    for h in session.scalars(
        sa.select(contact_handles.ContactHandle).where(
            contact_handles.ContactHandle.buyer_id == virtual.id
        )
    ):
        session.delete(h)
    contact_handles.remember(
        session,
        shop_id=shop.id,
        buyer_id=virtual.id,
        number=parse_number("18400913965-1234"),
        source="import",
        now=NOW,
    )
    session.commit()
    segments.recompute(session, shop, now=NOW)
    campaign = dormant_campaign(session, shop, admin, template, control_share=0.2)
    campaigns.launch(session, campaign, actor=admin, now=NOW)
    assert campaign.excluded == {
        "买家要求勿扰或已退订": 2,
        "有未结案件": 1,
        "30 天内有中差评": 1,
        "没有可发短信的号码": 1,
    }
    assert campaign.chosen == 15 and campaign.held_back == 3
    recipients = session.scalars(sa.select(CampaignRecipient)).all()
    assert sorted(r.state for r in recipients).count("control") == 3
    again = campaigns.split_control([r.buyer_id for r in recipients], 0.2, seed=campaign.id)
    assert sorted(again[1]) == sorted(r.buyer_id for r in recipients if r.control)
    with pytest.raises(FieldError):
        campaigns.launch(session, campaign, actor=admin, now=NOW)


def test_a_survey_sms_this_week_is_a_recent_contact(session: Session, shop: Shop, setup) -> None:  # type: ignore[no-untyped-def]
    """A buyer asked 满意度回访 two days ago gets no marketing this week."""
    from tests.factories import open_case
    from tracker.models import CaseSurvey
    from tracker.models.enums import CaseOutcome, CaseStatus

    admin, template = setup
    asked, unsent, *_ = [buyer(session, shop, i, days_ago=120) for i in range(5)]
    for n, (who, state) in enumerate(((asked, "sent"), (unsent, "failed"))):
        case = open_case(session, shop, at=NOW - timedelta(days=40), key=f"s{n}", nick=f"s{n}")
        case.buyer_id, case.status = who.id, CaseStatus.RECOVERED
        case.outcome, case.closed_at = CaseOutcome.REVIEW_REVISED, NOW - timedelta(days=2)
        session.add(
            CaseSurvey(
                case_id=case.id,
                shop_id=shop.id,
                state=state,
                out_id=f"out-{n}",
                created_at=NOW - timedelta(days=2),
                sent_at=NOW - timedelta(days=2) if state == "sent" else None,
            )
        )
    session.commit()
    segments.recompute(session, shop, now=NOW)
    campaign = dormant_campaign(session, shop, admin, template)
    campaigns.launch(session, campaign, actor=admin, now=NOW)
    assert campaign.excluded == {"7 天内联系过": 1}
    chosen = set(session.scalars(sa.select(CampaignRecipient.buyer_id)))
    assert asked.id not in chosen and unsent.id in chosen


def test_each_recipient_is_messaged_once_through_a_crash_and_a_lost_answer(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,  # type: ignore[no-untyped-def]
) -> None:
    campaign = launched(session, shop, setup, 30, 0.1)
    _, template = setup
    sleeps: list[float] = []
    # a crash: ten marked 发送中 and sent, then the process died before recording it
    ids = session.scalars(
        sa.select(CampaignRecipient.id).where(CampaignRecipient.state == "queued").limit(10)
    ).all()
    session.execute(
        sa.update(CampaignRecipient)
        .where(CampaignRecipient.id.in_(ids))
        .values(state="sending", sent_at=NOW)
    )
    session.commit()
    client = clients(aliyun)(shop, "aliyun-sms")
    for r in session.scalars(sa.select(CampaignRecipient).where(CampaignRecipient.id.in_(ids[:6]))):
        client.send(campaigns._sms(session, r, template))  # these six went out before the crash
    aliyun.faults = [None] * 10 + [None, None, "lost"]  # ten lookups, then a lost answer
    with transactions_seen(session, AliyunSms, "find") as open_while_asked:
        progress = send(session, aliyun, NOW, batch=7, sleep=sleeps.append)
    assert progress.looked_up == 10
    assert open_while_asked == [False] * 10  # no row held while the provider answers
    send(session, aliyun, NOW + timedelta(minutes=1), sleep=sleeps.append)
    sent_to = [s["PhoneNumbers"] for s in aliyun.sent]
    assert len(sent_to) == len(set(sent_to)) == 27  # every one of the 27 once, no one twice
    states = dict(
        session.execute(
            sa.select(CampaignRecipient.state, sa.func.count()).group_by(CampaignRecipient.state)
        ).all()
    )
    assert states == {"sent": 27, "control": 3}
    session.refresh(campaign)
    assert campaign.state == "done" and aliyun.problems == []
    assert all(0 < s <= 0.1 for s in sleeps)  # evenly paced at 600 a minute


def test_a_template_retired_while_sending_sends_no_more(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,  # type: ignore[no-untyped-def]
) -> None:
    """Retired means the shop no longer sends that text: a campaign still sending stops,
    those still waiting are skipped (in the sent group, as every skip) and it is done."""
    campaign = launched(session, shop, setup, 20, 0.0)
    _, template = setup
    assert send(session, aliyun, NOW, per_minute=5).sent == 5
    template.is_active = False
    session.commit()
    progress = send(session, aliyun, NOW + timedelta(minutes=1))
    assert (progress.sent, progress.skipped) == (0, 15) and len(aliyun.sent) == 5
    session.refresh(campaign)
    assert campaign.state == "done"
    found = campaigns.results(session, campaign, now=NOW + timedelta(minutes=2))
    assert found.sent_group == 20 and found.skipped == {"模板已停用": 15}


def test_what_changed_since_the_launch_is_checked_before_each_send(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,
    make_user: Callable[..., User],  # type: ignore[no-untyped-def]
) -> None:
    """A big campaign goes out over hours: a buyer who replied R to another campaign, asked
    not to be contacted, posted a 差评 now worked as a case, or was called an hour ago is
    not messaged; they stay in the sent group of the uplift, as the control keeps theirs."""
    from tests.factories import logged_attempt, open_case
    from tracker.models.enums import CaseOutcome, CaseStatus

    admin, template = setup
    people = [buyer(session, shop, i, days_ago=120) for i in range(8)]
    session.commit()
    segments.recompute(session, shop, now=NOW)
    campaign = dormant_campaign(session, shop, admin, template, control_share=0.0)
    campaigns.launch(session, campaign, actor=admin, now=NOW)
    opted_out, stopped, complained, called, *rest = people
    opted_out.marketing_opt_out_at = NOW + timedelta(minutes=5)
    stopped.do_not_contact_at = NOW + timedelta(minutes=5)
    case = open_case(session, shop, at=NOW + timedelta(minutes=5), key="c1", nick="新差评")
    case.buyer_id = complained.id
    other = open_case(session, shop, at=NOW - timedelta(days=60), key="c2", nick="老案件")
    other.buyer_id, other.status = called.id, CaseStatus.UNRECOVERED  # called again after
    other.outcome, other.closed_at = CaseOutcome.REFUSED, NOW - timedelta(days=30)
    logged_attempt(session, other.id, make_user(Role.AGENT, [shop]).id, NOW + timedelta(minutes=10))
    session.commit()
    later = NOW + timedelta(hours=1)
    progress = send(session, aliyun, later, batch=3)
    assert (progress.sent, progress.skipped) == (4, 4)
    sent_to = {s["PhoneNumbers"] for s in aliyun.sent}
    assert sent_to == {f"139{i:08d}" for i in range(4, 8)}
    states = {
        r.buyer_id: (r.state, r.last_error) for r in session.scalars(sa.select(CampaignRecipient))
    }
    assert states[opted_out.id] == states[stopped.id] == ("skipped", "买家要求勿扰或已退订")
    assert states[complained.id] == ("skipped", "有未结案件")
    assert states[called.id] == ("skipped", "7 天内联系过")
    assert all(states[b.id] == ("sent", None) for b in rest)
    session.refresh(campaign)
    assert campaign.state == "done"
    found = campaigns.results(session, campaign, now=NOW)
    assert found.sent == 4 and found.sent_group == 8
    assert found.skipped == {"买家要求勿扰或已退订": 2, "有未结案件": 1, "7 天内联系过": 1}


def test_the_contact_policy_holds_a_buyer_until_it_allows(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,
    make_user: Callable[..., User],  # type: ignore[no-untyped-def]
) -> None:
    """A campaign told to keep recently contacted buyers still keeps the shop's rule (the
    default: a two-hour gap, two contacts a day, five a week): no message an hour after a
    call; it waits until the rule allows and goes then, not skipped for good. A send
    counts: a second campaign an hour later waits its turn, and a buyer whose day is full
    gets it the next morning. One the rule holds off past the hold window is skipped."""
    from tests.factories import logged_attempt, open_case

    admin, template = setup
    people = [buyer(session, shop, i, days_ago=120) for i in range(4)]
    agent = make_user(Role.AGENT, [shop])
    # buyer 3: five calls in the last three days (two a day; calls at one moment are one)
    five = [24 * d + h for d, h in ((3, 1), (3, 3), (2, 1), (2, 3), (1, 1))]
    calls = {0: [0.5], 1: [25], 2: [30], 3: five}
    for n, who in enumerate(people):
        case = open_case(session, shop, at=NOW - timedelta(days=60), key=f"k{n}", nick=f"k{n}")
        case.buyer_id = who.id
        for hours_ago in calls[n]:
            logged_attempt(session, case.id, agent.id, NOW - timedelta(hours=hours_ago))
    session.commit()
    segments.recompute(session, shop, now=NOW)
    keep = Exclusions(open_case=False, contacted_days=None)
    first = dormant_campaign(session, shop, admin, template, keep, control_share=0.0)
    campaigns.launch(session, first, actor=admin, now=NOW)
    progress = send(session, aliyun, NOW)
    assert {s["PhoneNumbers"] for s in aliyun.sent} == {"13900000001", "13900000002"}
    assert (progress.held, progress.skipped) == (1, 1)
    found = campaigns.results(session, first, now=NOW)
    # five contacts in a week until three days from now: past the hold window
    assert found.skipped == {campaigns.TOO_OFTEN: 1}
    gap_ends = NOW - timedelta(hours=0.5) + timedelta(hours=2)  # 11:30
    assert (found.held, found.held_until, found.waiting) == (1, gap_ends, 1)

    second = dormant_campaign(session, shop, admin, template, keep, control_share=0.0)
    campaigns.launch(session, second, actor=admin, now=NOW + timedelta(hours=1))
    send(session, aliyun, NOW + timedelta(hours=1))
    assert len(aliyun.sent) == 2  # the first campaign's sends count: an hour is too soon
    assert campaigns.results(session, second, now=NOW + timedelta(hours=1)).held == 3

    send(session, aliyun, gap_ends)  # the first campaign's held buyer; the day is now full
    assert [s["PhoneNumbers"] for s in aliyun.sent[2:]] == ["13900000000"]
    session.refresh(first)
    assert first.state == "done" and campaigns.results(session, first, now=gap_ends).sent == 3
    tomorrow = datetime.combine(NOW.date() + timedelta(days=1), time(9), tzinfo=SH)
    assert campaigns.results(session, second, now=gap_ends).held_until == NOW + timedelta(hours=2)
    send(session, aliyun, NOW + timedelta(hours=2))  # two hours after their first message
    assert sorted(s["PhoneNumbers"] for s in aliyun.sent[3:]) == ["13900000001", "13900000002"]
    assert campaigns.results(session, second, now=NOW + timedelta(hours=2)).held_until == tomorrow
    send(session, aliyun, tomorrow - timedelta(minutes=1))
    assert len(aliyun.sent) == 5
    # its moment come, the buyer is no longer held: simply waiting for the next batch
    due = campaigns.results(session, second, now=tomorrow)
    assert (due.held, due.held_until, due.waiting) == (0, None, 1)
    send(session, aliyun, tomorrow)
    assert aliyun.sent[5]["PhoneNumbers"] == "13900000000"
    session.refresh(second)
    found = campaigns.results(session, second, now=tomorrow)
    assert second.state == "done" and (found.sent, found.held) == (3, 0)
    assert found.skipped == {campaigns.TOO_OFTEN: 1}  # the week still full, as before


def test_marketing_waits_for_the_day_and_a_rate_limit_stops_the_run(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,  # type: ignore[no-untyped-def]
) -> None:
    launched(session, shop, setup, 5, 0.0)
    night = NOW.replace(hour=22)
    send(session, aliyun, night)
    assert aliyun.sent == []
    aliyun.faults = [None, None, "throttle"]
    progress = send(session, aliyun, NOW)
    assert progress.sent == 2 and progress.waiting == 3
    send(session, aliyun, NOW)
    assert len(aliyun.sent) == 5


def test_a_reply_r_unsubscribes_and_the_results_compare_with_control(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,  # type: ignore[no-untyped-def]
) -> None:
    admin, template = setup
    people = [buyer(session, shop, i, days_ago=120) for i in range(40)]
    session.commit()
    assert campaigns.unsubscribe(session, shop.id, "13900000003", "好的", now=NOW) == 0
    assert campaigns.unsubscribe(session, shop.id, "+86 139 0000 0003", "R", now=NOW) == 1
    segments.recompute(session, shop, now=NOW)
    campaign = dormant_campaign(session, shop, admin, template, control_share=0.25)
    campaigns.launch(session, campaign, actor=admin, now=NOW)
    assert campaign.excluded == {"买家要求勿扰或已退订": 1}
    send(session, aliyun, NOW)
    recipients = session.scalars(sa.select(CampaignRecipient)).all()
    for r in recipients:  # half of those messaged buy again within the month, nobody held back does
        if not r.control and r.buyer_id % 2:
            session.add(
                Order(
                    shop_id=shop.id,
                    tid=f"R{r.buyer_id}",
                    buyer_id=r.buyer_id,
                    payment=Decimal("50"),
                    paid_at=NOW + timedelta(days=3),
                )
            )
    session.commit()
    found = campaigns.results(session, campaign, now=NOW)
    assert (found.sent, found.control) == (29, 10) and people
    assert found.revenue is not None and found.revenue.control_mean == 0
    assert (
        found.revenue.difference == pytest.approx(found.revenue.sent_mean)
        and found.revenue.significant
    )
    bought = sum(1 for r in recipients if not r.control and r.buyer_id % 2)
    assert found.conversion is not None
    assert found.conversion.difference == pytest.approx(bought / 29)
    assert found.until == NOW + timedelta(days=30)


def test_delivery_receipts_are_read_back_and_never_shrink_the_sent_group(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,  # type: ignore[no-untyped-def]
) -> None:
    campaign = launched(session, shop, setup, 12, 0.25)
    send(session, aliyun, NOW)
    sent = [r for r in session.scalars(sa.select(CampaignRecipient)) if r.state == "sent"]
    assert len(sent) == 9 and len(aliyun.sent) == 9
    aliyun.deliver(sent[0].provider_ref or "")
    aliyun.deliver(sent[1].provider_ref or "")
    aliyun.deliver(sent[2].provider_ref or "", ok=False, error="MK:0001")
    later = NOW + timedelta(minutes=5)
    assert campaigns.poll_receipts(session, now=later, clients=clients(aliyun), tz=SH) == 3
    # nothing new: the others are still waiting, asked again next run, and counted once
    assert campaigns.poll_receipts(session, now=later, clients=clients(aliyun), tz=SH) == 0
    session.expire_all()
    failed = session.get(CampaignRecipient, sent[2].id)
    assert failed.delivery == "undelivered" and "MK:0001" in (failed.last_error or "")
    assert session.get(CampaignRecipient, sent[0].id).delivered_at is not None
    found = campaigns.results(session, campaign, now=NOW)
    assert (found.delivered, found.undelivered, found.no_receipt) == (2, 1, 6)
    assert found.sent == 9  # the uplift still compares everyone sent to with the control
    # past the days the provider keeps receipts, the rest are unknown for good
    gone = NOW + timedelta(days=4)
    assert campaigns.poll_receipts(session, now=gone, clients=clients(aliyun), tz=SH) == 6
    session.expire_all()
    assert {r.delivery for r in session.scalars(sa.select(CampaignRecipient))} >= {"unknown"}
    assert campaigns.poll_receipts(session, now=gone, clients=clients(aliyun), tz=SH) == 0


def test_a_recipient_whose_number_lapsed_before_the_send_stays_in_the_sent_group(
    session: Session,
    shop: Shop,
    setup,
    aliyun: FakeAliyun,  # type: ignore[no-untyped-def]
) -> None:
    """Everyone chosen against everyone held back: leaving out those the SMS never reached
    would compare the reachable with everyone (the control group keeps such buyers too)."""
    from tracker.models import ContactHandle

    campaign = launched(session, shop, setup, 12, 0.25)
    lapsed = session.scalars(
        sa.select(CampaignRecipient).where(CampaignRecipient.control.is_(False))
    ).first()
    assert lapsed is not None
    session.get(ContactHandle, lapsed.handle_id).sealed = None  # wiped when it lapsed
    session.commit()
    progress = send(session, aliyun, NOW)
    assert (progress.sent, progress.failed) == (8, 1)
    session.expire_all()
    assert session.get(CampaignRecipient, lapsed.id).state == "failed"
    lapsed_buyer = session.get(CampaignRecipient, lapsed.id).buyer_id
    session.add(  # the buyer came back by themselves: it counts for the sent group
        Order(shop_id=shop.id, tid="T-back", buyer_id=lapsed_buyer, payment=100, paid_at=NOW)
    )
    session.commit()
    found = campaigns.results(session, campaign, now=NOW)
    assert (found.sent, found.failed, found.sent_group, found.control) == (8, 1, 9, 3)
    assert found.revenue is not None and found.revenue.sent_mean == pytest.approx(100 / 9)


def test_a_campaign_needs_a_marketing_template(session: Session, shop: Shop, setup) -> None:  # type: ignore[no-untyped-def]
    admin, template = setup
    template.purpose = MessagePurpose.NOTICE
    session.commit()
    with pytest.raises(FieldError, match="营销"):
        dormant_campaign(session, shop, admin, template)
    assert date(2026, 11, 30) == NOW.date()


def test_buyers_whose_order_arrived_late(session: Session, shop: Shop) -> None:
    slow, quick = buyer(session, shop, 1, days_ago=10), buyer(session, shop, 2, days_ago=10)
    for b, days in ((slow, 6), (quick, 2)):
        order = session.scalars(sa.select(Order).where(Order.buyer_id == b.id)).one()
        order.received_at = order.paid_at + timedelta(days=days)
    session.commit()
    segments.recompute(session, shop, now=NOW)
    numbers, _ = campaigns.choose(
        session, shop.id, Audience(delivered_late_days=4), Exclusions(contacted_days=None), now=NOW
    )
    assert set(numbers) == {slow.id}
    assert Audience.from_dict(Audience(delivered_late_days=4).to_dict()).delivered_late_days == 4


def test_a_campaign_template_must_ask_only_for_what_a_campaign_can_fill(
    session: Session,
    shop: Shop,
    setup,  # type: ignore[no-untyped-def]
) -> None:
    admin, template = setup
    template.body = "${name}您好，您买过的${product}上新了，拒收请回复R"
    session.commit()
    with pytest.raises(FieldError, match="product"):
        dormant_campaign(session, shop, admin, template)


def test_a_campaign_is_shown_as_its_buyers_read_it_and_refused_what_it_cannot_send(
    session: Session,
    shop: Shop,
    setup,  # type: ignore[no-untyped-def]
) -> None:
    """The form offers each marketing template filled as a buyer reads it, with the SMS it
    is billed as; a template the campaign cannot send is offered greyed out, with the words
    saving it would give."""
    admin, template = setup
    template.body = "${name}您好，${shop}新品上市老客专享九折，拒收请回复R"
    long = approved_template(
        session, shop, "${name}您好，" + "新品" * 30 + "，拒收请回复R", at=NOW,
        purpose=MessagePurpose.MARKETING, name="长", code="SMS_L",
    )  # fmt: skip
    by_order = approved_template(
        session, shop, "${name}您好，老客九折，拒收请回复R", at=NOW,
        purpose=MessagePurpose.MARKETING, name="平台", code="TPL_9",
    )  # fmt: skip
    by_order.provider = "platform"
    approved_template(session, shop, "${name}您好，已处理。", at=NOW, name="通知", code="SMS_N")
    session.commit()
    offered = {t.template.name: t for t in campaigns.template_texts(session, shop)}
    assert set(offered) == {"老客回访", "长", "平台"}  # marketing templates only
    first = offered["老客回访"]
    assert (
        first.text == f"【好店】张先生/女士您好，{shop.name[:20]}新品上市老客专享九折，拒收请回复R"
    )
    assert (first.parts, first.refusal) == (1, None)
    assert len(offered["长"].text) == 4 + 6 + 3 + 60 + 7 and offered["长"].parts == 2
    refusal = offered["平台"].refusal
    assert refusal is not None and "平台短信（按订单）只能在案件里" in refusal
    with pytest.raises(FieldError, match=re.escape(refusal)):
        dormant_campaign(session, shop, admin, by_order)
    assert campaigns.campaign_text(long, shop).refusal is None
    # a draft whose template was retired since it was saved is not launched
    draft = dormant_campaign(session, shop, admin, template)
    template.is_active = False
    session.commit()
    with pytest.raises(FieldError, match="不能发送：请选择本店已登记的短信模板"):
        campaigns.launch(session, draft, actor=admin, now=NOW)
    assert draft.state == "draft"
    assert session.scalar(sa.select(sa.func.count()).select_from(CampaignRecipient)) == 0


def test_the_page_says_when_a_campaign_held_by_the_night_goes_on(
    session: Session, shop: Shop, setup
) -> None:  # type: ignore[no-untyped-def]
    campaign = launched(session, shop, setup, 3, 0.0)
    night = NOW.replace(hour=22)
    assert campaigns.resumes_at(shop, campaign, now=night, tz=SH) == datetime(
        2026, 12, 1, 9, 0, tzinfo=SH
    )
    assert campaigns.resumes_at(shop, campaign, now=NOW, tz=SH) is None  # going now
    campaign.state = "done"
    assert campaigns.resumes_at(shop, campaign, now=night, tz=SH) is None
