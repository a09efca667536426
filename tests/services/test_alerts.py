"""Deadline alerts: who hears of what, once; e-mail and webhook deliveries with retries,
against a local SMTP server and a local HTTP receiver."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tests.factories import open_case
from tracker import jobs
from tracker.channels import SmtpMailer, WebhookPoster
from tracker.models import (
    Case,
    CaseSurvey,
    ContactAttempt,
    Delivery,
    Notification,
    Review,
    Shop,
    User,
)
from tracker.models.enums import (
    AlertEvent,
    AttemptOutcome,
    CaseStatus,
    Channel,
    DeliveryChannel,
    DeliveryStatus,
    Rating,
    Role,
)
from tracker.services import alerts

T0 = NOW + timedelta(days=3, hours=1)  # open_case posts its review at NOW + 3 days
SETTINGS = alerts.AlertSettings(email=True, webhook_url="http://placeholder/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class Receiver:
    """A chat robot that fails until told otherwise."""

    def __init__(self) -> None:
        self.failing = True
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token=t"


@pytest.fixture
def robot() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def team(session: Session, make_shop, make_user) -> tuple[Shop, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop()
    boss = make_user(Role.SUPERVISOR, shops=[shop], email="boss@example.com")
    agent = make_user(Role.AGENT, shops=[shop], email="agent@example.com")
    return shop, boss, agent


def _case(session: Session, shop: Shop, key: str, *, due_in: timedelta, owner: User | None) -> Case:
    case = open_case(session, shop, key=key, nick=f"买家{key}", at=NOW)
    case.first_contact_due_at = T0 + due_in
    case.owner_id = owner.id if owner else None
    session.commit()
    return case


def _notices(session: Session) -> set[tuple[str, int, str]]:
    rows = session.execute(sa.select(Notification.kind, Notification.case_id, Notification.user_id))
    names = dict(session.execute(sa.select(User.id, User.username)).all())
    return {(kind, case_id, names[user_id]) for kind, case_id, user_id in rows}


def test_each_notice_goes_to_the_right_people_once(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent = team
    free = _case(session, shop, "1", due_in=timedelta(minutes=20), owner=None)
    mine = _case(session, shop, "2", due_in=timedelta(minutes=20), owner=agent)
    late = _case(session, shop, "3", due_in=-timedelta(minutes=10), owner=agent)
    later = _case(session, shop, "4", due_in=timedelta(hours=5), owner=agent)
    old = _case(session, shop, "5", due_in=-timedelta(days=10), owner=None)  # beyond horizon
    closing = _case(session, shop, "6", due_in=timedelta(hours=5), owner=agent)
    closing.first_attempt_at = T0 - timedelta(hours=1)
    closing.revision_window_ends_at = T0 + timedelta(days=2)
    session.commit()
    for c in (free, mine, late, later, old):
        c.revision_window_ends_at = T0 + timedelta(days=20)
    session.commit()
    created = alerts.scan(session, now=T0, settings=SETTINGS, tz_name="Asia/Shanghai")
    soon, overdue, window = (
        e.value
        for e in (
            AlertEvent.FIRST_CONTACT_DUE_SOON,
            AlertEvent.FIRST_CONTACT_OVERDUE,
            AlertEvent.REVISION_WINDOW_CLOSING,
        )
    )
    expected = {
        (soon, free.id, boss.username),  # nobody owns it: the supervisors
        (soon, mine.id, agent.username),  # its owner
        (overdue, late.id, boss.username),  # already overdue: the supervisors
        (window, closing.id, agent.username),
    }
    assert _notices(session) == expected and created == 4
    # run again, and again later as after a restart: nothing new until something changes
    assert alerts.scan(session, now=T0, settings=SETTINGS, tz_name="Asia/Shanghai") == 0
    assert (
        alerts.scan(
            session, now=T0 + timedelta(minutes=5), settings=SETTINGS, tz_name="Asia/Shanghai"
        )
        == 0
    )
    # missed runs: an hour later the two "soon" cases are overdue, announced once each
    alerts.scan(session, now=T0 + timedelta(hours=1), settings=SETTINGS, tz_name="Asia/Shanghai")
    assert _notices(session) - expected == {
        (overdue, free.id, boss.username),
        (overdue, mine.id, boss.username),
    }
    emails = session.scalars(
        sa.select(Delivery.target).where(Delivery.channel == DeliveryChannel.EMAIL)
    ).all()
    assert sorted(emails) == ["agent@example.com"] * 2 + ["boss@example.com"] * 4
    webhooks = session.scalar(
        sa.select(sa.func.count()).where(Delivery.channel == DeliveryChannel.WEBHOOK)
    )
    assert webhooks == 6  # one group message per case and event, not per person


def test_a_follow_up_come_due_is_told_to_its_owner_once_and_not_to_the_group(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """约好的跟进到点了: the owner hears of each 下次跟进 as it comes due (第一时间), once; not
    the chat robot (a person's own reminder); one past long ago is the digest's. An owner
    不在岗 has it go to the supervisors, as every alert of theirs does."""
    shop, boss, agent = team
    due = _case(session, shop, "1", due_in=timedelta(hours=5), owner=agent)
    stale = _case(session, shop, "2", due_in=timedelta(hours=5), owner=agent)
    ahead = _case(session, shop, "3", due_in=timedelta(hours=5), owner=agent)
    for case, at in ((due, -5), (stale, -60), (ahead, 30)):
        case.first_attempt_at, case.status = T0 - timedelta(hours=2), CaseStatus.CONTACTING
        case.next_follow_up_at = T0 + timedelta(minutes=at)
        case.revision_window_ends_at = T0 + timedelta(days=20)
    session.commit()

    def scan(at):  # type: ignore[no-untyped-def]
        return alerts.scan(session, now=at, settings=SETTINGS, tz_name="Asia/Shanghai")

    assert scan(T0) == 1
    told = session.scalars(sa.select(Notification)).one()
    assert (told.kind, told.case_id, told.user_id) == ("follow_up_due", due.id, agent.id)
    assert told.title == f"约好的跟进到点了：案件 #{due.id}" and " · 约在 " in told.body
    assert scan(T0 + timedelta(minutes=1)) == 0  # once
    channels = session.scalars(sa.select(Delivery.channel)).all()
    assert channels == [DeliveryChannel.EMAIL]  # the agent's e-mail; no group message
    # the next one of the same case is its own reminder
    due.next_follow_up_at = T0 + timedelta(hours=2)
    session.commit()
    # ``ahead``'s (T0 + 30 min) came due while no scan ran: past the quarter hour, not told late
    assert scan(T0 + timedelta(hours=2, minutes=1)) == 1
    agent.away_from, agent.away_until = T0 + timedelta(hours=3), T0 + timedelta(days=2)  # leave
    ahead.next_follow_up_at = T0 + timedelta(hours=4)
    session.commit()
    scan(T0 + timedelta(hours=4, minutes=2))
    assert ("follow_up_due", ahead.id, boss.username) in _notices(session)
    assert ("follow_up_due", ahead.id, agent.username) not in _notices(session)
    assert stale.id not in {case_id for _, case_id, _ in _notices(session)}


def test_a_follow_up_reminder_says_when_the_contact_policy_holds_the_call_back(
    session: Session, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    """A 下次跟进 set half an hour after a call comes due before the shop's two hours have
    passed: the reminder said call, the case page said 现在不宜联系. The reminder now says
    what the policy says, and from when; one the policy allows says nothing more."""
    shop = make_shop(contact_policy=None)  # the default: 09:00–21:00, 2 a day, 2 h apart
    agent = make_user(Role.AGENT, shops=[shop])
    held = _case(session, shop, "1", due_in=timedelta(hours=5), owner=agent)
    free = _case(session, shop, "2", due_in=timedelta(hours=5), owner=agent)
    called = T0 - timedelta(minutes=30)  # 10:30 in Shanghai
    session.add(
        ContactAttempt(
            case_id=held.id,
            agent_id=agent.id,
            channel=Channel.PHONE,
            attempted_at=called,
            outcome=AttemptOutcome.CONSIDERING,
            notes="",
            created_at=called,
        )
    )
    for case in (held, free):
        case.first_attempt_at, case.status = called, CaseStatus.CONTACTING
        case.next_follow_up_at = T0 - timedelta(minutes=2)
        case.revision_window_ends_at = T0 + timedelta(days=20)
    session.commit()
    assert alerts.scan(session, now=T0, settings=SETTINGS, tz_name="Asia/Shanghai") == 2
    body = {n.case_id: n.body for n in session.scalars(sa.select(Notification))}
    assert (
        "\n按本店联系规则现在还不能联系：距上次联系不足 2 小时，最早 11-23 12:30\n" in body[held.id]
    )
    assert "还不能联系" not in body[free.id]


def test_the_job_sends_each_notice_once_across_restarts(app: Flask, session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, _ = team
    case = _case(session, shop, "1", due_in=-timedelta(minutes=1), owner=None)
    case.first_contact_due_at = jobs.utcnow() - timedelta(minutes=1)  # the job uses the clock
    session.commit()
    case_id, boss_id = case.id, boss.id
    jobs.send_alerts(app)
    jobs.send_alerts(app)  # a second run, in a fresh app context as after a restart
    rows = session.execute(
        sa.select(Notification.user_id, Notification.kind).where(Notification.case_id == case_id)
    ).all()
    assert rows == [(boss_id, AlertEvent.FIRST_CONTACT_OVERDUE.value)]


def test_a_failing_webhook_does_not_stop_the_email_and_is_retried(
    session: Session, team, smtp, robot: Receiver
) -> None:  # type: ignore[no-untyped-def]
    shop, _, _ = team
    inbox, port = smtp
    _case(session, shop, "1", due_in=-timedelta(minutes=5), owner=None)
    settings = alerts.AlertSettings(email=True, webhook_url=robot.url, base_url="https://t.example")
    alerts.scan(session, now=T0, settings=settings, tz_name="Asia/Shanghai")
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender="tracker@example.com")
    sent, failed = alerts.deliver(session, now=T0, mailer=mailer, poster=WebhookPoster(timeout=5))
    assert (sent, failed) == (1, 1)
    assert [to for to, _ in inbox.messages] == [["boss@example.com"]]
    assert "https://t.example/cases/" in inbox.messages[0][1]
    hook = session.scalar(sa.select(Delivery).where(Delivery.channel == DeliveryChannel.WEBHOOK))
    assert hook.status is DeliveryStatus.PENDING and hook.attempts == 1
    assert "500" in (hook.last_error or "") and hook.next_attempt_at == T0 + timedelta(minutes=1)
    # not yet due: nothing is tried; once due and the robot is back, it goes out
    assert alerts.deliver(session, now=T0, mailer=mailer, poster=WebhookPoster()) == (0, 0)
    robot.failing = False
    later = T0 + timedelta(minutes=2)
    assert alerts.deliver(session, now=later, mailer=mailer, poster=WebhookPoster()) == (1, 0)
    assert robot.received[0]["msgtype"] == "text"
    assert "首次联系已超时" in robot.received[0]["text"]["content"]
    assert len(inbox.messages) == 1  # the e-mail is not sent twice
    session.refresh(hook)
    assert hook.status is DeliveryStatus.SENT and hook.last_error is None


def test_a_channel_that_keeps_failing_is_given_up_and_logged(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, _, _ = team
    _case(session, shop, "1", due_in=-timedelta(minutes=5), owner=None)
    alerts.scan(session, now=T0, settings=SETTINGS, tz_name="Asia/Shanghai")
    dead = SmtpMailer(host="127.0.0.1", port=_free_port(), sender="t@example.com", timeout=2)
    moment = T0
    for _ in range(len(alerts.RETRY_MINUTES) + 1):
        alerts.deliver(session, now=moment, mailer=dead, poster=None)
        moment += timedelta(days=1)
    rows = session.scalars(sa.select(Delivery)).all()
    assert {r.status for r in rows} == {DeliveryStatus.FAILED}
    assert all(r.attempts == len(alerts.RETRY_MINUTES) + 1 and r.last_error for r in rows)


def test_the_bell_counts_unread_and_marks_read(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, agent = team
    _case(session, shop, "1", due_in=-timedelta(minutes=5), owner=None)
    _case(session, shop, "2", due_in=-timedelta(minutes=6), owner=None)
    alerts.scan(session, now=T0, settings=alerts.AlertSettings(), tz_name="Asia/Shanghai")
    assert (
        alerts.unread_count(session, boss.id) == 2 and alerts.unread_count(session, agent.id) == 0
    )
    first = alerts.inbox(session, boss.id)[0].notification
    assert alerts.mark_read(session, agent.id, now=T0, notification_id=first.id) == 0  # not theirs
    assert alerts.mark_read(session, boss.id, now=T0, notification_id=first.id) == 1
    assert alerts.unread_count(session, boss.id) == 1
    assert (
        alerts.mark_read(session, boss.id, now=T0) == 1
        and alerts.unread_count(session, boss.id) == 0
    )


def test_the_morning_digest_counts_every_overdue_case_once_a_day(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shop, boss, agent = team
    for i in range(15):  # most overdue for longer than the per-case notices look back
        _case(
            session,
            shop,
            f"d{i}",
            due_in=-timedelta(days=10 - i % 5),
            owner=None if i % 3 else agent,
        )
    early = datetime(2026, 11, 30, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    # two call-backs agreed for yesterday and not made; one for this afternoon
    for key, follow_up in (("f1", -20), ("f2", -18), ("f3", 6)):
        case = _case(session, shop, key, due_in=timedelta(days=1), owner=agent)
        case.first_attempt_at = early - timedelta(days=1)
        case.status, case.next_follow_up_at = (
            CaseStatus.CONTACTING,
            early + timedelta(hours=follow_up),
        )
    posted = early - timedelta(days=2)
    session.add(  # a good rating waiting in 待确认: no deadline, so only the digest tells
        Review(
            shop_id=shop.id, platform_key="unsure:buyer", rating=Rating.GOOD,
            text="还行吧，就是有点慢", posted_at=posted, first_posted_at=posted,
            received_at=posted, updated_at=posted, awaiting_confirmation_at=posted,
        )
    )  # fmt: skip
    # 满意度回访 answers of the last 24 hours: two say the problem is not (all) solved, one of
    # whose cases was reopened since; one says solved, one is older than a day
    for key, resolved, hours_ago, reopened in (
        ("s1", "no", 3, False),
        ("s2", "partly", 2, True),
        ("s3", "yes", 1, False),
        ("s4", "no", 30, False),
    ):
        case = _case(session, shop, key, due_in=timedelta(days=1), owner=agent)
        case.first_attempt_at = early - timedelta(days=3)
        if not reopened:
            case.status, case.closed_at = CaseStatus.UNRECOVERED, early - timedelta(days=2)
        answered = early.replace(hour=9) - timedelta(hours=hours_ago)
        session.add(
            CaseSurvey(
                case_id=case.id, shop_id=shop.id, state="sent", out_id=key,
                created_at=answered, sent_at=answered, answered_at=answered, score=2,
                resolved=resolved,
            )
        )  # fmt: skip
    session.commit()
    settings = alerts.AlertSettings(webhook_url="http://robot.invalid/hook")
    assert (
        alerts.morning_digest(session, now=early, settings=settings, tz_name="Asia/Shanghai") == 0
    )
    nine = early.replace(hour=9)
    assert alerts.morning_digest(session, now=nine, settings=settings, tz_name="Asia/Shanghai") == 1
    assert (
        alerts.morning_digest(
            session, now=nine.replace(hour=11), settings=settings, tz_name="Asia/Shanghai"
        )
        == 0
    )
    digest = session.scalars(sa.select(Notification).where(Notification.kind == "digest")).one()
    assert digest.user_id == boss.id and "超时未联系 15 件（其中未分配 10 件）" in digest.body
    assert "待确认 1 条" in digest.body and "/cases/confirm" in digest.body
    assert (
        "约好的跟进时间已过、还没再联系 2 件：\n"
        "http://127.0.0.1:5000/cases?view=list&scope=all&follow_up_missed=y&sort=follow_up"
    ) in digest.body
    assert (
        "近 24 小时回访说问题没解决 2 件（其中 1 件仍未重新打开，已通知负责的客服）：\n"
        "http://127.0.0.1:5000/cases?view=list&scope=all&status=all&survey_unsolved=y&sort=closed"
    ) in digest.body
    # …and of any day, those nobody has talked to since: s1, the older s4 and the reopened s2
    assert (
        "回访说没解决、还没人跟进的共 3 件（之后还没和买家通上话）：\n"
        "http://127.0.0.1:5000/cases?view=list&scope=all&status=all&survey_unheeded=y&sort=closed"
    ) in digest.body
    robot = session.scalars(
        sa.select(Delivery).where(Delivery.channel == DeliveryChannel.WEBHOOK)
    ).one()
    assert robot.subject == digest.title


def test_an_agent_hears_of_a_case_given_to_them_and_the_inbox_reads_it_as_it_is_now(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    from tracker.services import cases as svc

    shop, boss, agent = team
    case = _case(session, shop, "a1", due_in=timedelta(hours=2), owner=None)
    svc.assign(session, [case], agent, actor=boss, now=NOW)
    [item] = alerts.inbox(session, agent.id)
    assert item.notification.kind == "assigned" and "分配给你" in item.notification.title
    assert "负责人 " + agent.display_name in item.now_line and "尚未联系" in item.now_line
    svc.assign(session, [case], boss, actor=boss, now=NOW + timedelta(minutes=1))  # took it back
    assert len(alerts.inbox(session, boss.id)) == 0  # taking it oneself tells nobody
    assert "负责人 " + boss.display_name in alerts.inbox(session, agent.id)[0].now_line
    opened = alerts.open_notification(session, agent.id, item.notification.id, now=NOW)
    assert opened is not None and opened.read_at == NOW
    assert alerts.open_notification(session, boss.id, item.notification.id, now=NOW) is None
