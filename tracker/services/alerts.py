"""Deadline alerts: find cases whose first-contact deadline is near or passed, or whose
buyer's 30-day revision window is closing, and tell the right people once.

"Once per case and event" holds across scheduler restarts and missed runs because the
notice itself is the record: a notification row is unique per (user, event key), and the
job looks at the cases' state, not at what happened since its last run. E-mails and
chat-robot messages are queued as ``Delivery`` rows and sent by ``deliver``; a failing
channel is retried with back-off and logged, and never holds up the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker.clock import last_day_before, to_local
from tracker.domain import case_flow
from tracker.domain.working_hours import day_label
from tracker.models import Case, CaseSurvey, Delivery, Notification, Shop, User
from tracker.models.accounts import at_work
from tracker.models.enums import AlertEvent, DeliveryChannel, DeliveryStatus, Role
from tracker.models.surveys import RESOLVED, UNSOLVED, UNSOLVED_NEWS
from tracker.services import contact_log, follow_ups, shifts, survey_answers
from tracker.services.transaction import transaction

log = logging.getLogger(__name__)

RETRY_MINUTES = (1, 5, 15, 60, 180)  # after the last one the delivery is given up
BATCH = 200


@dataclass(frozen=True)
class AlertSettings:
    lead: timedelta = timedelta(minutes=30)
    revision_lead: timedelta = timedelta(hours=72)
    horizon: timedelta = timedelta(hours=72)
    email: bool = False
    webhook_url: str | None = None
    base_url: str = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class Notice:
    case: Case
    event: AlertEvent
    to_supervisors: bool
    at: datetime | None = None  # a moment that comes again (each 下次跟进 is told once)
    broadcast: bool = True  # also to the shop's chat robot; a person's own reminder is not

    @property
    def key(self) -> str:
        moment = f":{int(self.at.timestamp())}" if self.at is not None else ""
        return f"{self.event.value}:case:{self.case.id}{moment}"


# A 下次跟进 come due this recently is told to its owner; one older (the job was down) is
# left to the board's 跟进已过 and the morning digest, not told late.
FOLLOW_UP_TOLD_WITHIN = timedelta(minutes=15)


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class Poster(Protocol):
    def post(self, url: str, text: str) -> None: ...


# -- finding what to announce ----------------------------------------------------------------
def due_notices(session: Session, *, now: datetime, settings: AlertSettings) -> list[Notice]:
    awaiting = sa.and_(Case.status.in_(case_flow.OPEN), contact_log.awaits_first_contact(now))
    base = (
        sa.select(Case)
        .join(Shop, Shop.id == Case.shop_id)
        .where(Shop.is_active.is_(True))
        .options(joinedload(Case.owner), joinedload(Case.product))
    )
    notices: list[Notice] = []
    for case in session.scalars(
        base.where(
            awaiting,
            Case.first_contact_due_at > now,
            Case.first_contact_due_at <= now + settings.lead,
        )
    ):
        notices.append(Notice(case, AlertEvent.FIRST_CONTACT_DUE_SOON, case.owner_id is None))
    for case in session.scalars(
        base.where(
            awaiting,
            Case.first_contact_due_at <= now,
            Case.first_contact_due_at > now - settings.horizon,
        )
    ):
        notices.append(Notice(case, AlertEvent.FIRST_CONTACT_OVERDUE, True))
    for case in session.scalars(
        base.where(
            Case.status.in_(case_flow.OPEN),
            Case.revision_window_ends_at > now,
            Case.revision_window_ends_at <= now + settings.revision_lead,
        )
    ):
        notices.append(Notice(case, AlertEvent.REVISION_WINDOW_CLOSING, case.owner_id is None))
    for case in session.scalars(
        base.where(
            Case.status.in_(case_flow.OPEN),
            Case.owner_id.is_not(None),
            Case.next_follow_up_at <= now,
            Case.next_follow_up_at > now - FOLLOW_UP_TOLD_WITHIN,
        )
    ):  # the call-back promised to the buyer, or the check on a problem in hand: 第一时间
        notices.append(
            Notice(case, AlertEvent.FOLLOW_UP_DUE, False, case.next_follow_up_at, broadcast=False)
        )
    return notices


def _held_now(session: Session, case: Case, now: datetime, tz: ZoneInfo) -> str:
    """What the shop's contact policy says of contacting the buyer now, for a reminder that
    says call ("" when it allows it): a follow-up set half an hour after a call comes due
    before the gap has passed, and the case page would refuse the call."""
    held = follow_ups.held_back_by_case(session, [(case.id, now)], now=now, tz=tz).get(case.id)
    if held is None:
        return ""
    said = "按本店联系规则现在还不能联系：" + "；".join(held.refusals)
    if held.earliest is not None:
        said += f"，最早 {to_local(held.earliest, tz):%m-%d %H:%M}"
    return said


def tell_case_news(
    session: Session,
    user: User | None,
    case: Case,
    *,
    kind: str,
    key: str,
    title: str,
    body: str,
    now: datetime,
) -> None:
    """News of ``case`` for ``user`` (a buyer's reply, a survey saying the problem is not
    solved), in their 通知 once (``key``): to them, unless nobody, their account is closed
    or they are 不在岗; then to the shop's supervisors, as every alert of an owner on leave
    goes. The caller owns the transaction."""
    if user is not None and user.is_active and not user.is_away(now):
        told = [user]
    else:
        told = supervisors(session, case.shop_id)
    for person in told:
        session.add(
            Notification(
                user_id=person.id,
                case_id=case.id,
                kind=kind,
                dedupe_key=key,
                title=title,
                body=body,
                created_at=now,
            )
        )


def supervisors(session: Session, shop_id: int) -> list[User]:
    """The shop's supervisors; if it has none, the admins (someone must hear of it)."""
    found = list(
        session.scalars(
            sa.select(User).where(
                User.is_active.is_(True),
                User.role == Role.SUPERVISOR,
                User.shops.any(Shop.id == shop_id),
            )
        )
    )
    if found:
        return found
    return list(
        session.scalars(sa.select(User).where(User.is_active.is_(True), User.role == Role.ADMIN))
    )


