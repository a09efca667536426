"""调班申请: an agent asks for a day worked otherwise, a supervisor decides.

Agents know first that they need a day off or want to swap one; supervisors own the plan
(the roster says who covers the shop's hours). A request carries the day, what the agent
asks for (休息, other periods, or the day swapped with a colleague, and for a 换休 a second
day swapped back in return: both or neither) and why. A swap needs
the colleague's yes before it reaches a supervisor, who sees what the day would look like
(who works, which hours nobody covers) and approves or declines. Only an approval sets
the day, through the same 调班 the supervisor would set by hand, audited as theirs; every
step is news (通知) for whoever must act next or hear the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain.working_hours import Periods, day_label, read_periods, stored_periods
from tracker.models import ShiftRequest, Shop, User
from tracker.models.enums import LEADS, Role, ShiftRequestState
from tracker.services import alerts, availability, notices, roster, shifts
from tracker.services.errors import FieldError, NotFound
from tracker.services.staff_rights import check_may_set
from tracker.services.transaction import retrying, transaction

NEWS = "shift_request"  # the kind of notice about a request: opens 调班申请
OPEN = (ShiftRequestState.WITH_COLLEAGUE, ShiftRequestState.PENDING)
NOTE_LONGEST = 200
RECENT = 20  # decided requests a person sees of their own, the latest first


@dataclass(frozen=True)
class Change:
    """What approving a request does: each agent's day before and after."""

    user: User
    day: date
    before: Periods
    after: Periods

    @property
    def said(self) -> str:
        """客服小王 09:00–18:00 → 休息."""
        return f"{self.user.display_name} {_words(self.before)} → {_words(self.after)}"


def said_all(request: ShiftRequest, found: list[Change]) -> list[str]:
    """Each change in words, with its day when the request spans two (a 换休)."""
    if len(request.days) == 1:
        return [c.said for c in found]
    return [f"{day_label(c.day)} {c.said}" for c in found]


def swapped_back(request: ShiftRequest) -> str:
    """，12-08 周二 还班 after a 换休's first day; nothing for any other request."""
    return "" if request.swap_day is None else f"，{day_label(request.swap_day)} 还班"


def days_label(request: ShiftRequest) -> str:
    """12-05 周六, or 12-05 周六、12-08 周二 for a 换休."""
    return "、".join(day_label(day) for day in request.days)


def _words(periods: Periods) -> str:
    return shifts.describe_day(stored_periods(periods))


def _periods_on(user: User, shop: Shop, day: date, now: datetime, tz: ZoneInfo) -> Periods:
    """What ``user`` works on ``day`` as things stand (nothing when on leave)."""
    leave = availability.leave(user, now, tz)
    if leave is not None and leave.covers(day):
        return ()
    return shifts.hours_of(user, shop, tz).periods_on(day)


def changes(request: ShiftRequest, shop: Shop, *, now: datetime, tz: ZoneInfo) -> list[Change]:
    """What approving ``request`` now would change: the asker's day, and for a swap the
    colleague's (each takes the other's periods as they stand today), on each of its days."""
    if request.swap_with is None:
        mine = _periods_on(request.user, shop, request.day, now, tz)
        return [Change(request.user, request.day, mine, read_periods(request.periods or []))]
    found = []
    for day in request.days:
        mine = _periods_on(request.user, shop, day, now, tz)
        theirs = _periods_on(request.swap_with, shop, day, now, tz)
        found += [
            Change(request.user, day, mine, theirs),
            Change(request.swap_with, day, theirs, mine),
        ]
    return found


@dataclass(frozen=True)
class Outlook:
    """One day of a request on the roster, as it stands and as approving would make it."""

    before: roster.Day
    after: roster.Day

    @property
    def leaves_uncovered(self) -> tuple[str, ...]:
        """The shop's hours approving would leave with nobody on shift (none before)."""
        return tuple(s for s in self.after.uncovered if s not in self.before.uncovered)


