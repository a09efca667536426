"""Working a case: claim, assign, attempts, status flow, reasons, remedies, explanation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import HOURS, NOW
from tests.databases import fresh_database
from tests.factories import open_case, recorded_remedy
from tracker import create_app
from tracker.extensions import db
from tracker.models import AuditEvent, Case, ContactAttempt, Shop, User
from tracker.models.enums import AttemptOutcome as A
from tracker.models.enums import CaseOutcome as O
from tracker.models.enums import CaseStatus as S
from tracker.models.enums import Channel as C
from tracker.models.enums import Platform, Reason, RemedyKind, Role
from tracker.services import buyer_profiles
from tracker.services import cases as svc
from tracker.services.case_page import detail, works_case_of
from tracker.services.errors import FieldError

LATER = NOW + timedelta(days=4)  # the review is posted 3 days after NOW by the factory


@pytest.fixture
def agent(make_user, shop: Shop) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.AGENT, shops=[shop], display_name="客服小林")


def attempt(outcome: A = A.NO_ANSWER, channel: C = C.PHONE, at=None, **kw) -> svc.AttemptDraft:  # type: ignore[no-untyped-def]
    return svc.AttemptDraft(channel=channel, attempted_at=at or LATER, outcome=outcome, **kw)


def test_claim_and_claim_again(session: Session, shop: Shop, agent: User, make_user) -> None:  # type: ignore[no-untyped-def]
    case = open_case(session, shop, at=NOW)
    svc.claim(session, case, agent, now=LATER)
    assert case.owner_id == agent.id
    other = make_user(Role.AGENT, shops=[shop])
    with pytest.raises(svc.AlreadyClaimed, match="已由客服小林认领"):
        svc.claim(session, case, other, now=LATER)
    with pytest.raises(svc.AlreadyClaimed, match="您已经认领"):
        svc.claim(session, case, agent, now=LATER)


def test_claiming_a_case_takes_the_buyers_other_unclaimed_ones(
    session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = open_case(session, shop, at=NOW, key="1")
    free, theirs, done, stranger = (
        open_case(session, shop, at=NOW, key=k, nick=f"买家{k}") for k in "2345"
    )
    # opened after the claim (a claim replayed at its time, as the demo's month is): not
    # the buyer's case yet when the agent claimed
    later = open_case(session, shop, at=LATER, key="6", nick="买家6")
    colleague = make_user(Role.AGENT, shops=[shop])
    for other in (free, theirs, done, later):
        other.buyer_id = case.buyer_id
    theirs.owner_id = colleague.id
    done.status, done.closed_at = S.UNRECOVERED, NOW
    session.commit()
    version = free.version
    assert later.opened_at > LATER
    assert svc.claim(session, case, agent, now=LATER) == [free.id]
    for c in (free, theirs, done, stranger, later):
        session.refresh(c)
    assert free.owner_id == agent.id and free.version == version + 1  # an open page is stale
    assert (theirs.owner_id, done.owner_id, stranger.owner_id) == (colleague.id, None, None)
    assert later.owner_id is None
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == free.id, AuditEvent.field == "owner")
    ).one()
    assert audit.actor_id == agent.id and f"#{case.id}" in audit.new_value


def test_a_first_attempt_on_an_unclaimed_case_takes_the_buyers_others_too(
    session: Session, shop: Shop, agent: User
) -> None:
    case = open_case(session, shop, at=NOW, key="1")
    sibling = open_case(session, shop, at=NOW, key="2", nick="同一人")
    sibling.buyer_id = case.buyer_id
    session.commit()
    svc.log_attempt(
        session,
        case,
        attempt(A.NO_ANSWER, at=LATER),
        actor=agent,
        now=LATER,
        expected_version=case.version,
        hours=HOURS,
    )
    session.refresh(sibling)
    assert case.owner_id == sibling.owner_id == agent.id


def test_first_attempt_stops_the_clock_and_conversation_is_separate(
    session: Session, shop: Shop, agent: User
) -> None:
    case = open_case(session, shop, at=NOW)
    v = case.version
    svc.log_attempt(
        session,
        case,
        attempt(A.NO_ANSWER, at=LATER),
        actor=agent,
        now=LATER,
        expected_version=v,
        hours=HOURS,
    )
    assert (case.first_attempt_at, case.first_conversation_at) == (LATER, None)
    assert case.status is S.CONTACTING and case.owner_id == agent.id  # working it claims it
    talk = LATER + timedelta(hours=3)
    svc.log_attempt(
        session,
        case,
        attempt(A.CONSIDERING, C.WANGWANG, at=talk, next_attempt_at=talk + timedelta(days=1)),
        actor=agent,
        now=talk,
        expected_version=case.version,
        hours=HOURS,
    )
    assert case.first_attempt_at == LATER and case.first_conversation_at == talk
    assert case.status is S.WAITING and case.attempt_count == 2
    assert case.next_follow_up_at == talk + timedelta(days=1)
    fields = set(session.scalars(sa.select(AuditEvent.field).where(AuditEvent.case_id == case.id)))
    assert {"owner", "status", "attempt"} <= fields


def test_a_try_that_missed_the_buyer_keeps_the_suggested_next_try_as_the_follow_up(
    session: Session, shop: Shop, agent: User
) -> None:
    """Left blank after 未接通, 下次跟进 becomes the case page's suggestion (another part of
    the day, in working hours): the buyer comes back on the agent's list. A typed one is
    kept, and a try that reached the buyer leaves the next step to the agent."""
    case = open_case(session, shop, at=NOW)

    def log(draft: svc.AttemptDraft, at: datetime) -> None:
        svc.log_attempt(
            session, case, draft, actor=agent, now=at, expected_version=case.version, hours=HOURS
        )

    log(attempt(A.NO_ANSWER, at=LATER), LATER)  # Tuesday 10:00 in Shanghai, by phone
    shown = detail(session, case, viewer=agent, now=LATER, hours=HOURS).next_try
    assert shown is not None and case.next_follow_up_at == shown.at
    assert case.next_follow_up_at == LATER + timedelta(hours=4, minutes=30)  # 下午 14:30
    # logged at the suggested moment with the page's defaults (下次跟进 blank): accepted
    back = case.next_follow_up_at
    log(attempt(A.BUSY, shown.channel, at=back), back)
    assert case.attempt_count == 2 and case.next_follow_up_at is not None
    assert case.next_follow_up_at >= back + timedelta(hours=2)  # never straight again
    again, typed = back + timedelta(days=1), back + timedelta(days=3)
    log(attempt(A.NO_ANSWER, at=again, next_attempt_at=typed), again)
    assert case.next_follow_up_at == typed
    log(attempt(A.CONSIDERING, C.WANGWANG, at=typed), typed)
    assert case.next_follow_up_at is None


def test_a_problem_being_handled_reaches_the_buyer_and_keeps_the_check_on_the_list(
    session: Session, shop: Shop, agent: User
) -> None:
    """已接通-问题处理中 on a case that waited on a promise: the first conversation is
    recorded, the case is 联系中 again (the shop has work to do), the promise stands, and
    the call that checks the problem is solved is the case's next follow-up."""
    case = open_case(session, shop, at=NOW)
    svc.log_attempt(
        session, case, attempt(A.AGREED), actor=agent, now=LATER, expected_version=None,
        hours=HOURS,
    )  # fmt: skip
    assert case.status is S.WAITING and case.promised_at == LATER
    talk, check = LATER + timedelta(days=1), LATER + timedelta(days=3)
    with pytest.raises(FieldError, match="需要下次跟进时间") as info:
        svc.log_attempt(
            session, case, attempt(A.HANDLING, at=talk), actor=agent, now=talk,
            expected_version=None, hours=HOURS,
        )  # fmt: skip
    assert info.value.field == "next_attempt_at" and case.attempt_count == 1
    svc.log_attempt(
        session, case, attempt(A.HANDLING, at=talk, next_attempt_at=check), actor=agent,
        now=talk, expected_version=None, hours=HOURS,
    )  # fmt: skip
    assert case.status is S.CONTACTING and case.attempt_count == 2
    assert case.promised_at == LATER and case.next_follow_up_at == check
    said = session.scalars(
        sa.select(AuditEvent.new_value)
        .where(AuditEvent.case_id == case.id, AuditEvent.field == "attempt")
        .order_by(AuditEvent.id)
    ).all()
    assert said[-1] == "电话 · 已接通-问题处理中"
    fresh = open_case(session, shop, at=NOW, key="2", nick="另一位")
    svc.log_attempt(
        session, fresh, attempt(A.HANDLING, at=talk, next_attempt_at=check), actor=agent,
        now=talk, expected_version=None, hours=HOURS,
    )  # fmt: skip
    assert fresh.first_attempt_at == fresh.first_conversation_at == talk


