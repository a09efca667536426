"""One list of the times the shop reached a buyer: the case contact policy and a campaign's
"contacted recently" exclusion read the same attempts, 满意度回访 and campaign SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import HOURS, NOW
from tests.factories import approved_template, open_case
from tracker.domain.contact_policy import ContactPolicy
from tracker.models import (
    AuditEvent,
    Campaign,
    CampaignRecipient,
    Case,
    CaseSurvey,
    MessageTemplate,
    Shop,
    User,
)
from tracker.models.enums import AttemptOutcome, Channel, MessagePurpose, Platform, Role
from tracker.services import cases, contact_log
from tracker.services.errors import FieldError

CALL_AT = NOW + timedelta(days=4)  # the factory posts the review three days after NOW


def campaign_sms(session: Session, shop: Shop, case: Case, admin: User, **states: object) -> None:
    """A campaign with one recipient, this case's buyer, in the given state (and sent
    time)."""
    template = approved_template(
        session,
        shop,
        "${name}您好，店里上新了",
        at=NOW,
        purpose=MessagePurpose.MARKETING,
        name="上新提醒",
        code=f"SMS_{session.scalar(sa.select(sa.func.count(MessageTemplate.id)))}",
    )
    campaign = Campaign(
        shop_id=shop.id,
        name="上新",
        audience={},
        exclusions={},
        template_id=template.id,
        state="sending",
        created_by_id=admin.id,
        created_at=NOW,
    )
    session.add(campaign)
    session.flush()
    session.add(
        CampaignRecipient(
            campaign_id=campaign.id,
            buyer_id=case.buyer_id,
            control=states.get("state") == "control",
            state=states["state"],
            out_id=f"c{campaign.id}-{case.buyer_id}",
            sent_at=states.get("sent_at"),
        )
    )
    session.commit()


def call(
    session: Session,
    case: Case,
    agent: User,
    at: object,
    *,
    channel: Channel = Channel.PHONE,
    outcome: AttemptOutcome = AttemptOutcome.NO_ANSWER,
) -> None:
    cases.log_attempt(
        session,
        case,
        cases.AttemptDraft(channel=channel, attempted_at=at, outcome=outcome),  # type: ignore[arg-type]
        actor=agent,
        now=at,  # type: ignore[arg-type]
        expected_version=None,
        hours=HOURS,
    )


def test_a_campaign_sms_this_morning_holds_the_next_call_back(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    agent, admin = make_user(Role.AGENT, shops=[shop]), make_user(Role.ADMIN, shops=[shop])
    shop.contact_policy = ContactPolicy().to_dict()  # the test shop's is lax: the default
    case = open_case(session, shop, at=NOW)
    cases.claim(session, case, agent, now=CALL_AT)
    sms_at = CALL_AT - timedelta(hours=1)
    campaign_sms(session, shop, case, admin, state="sent", sent_at=sms_at)
    assert contact_log.times_for_buyer(session, case.buyer_id) == [sms_at]  # type: ignore[arg-type]
    with pytest.raises(FieldError, match="2 小时"):  # the shop's gap between two contacts
        call(session, case, agent, CALL_AT)
    call(session, case, agent, sms_at + timedelta(hours=2))


@pytest.mark.parametrize("state", ["control", "failed", "queued"])
def test_a_campaign_message_never_sent_is_no_contact(
    session: Session, shop: Shop, make_user: Callable[..., User], state: str
) -> None:
    admin = make_user(Role.ADMIN, shops=[shop])
    case = open_case(session, shop, at=NOW)
    campaign_sms(session, shop, case, admin, state=state)
    assert contact_log.times_for_buyer(session, case.buyer_id) == []  # type: ignore[arg-type]


def test_the_shops_contacted_buyers_since_a_moment(
    session: Session, shop: Shop, make_shop: Callable[..., Shop], make_user: Callable[..., User]
) -> None:
    agent, admin = make_user(Role.AGENT, shops=[shop]), make_user(Role.ADMIN, shops=[shop])
    called = open_case(session, shop, at=NOW, key="1", nick="甲")
    messaged = open_case(session, shop, at=NOW, key="2", nick="乙")
    open_case(session, shop, at=NOW, key="3", nick="丙")  # never contacted
    other_shop = make_shop()
    elsewhere = open_case(session, other_shop, at=NOW, key="4", nick="丁")
    cases.claim(session, called, agent, now=CALL_AT)
    call(session, called, agent, CALL_AT)
    campaign_sms(session, shop, messaged, admin, state="sending", sent_at=CALL_AT)
    campaign_sms(session, other_shop, elsewhere, admin, state="sent", sent_at=CALL_AT)
    since = CALL_AT - timedelta(days=7)
    assert contact_log.buyers_contacted(session, shop.id, since) == {
        called.buyer_id,
        messaged.buyer_id,
    }
    assert contact_log.buyers_contacted(session, shop.id, CALL_AT + timedelta(hours=1)) == set()
    assert session.scalar(sa.select(sa.func.count(CampaignRecipient.id))) == 2


def test_a_call_that_put_the_problem_in_hand_went_well(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """已接通-问题处理中 reached the buyer: the buyer page marks it as a good contact."""
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=NOW)
    cases.log_attempt(
        session,
        case,
        cases.AttemptDraft(
            channel=Channel.PHONE,
            attempted_at=CALL_AT,
            outcome=AttemptOutcome.HANDLING,
            next_attempt_at=CALL_AT + timedelta(days=2),
        ),
        actor=agent,
        now=CALL_AT,
        expected_version=None,
        hours=HOURS,
    )
    found = contact_log.history(session, shop, case.buyer_id)  # type: ignore[arg-type]
    assert [(c.result, c.went_well) for c in found] == [("已接通-问题处理中", True)]


def test_a_buyers_contact_history_names_the_platforms_own_chat(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """The buyer page's 联系记录 and the case's change log said 旺旺/千牛 on a JD shop."""
    shop.platform = Platform.JD
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=NOW)
    call(
        session, case, agent, CALL_AT, channel=Channel.WANGWANG, outcome=AttemptOutcome.MESSAGE_LEFT
    )
    found = contact_log.history(session, shop, case.buyer_id)  # type: ignore[arg-type]
    assert [(c.channel, c.result) for c in found] == [("京东咚咚", "已留言")]
    logged = session.scalars(
        sa.select(AuditEvent.new_value).where(
            AuditEvent.case_id == case.id, AuditEvent.field == "attempt"
        )
    ).one()
    assert logged == "京东咚咚 · 已留言"


def test_a_buyers_contact_history_across_cases_surveys_and_campaigns(
    session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """The buyer page's 联系记录: newest first, what the policy counts and nothing else."""
    agent, admin = make_user(Role.AGENT, shops=[shop]), make_user(Role.ADMIN, shops=[shop])
    case = open_case(session, shop, at=NOW, key="1", nick="甲")
    cases.claim(session, case, agent, now=CALL_AT)
    call(session, case, agent, CALL_AT)
    campaign_sms(session, shop, case, admin, state="sent", sent_at=CALL_AT + timedelta(days=1))
    campaign_sms(session, shop, case, admin, state="control")  # held back: never messaged
    recipient = session.scalars(
        sa.select(CampaignRecipient).where(CampaignRecipient.state == "sent")
    ).one()
    recipient.delivery = "delivered"
    session.add(
        CaseSurvey(
            case_id=case.id,
            shop_id=shop.id,
            state="sent",
            out_id="s1",
            created_at=CALL_AT,
            sent_at=CALL_AT + timedelta(hours=3),
            score=4,
            resolved="partly",
        )
    )
    session.commit()
    found = contact_log.history(session, shop, case.buyer_id)  # type: ignore[arg-type]
    assert [(c.channel, c.result) for c in found] == [
        ("营销短信", "已送达"),
        ("满意度回访", "已回答 4 分，问题解决了一部分"),
        ("电话", "未接通"),
    ]
    assert found[0].campaign == "上新" and found[0].by is None
    assert [c.went_well for c in found] == [True, True, False]  # delivered, answered, no answer
    assert (found[2].by, found[2].case_id) == (agent.display_name, case.id)
    assert len(found) == len(contact_log.times_for_buyer(session, case.buyer_id))  # type: ignore[arg-type]
    assert [c.channel for c in contact_log.history(session, shop, case.buyer_id, limit=1)] == [  # type: ignore[arg-type]
        "营销短信"
    ]
