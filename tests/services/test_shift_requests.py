"""调班申请: an agent asks, a colleague agrees to a swap, a supervisor decides; only an
approval sets the day, and everyone who must act or hear the answer is told."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tracker.domain.working_hours import stored_periods
from tracker.models import AuditEvent, Notification, Shop, User
from tracker.models.enums import Role, ShiftRequestState
from tracker.services import alerts, availability, roster, shift_requests, shifts
from tracker.services.errors import FieldError, NotFound

SH = ZoneInfo("Asia/Shanghai")
SATURDAY = date(2026, 11, 21)  # NOW is the Friday morning before
EARLY, LATE = [["09:00", "15:00"]], [["15:00", "22:00"]]
WEEK = [0, 1, 2, 3, 4, 5, 6]


@pytest.fixture
def team(session: Session, make_shop, make_user) -> tuple[Shop, User, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop()  # the shop's hours: 09:00–12:00, 13:30–22:00 daily
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    early = make_user(Role.AGENT, shops=[shop], display_name="早班小王")
    late = make_user(Role.AGENT, shops=[shop], display_name="晚班小李")
    for agent, periods in ((early, EARLY), (late, LATE)):
        shifts.set_shift(session, agent, periods, WEEK, actor=boss, now=NOW, tz=SH)
    return shop, boss, early, late


def _news(session: Session, user: User) -> list[str]:
    return list(
        session.scalars(
            sa.select(Notification.title)
            .where(Notification.user_id == user.id, Notification.kind == shift_requests.NEWS)
            .order_by(Notification.id)
        )
    )


def _ask(session: Session, user: User, shop: Shop, **kw):  # type: ignore[no-untyped-def]
    values = {"periods": [], "swap_with": None, "note": "孩子开家长会"} | kw
    return shift_requests.ask(session, user, shop, SATURDAY, now=NOW, tz=SH, **values)


def test_a_day_off_asked_waits_for_the_supervisor_and_sets_nothing_until_approved(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, _ = team
    request = _ask(session, early, shop)
    assert request.state is ShiftRequestState.PENDING
    assert shifts.day_set(early, SATURDAY) is None  # a wish is not the plan
    assert _news(session, boss) == ["早班小王申请调班：11-21 周六，待批准"]
    assert "早班小王 09:00–15:00 → 休息" in session.scalar(
        sa.select(Notification.body).where(Notification.user_id == boss.id)
    )
    # the supervisor sees the day as approving would make it: nobody until 15:00
    found = shift_requests.changes(request, shop, now=NOW, tz=SH)
    staff = roster.agents_of(session, shop)
    [seen] = shift_requests.outlook(request, shop, staff, found, now=NOW, tz=SH)
    assert (seen.before.working, seen.before.uncovered) == (2, ())
    assert (seen.after.working, seen.after.uncovered) == (1, ("09:00–12:00", "13:30–15:00"))

    shift_requests.decide(session, request.id, boss, approve=True, answer="", now=NOW, tz=SH)
    assert request.state is ShiftRequestState.APPROVED
    assert (request.decided_by, request.decided_at) == (boss, NOW)
    assert shifts.day_set(early, SATURDAY).periods == []
    # audited as the supervisor's 调班, and the agent told in those words
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.field == f"shift_day:{SATURDAY.isoformat()}")
    )
    assert (event.actor_id, event.new_value) == (boss.id, "off")
    told = session.scalars(sa.select(Notification.title).where(Notification.user_id == early.id))
    assert "主管老陈批准了调班申请：11-21 周六 休息" in list(told)


def test_a_swap_needs_the_colleagues_yes_and_then_each_takes_the_others_hours(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    request = _ask(session, early, shop, swap_with=late, periods=None)
    assert request.state is ShiftRequestState.WITH_COLLEAGUE
    assert _news(session, late) == ["早班小王想和你换 11-21 周六 的班"]
    assert _news(session, boss) == []  # not the supervisor's yet
    # the supervisor cannot decide it before the colleague agrees
    with pytest.raises(FieldError, match="待同事同意"):
        shift_requests.decide(session, request.id, boss, approve=True, answer="", now=NOW, tz=SH)
    # only the colleague asked may answer
    with pytest.raises(FieldError, match="只有被邀请换班的同事"):
        shift_requests.answer(session, request.id, boss, agree=True, now=NOW, tz=SH)

    shift_requests.answer(session, request.id, late, agree=True, now=NOW, tz=SH)
    assert request.state is ShiftRequestState.PENDING
    assert _news(session, boss) == ["早班小王申请与晚班小李换班：11-21 周六，待批准"]
    shift_requests.decide(session, request.id, boss, approve=True, answer="", now=NOW, tz=SH)
    assert shifts.day_set(early, SATURDAY).periods == LATE
    assert shifts.day_set(late, SATURDAY).periods == EARLY
    # the Sunday after is each one's shift again
    sunday = shifts.hours_of(early, shop, SH).periods_on(SATURDAY + timedelta(days=1))
    assert stored_periods(sunday) == EARLY


def test_a_day_swapped_back_goes_with_the_first_both_or_neither(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    """换休: 晚班小李 takes 早班小王's Saturday off his hands and 小王 works 小李's Tuesday
    in return. 小李 is off on Saturdays and 小王 on Tuesdays; one yes, one decision, both
    days set together."""
    shop, boss, early, late = team
    tuesday = SATURDAY + timedelta(days=3)
    weekdays = [d for d in WEEK if d != 5]  # 小李 is off on Saturdays, 小王 on Tuesdays
    shifts.set_shift(session, late, LATE, weekdays, actor=boss, now=NOW, tz=SH)
    shifts.set_shift(session, early, EARLY, [d for d in WEEK if d != 1], actor=boss, now=NOW, tz=SH)
    request = _ask(session, early, shop, swap_with=late, periods=None, swap_day=tuesday)
    assert request.days == (SATURDAY, tuesday)
    assert _news(session, late) == ["早班小王想和你换 11-21 周六 的班，11-24 周二 还班"]
    assert shift_requests.asked_for(request) == "与晚班小李换班，11-24 周二 还班"
    shift_requests.answer(session, request.id, late, agree=True, now=NOW, tz=SH)
    assert _news(session, boss) == ["早班小王申请与晚班小李换班：11-21 周六、11-24 周二，待批准"]
    said = session.scalar(sa.select(Notification.body).where(Notification.user_id == boss.id))
    assert said.startswith(
        "11-21 周六 早班小王 09:00–15:00 → 休息；11-21 周六 晚班小李 休息 → 09:00–15:00；"
        "11-24 周二 早班小王 休息 → 15:00–22:00；11-24 周二 晚班小李 15:00–22:00 → 休息"
    )
    # the supervisor sees both days: Saturday still covered until 15:00, Tuesday too
    seen = shift_requests.requests_for(session, boss, shop, now=NOW, tz=SH).to_decide[0]
    assert [(o.before.day, o.before.working, o.after.working) for o in seen.outlooks] == [
        (SATURDAY, 1, 1),
        (tuesday, 1, 1),
    ]
    # the roster marks all four cells, and the digest counts it once, from its first day
    asked = shift_requests.asked_days(session, shop, SATURDAY, tuesday)
    assert asked == {(u.id, d) for u in (early, late) for d in (SATURDAY, tuesday)}
    assert shift_requests.pending_days(session, shop, today=SATURDAY) == [SATURDAY]

    shift_requests.decide(session, request.id, boss, approve=True, answer="", now=NOW, tz=SH)
    assert (shifts.day_set(early, SATURDAY).periods, shifts.day_set(late, SATURDAY).periods) == (
        [],
        EARLY,
    )
    assert (shifts.day_set(early, tuesday).periods, shifts.day_set(late, tuesday).periods) == (
        LATE,
        [],
    )


def test_a_day_back_that_cannot_be_is_refused_and_nothing_is_asked(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    tuesday = SATURDAY + timedelta(days=3)
    for swap_day, said in (
        (SATURDAY, "还班要选另一天"),
        (date(2026, 11, 19), "还班的日子：这一天已经过去"),
        (date(2027, 3, 1), "还班的日子：最多提前"),
    ):
        with pytest.raises(FieldError) as caught:
            _ask(session, early, shop, swap_with=late, periods=None, swap_day=swap_day)
        assert (caught.value.field, said in caught.value.message) == ("swap_day", True)
    # the colleague's Tuesday is already asked for: a 换休 touching it waits for that answer
    theirs = shift_requests.ask(
        session, late, shop, tuesday, periods=[], swap_with=None, note="", now=NOW, tz=SH
    )
    with pytest.raises(FieldError) as caught:
        _ask(session, early, shop, swap_with=late, periods=None, swap_day=tuesday)
    assert caught.value.field == "swap_with"
    assert "11-24 周二 晚班小李已有一份待主管批准的调班申请" in caught.value.message
    shift_requests.withdraw(session, theirs.id, late, now=NOW)
    # away on the day back
    availability.set_away(
        session, early, tuesday, first_day=tuesday, release=False, actor=boss, now=NOW, tz=SH
    )
    with pytest.raises(FieldError) as caught:
        _ask(session, early, shop, swap_with=late, periods=None, swap_day=tuesday)
    assert (caught.value.field, caught.value.message) == (
        "swap_day",
        "11-24 周二 你不在岗，不能调班。",
    )
    # a day off is not a swap: a day back given with it is not kept
    request = _ask(session, early, shop, swap_day=tuesday)
    assert request.swap_day is None and request.days == (SATURDAY,)


def test_a_day_swap_whose_day_back_has_passed_sets_neither_day(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    """Both or neither: decided after the day back (Saturday) is gone, the Tuesday is not
    set alone; the whole decision is refused."""
    shop, boss, early, late = team
    tuesday = SATURDAY + timedelta(days=3)
    request = shift_requests.ask(
        session, early, shop, tuesday, periods=None, swap_with=late, swap_day=SATURDAY,
        note="", now=NOW, tz=SH,
    )  # fmt: skip
    shift_requests.answer(session, request.id, late, agree=True, now=NOW, tz=SH)
    sunday = datetime(2026, 11, 22, 10, tzinfo=SH)
    with pytest.raises(FieldError, match="已经过去"):
        shift_requests.decide(session, request.id, boss, approve=True, answer="", now=sunday, tz=SH)
    session.refresh(early)
    session.refresh(late)
    assert early.shift_days == [] and late.shift_days == []
    assert session.get(type(request), request.id).state is ShiftRequestState.PENDING
    assert shift_requests.waiting_count(session, boss, shop, today=sunday.date()) == 0


def test_a_colleagues_no_ends_the_swap_and_the_asker_hears_it(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    request = _ask(session, early, shop, swap_with=late, periods=None)
    shift_requests.answer(session, request.id, late, agree=False, now=NOW, tz=SH)
    assert (request.state, request.decided_by) == (ShiftRequestState.DECLINED, late)
    assert _news(session, early) == ["晚班小李没有同意和你换 11-21 周六 的班"]
    assert _news(session, boss) == []
    assert shifts.day_set(early, SATURDAY) is None


def test_a_declined_request_sets_nothing_and_says_why(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    request = _ask(session, early, shop, swap_with=late, periods=None)
    shift_requests.answer(session, request.id, late, agree=True, now=NOW, tz=SH)
    shift_requests.decide(
        session, request.id, boss, approve=False, answer="周六大促，人手不够", now=NOW, tz=SH
    )
    assert (request.state, request.answer) == (ShiftRequestState.DECLINED, "周六大促，人手不够")
    assert shifts.day_set(early, SATURDAY) is None and shifts.day_set(late, SATURDAY) is None
    said = "主管老陈没有批准早班小王的调班申请（11-21 周六）"
    assert _news(session, early)[-1] == said and _news(session, late)[-1] == said
    # decided once: a second click (another tab) changes nothing
    with pytest.raises(FieldError, match="未批准"):
        shift_requests.decide(session, request.id, boss, approve=True, answer="", now=NOW, tz=SH)
    assert shifts.day_set(early, SATURDAY) is None


def test_what_cannot_be_asked_is_refused_with_its_field(
    session: Session, team, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    cases = [
        ({"periods": EARLY}, "periods", "本来就是09:00–15:00"),
        ({"periods": [["18:00", "09:00"]]}, "periods", ""),
        ({"swap_with": early, "periods": None}, "swap_with", "请选一位同事"),
        ({"note": "长" * 201}, "note", "200"),
    ]
    stranger = make_user(Role.AGENT, shops=[make_shop()], display_name="别店小赵")
    cases.append(({"swap_with": stranger, "periods": None}, "swap_with", "不是本店"))
    for kw, field, said in cases:
        with pytest.raises(FieldError) as caught:
            _ask(session, early, shop, **kw)
        assert caught.value.field == field and said in caught.value.message
    with pytest.raises(FieldError, match="主管和管理员不用申请"):  # they set days directly
        _ask(session, boss, shop)
    for day, said in ((date(2026, 11, 19), "已经过去"), (date(2027, 3, 1), "最多提前")):
        with pytest.raises(FieldError, match=said):
            shift_requests.ask(
                session, early, shop, day, periods=[], swap_with=None, note="", now=NOW, tz=SH
            )
    # one open request a day: the second is refused until the first is withdrawn
    first = _ask(session, early, shop)
    with pytest.raises(FieldError, match="已有一份待主管批准"):
        _ask(session, early, shop, periods=[["09:00", "12:00"]])
    # nor a swap that would change the day of someone whose day a request already changes,
    # nor a request of theirs while a colleague's swap with them waits
    with pytest.raises(FieldError, match="早班小王已有一份待主管批准") as caught:
        _ask(session, late, shop, swap_with=early, periods=None)
    assert caught.value.field == "swap_with"
    with pytest.raises(FieldError, match="你已有一份待主管批准"):
        _ask(session, early, shop, swap_with=late, periods=None)
    shift_requests.withdraw(session, first.id, early, now=NOW)
    assert first.state is ShiftRequestState.WITHDRAWN
    assert _news(session, boss)[-1] == "早班小王撤回了 11-21 周六 的调班申请"
    assert _ask(session, early, shop, periods=[["09:00", "12:00"]]).state is (
        ShiftRequestState.PENDING
    )
    assert not session.query(AuditEvent).filter(AuditEvent.field.like("shift_day:%")).count()


def test_a_swap_with_someone_on_leave_that_day_is_refused(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    availability.set_away(
        session, late, SATURDAY, first_day=SATURDAY, release=False, actor=boss, now=NOW, tz=SH
    )
    with pytest.raises(FieldError, match="晚班小李不在岗"):
        _ask(session, early, shop, swap_with=late, periods=None)


def test_who_may_decide_and_withdraw(session: Session, team, make_user) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    request = _ask(session, early, shop)
    with pytest.raises(FieldError, match="由主管批准"):
        shift_requests.decide(session, request.id, late, approve=True, answer="", now=NOW, tz=SH)
    with pytest.raises(FieldError, match="只能撤回自己的"):
        shift_requests.withdraw(session, request.id, late, now=NOW)
    # another shop's supervisor does not find it at all
    other_boss = make_user(Role.SUPERVISOR, shops=[], display_name="别店主管")
    with pytest.raises(NotFound):
        shift_requests.decide(
            session, request.id, other_boss, approve=True, answer="", now=NOW, tz=SH
        )
    assert request.state is ShiftRequestState.PENDING
    # what each one sees waiting for them
    today = NOW.astimezone(SH).date()
    assert shift_requests.waiting_count(session, boss, shop, today=today) == 1
    assert shift_requests.waiting_count(session, late, shop, today=today) == 0
    seen = shift_requests.requests_for(session, boss, shop, now=NOW, tz=SH)
    assert seen.mine == [] and [s.request for s in seen.to_decide] == [request]
    # nobody covers 09:00–15:00 that day if it is approved
    [day] = seen.to_decide[0].outlooks
    assert day.leaves_uncovered == ("09:00–12:00", "13:30–15:00")
    assert shift_requests.requests_for(session, early, shop, now=NOW, tz=SH).mine == [request]
    # a day gone by leaves the lists: nobody can act on it any more
    later = SATURDAY + timedelta(days=1)
    assert shift_requests.waiting_count(session, boss, shop, today=later) == 0
    # and deciding it then is refused, not half-done
    sunday = datetime(2026, 11, 22, 10, tzinfo=SH)
    with pytest.raises(FieldError, match="已经过去"):
        shift_requests.decide(session, request.id, boss, approve=True, answer="", now=sunday, tz=SH)
    assert request.state is ShiftRequestState.PENDING


def test_the_morning_digest_says_how_many_requests_wait_and_the_soonest_day(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, _, early, late = team
    settings = alerts.AlertSettings(base_url="https://t.example")
    later = SATURDAY + timedelta(days=3)
    shift_requests.ask(
        session, late, shop, later, periods=[], swap_with=None, note="", now=NOW, tz=SH
    )
    _ask(session, early, shop)
    shift_requests.ask(  # waits for the colleague's yes first
        session,
        late,
        shop,
        SATURDAY + timedelta(days=1),
        periods=None,
        swap_with=early,
        note="",
        now=NOW,
        tz=SH,
    )
    morning = datetime(2026, 11, 20, 9, 30, tzinfo=SH)
    assert alerts.morning_digest(session, now=morning, settings=settings, tz_name="Asia/Shanghai")
    digest = session.scalars(sa.select(Notification).where(Notification.kind == "digest")).one()
    assert (
        "\n调班申请 2 份待批准（最早 11-21 周六）：https://t.example/account/shift-requests/"
        in digest.body
    )


def test_requests_still_undecided_when_a_day_passes_lapse_and_those_waiting_hear(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """A day gone cannot be set: the request closes as 已过期 instead of waiting on a page
    nobody acts on, and the asker (and a colleague who agreed) are told."""
    shop, boss, early, late = team
    tuesday = SATURDAY + timedelta(days=3)
    day_off = _ask(session, early, shop)  # Saturday, waiting for the supervisor
    swap = shift_requests.ask(
        session, late, shop, tuesday, periods=None, swap_with=early, swap_day=SATURDAY + timedelta(days=1),
        note="", now=NOW, tz=SH,
    )  # fmt: skip
    shift_requests.answer(session, swap.id, early, agree=True, now=NOW, tz=SH)
    later = shift_requests.ask(
        session, late, shop, tuesday + timedelta(days=1), periods=[], swap_with=None, note="",
        now=NOW, tz=SH,
    )  # fmt: skip
    decided = shift_requests.ask(
        session, late, shop, SATURDAY, periods=[], swap_with=None, note="", now=NOW, tz=SH
    )
    shift_requests.decide(session, decided.id, boss, approve=False, answer="", now=NOW, tz=SH)
    saturday = datetime(2026, 11, 21, 23, tzinfo=SH)
    assert shift_requests.lapse(session, now=saturday, tz=SH) == 0  # the day itself still counts
    monday = datetime(2026, 11, 23, 9, tzinfo=SH)
    assert (
        shift_requests.lapse(session, now=monday, tz=SH) == 2
    )  # Saturday's, and the 换休's Sunday
    assert (day_off.state, day_off.decided_at) == (ShiftRequestState.EXPIRED, monday)
    assert swap.state is ShiftRequestState.EXPIRED
    assert later.state is ShiftRequestState.PENDING and decided.state is ShiftRequestState.DECLINED
    assert "早班小王的调班申请（11-21 周六）到期前没有答复，已过期" in _news(session, early)
    assert "晚班小李的调班申请（11-24 周二、11-22 周日）到期前没有答复，已过期" in _news(
        session, early
    )
    assert (
        _news(session, late)[-1]
        == "晚班小李的调班申请（11-24 周二、11-22 周日）到期前没有答复，已过期"
    )
    # the supervisor hears of both: they waited on them
    assert _news(session, boss)[-2:] == [
        "早班小王的调班申请（11-21 周六）到期前没有答复，已过期",
        "晚班小李的调班申请（11-24 周二、11-22 周日）到期前没有答复，已过期",
    ]
    assert shift_requests.lapse(session, now=monday, tz=SH) == 0  # once
    # nobody acts on a lapsed request any more
    with pytest.raises(FieldError, match="已过期"):
        shift_requests.decide(session, swap.id, boss, approve=True, answer="", now=monday, tz=SH)
    with pytest.raises(FieldError, match="已过期"):
        shift_requests.withdraw(session, day_off.id, early, now=monday)


def test_a_swap_the_colleague_never_answered_lapses_without_troubling_the_supervisor(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """待同事同意 never reached the supervisor: its lapse is the asker's news alone (the
    colleague, who let it pass, sees it on their page as 已过期)."""
    shop, boss, early, late = team
    swap = shift_requests.ask(
        session, late, shop, SATURDAY, periods=None, swap_with=early, note="", now=NOW, tz=SH
    )
    before = _news(session, boss)
    monday = datetime(2026, 11, 23, 9, tzinfo=SH)
    assert shift_requests.lapse(session, now=monday, tz=SH) == 1
    assert swap.state is ShiftRequestState.EXPIRED
    assert _news(session, late)[-1] == "晚班小李的调班申请（11-21 周六）到期前没有答复，已过期"
    assert _news(session, boss) == before
    assert not any("已过期" in title for title in _news(session, early))


def test_an_asker_made_supervisor_meanwhile_hears_of_the_lapse_once(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    """Asker and supervisor at once: one notice, not one per list they are on."""
    shop, boss, early, _ = team
    _ask(session, early, shop)  # Saturday, waiting for the supervisor
    early.role = Role.SUPERVISOR
    session.flush()
    assert shift_requests.lapse(session, now=datetime(2026, 11, 23, 9, tzinfo=SH), tz=SH) == 1
    lapsed = "早班小王的调班申请（11-21 周六）到期前没有答复，已过期"
    assert _news(session, early).count(lapsed) == 1 and _news(session, boss).count(lapsed) == 1