def test_a_follow_up_planned_in_the_quiet_hours_is_refused_as_it_could_not_be_made(
    session: Session, shop: Shop, agent: User
) -> None:
    """A 下次跟进 at 21:30 (working hours run to 22:00, the contact policy to 21:00) would put
    a call on the list the policy refuses when it comes: refused next to the field."""
    from tracker.domain.contact_policy import ContactPolicy

    shop.contact_policy = ContactPolicy().to_dict()  # 09:00–21:00
    case = open_case(session, shop, at=NOW)
    night = LATER + timedelta(hours=11, minutes=30)  # Tuesday 21:30 in Shanghai
    with pytest.raises(
        FieldError, match="下次跟进 11-24 21:30 是休息时间：只在 09:00–21:00"
    ) as info:
        svc.log_attempt(
            session, case, attempt(A.HANDLING, next_attempt_at=night), actor=agent, now=LATER,
            expected_version=None, hours=HOURS,
        )  # fmt: skip
    assert info.value.field == "next_attempt_at" and case.attempt_count == 0
    morning = night + timedelta(hours=12)  # 09:30 the next day
    svc.log_attempt(
        session, case, attempt(A.HANDLING, next_attempt_at=morning), actor=agent, now=LATER,
        expected_version=None, hours=HOURS,
    )  # fmt: skip
    assert case.next_follow_up_at == morning


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (attempt(at=LATER + timedelta(hours=1)), "attempted_at"),
        (attempt(at=NOW - timedelta(days=10)), "attempted_at"),
        (attempt(next_attempt_at=LATER - timedelta(minutes=1)), "next_attempt_at"),
        (attempt(duration_seconds=-5), "duration_minutes"),
        (attempt(A.HANDLING), "next_attempt_at"),  # when to check it is solved
    ],
)
def test_bad_attempts_write_nothing(
    session: Session, shop: Shop, agent: User, draft: svc.AttemptDraft, field: str
) -> None:
    case = open_case(session, shop, at=NOW)
    with pytest.raises(FieldError) as info:
        svc.log_attempt(
            session, case, draft, actor=agent, now=LATER, expected_version=None, hours=HOURS
        )
    assert info.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(ContactAttempt.id))) == 0