def _message(
    notice: Notice,
    settings: AlertSettings,
    tz_name: str,
    unable: str | None,
    held: str = "",
    covering: Sequence[User] = (),
) -> tuple[str, str]:
    case = notice.case
    product = case.product.title if case.product else "（未关联商品）"
    when = {
        AlertEvent.FIRST_CONTACT_DUE_SOON: case.first_contact_due_at,
        AlertEvent.FIRST_CONTACT_OVERDUE: case.first_contact_due_at,
        AlertEvent.REVISION_WINDOW_CLOSING: case.revision_window_ends_at,
        AlertEvent.FOLLOW_UP_DUE: case.next_follow_up_at,
    }[notice.event]
    owner = case.owner.display_name if case.owner else "未分配"
    if unable:  # the supervisors read it: whom they can hand it to now
        owner += f"（{unable}）· " + (
            "当班：" + "、".join(u.display_name for u in covering)
            if covering
            else "现在没有客服当班"
        )
    title = f"{notice.event.label}：案件 #{case.id}"
    said = "约在" if notice.event is AlertEvent.FOLLOW_UP_DUE else "截止"
    body = (
        f"{product} · 负责人：{owner} · {said} {to_local(when, tz_name):%m-%d %H:%M}\n"
        + (f"{held}\n" if held else "")
        + f"{settings.base_url.rstrip('/')}/cases/{case.id}"
    )
    return title, body


def _owner_unable(session: Session, case: Case, now: datetime, tz: ZoneInfo) -> str | None:
    """Why the case's owner cannot act on it now — 不在岗 (leave), 休息 (off their 班次) —
    or None. Their alerts then go to the supervisors, who can hand the case on."""
    shop = session.get(Shop, case.shop_id)  # one read a shop: the identity map keeps it
    if case.owner is None or shop is None:
        return None
    unable = shifts.unable(case.owner, shop, now, tz)
    return unable.why if unable is not None else None