def outlook(
    request: ShiftRequest,
    shop: Shop,
    staff: list[User],
    found: list[Change],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> list[Outlook]:
    """Each of the request's days on the roster of ``staff`` as it stands and as approving
    would make it (``found``, its :func:`changes`): how many work, and which of the shop's
    hours nobody would cover."""
    instead = {(c.user.id, c.day): c.after for c in found}
    seen = []
    for day in request.days:
        before = roster.plan(shop, staff, day, now=now, tz=tz, days=1)[0]
        after = roster.plan(shop, staff, day, now=now, tz=tz, days=1, instead=instead)[0]
        seen.append(Outlook(before, after))
    return seen


def ask(
    session: Session,
    user: User,
    shop: Shop,
    day: date,
    *,
    periods: list[list[str]] | None,
    swap_with: User | None,
    note: str,
    now: datetime,
    tz: ZoneInfo,
    swap_day: date | None = None,
) -> ShiftRequest:
    """``user`` asks to work ``periods`` on ``day`` ([] a day off), or to swap the day with
    ``swap_with`` (then ``periods`` is not used), and with ``swap_day`` a second day swapped
    back in return (换休). The colleague of a swap hears of it first; otherwise the shop's
    supervisors do."""
    note = note.strip()
    if user.leads:  # not on the roster, and they set anyone's day themselves
        raise FieldError("day", "主管和管理员不用申请：在排班表里点那一天直接调班。")
    if len(note) > NOTE_LONGEST:
        raise FieldError("note", f"说明最多 {NOTE_LONGEST} 个字。")
    with transaction(session):
        if swap_with is None:
            stored = shifts.checked_day(day, periods if periods is not None else [], now=now, tz=tz)
            swap_day = None  # a day back in return is a swap's
        else:
            shifts.checked_day(day, None, now=now, tz=tz)
            _check_colleague(user, swap_with, shop)
            stored = None
            if swap_day is not None:
                _check_swap_day(day, swap_day, now=now, tz=tz)
        request = ShiftRequest(
            shop_id=shop.id,
            user=user,
            day=day,
            periods=stored,
            swap_with=swap_with,
            swap_day=swap_day,
            note=note,
            state=ShiftRequestState.WITH_COLLEAGUE if swap_with else ShiftRequestState.PENDING,
            created_at=now,
            answer="",
        )
        people = [user, swap_with] if swap_with else [user]
        _lock(session, people)
        for when in request.days:
            for who in people:
                before = _open_for_day(session, who, when)
                if before is None:
                    continue
                # two open requests on one agent's day would each be decided blind
                whose = "你" if who is user else who.display_name
                said = f"{day_label(when)} {whose}已有一份{before.state.label}的调班申请"
                said += "，可先撤回再重新申请。" if who is user else "。"
                under = "swap_with" if who is swap_with else "day" if when == day else "swap_day"
                raise FieldError(under, said)
            for who in people:
                leave = availability.leave(who, now, tz)
                if leave is not None and leave.covers(when):
                    whom = "你" if who is user else who.display_name
                    under = "day" if when == day else "swap_day"
                    raise FieldError(under, f"{day_label(when)} {whom}不在岗，不能调班。")
        found = changes(request, shop, now=now, tz=tz)
        if all(c.before == c.after for c in found):
            raise FieldError(
                "swap_with" if swap_with else "periods",
                f"{days_label(request)} 你们的班一样，换了也不变。"
                if swap_with
                else f"{day_label(day)} 你本来就是{_words(found[0].before)}，不用申请。",
            )
        session.add(request)
        session.flush()
        announce(session, request, found, now)
        return request


def announce(session: Session, request: ShiftRequest, found: list[Change], now: datetime) -> None:
    """Tell whoever must act next on ``request`` (whose approval would make ``found``): the
    colleague of a swap not yet agreed to, else the shop's supervisors (not the asker, if
    one). The caller owns the transaction."""
    asker = request.user
    terms = "；".join(said_all(request, found))
    if request.state is ShiftRequestState.WITH_COLLEAGUE and request.swap_with is not None:
        title = f"{asker.display_name}想和你换 {day_label(request.day)} 的班{swapped_back(request)}"
        _tell(session, [request.swap_with], title, terms, now)
        return
    what = f"与{request.swap_with.display_name}换班" if request.swap_with else "调班"
    _tell(
        session,
        [u for u in alerts.supervisors(session, request.shop_id) if u.id != asker.id],
        f"{asker.display_name}申请{what}：{days_label(request)}，待批准",
        "；".join(filter(None, [terms, request.note])),
        now,
    )


def _check_colleague(user: User, colleague: User, shop: Shop) -> None:
    if colleague.id == user.id:
        raise FieldError("swap_with", "请选一位同事换班。")
    if not colleague.is_active or shop.id not in colleague.shop_ids:
        raise FieldError("swap_with", f"{colleague.display_name}不是本店在职的同事。")


def _check_swap_day(day: date, swap_day: date, *, now: datetime, tz: ZoneInfo) -> None:
    """A 换休's day back: another day, from today up to the furthest a 调班 is set."""
    if swap_day == day:
        raise FieldError("swap_day", "还班要选另一天；只换这一天就不用填。")
    try:
        shifts.checked_day(swap_day, None, now=now, tz=tz)
    except FieldError as exc:
        raise FieldError("swap_day", f"还班的日子：{exc.message}") from exc


def _lock(session: Session, people: list[User]) -> None:
    """Hold ``people``'s rows until the transaction ends, in id order (no deadlock): two asks
    at once (a double click, a swap crossing the colleague's own ask) would each find no
    open request on the day and both be stored. SQLite's writers already go one at a time."""
    ids = sorted(who.id for who in people)
    session.execute(sa.select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())


def _open_for_day(session: Session, user: User, day: date) -> ShiftRequest | None:
    """An undecided request that would change ``user``'s ``day``: their own, or a swap a
    colleague asked them for (either of a 换休's days)."""
    return session.scalar(
        sa.select(ShiftRequest)
        .where(
            sa.or_(ShiftRequest.user_id == user.id, ShiftRequest.swap_with_id == user.id),
            sa.or_(ShiftRequest.day == day, ShiftRequest.swap_day == day),
            ShiftRequest.state.in_(OPEN),
        )
        .limit(1)
    )


def answer(
    session: Session,
    request_id: int,
    colleague: User,
    *,
    agree: bool | None,
    now: datetime,
    tz: ZoneInfo,
) -> ShiftRequest:
    """The colleague of a swap says yes (it goes on to the supervisors) or no (it ends
    there, and the asker hears so); None: neither was chosen."""
    with transaction(session):
        request = _get(session, request_id, colleague)
        if agree is None:
            raise FieldError("request", "请选同意换班或不同意。")
        if request.swap_with_id != colleague.id:
            raise FieldError("request", "只有被邀请换班的同事能回复。")
        _check_state(request, ShiftRequestState.WITH_COLLEAGUE)
        if agree:
            request.state = ShiftRequestState.PENDING
            announce(session, request, changes(request, request.shop, now=now, tz=tz), now)
        else:
            _close(request, ShiftRequestState.DECLINED, colleague, "", now)
            _tell(
                session,
                [request.user],
                f"{colleague.display_name}没有同意和你换 {days_label(request)} 的班",
                "",
                now,
            )
        return request


def decide(
    session: Session,
    request_id: int,
    lead: User,
    *,
    approve: bool | None,
    answer: str,
    now: datetime,
    tz: ZoneInfo,
) -> ShiftRequest:
    """A supervisor (or the admin) approves: each agent's day is set as a 调班, audited as
    the supervisor's, the periods of a swap as they stand now; or declines, with a word
    why (None: neither was chosen). The asker (and the colleague of a swap) hears the
    answer."""
    answer = answer.strip()
    if len(answer) > NOTE_LONGEST:
        raise FieldError("answer", f"回复最多 {NOTE_LONGEST} 个字。")

    def work() -> ShiftRequest:
        request = _get(session, request_id, lead)
        if approve is None:
            raise FieldError("answer", "请选批准或不批准。")
        _check_state(request, ShiftRequestState.PENDING)
        if lead.role not in LEADS:
            raise FieldError("answer", "调班申请由主管批准。")
        if request.user_id == lead.id:
            raise FieldError("answer", "自己的申请请由其他主管处理。")
        everyone = [request.user] + ([request.swap_with] if request.swap_with else [])
        for user in everyone:
            check_may_set(user, lead, field="answer", what="调班")
        if approve:  # every day of it, in this one transaction: a 换休 is both or neither
            today = now.astimezone(tz).date()
            for change in changes(request, request.shop, now=now, tz=tz):
                stored = shifts.checked_day(
                    change.day, stored_periods(change.after), now=now, tz=tz
                )
                shifts.write_day(
                    session,
                    change.user,
                    change.day,
                    stored,
                    actor=lead,
                    now=now,
                    today=today,
                    news=f"{lead.display_name}批准了调班申请",
                )
        _close(
            request,
            ShiftRequestState.APPROVED if approve else ShiftRequestState.DECLINED,
            lead,
            answer,
            now,
        )
        if not approve:
            _tell(
                session,
                everyone,
                f"{lead.display_name}没有批准{request.user.display_name}的调班申请（{days_label(request)}）",
                answer,
                now,
            )
        return request

    return retrying(session, work)


def withdraw(session: Session, request_id: int, user: User, *, now: datetime) -> ShiftRequest:
    """The asker takes back a request not yet decided; whoever was asked hears so."""
    with transaction(session):
        request = _get(session, request_id, user)
        if request.user_id != user.id:
            raise FieldError("request", "只能撤回自己的申请。")
        if request.state not in OPEN:
            raise FieldError("request", f"这份申请{request.state.label}，不能再撤回。")
        asked = request.state
        _close(request, ShiftRequestState.WITHDRAWN, user, "", now)
        told = (
            [request.swap_with]
            if asked is ShiftRequestState.WITH_COLLEAGUE and request.swap_with
            else alerts.supervisors(session, request.shop_id)
        )
        title = f"{user.display_name}撤回了 {days_label(request)} 的调班申请"
        _tell(session, told, title, "", now)
        return request


def lapse(session: Session, *, now: datetime, tz: ZoneInfo) -> int:
    """Close the requests still undecided once a day of theirs has passed (nobody can set
    that day any more) as 已过期, and tell the asker, and the colleague who agreed to a
    swap, rather than leave them waiting on a page nobody acts on. The shop's supervisors
    hear of those that waited on them: one let pass is a day the asker planned around
    without an answer. How many lapsed."""
    today = now.astimezone(tz).date()
    with transaction(session):
        lapsed = session.scalars(
            sa.select(ShiftRequest)
            .where(ShiftRequest.state.in_(OPEN), sa.not_(_upcoming(today)))
            .with_for_update(skip_locked=True)  # one being decided right now is left to that
        ).all()
        for request in lapsed:
            on_leads = request.state is ShiftRequestState.PENDING
            request.state, request.decided_at = ShiftRequestState.EXPIRED, now
            told = [request.user]
            if on_leads:
                told += [request.swap_with] if request.swap_with else []  # they had agreed
                told += alerts.supervisors(session, request.shop_id)
            whose = f"{request.user.display_name}的调班申请（{days_label(request)}）"
            _tell(session, told, f"{whose}到期前没有答复，已过期", "", now)
        return len(lapsed)


def _get(session: Session, request_id: int, actor: User) -> ShiftRequest:
    """The request, locked until the transaction ends: two supervisors clicking 批准 at
    once decide it once (the second sees it decided). Another shop's is not found."""
    request = session.get(ShiftRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None or (actor.role is not Role.ADMIN and request.shop_id not in actor.shop_ids):
        raise NotFound("shift request")
    return request


def _check_state(request: ShiftRequest, wanted: ShiftRequestState) -> None:
    if request.state is not wanted:
        raise FieldError("request", f"这份申请已经{request.state.label}，页面已刷新。")


def _close(
    request: ShiftRequest, state: ShiftRequestState, by: User, answer: str, now: datetime
) -> None:
    request.state, request.decided_by, request.decided_at = state, by, now
    request.answer = answer


def _tell(session: Session, users: list[User], title: str, body: str, now: datetime) -> None:
    notices.tell(session, users, kind=NEWS, title=title, body=body, now=now)


def asked_for(request: ShiftRequest) -> str:
    """What the request asks, in words: 休息, 上班 09:00–18:00, 与晚班小李换班."""
    if request.swap_with is not None:
        return f"与{request.swap_with.display_name}换班{swapped_back(request)}"
    periods = request.periods or []
    return f"上班 {shifts.describe_day(periods)}" if periods else "休息"


@dataclass(frozen=True)
class Shown:
    """A request on the page, with what approving it would do."""

    request: ShiftRequest
    changes: list[Change]
    outlooks: list[Outlook] = field(default_factory=list)  # a lead's, deciding: each day

    @property
    def said(self) -> list[str]:
        return said_all(self.request, self.changes)


@dataclass(frozen=True)
class Requests:
    """The requests a person sees on 调班申请."""

    mine: list[ShiftRequest]  # asked by them: open ones, then the latest decided
    to_answer: list[Shown]  # swaps waiting for their yes
    to_decide: list[Shown]  # a lead's: waiting for a supervisor, in the shop


def _to_answer(user: User) -> sa.ColumnElement[bool]:
    """SQL: a swap waiting for ``user``'s yes."""
    return sa.and_(
        ShiftRequest.swap_with_id == user.id,
        ShiftRequest.state == ShiftRequestState.WITH_COLLEAGUE,
    )


def _to_decide(user: User) -> sa.ColumnElement[bool]:
    """SQL: a request waiting for a supervisor, not ``user``'s own (no lead decides theirs)."""
    return sa.and_(ShiftRequest.state == ShiftRequestState.PENDING, ShiftRequest.user_id != user.id)


def _upcoming(today: date) -> sa.ColumnElement[bool]:
    """SQL: every day of the request is today or later (a day gone cannot be set)."""
    return sa.and_(
        ShiftRequest.day >= today,
        sa.or_(ShiftRequest.swap_day.is_(None), ShiftRequest.swap_day >= today),
    )


def requests_for(
    session: Session, user: User, shop: Shop, *, now: datetime, tz: ZoneInfo
) -> Requests:
    """``user``'s view of the shop's requests. Open requests of days already past are
    left out of what waits: nobody can act on them any more."""
    today = now.astimezone(tz).date()
    base = (
        sa.select(ShiftRequest)
        .where(ShiftRequest.shop_id == shop.id)
        .options(
            selectinload(ShiftRequest.user).selectinload(User.shift_days),
            selectinload(ShiftRequest.swap_with).selectinload(User.shift_days),
            selectinload(ShiftRequest.decided_by),
        )
    )
    upcoming = _upcoming(today)
    mine = list(
        session.scalars(
            base.where(ShiftRequest.user_id == user.id)
            .order_by(ShiftRequest.state.in_(OPEN).desc(), ShiftRequest.created_at.desc())
            .limit(RECENT)
        )
    )
    to_answer = [
        Shown(request, changes(request, shop, now=now, tz=tz))
        for request in session.scalars(
            base.where(_to_answer(user), upcoming).order_by(ShiftRequest.day)
        )
    ]
    to_decide = []
    if user.leads:
        waiting = session.scalars(
            base.where(_to_decide(user), upcoming).order_by(
                ShiftRequest.day, ShiftRequest.created_at
            )
        ).all()
        staff = roster.agents_of(session, shop) if waiting else []
        for request in waiting:
            found = changes(request, shop, now=now, tz=tz)
            to_decide.append(
                Shown(request, found, outlook(request, shop, staff, found, now=now, tz=tz))
            )
    return Requests(mine, to_answer, to_decide)


def waiting_count(session: Session, user: User, shop: Shop, *, today: date) -> int:
    """How many requests wait for ``user``: swaps to answer, and for a lead those to
    decide (the badge beside 调班申请)."""
    waiting = sa.or_(_to_answer(user), _to_decide(user)) if user.leads else _to_answer(user)
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(ShiftRequest)
            .where(ShiftRequest.shop_id == shop.id, _upcoming(today), waiting)
        )
        or 0
    )