def test_close_recovered_then_reopen(
    session: Session, shop: Shop, agent: User, make_user: Callable[..., User]
) -> None:
    case = open_case(session, shop, at=NOW)
    with pytest.raises(FieldError, match="结案需要选择结果"):
        svc.change_status(
            session, case, S.RECOVERED, None, actor=agent, now=LATER, expected_version=None
        )
    for verified in (O.REVIEW_REVISED, O.REVIEW_DELETED, O.POSITIVE_FOLLOW_UP):
        with pytest.raises(FieldError, match="由平台数据确认后自动设置"):  # intake's to set
            svc.change_status(
                session, case, S.RECOVERED, verified, actor=agent, now=LATER, expected_version=None
            )
    with pytest.raises(FieldError, match="由平台数据确认后自动设置"):
        svc.change_status(
            session,
            case,
            S.UNRECOVERED,
            O.PROMISE_BROKEN,
            actor=agent,
            now=LATER,
            expected_version=None,
        )
    with pytest.raises(FieldError, match="只有主管"):
        svc.change_status(
            session,
            case,
            S.RECOVERED,
            O.MANUAL_RECOVERED,
            actor=agent,
            now=LATER,
            expected_version=None,
            note="买家电话里说改了",
        )
    boss = make_user(Role.SUPERVISOR, [shop])
    with pytest.raises(FieldError, match="请写明认定挽回的依据"):
        svc.change_status(
            session,
            case,
            S.RECOVERED,
            O.MANUAL_RECOVERED,
            actor=boss,
            now=LATER,
            expected_version=None,
        )
    svc.change_status(
        session,
        case,
        S.RECOVERED,
        O.MANUAL_RECOVERED,
        actor=boss,
        now=LATER,
        expected_version=case.version,
        note="买家发来截图，平台数据尚未同步",
    )
    assert (case.status, case.outcome, case.closed_by_id, case.outcome_note) == (
        S.RECOVERED,
        O.MANUAL_RECOVERED,
        boss.id,
        "买家发来截图，平台数据尚未同步",
    )
    svc.change_status(
        session, case, S.CONTACTING, None, actor=agent, now=LATER, expected_version=case.version
    )
    assert case.closed_at is None and case.outcome is None
    history = session.scalars(
        sa.select(AuditEvent.new_value).where(
            AuditEvent.case_id == case.id, AuditEvent.field == "status"
        )
    ).all()
    assert history[-2:] == ["recovered", "contacting"]


def test_a_stale_edit_is_refused_with_who_changed_it(
    session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = open_case(session, shop, at=NOW)
    seen = case.version
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="周主管")
    svc.assign(session, [case], agent, actor=boss, now=LATER)
    with pytest.raises(svc.StaleCase, match="周主管"):
        svc.log_attempt(
            session, case, attempt(), actor=agent, now=LATER, expected_version=seen, hours=HOURS
        )
    assert case.attempt_count == 0