def scan(session: Session, *, now: datetime, settings: AlertSettings, tz_name: str) -> int:
    """Create the notifications (and their e-mail/webhook deliveries) that are due and not
    yet sent; returns how many notifications were created."""
    with transaction(session):
        notices = due_notices(session, now=now, settings=settings)
        if not notices:
            return 0
        sent = set(
            session.execute(
                sa.select(Notification.user_id, Notification.dedupe_key).where(
                    Notification.dedupe_key.in_({n.key for n in notices})
                )
            ).all()
        )
        queued = set(
            session.scalars(
                sa.select(Delivery.dedupe_key).where(
                    Delivery.channel == DeliveryChannel.WEBHOOK,
                    Delivery.dedupe_key.in_({n.key for n in notices}),
                )
            )
        )
        staff: dict[int, list[User]] = {}
        covering: dict[int, list[User]] = {}  # the shop's agents on shift now, read when needed
        created = 0
        tz = ZoneInfo(tz_name)
        for notice in notices:
            case = notice.case
            unable = _owner_unable(session, case, now, tz)
            if notice.to_supervisors or case.owner is None or unable:
                if case.shop_id not in staff:
                    staff[case.shop_id] = supervisors(session, case.shop_id)
                recipients = staff[case.shop_id]
            else:
                recipients = [case.owner]
            fresh = [u for u in recipients if (u.id, notice.key) not in sent]
            broadcast = bool(settings.webhook_url) and notice.broadcast
            if not fresh and not (broadcast and notice.key not in queued):
                continue  # told already (a follow-up is due for a quarter hour of scans)
            held = (  # read only for a reminder about to go: the policy's word on calling now
                _held_now(session, case, now, tz)
                if notice.event is AlertEvent.FOLLOW_UP_DUE
                else ""
            )
            if unable and case.shop_id not in covering:
                shop = session.get(Shop, case.shop_id)
                covering[case.shop_id] = shifts.on_shift_now(session, shop, now, tz) if shop else []
            title, body = _message(
                notice, settings, tz_name, unable, held, covering.get(case.shop_id, ())
            )
            for user in fresh:
                session.add(
                    Notification(
                        user_id=user.id,
                        case_id=case.id,
                        kind=notice.event.value,
                        dedupe_key=notice.key,
                        title=title,
                        body=body,
                        created_at=now,
                    )
                )
                sent.add((user.id, notice.key))
                created += 1
                if settings.email and user.email:
                    _queue(
                        session,
                        DeliveryChannel.EMAIL,
                        f"{notice.key}:user:{user.id}",
                        user.email,
                        title,
                        body,
                        now,
                    )
            if broadcast and notice.key not in queued:
                _queue(
                    session,
                    DeliveryChannel.WEBHOOK,
                    notice.key,
                    settings.webhook_url,
                    title,
                    body,
                    now,
                )
                queued.add(notice.key)
        return created