def pending_days(session: Session, shop: Shop, *, today: date) -> list[date]:
    """The first day of each of the shop's requests waiting for a supervisor, soonest
    first (the morning digest's line)."""
    rows = session.execute(
        sa.select(ShiftRequest.day, ShiftRequest.swap_day).where(
            ShiftRequest.shop_id == shop.id,
            ShiftRequest.state == ShiftRequestState.PENDING,
            _upcoming(today),
        )
    )
    return sorted(min(d for d in days if d is not None) for days in rows)


def asked_days(
    session: Session, shop: Shop, first: date, last: date
) -> frozenset[tuple[int, date]]:
    """(user id, day) of each agent a waiting request of the shop names between ``first``
    and ``last``: the asker, and the colleague of a swap (the roster marks those cells)."""
    rows = session.execute(
        sa.select(
            ShiftRequest.user_id, ShiftRequest.swap_with_id, ShiftRequest.day, ShiftRequest.swap_day
        ).where(
            ShiftRequest.shop_id == shop.id,
            ShiftRequest.state.in_(OPEN),
            sa.or_(
                ShiftRequest.day.between(first, last), ShiftRequest.swap_day.between(first, last)
            ),
        )
    )
    return frozenset(
        (user_id, day)
        for asker, colleague, *days in rows
        for day in days
        if day is not None and first <= day <= last
        for user_id in (asker, colleague)
        if user_id is not None
    )