def test_agents_work_only_their_own_or_unassigned_cases(
    session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    case = open_case(session, shop, at=NOW)
    svc.claim(session, case, agent, now=LATER)
    other = make_user(Role.AGENT, shops=[shop])
    with pytest.raises(svc.CaseConflict, match="客服小林负责"):
        svc.log_attempt(
            session, case, attempt(), actor=other, now=LATER, expected_version=None, hours=HOURS
        )
    with pytest.raises(svc.CaseConflict, match="只有主管"):
        svc.assign(session, [case], other, actor=other, now=LATER)


def test_bulk_assign_checks_the_owners_shops(
    session: Session, shop: Shop, agent: User, make_user, make_shop
) -> None:  # type: ignore[no-untyped-def]
    cases = [open_case(session, shop, at=NOW, key=str(i), nick=f"n{i}") for i in range(3)]
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    assert svc.assign(session, cases, agent, actor=boss, now=LATER) == 3
    outsider = make_user(Role.AGENT, shops=[make_shop()])
    with pytest.raises(FieldError, match="不负责"):
        svc.assign(session, cases, outsider, actor=boss, now=LATER)
    assert svc.assign(session, cases, None, actor=boss, now=LATER) == 3
    assert all(c.owner_id is None for c in cases)


def test_reasons_remedies_and_totals(session: Session, shop: Shop, agent: User) -> None:
    case = open_case(session, shop, at=NOW)
    svc.set_reasons(
        session,
        case,
        [Reason.LOGISTICS, Reason.PACKAGING],
        actor=agent,
        now=LATER,
        expected_version=case.version,
    )
    assert {(r.reason, r.is_confirmed) for r in case.reasons} == {
        (Reason.LOGISTICS, True),
        (Reason.PACKAGING, True),
    }
    with pytest.raises(FieldError, match="至少选择一个原因"):
        svc.set_reasons(session, case, [], actor=agent, now=LATER, expected_version=None)
    svc.add_remedy(
        session,
        case,
        svc.RemedyDraft(RemedyKind.COUPON, Decimal("10"), Decimal("10")),
        actor=agent,
        now=LATER,
        expected_version=None,
    )
    svc.add_remedy(
        session,
        case,
        svc.RemedyDraft(RemedyKind.RESEND, Decimal("39.9"), Decimal("25.5"), "补发一箱"),
        actor=agent,
        now=LATER,
        expected_version=None,
    )
    totals = svc.remedy_totals(case)
    assert (totals.amount, totals.cost) == (Decimal("49.90"), Decimal("35.50"))
    with pytest.raises(FieldError, match=r"0 到 999999\.99"):
        svc.add_remedy(
            session,
            case,
            svc.RemedyDraft(RemedyKind.GIFT, Decimal("-1"), Decimal(0)),
            actor=agent,
            now=LATER,
            expected_version=None,
        )


def test_explanation_limits_window_and_posting(session: Session, shop: Shop, agent: User) -> None:
    case = open_case(session, shop, at=NOW)
    recorded_remedy(session, case.id, agent.id, LATER)  # what the explanation says was done
    session.commit()
    with pytest.raises(FieldError, match="最多 500 字"):
        svc.save_explanation(
            session, case, "字" * 501, actor=agent, now=LATER, expected_version=None
        )
    svc.save_explanation(
        session, case, "亲，非常抱歉，已为您补发。", actor=agent, now=LATER, expected_version=None
    )
    sent: list[tuple[str, str]] = []
    assert svc.post_explanation(
        session,
        case,
        actor=agent,
        now=LATER,
        expected_version=None,
        publish=lambda oid, text: sent.append((oid, text)),
    )
    assert sent == [("O1:buyer", "亲，非常抱歉，已为您补发。")]  # the review key
    assert case.review.explanation == "亲，非常抱歉，已为您补发。"
    with pytest.raises(FieldError, match="已经发布"):
        svc.save_explanation(session, case, "再改", actor=agent, now=LATER, expected_version=None)
    late = open_case(session, shop, at=NOW, key="2", nick="乙")
    with pytest.raises(FieldError, match="超过 30 天"):
        svc.save_explanation(
            session, late, "解释", actor=agent, now=NOW + timedelta(days=40), expected_version=None
        )


def test_an_explanation_that_offers_something_for_the_review_is_not_published(
    session: Session, shop: Shop, agent: User
) -> None:
    """A draft is saved with a warning; published under the review for every buyer to read,
    an inducement is the shop's offence, so neither the platform nor 已手动发布 takes it."""
    case = open_case(session, shop, at=NOW)
    draft = "亲，给您补发了，麻烦把评价改一下，再送您一张优惠券"
    findings = svc.save_explanation(
        session, case, draft, actor=agent, now=LATER, expected_version=None
    )
    assert [f.kind for f in findings] == ["inducement"]
    sent: list[tuple[str, str]] = []
    for publish in (lambda oid, text: sent.append((oid, text)), None):
        with pytest.raises(FieldError, match="涉嫌诱导好评"):
            svc.post_explanation(
                session, case, actor=agent, now=LATER, expected_version=None, publish=publish
            )
    assert sent == [] and case.explanation_posted_at is None and case.review.explanation is None


def test_an_explanation_that_names_the_buyer_is_kept_as_a_draft_and_never_published(
    session: Session, shop: Shop, agent: User
) -> None:
    """A 商家解释 is public: the buyer's name, nick, address or order number, or any phone
    number, in it would show every shopper who the buyer is."""
    case = open_case(session, shop, at=NOW, nick="橙子买家")
    buyer_profiles.keep(case.buyer, name="郑俊杰", region="浙江省杭州市西湖区文三路100号")
    recorded_remedy(session, case.id, agent.id, LATER)
    session.commit()
    sent: list[tuple[str, str]] = []
    for draft, kind, said in (
        ("郑俊杰您好，非常抱歉，已为您补发。", "privacy", "写出了买家的个人信息"),
        ("橙子买家您好，已为您补发。", "privacy", "写出了买家的个人信息"),
        ("已为您补发到文三路100号，请查收。", "privacy", "写出了买家的个人信息"),
        ("订单 T1 已为您补发。", "privacy", "写出了买家的个人信息"),
        ("已为您补发，有问题请打 13812345678。", "number", "写了电话号码"),
    ):
        findings = svc.save_explanation(
            session, case, draft, actor=agent, now=LATER, expected_version=None
        )
        assert [f.kind for f in findings] == [kind], draft
        assert case.explanation_draft == draft  # kept, to be fixed
        for publish in (lambda oid, text: sent.append((oid, text)), None):
            with pytest.raises(FieldError, match=said):
                svc.post_explanation(
                    session, case, actor=agent, now=LATER, expected_version=None, publish=publish
                )
        assert sent == [] and case.explanation_posted_at is None
    assert (
        svc.save_explanation(
            session,
            case,
            "郑**您好，非常抱歉，已为您补发。",
            actor=agent,
            now=LATER,
            expected_version=None,
        )
        == []
    )
    assert not svc.post_explanation(
        session, case, actor=agent, now=LATER, expected_version=None, publish=None
    )
    assert case.review.explanation == "郑**您好，非常抱歉，已为您补发。"


def test_manual_posting_and_a_failing_platform_marks_nothing(
    session: Session, shop: Shop, agent: User
) -> None:
    case = open_case(session, shop, at=NOW)
    svc.save_explanation(session, case, "解释", actor=agent, now=LATER, expected_version=None)

    def broken(oid: str, text: str) -> None:
        raise RuntimeError("TOP down")

    with pytest.raises(RuntimeError):
        svc.post_explanation(
            session, case, actor=agent, now=LATER, expected_version=None, publish=broken
        )
    session.rollback()
    assert case.explanation_posted_at is None
    assert not svc.post_explanation(
        session, case, actor=agent, now=LATER, expected_version=None, publish=None
    )
    assert case.explanation_posted_at == LATER


def test_case_page_fills_scripts_and_shows_the_phone_only_to_its_worker(
    session: Session,
    shop: Shop,
    agent: User,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import time
    from zoneinfo import ZoneInfo

    from tracker.domain.working_hours import WorkingHours

    case = open_case(session, shop, at=NOW, text="快递太慢了", nick="小鱼")
    buyer_profiles.keep(case.buyer, name="李雷")
    session.commit()
    hours = WorkingHours(tz=ZoneInfo("Asia/Shanghai"), periods=((time(9), time(22)),))
    assert not works_case_of(session, agent, case)
    svc.claim(session, case, agent, now=LATER)
    svc.log_attempt(
        session,
        case,
        attempt(A.NO_ANSWER),
        actor=agent,
        now=LATER,
        expected_version=None,
        hours=HOURS,
    )
    page = detail(session, case, viewer=agent, now=LATER, hours=hours)
    assert page.can_see_numbers and page.handles[0].hint == "138****5678"
    texts = [s.text for s in page.scripts]
    assert any("李雷" in t for t in texts) and any("赣南脐橙" in t for t in texts)
    looked = [h for h in page.history if h.is_access]
    assert [(h.field, h.new) for h in looked] == [("查看姓名地址", "姓名 李*")]
    assert {s.reason_label for s in page.scripts} >= {"通用", "物流问题"}
    assert page.next_try is not None and page.next_try.channel is not C.PHONE
    assert page.purchases is not None and page.purchases.order_count == 1
    assert not detail(
        session, case, viewer=make_user(Role.SUPERVISOR, shops=[shop]), now=LATER, hours=hours
    ).can_see_numbers


def test_the_case_page_sums_a_loyal_buyers_orders_and_lists_the_latest(
    session: Session, shop: Shop
) -> None:
    from tracker.models import Order
    from tracker.services.browse import purchase_summary

    case = open_case(session, shop, at=NOW, text="快递太慢了")
    for i in range(12):  # twelve more orders, the last the newest of all
        session.add(
            Order(
                shop_id=shop.id,
                tid=f"MORE{i}",
                buyer_id=case.buyer_id,
                payment=Decimal("10.05"),
                paid_at=NOW - timedelta(days=30 - i) if i < 11 else NOW + timedelta(days=1),
            )
        )
    session.commit()
    summary = purchase_summary(session, case.buyer_id, recent=10)
    assert summary.order_count == 13
    assert summary.total_spent == Decimal("39.90") + 12 * Decimal("10.05")
    assert summary.first_purchase_at == NOW - timedelta(days=30)
    assert summary.last_purchase_at == NOW + timedelta(days=1)
    assert [o.tid for o in summary.recent_orders] == [
        "MORE11",
        "T1",
        *(f"MORE{i}" for i in range(10, 2, -1)),
    ]  # the ten newest, newest first

    nothing = purchase_summary(session, case.buyer_id + 10_000)  # no such buyer, no orders
    assert (nothing.order_count, nothing.total_spent, nothing.recent_orders) == (
        0,
        Decimal("0.00"),
        [],
    )
    assert nothing.first_purchase_at is None and nothing.last_purchase_at is None


# -- real concurrency: two connections on a fresh database ---------------------------------
@pytest.fixture
def live(tmp_path: Path):  # type: ignore[no-untyped-def]
    with fresh_database(tmp_path) as url:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path)
        )
        with app.app_context():
            upgrade()
            engine = db.engine
            factory = sessionmaker(bind=engine)
            with factory() as s:
                shop = Shop(code="live", name="并发店", platform=Platform.TAOBAO, created_at=NOW)
                s.add(shop)
                s.commit()
                users = []
                for i in (1, 2):
                    user = User(
                        username=f"agent{i}",
                        display_name=f"客服{i}",
                        role=Role.AGENT,
                        created_at=NOW,
                        shops=[shop],
                        password_hash="x",
                    )
                    s.add(user)
                    users.append(user)
                s.commit()
                case_id = open_case(s, shop, at=NOW).id
                ids = [u.id for u in users]
            yield factory, case_id, ids
            engine.dispose()