def _queue(
    session: Session,
    channel: DeliveryChannel,
    key: str,
    target: str,
    subject: str,
    body: str,
    now: datetime,
) -> None:
    session.add(
        Delivery(
            channel=channel,
            dedupe_key=key,
            target=target,
            subject=subject,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
    )


# -- sending ---------------------------------------------------------------------------------
def deliver(
    session: Session,
    *,
    now: datetime,
    mailer: Mailer | None,
    poster: Poster | None,
) -> tuple[int, int]:
    """Send what is due; returns (sent, failed this round). Each delivery is committed on
    its own, so one channel failing or hanging up does not undo or stop another."""
    due = list(
        session.scalars(
            sa.select(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(BATCH)
        )
    )
    senders: dict[DeliveryChannel, Callable[[Delivery], None] | None] = {
        DeliveryChannel.EMAIL: (lambda d: mailer.send(d.target, d.subject, d.body))
        if mailer
        else None,
        DeliveryChannel.WEBHOOK: (lambda d: poster.post(d.target, f"{d.subject}\n{d.body}"))
        if poster
        else None,
    }
    sent = failed = 0
    for delivery in due:
        send = senders[delivery.channel]
        delivery.attempts += 1
        try:
            if send is None:
                raise RuntimeError(f"{delivery.channel.label}未配置")
            send(delivery)
        except Exception as exc:  # any failure of a channel is recorded, never raised
            failed += 1
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if delivery.attempts > len(RETRY_MINUTES):
                delivery.status = DeliveryStatus.FAILED
                log.error("giving up %s delivery %s: %s", delivery.channel, delivery.id, exc)
            else:
                delay = RETRY_MINUTES[delivery.attempts - 1]
                delivery.next_attempt_at = now + timedelta(minutes=delay)
                log.warning(
                    "%s delivery %s failed (try %d), again in %d min: %s",
                    delivery.channel,
                    delivery.id,
                    delivery.attempts,
                    delay,
                    exc,
                )
        else:
            sent += 1
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = now
            delivery.last_error = None
        session.commit()
    return sent, failed


def recent_deliveries(session: Session, limit: int = 50) -> Sequence[Delivery]:
    return list(
        session.scalars(
            sa.select(Delivery)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
    )


# -- the bell --------------------------------------------------------------------------------
def unread_count(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


@dataclass(frozen=True)
class InboxItem:
    """A notice with its case as it is now: the stored text says what was true when it was
    sent (负责人：未分配), the current line what is true on opening it."""

    notification: Notification
    case: Case | None
    # a buyer's "not solved" whose case was worked and asked again since: that ask's answer
    # (or that they have not answered) is the present, however old the notice
    asked_again: CaseSurvey | None = None

    @property
    def now_line(self) -> str:
        case = self.case
        if case is None:
            return ""
        owner = case.owner.display_name if case.owner else "未分配"
        state = case.outcome.label if case.outcome else case.status.label
        contacted = "已联系" if case.first_attempt_at else "尚未联系"
        line = f"现在：{state} · 负责人 {owner} · {contacted}"
        again = self.asked_again
        if again is None:
            return line
        if again.resolved is None:
            return f"{line} · 已再次回访，买家还没答复"
        return f"{line} · 再次回访：问题{RESOLVED[again.resolved]}"


def inbox(session: Session, user_id: int, limit: int = 100) -> list[InboxItem]:
    rows = session.execute(
        sa.select(Notification, Case)
        .outerjoin(Case, Case.id == Notification.case_id)
        .where(Notification.user_id == user_id)
        .options(joinedload(Case.owner))
        .order_by(
            Notification.read_at.is_not(None),
            Notification.created_at.desc(),
            Notification.id.desc(),
        )
        .limit(limit)
    ).all()
    told = {n.case_id for n, _ in rows if n.kind == UNSOLVED_NEWS and n.case_id is not None}
    asks: dict[int, list[CaseSurvey]] = {}
    if told:  # the asks that reached the buyers of these notices, oldest first
        for survey in session.scalars(
            sa.select(CaseSurvey)
            .where(CaseSurvey.case_id.in_(told), CaseSurvey.sent_at.is_not(None))
            .order_by(CaseSurvey.id)
        ):
            asks.setdefault(survey.case_id, []).append(survey)

    def asked_after(notice: Notification) -> CaseSurvey | None:
        if notice.kind != UNSOLVED_NEWS or notice.case_id is None:
            return None
        later = [s for s in asks.get(notice.case_id, ()) if s.created_at > notice.created_at]
        return later[-1] if later else None

    return [InboxItem(n, case, asked_after(n)) for n, case in rows]


def open_notification(
    session: Session, user_id: int, notification_id: int, *, now: datetime
) -> Notification | None:
    """Opening a notice reads it; only the user's own."""
    with transaction(session):
        found = session.get(Notification, notification_id)
        if found is None or found.user_id != user_id:
            return None
        if found.read_at is None:
            found.read_at = now
        return found


def notify_assigned(
    session: Session, case: Case, owner: User, *, actor: User, now: datetime
) -> None:
    """Tell an agent a case was given to them (not when they took it themselves). The
    caller owns the transaction."""
    if owner.id != actor.id:
        _assigned(session, case, owner, f"{actor.display_name}把案件 #{case.id} 分配给你", now)


def notify_same_buyer(session: Session, case: Case, owner: User, *, now: datetime) -> None:
    """Tell the agent working a buyer that intake gave them the same buyer's new case. The
    caller owns the transaction."""
    _assigned(session, case, owner, f"你跟进的买家又有新案件 #{case.id}，已分配给你", now)


def notify_auto_assigned(session: Session, case: Case, owner: User, *, now: datetime) -> None:
    """Tell an agent the shop's 自动分配 gave them a new case. The caller owns the
    transaction."""
    _assigned(session, case, owner, f"新案件 #{case.id} 已自动分配给你", now)


def notify_handed_over(
    session: Session, case: Case, owner: User, *, away: str, now: datetime
) -> None:
    """Tell an agent a colleague's case came to them when the colleague went away. The
    caller owns the transaction."""
    _assigned(session, case, owner, f"{away}不在岗，案件 #{case.id} 转给你跟进", now)


def _assigned(session: Session, case: Case, owner: User, title: str, now: datetime) -> None:
    session.add(
        Notification(
            user_id=owner.id,
            case_id=case.id,
            kind="assigned",
            dedupe_key=f"assigned:case:{case.id}:{int(now.timestamp())}",
            title=title,
            body=case.product.title if case.product else "",
            created_at=now,
        )
    )


# -- the morning digest -----------------------------------------------------------------------
DIGEST_AT = 9  # the shop's hour: the supervisor's morning


def _digest(
    session: Session, shop: Shop, now: datetime, local: datetime, settings: AlertSettings
) -> tuple[str, str]:
    """The digest's title and text: the shop's morning numbers."""
    open_cases = sa.and_(Case.shop_id == shop.id, Case.status.in_(case_flow.OPEN))
    awaiting = sa.and_(open_cases, contact_log.awaits_first_contact(now))
    overdue, unassigned, due_soon, still_open, missed = session.execute(
        sa.select(
            sa.func.count().filter(awaiting, Case.first_contact_due_at <= now),
            sa.func.count().filter(
                awaiting, Case.first_contact_due_at <= now, Case.owner_id.is_(None)
            ),
            sa.func.count().filter(
                awaiting,
                Case.first_contact_due_at > now,
                Case.first_contact_due_at <= now + timedelta(hours=24),
            ),
            sa.func.count().filter(open_cases),
            sa.func.count().filter(Case.shop_id == shop.id, follow_ups.missed(now)),
        ).select_from(Case)
    ).one()
    # confirmations imports cases, which imports this module: imported when used
    from tracker.services.confirmations import count_waiting

    waiting = count_waiting(session, shop.id, now=now)
    base = settings.base_url.rstrip("/")
    title = f"{shop.name} 今日概况（{local:%m-%d}）"
    body = (
        f"超时未联系 {overdue} 件（其中未分配 {unassigned} 件），"
        f"24 小时内到期 {due_soon} 件，进行中共 {still_open} 件。\n"
        f"{base}/cases?view=list&overdue=y"
    )
    if missed:  # a call-back promised to the buyer, or a check on a problem in hand
        body += (
            f"\n约好的跟进时间已过、还没再联系 {missed} 件：\n"
            f"{base}/cases?view=list&scope=all&follow_up_missed=y&sort=follow_up"
        )
    if waiting:  # unsure good ratings start no deadline: only the digest says they wait
        body += f"\n待确认 {waiting} 条（好评但文字可能不满意，等人判断）：{base}/cases/confirm"
    unsolved, still_closed = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Case.closed_at.is_not(None)))
        .select_from(CaseSurvey)
        .join(Case, Case.id == CaseSurvey.case_id)
        .where(
            CaseSurvey.shop_id == shop.id,
            CaseSurvey.resolved.in_(UNSOLVED),
            CaseSurvey.answered_at > now - timedelta(hours=24),
            CaseSurvey.answered_at <= now,
        )
    ).one()
    if unsolved:  # told to each agent; the morning is when a supervisor sees how many
        body += (
            f"\n近 24 小时回访说问题没解决 {unsolved} 件"
            f"（其中 {still_closed} 件仍未重新打开，已通知负责的客服）：\n"
            f"{base}/cases?view=list&scope=all&status=all&survey_unsolved=y&sort=closed"
        )
    unheeded = session.scalar(
        sa.select(sa.func.count()).select_from(survey_answers.unheeded(shop.id).subquery())
    )
    if unheeded:  # of any day: a notice read and scrolled away, and nobody went back
        body += (
            f"\n回访说没解决、还没人跟进的共 {unheeded} 件（之后还没和买家通上话）：\n"
            f"{base}/cases?view=list&scope=all&status=all&survey_unheeded=y&sort=closed"
        )
    zone: ZoneInfo = local.tzinfo  # type: ignore[assignment]
    off = follow_ups.due_while_off(session, shop, now=now, tz=zone, within=timedelta(hours=24))
    if off:  # promised call-backs whose reminder would reach a supervisor only at their time
        who = "、".join(
            f"{session.get(User, owner_id).display_name} {len(due)}"  # type: ignore[union-attr]
            for owner_id, due in sorted(off.items(), key=lambda item: item[1][0].at)
        )
        body += (
            f"\n24 小时内约好的跟进，到时负责人不在班 {sum(map(len, off.values()))} 件（{who}），"
            "可先转给当班的同事"
        )
    away = _away_today(session, shop.id, now)
    if away:  # their cases wait for nobody unless someone takes them
        body += "\n不在岗：" + "、".join(
            f"{name}（手上 {n} 件进行中）" if n else name for name, n in away
        )
    tomorrow = _leave_starting_tomorrow(session, shop.id, local)
    if tomorrow:  # a day to plan who covers
        body += "\n明天起不在岗：" + "、".join(
            f"{name}（至 {last:%m-%d}，手上 {n} 件进行中）" if n else f"{name}（至 {last:%m-%d}）"
            for name, last, n in tomorrow
        )
    if off or away or tomorrow:
        body += f"\n{base}/reports/agents"
    # roster reads leave (availability), which imports this module: imported when used
    from tracker.services.roster import uncovered

    short = uncovered(session, shop, now=now, tz=zone)
    if short:  # shop hours whose new cases nobody on shift would take
        days = "；".join(
            f"{day_label(d.day)} {'全天' if d.nobody_all_day else '、'.join(d.uncovered)}"
            for d in short
        )
        body += f"\n排班：{days} 没有客服当班，新案件会没人接。\n{base}/reports/roster"
    from tracker.services.shift_requests import pending_days  # it imports this module

    asked = pending_days(session, shop, today=local.date())
    if asked:  # an answer is due before the day, and the agent plans on it
        body += (
            f"\n调班申请 {len(asked)} 份待批准（最早 {day_label(asked[0])}）："
            f"{base}/account/shift-requests/"
        )
    return title, body


def _leave_starting_tomorrow(
    session: Session, shop_id: int, local: datetime
) -> list[tuple[str, date, int]]:
    """Leave booked to start on the shop day after ``local``'s: name, last day, open cases."""
    start = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=local.tzinfo)
    return [
        (name, last_day_before(back, local.tzinfo), n)
        for name, back, n in session.execute(
            sa.select(User.display_name, User.away_until, _open_cases_held(shop_id))
            .where(
                User.is_active.is_(True),
                User.away_from >= start,
                User.away_from < start + timedelta(days=1),
                User.shops.any(Shop.id == shop_id),
            )
            .order_by(User.display_name)
        )
    ]