def test_two_agents_claiming_at_the_same_moment(live) -> None:  # type: ignore[no-untyped-def]
    factory, case_id, user_ids = live
    barrier = threading.Barrier(2, timeout=20)
    results: dict[int, str] = {}

    def worker(user_id: int) -> None:
        with factory() as s:
            case, user = s.get(Case, case_id), s.get(User, user_id)
            s.commit()  # like two requests: nobody holds a transaction while the other waits
            barrier.wait()
            try:
                svc.claim(s, case, user, now=LATER)
                results[user_id] = "claimed"
            except svc.AlreadyClaimed as exc:
                results[user_id] = str(exc)

    threads = [threading.Thread(target=worker, args=(u,)) for u in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values())[0] == "claimed"
    loser = next(v for v in results.values() if v != "claimed")
    winner = next(u for u, v in results.items() if v == "claimed")
    assert f"已由客服{user_ids.index(winner) + 1}认领" in loser
    with factory() as s:
        assert s.get(Case, case_id).owner_id == winner


def test_concurrent_edits_do_not_overwrite_each_other(live) -> None:  # type: ignore[no-untyped-def]
    """Both read version 1; the second writer is refused instead of silently winning."""
    factory, case_id, (first, second) = live
    with factory() as a, factory() as b:
        # two pages showing version 1; neither request holds a transaction afterwards
        case_a = a.get(Case, case_id)
        seen = case_a.version
        a.commit()
        case_b = b.get(Case, case_id)
        b.commit()
        svc.change_status(
            a,
            case_a,
            S.UNRECOVERED,
            O.REFUSED,
            actor=a.get(User, first),
            now=LATER,
            expected_version=seen,
        )
        with pytest.raises(svc.StaleCase):
            svc.change_status(
                b,
                case_b,
                S.UNRECOVERED,
                O.SATISFIED_UNCHANGED,
                actor=b.get(User, second),
                now=LATER,
                expected_version=seen,
            )
    with factory() as s:
        case = s.get(Case, case_id)
        assert (case.status, case.outcome) == (S.UNRECOVERED, O.REFUSED)


def test_the_compliance_guard_blocks_a_conditional_remedy_and_warns_on_a_draft(
    session: Session, shop: Shop, agent: User
) -> None:
    case = open_case(session, shop, at=NOW)
    with pytest.raises(FieldError, match="第九条") as caught:
        svc.add_remedy(
            session,
            case,
            svc.RemedyDraft(RemedyKind.COUPON, Decimal(10), Decimal(10), "改好评后再发10元券"),
            actor=agent,
            now=LATER,
            expected_version=None,
        )
    assert caught.value.field == "note" and not case.remedies
    warnings = svc.save_explanation(
        session, case, "好评返现，欢迎再来", actor=agent, now=LATER, expected_version=None
    )
    assert [w.kind for w in warnings] == ["inducement"] and case.explanation_draft  # kept
    assert (
        svc.save_explanation(
            session, case, "给您带来不便，抱歉。", actor=agent, now=LATER, expected_version=None
        )
        == []
    )


def test_an_explanation_that_says_a_remedy_was_given_needs_it_recorded(
    session: Session, shop: Shop, agent: User
) -> None:
    """已为您补发 in a 商家解释 stood under the review for every shopper to read, whether or not
    anyone had arranged a reissue, and the reports counted no cost for it. An offer (如需
    补发请联系客服) is no such claim; once the 补发 is in 补偿, the same words may go out."""
    case = open_case(session, shop, at=NOW)
    draft = "非常抱歉！已为您补发一件新的，差价也已经退给您了。如需换货请联系客服。"
    findings = svc.save_explanation(
        session, case, draft, actor=agent, now=LATER, expected_version=None
    )
    assert [f.describe() for f in findings] == [
        "“已为您补发一件新的，差价也已经退给您了”说了本案件没有登记的补偿"
        "（本案件还没有登记补发：先在“补偿”里登记，再发布）",
        "“已为您补发一件新的，差价也已经退给您了”说了本案件没有登记的补偿"
        "（本案件还没有登记退款（部分或全额）：先在“补偿”里登记，再发布）",
    ]
    with pytest.raises(FieldError, match="本案件还没有登记补发"):
        svc.post_explanation(
            session, case, actor=agent, now=LATER, expected_version=None, publish=None
        )
    for kind in (RemedyKind.RESEND, RemedyKind.PARTIAL_REFUND):
        svc.add_remedy(
            session,
            case,
            svc.RemedyDraft(kind, Decimal(10), Decimal(10)),
            actor=agent,
            now=LATER,
            expected_version=None,
        )
    assert svc.explanation_findings(session, case, draft) == []
    assert not svc.post_explanation(
        session, case, actor=agent, now=LATER, expected_version=None, publish=None
    )
    assert case.review.explanation == draft