def _open_cases_held(shop_id: int) -> sa.ScalarSelect[int]:
    """SQL, per user row: how many open cases of the shop they hold."""
    return (
        sa.select(sa.func.count())
        .where(
            Case.owner_id == User.id,
            Case.shop_id == shop_id,
            Case.status.in_(case_flow.OPEN),
        )
        .scalar_subquery()
    )


def _away_today(session: Session, shop_id: int, now: datetime) -> list[tuple[str, int]]:
    """The shop's staff away now, and how many of the shop's open cases each still holds."""
    return [
        (name, n)
        for name, n in session.execute(
            sa.select(User.display_name, _open_cases_held(shop_id))
            .where(
                User.is_active.is_(True),
                sa.not_(at_work(now)),
                User.shops.any(Shop.id == shop_id),
            )
            .order_by(User.display_name)
        )
    ]


def morning_digest(
    session: Session, *, now: datetime, settings: AlertSettings, tz_name: str
) -> int:
    """Once a day from 09:00 shop time, each active shop's supervisors get one notice (and
    the chat robot one message) with the morning's numbers, instead of a notice per case:
    every overdue case counts, however old. Returns how many notices were created."""
    local = to_local(now, tz_name)
    if local.hour < DIGEST_AT:
        return 0
    key_day = f"{local:%Y-%m-%d}"
    created = 0
    with transaction(session):
        for shop in session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))):
            key = f"digest:{shop.id}:{key_day}"
            seen = set(
                session.scalars(
                    sa.select(Notification.user_id).where(Notification.dedupe_key == key)
                )
            )
            to_tell = [u for u in supervisors(session, shop.id) if u.id not in seen]
            robot = (
                settings.webhook_url
                and session.scalar(
                    sa.select(Delivery.id).where(
                        Delivery.channel == DeliveryChannel.WEBHOOK, Delivery.dedupe_key == key
                    )
                )
                is None
            )
            if not to_tell and not robot:
                continue  # told already today: the counts are not worked out again each minute
            title, body = _digest(session, shop, now, local, settings)
            for user in to_tell:
                session.add(
                    Notification(
                        user_id=user.id,
                        case_id=None,
                        kind="digest",
                        dedupe_key=key,
                        title=title,
                        body=body,
                        created_at=now,
                    )
                )
                created += 1
            if robot:
                _queue(
                    session, DeliveryChannel.WEBHOOK, key, settings.webhook_url, title, body, now
                )
    return created


def mark_read(
    session: Session, user_id: int, *, now: datetime, notification_id: int | None = None
) -> int:
    """Mark one notification (or all of them) read; only the user's own."""
    with transaction(session):
        query = sa.update(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        if notification_id is not None:
            query = query.where(Notification.id == notification_id)
        changed = session.execute(query.values(read_at=now)).rowcount
        return changed