def test_scripts_greet_a_buyer_without_a_name_as_qin_never_by_nick(
    session: Session, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from tracker.domain.working_hours import WorkingHours

    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(
        session, shop, at=NOW, nick="kiki_0719", title="【顺丰包邮】氨基酸洗面奶 温和清洁 100g"
    )
    hours = WorkingHours(tz=ZoneInfo("Asia/Shanghai"))
    opening = next(
        s
        for s in detail(session, case, viewer=agent, now=LATER, hours=hours).scripts
        if s.title == "开场问候"
    )
    assert opening.text.startswith("亲您好") and "kiki_0719" not in opening.text
    assert "对氨基酸洗面奶的评价" in opening.text


@pytest.mark.parametrize(
    ("platform", "asks", "never"),
    [
        (Platform.TAOBAO, "在订单里把评价改一下", "追评"),
        (Platform.TMALL, "在订单里追评说一下现在的情况", "改一下"),  # a Tmall review cannot change
        (Platform.WECHAT, "同意我们提交的和解", "改一下"),
    ],
)
def test_the_script_asks_the_buyer_only_what_the_platform_allows(
    session: Session, shop: Shop, make_user, platform: Platform, asks: str, never: str
) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from tracker.domain.working_hours import WorkingHours

    shop.platform = platform
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=NOW)
    hours = WorkingHours(tz=ZoneInfo("Asia/Shanghai"))
    scripts = detail(session, case, viewer=agent, now=LATER, hours=hours).scripts
    ask = next(s for s in scripts if s.title == "请买家更新评价")
    assert asks in ask.text and never not in ask.text and "{" not in ask.text


def test_the_history_shows_times_in_the_shops_zone(session: Session, shop: Shop) -> None:
    from zoneinfo import ZoneInfo

    from tracker.models import AuditEvent
    from tracker.services.case_page import history

    case = open_case(session, shop, at=NOW)
    session.add(
        AuditEvent(
            occurred_at=NOW,
            actor_id=None,
            entity_type="case",
            entity_id=case.id,
            case_id=case.id,
            field="first_contact_due_at",
            old_value="2026-12-01T03:00:00+00:00",
            new_value="2026-12-01T05:30:00+00:00",
        )
    )
    session.commit()
    entry = next(
        e for e in history(session, case.id, ZoneInfo("Asia/Shanghai")) if e.field == "首次联系时限"
    )
    assert (entry.old, entry.new) == ("12-01 11:00", "12-01 13:30")


def test_scheduler_log_lines_carry_the_shops_time() -> None:
    import logging
    from zoneinfo import ZoneInfo

    from tracker.cli.intake import ShopTimeFormatter

    record = logging.LogRecord("tracker.jobs", logging.INFO, __file__, 1, "x", None, None)
    record.created = 1_764_432_000.0  # 2025-11-29 16:00:00 UTC
    assert (
        ShopTimeFormatter(ZoneInfo("Asia/Shanghai")).formatTime(record) == "2025-11-30 00:00:00 CST"
    )


def test_two_agents_claiming_two_cases_of_one_buyer_at_once(live) -> None:  # type: ignore[no-untyped-def]
    """Each claim takes the buyer's other unclaimed case along: at the same moment, neither
    may wait for the other's row (on PostgreSQL that was a deadlock, one claim failing)."""
    factory, first_id, user_ids = live
    with factory() as s:
        shop = s.get(Shop, s.get(Case, first_id).shop_id)
        pairs = []
        for i in range(6):
            one = open_case(s, shop, at=NOW, key=f"p{i}a", nick=f"买家{i}")
            two = open_case(s, shop, at=NOW, key=f"p{i}b", nick=f"买家{i}b")
            two.buyer_id = one.buyer_id
            s.commit()
            pairs.append((one.id, two.id))
    failures: list[str] = []
    for pair in pairs:
        barrier = threading.Barrier(2, timeout=20)

        def worker(user_id: int, case_id: int, barrier: threading.Barrier = barrier) -> None:
            with factory() as s:
                case, user = s.get(Case, case_id), s.get(User, user_id)
                s.commit()
                barrier.wait()
                try:
                    svc.claim(s, case, user, now=LATER)
                except svc.AlreadyClaimed:
                    pass  # the other took it along first: what the agent is told
                except Exception as exc:  # a deadlock is the failure
                    failures.append(repr(exc))

        threads = [
            threading.Thread(target=worker, args=(u, c))
            for u, c in zip(user_ids, pair, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert failures == []
    with factory() as s:
        owners = s.scalars(
            sa.select(Case.owner_id).where(Case.id.in_([c for p in pairs for c in p]))
        ).all()
    assert len(owners) == 12 and None not in owners


def test_a_follow_up_is_moved_without_a_contact_to_log_and_the_move_is_audited(
    session: Session, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    """改约: the owner moves the 下次跟进 (to a day they work, or the one the buyer named);
    refused in the past, in the shop's quiet hours, on a closed case, by someone who does
    not work the case, or over a stale page; the same time is no change."""
    shop = make_shop(contact_policy=None)  # the default: 09:00–21:00
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    case = open_case(session, shop, at=NOW)
    svc.claim(session, case, agent, now=LATER)
    svc.log_attempt(
        session,
        case,
        attempt(A.CONSIDERING, next_attempt_at=LATER + timedelta(days=1)),
        actor=agent,
        now=LATER,
        expected_version=None,
        hours=HOURS,
    )
    monday = (LATER + timedelta(days=2)).replace(hour=2, minute=0, second=0, microsecond=0)

    def move(at, who=agent, version=None, now=LATER):  # type: ignore[no-untyped-def]
        return svc.reschedule_follow_up(
            session, case, at, actor=who, now=now, expected_version=version, hours=HOURS
        )

    assert move(monday) is True  # 10:00 Beijing
    assert case.next_follow_up_at == monday
    moved = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.field == "next_follow_up_at")
    ).one()
    assert (moved.actor_id, moved.new_value) == (agent.id, monday.isoformat())
    assert moved.old_value == (LATER + timedelta(days=1)).isoformat()
    assert move(monday) is False  # the same time: nothing to record
    with pytest.raises(FieldError, match="应晚于现在") as caught:
        move(LATER - timedelta(minutes=1))
    assert caught.value.field == "at"
    with pytest.raises(FieldError, match="是休息时间"):
        move(monday.replace(hour=14))  # 22:00 Beijing
    with pytest.raises(svc.CaseConflict):
        move(monday + timedelta(hours=1), who=make_user(Role.AGENT, shops=[shop]))
    with pytest.raises(svc.StaleCase):
        move(monday + timedelta(hours=1), version=case.version - 1)
    # passed with no contact: the agent logs the contact that was due; a supervisor may move it
    after = monday + timedelta(minutes=5)
    with pytest.raises(FieldError, match="约好的跟进时间已过"):
        move(monday + timedelta(days=1), now=after)
    assert move(monday + timedelta(days=1), who=make_user(Role.SUPERVISOR, shops=[shop]), now=after)
    case.status, case.closed_at = S.RECOVERED, LATER
    session.commit()
    with pytest.raises(FieldError, match="已结案"):
        move(monday + timedelta(days=2))
    assert case.next_follow_up_at == monday + timedelta(days=1)
