"""班次: an agent's own working periods; 自动分配 gives a new case to whoever is on shift, else
to whoever starts first; who may set one; the history says it in words."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tests.factories import open_case
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, Notification, Shop, User
from tracker.models.enums import Role
from tracker.services import alerts, auto_assign, change_log, roster, shifts
from tracker.services.errors import FieldError

SH = ZoneInfo("Asia/Shanghai")
FRIDAY_EVENING = datetime(2026, 11, 20, 20, tzinfo=SH)
EARLY, LATE = [["09:00", "15:00"]], [["15:00", "22:00"]]
WEEK = [0, 1, 2, 3, 4, 5, 6]


@pytest.fixture
def team(session: Session, make_shop, make_user) -> tuple[Shop, User, User, User]:  # type: ignore[no-untyped-def]
    shop = make_shop(auto_assign=True)  # the shop's hours: 09:00–12:00, 13:30–22:00 daily
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    early = make_user(Role.AGENT, shops=[shop], display_name="早班小王")
    late = make_user(Role.AGENT, shops=[shop], display_name="晚班小李")
    for agent, periods in ((early, EARLY), (late, LATE)):
        shifts.set_shift(session, agent, periods, WEEK, actor=boss, now=NOW, tz=SH)
    return shop, boss, early, late


def _held(session: Session, shop: Shop, owner: User, n: int) -> None:
    for i in range(n):
        case = open_case(
            session, shop, key=f"held-{owner.id}-{i}", nick=f"买家{owner.id}-{i}", at=NOW
        )
        case.owner_id = owner.id
    session.commit()


def _new_case(session: Session, shop: Shop, at: datetime) -> Case:
    return open_case(session, shop, key=f"new-{at:%H%M}", nick=f"新买家{at:%H%M}", at=at)


def test_an_evening_case_goes_to_the_late_shift_even_with_more_work(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, _, early, late = team
    _held(session, shop, late, 5)  # the early one holds nothing, and left at 15:00
    owner, automatic = auto_assign.owner_for(
        session, _new_case(session, shop, FRIDAY_EVENING), FRIDAY_EVENING, SH
    )
    assert (owner, automatic) == (late, True)
    # in the morning the early shift is on, the late one is not
    morning = FRIDAY_EVENING.replace(hour=10)
    owner, _ = auto_assign.owner_for(session, _new_case(session, shop, morning), morning, SH)
    assert owner == early


def test_at_night_nobody_is_on_shift_and_whoever_starts_first_takes_it(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, _, early, _ = team
    _held(session, shop, early, 3)
    night = FRIDAY_EVENING.replace(hour=23)
    owner, _ = auto_assign.owner_for(session, _new_case(session, shop, night), night, SH)
    assert owner == early  # starts at 09:00, the late shift at 15:00


def test_without_a_shift_an_agent_works_the_shops_hours_and_the_load_decides(
    session: Session, team, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    plain = make_user(Role.AGENT, shops=[shop], display_name="没排班小张")
    _held(session, shop, late, 2)
    assert shifts.duty(plain, shop, FRIDAY_EVENING, SH) == shifts.Duty(True, None, "按店铺工作时间")
    owner, _ = auto_assign.owner_for(
        session, _new_case(session, shop, FRIDAY_EVENING), FRIDAY_EVENING, SH
    )
    assert owner == plain  # on the shop's hours at 20:00, and lighter than the late shift
    assert shifts.duty(early, shop, FRIDAY_EVENING, SH) == shifts.Duty(
        False, datetime(2026, 11, 21, 9, tzinfo=SH), "每天 09:00–15:00"
    )
    shifts.set_shift(session, plain, None, [], actor=boss, now=NOW, tz=SH)  # stays on none
    assert plain.shift is None


def test_a_shift_follows_the_shops_holidays(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, _, early, _ = team
    shop.working_hours = WorkingHours(tz=SH, holidays=frozenset({date(2026, 11, 21)})).to_dict()
    hours = shifts.hours_of(early, shop, SH)
    assert hours.next_start(FRIDAY_EVENING) == datetime(2026, 11, 22, 9, tzinfo=SH)


@pytest.mark.parametrize(
    ("periods", "weekdays", "field", "message"),
    [
        ([["15:00", "09:00"]], WEEK, "periods", "结束早于开始"),
        ([["09:00", "25:00"]], WEEK, "periods", "不是时刻"),
        ([["09:00", "12:00"], ["11:00", "13:00"]], WEEK, "periods", "不能重叠"),
        (EARLY, [], "weekdays", "至少要有一个工作日"),
    ],
)
def test_a_bad_shift_is_refused_on_its_field_and_nothing_changes(
    session: Session, team, periods: list[list[str]], weekdays: list[int], field: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    with pytest.raises(FieldError) as refused:
        shifts.set_shift(session, early, periods, weekdays, actor=boss, now=NOW, tz=SH)
    assert refused.value.field == field and message in refused.value.message
    session.refresh(early)
    assert early.shift == {"periods": EARLY, "weekdays": WEEK}


def test_only_oneself_a_supervisor_of_the_shop_or_an_admin_sets_a_shift(
    session: Session, team, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    _, _, early, late = team
    elsewhere = make_user(Role.SUPERVISOR, shops=[make_shop()])
    for actor in (late, elsewhere):
        with pytest.raises(FieldError, match="只能为自己，或为自己店铺的客服设置班次"):
            shifts.set_shift(session, early, LATE, WEEK, actor=actor, now=NOW, tz=SH)
    shifts.set_shift(session, early, LATE, [0, 1, 2, 3, 4], actor=early, now=NOW, tz=SH)
    assert shifts.describe(early.shift) == "周一至周五 15:00–22:00"


def test_the_history_says_the_shift_in_words(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    shifts.set_shift(
        session, early, [["08:30", "12:00"], ["13:00", "17:00"]], [0, 2, 4], actor=boss,
        now=NOW + timedelta(minutes=1), tz=SH,
    )  # fmt: skip
    shifts.set_shift(session, early, None, [], actor=boss, now=NOW + timedelta(minutes=2), tz=SH)
    changes = [(c.by, c.what, c.old, c.new) for c in change_log.of_user(session, early.id, SH)]
    assert changes == [
        ("主管老陈", "班次", "周一、三、五 08:30–12:00、13:00–17:00", "按店铺工作时间"),
        ("主管老陈", "班次", "每天 09:00–15:00", "周一、三、五 08:30–12:00、13:00–17:00"),
        ("主管老陈", "班次", "按店铺工作时间", "每天 09:00–15:00"),
    ]


def test_a_rotation_takes_turns_for_auto_assign_the_roster_and_the_load_page(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """早晚班轮换: 早班小王 works the early week now and the late one next week; 晚班小李 the
    other way round. Next Friday evening the case goes to 小王, on the late turn."""
    shop, boss, early, late = team
    shifts.set_shift(
        session, early, EARLY, WEEK, rotation=[(LATE, WEEK)], this_week=1, actor=boss,
        now=NOW, tz=SH,
    )  # fmt: skip
    shifts.set_shift(
        session, late, EARLY, WEEK, rotation=[(LATE, WEEK)], this_week=2, actor=boss,
        now=NOW, tz=SH,
    )  # fmt: skip
    this_monday = date(2026, 11, 16)  # NOW is Friday 11-20
    assert early.shift["rotation"] == {
        "from": this_monday.isoformat(),
        "weeks": [{"periods": LATE, "weekdays": WEEK}],
    }
    assert late.shift["rotation"]["from"] == (this_monday - timedelta(weeks=1)).isoformat()
    owner, _ = auto_assign.owner_for(
        session, _new_case(session, shop, FRIDAY_EVENING), FRIDAY_EVENING, SH
    )
    assert owner == late  # this week 小李 is the late one
    next_friday = FRIDAY_EVENING + timedelta(weeks=1)
    case = open_case(session, shop, key="next-friday", nick="下周五的买家", at=next_friday)
    owner, _ = auto_assign.owner_for(session, case, next_friday, SH)
    assert owner == early
    days = {d.day: d for d in roster.plan(shop, [early, late], date(2026, 11, 22), now=NOW, tz=SH)}
    assert [c.hours for c in days[date(2026, 11, 22)].cells] == [("09:00–15:00",), ("15:00–22:00",)]
    assert [c.hours for c in days[date(2026, 11, 23)].cells] == [("15:00–22:00",), ("09:00–15:00",)]
    assert shifts.duty(early, shop, NOW, SH).shift == (
        "两周轮换（本周第1周）：第1周 每天 09:00–15:00；第2周 每天 15:00–22:00"
    )
    assert shifts.duty(early, shop, next_friday, SH).shift.startswith("两周轮换（本周第2周）")
    told = session.scalars(
        sa.select(Notification.title)
        .where(Notification.user_id == early.id, Notification.kind == shifts.SHIFT_NEWS)
        .order_by(Notification.id.desc())
    ).first()
    assert (
        told
        == "主管老陈把你的班次改为：两周轮换（本周第1周）：第1周 每天 09:00–15:00；第2周 每天 15:00–22:00"
    )


def test_a_later_week_left_blank_works_the_first_weeks_periods(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    """大小周: the same hours, six days one week and five the next."""
    _, boss, early, _ = team
    six, five = [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4]
    shifts.set_shift(
        session, early, EARLY, six, rotation=[(None, five)], actor=boss, now=NOW, tz=SH
    )
    assert early.shift["rotation"]["weeks"] == [{"periods": EARLY, "weekdays": five}]
    hours = shifts.hours_of(early, early.shops[0], SH)
    saturdays = [date(2026, 11, 21) + timedelta(weeks=n) for n in range(3)]
    assert [bool(hours.periods_on(d)) for d in saturdays] == [True, False, True]


@pytest.mark.parametrize(
    ("periods", "rotation", "this_week", "field", "message"),
    [
        (
            EARLY,
            [([["22:00", "15:00"]], WEEK)],
            1,
            "periods_2",
            "第2周：时段 22:00-15:00 的结束早于开始",
        ),
        (EARLY, [(LATE, [])], 1, "weekdays_2", "第2周：至少要有一个工作日"),
        (EARLY, [(LATE, WEEK), (EARLY, WEEK), (LATE, [1])], 3, "periods_2", ""),
        (EARLY, [(LATE, WEEK)], 3, "this_week", "2 周一轮，本周只能是第1至第2周"),
        (EARLY, [(LATE, WEEK)] * 4, 1, "weeks", "轮班最多 4 周一轮"),
        (None, [(LATE, WEEK)], 1, "periods", "轮班要填第1周的上班时段"),
    ],
)
def test_a_rotation_that_cannot_work_is_refused_on_its_field(
    session: Session, team, periods, rotation, this_week: int, field: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    if not message:  # a third week's weekdays fine, its periods as the first: stored
        shifts.set_shift(
            session, early, periods, WEEK, rotation=rotation, this_week=this_week, actor=boss,
            now=NOW, tz=SH,
        )  # fmt: skip
        assert len(early.shift["rotation"]["weeks"]) == 3
        return
    with pytest.raises(FieldError) as refused:
        shifts.set_shift(
            session, early, periods, WEEK, rotation=rotation, this_week=this_week, actor=boss,
            now=NOW, tz=SH,
        )  # fmt: skip
    assert refused.value.field == field and message in refused.value.message
    session.refresh(early)
    assert early.shift == {"periods": EARLY, "weekdays": WEEK}


def test_the_history_says_a_rotation_in_words(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    shifts.set_shift(
        session, early, EARLY, WEEK, rotation=[(LATE, [0, 1, 2, 3, 4])], this_week=2,
        actor=boss, now=NOW + timedelta(minutes=1), tz=SH,
    )  # fmt: skip
    change = change_log.of_user(session, early.id, SH)[0]
    assert (change.old, change.new) == (
        "每天 09:00–15:00",
        "两周轮换（2026-11-09 起第1周）：第1周 每天 09:00–15:00；第2周 周一至周五 15:00–22:00",
    )


def test_the_alerts_of_a_case_whose_owner_is_off_shift_go_to_the_supervisors(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    for owner, key in ((early, "e"), (late, "l")):
        case = open_case(session, shop, key=key, nick=f"买家{key}", at=FRIDAY_EVENING)
        case.owner_id = owner.id
        case.first_contact_due_at = FRIDAY_EVENING + timedelta(minutes=20)
    session.commit()
    settings = alerts.AlertSettings()
    assert alerts.scan(session, now=FRIDAY_EVENING, settings=settings, tz_name="Asia/Shanghai") == 2
    told = session.execute(
        sa.select(Notification.user_id, Notification.body)
        .where(Notification.kind != "shift")  # the agents were told of their shifts
        .order_by(Notification.id)
    ).all()
    by_user = {user_id: body for user_id, body in told}
    assert set(by_user) == {boss.id, late.id}  # the early shift left at 15:00: the boss hears
    assert "负责人：早班小王（休息）" in by_user[boss.id]
    assert "负责人：晚班小李 ·" in by_user[late.id]


# -- 调班: one day worked otherwise --------------------------------------------------------

SATURDAY = date(2026, 11, 21)  # the day after FRIDAY_EVENING (NOW is that Friday morning)


def test_a_day_of_its_own_replaces_the_shift_that_day_alone(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    shifts.set_day(session, early, SATURDAY, [["09:00", "18:00"]], actor=boss, now=NOW, tz=SH)
    shifts.set_day(session, late, SATURDAY, [], actor=boss, now=NOW, tz=SH)  # a day off
    saturday_evening = datetime(2026, 11, 21, 17, tzinfo=SH)
    assert shifts.duty(early, shop, saturday_evening, SH).on_shift
    assert shifts.duty(early, shop, saturday_evening, SH).today == "09:00–18:00"
    late_duty = shifts.duty(late, shop, saturday_evening, SH)
    assert (late_duty.on_shift, late_duty.today) == (False, "休息")
    assert late_duty.next_start == datetime(2026, 11, 22, 15, tzinfo=SH)  # Sunday as usual
    # a Saturday-evening case goes to the early agent, who works late that day
    owner, _ = auto_assign.owner_for(
        session, _new_case(session, shop, saturday_evening), saturday_evening, SH
    )
    assert owner == early
    # the Sunday after is the shift again
    sunday = datetime(2026, 11, 22, 17, tzinfo=SH)
    assert not shifts.duty(early, shop, sunday, SH).on_shift
    assert shifts.duty(early, shop, sunday, SH).today is None


def test_a_day_of_its_own_overrides_a_shop_holiday_and_counts_for_agents_without_a_shift(
    session: Session, team, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, _, _ = team
    shop.working_hours = WorkingHours(tz=SH, holidays=frozenset({SATURDAY})).to_dict()
    plain = make_user(Role.AGENT, shops=[shop], display_name="没排班小张")
    saturday_noon = datetime(2026, 11, 21, 11, tzinfo=SH)
    assert not shifts.duty(plain, shop, saturday_noon, SH).on_shift  # the shop is closed
    shifts.set_day(session, plain, SATURDAY, [["10:00", "16:00"]], actor=boss, now=NOW, tz=SH)
    assert shifts.duty(plain, shop, saturday_noon, SH).on_shift  # came in for the sale
    # on shop hours otherwise, but today of their own: off shift after 16:00
    assert shifts.off_shift(plain, shop, datetime(2026, 11, 21, 17, tzinfo=SH), SH)
    assert not shifts.off_shift(plain, shop, FRIDAY_EVENING, SH)  # shop hours, never "off"


def test_the_shops_special_hours_are_worked_by_agents_on_its_hours_not_by_a_shift(
    session: Session, team, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, _ = team
    shop.working_hours = {
        **WorkingHours(tz=SH).to_dict(),
        "dated": {"2026-11-21": [["09:00", "24:00"]]},  # the sale's Saturday, until midnight
    }
    plain = make_user(Role.AGENT, shops=[shop], display_name="没排班小张")
    late_night = datetime(2026, 11, 21, 23, tzinfo=SH)
    assert shifts.duty(plain, shop, late_night, SH).on_shift
    assert not shifts.duty(early, shop, late_night, SH).on_shift  # 09:00–15:00 all the same
    # a 调班 of an agent on the shop's hours leaves the shop's other special days in place
    shop.working_hours = {
        **shop.working_hours,
        "dated": {"2026-11-21": [["09:00", "24:00"]], "2026-11-22": [["09:00", "24:00"]]},
    }
    shifts.set_day(session, plain, SATURDAY, [["09:00", "12:00"]], actor=boss, now=NOW, tz=SH)
    assert not shifts.duty(plain, shop, late_night, SH).on_shift
    assert shifts.duty(plain, shop, datetime(2026, 11, 22, 23, tzinfo=SH), SH).on_shift


def test_a_day_set_again_is_changed_and_taken_back_follows_the_shift(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)
    shifts.set_day(session, early, SATURDAY, [["09:00", "12:00"]], actor=boss, now=NOW, tz=SH)
    assert [(r.day, r.periods) for r in early.shift_days] == [(SATURDAY, [["09:00", "12:00"]])]
    shifts.set_day(session, early, SATURDAY, None, actor=boss, now=NOW, tz=SH)
    session.expire_all()
    assert early.shift_days == []
    assert session.scalar(sa.select(sa.func.count()).select_from(shifts.ShiftDay)) == 0


@pytest.mark.parametrize(
    ("day", "periods", "field", "message"),
    [
        (date(2026, 11, 19), [], "day", "已经过去"),
        (date(2026, 11, 20) + timedelta(days=93), [], "day", "最多提前 92 天"),
        (SATURDAY, [["18:00", "09:00"]], "periods", "结束早于开始"),
        (SATURDAY, [["9点", "18:00"]], "periods", "不是时刻"),
    ],
)
def test_a_bad_day_is_refused_on_its_field_and_nothing_is_stored(
    session: Session, team, day: date, periods: list[list[str]], field: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    with pytest.raises(FieldError) as refused:
        shifts.set_day(session, early, day, periods, actor=boss, now=NOW, tz=SH)
    assert refused.value.field == field and message in refused.value.message
    session.expire_all()
    assert early.shift_days == []


def test_only_oneself_a_supervisor_of_the_shop_or_an_admin_sets_a_day(
    session: Session, team, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    _, _, early, late = team
    elsewhere = make_user(Role.SUPERVISOR, shops=[make_shop()])
    for actor in (late, elsewhere):
        with pytest.raises(FieldError, match="只能为自己，或为自己店铺的客服设置调班"):
            shifts.set_day(session, early, SATURDAY, [], actor=actor, now=NOW, tz=SH)


def test_past_days_are_pruned_as_days_are_set(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)
    a_week_on = NOW + timedelta(days=7)
    shifts.set_day(session, early, date(2026, 11, 28), [], actor=boss, now=a_week_on, tz=SH)
    session.expire_all()
    assert [r.day for r in early.shift_days] == [date(2026, 11, 28)]
    assert shifts.upcoming_days(early, date(2026, 11, 28)) == early.shift_days
    assert shifts.upcoming_days(early, date(2026, 11, 29)) == []


def test_the_history_says_each_day_in_words(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, _ = team
    for minute, periods in enumerate(([], [["09:00", "12:00"], ["13:30", "18:00"]], None), 1):
        later = NOW + timedelta(minutes=minute)
        shifts.set_day(session, early, SATURDAY, periods, actor=boss, now=later, tz=SH)
    changes = [(c.what, c.old, c.new) for c in change_log.of_user(session, early.id, SH)]
    assert changes[:3] == [
        ("调班（11-21 周六）", "09:00–12:00、13:30–18:00", "按班次"),
        ("调班（11-21 周六）", "休息", "09:00–12:00、13:30–18:00"),
        ("调班（11-21 周六）", "按班次", "休息"),
    ]


def test_the_alerts_follow_a_day_off(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    shop, boss, _, late = team
    shifts.set_day(session, late, date(2026, 11, 20), [], actor=boss, now=NOW, tz=SH)
    case = open_case(session, shop, key="l", nick="买家l", at=FRIDAY_EVENING)
    case.owner_id = late.id
    case.first_contact_due_at = FRIDAY_EVENING + timedelta(minutes=20)
    session.commit()
    alerts.scan(
        session, now=FRIDAY_EVENING, settings=alerts.AlertSettings(), tz_name="Asia/Shanghai"
    )
    told = dict(
        session.execute(
            sa.select(Notification.user_id, Notification.body).where(
                Notification.kind == alerts.AlertEvent.FIRST_CONTACT_DUE_SOON.value
            )
        ).all()
    )
    assert set(told) == {boss.id}  # not the owner: the day is her day off
    assert "负责人：晚班小李（休息）" in told[boss.id]


def test_an_agent_hears_when_someone_else_changes_their_hours(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    _, boss, early, late = team

    def heard(user: User) -> list[str]:
        return list(
            session.scalars(
                sa.select(Notification.title)
                .where(Notification.user_id == user.id, Notification.kind == "shift")
                .order_by(Notification.id)
            )
        )

    assert heard(early) == ["主管老陈把你的班次改为：每天 09:00–15:00"]  # the fixture's
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)  # no change
    shifts.set_day(session, early, SATURDAY, None, actor=boss, now=NOW, tz=SH)
    assert heard(early)[1:] == [
        "主管老陈给你调班：11-21 周六 休息",
        "主管老陈给你调班：11-21 周六 恢复按班次",
    ]
    # one's own change is no news
    shifts.set_day(session, late, SATURDAY, [["15:00", "20:00"]], actor=late, now=NOW, tz=SH)
    shifts.set_shift(session, late, EARLY, WEEK, actor=late, now=NOW, tz=SH)
    assert heard(late) == ["主管老陈把你的班次改为：每天 15:00–22:00"]
    assert alerts.unread_count(session, early.id) == 3  # the bell says it


def test_the_morning_digest_names_the_coming_weeks_days_with_nobody_on_shift(
    session: Session, team, make_shop
) -> None:  # type: ignore[no-untyped-def]
    shop, boss, early, late = team
    settings = alerts.AlertSettings(base_url="https://t.example")

    def digest_of(at: datetime) -> str:
        alerts.morning_digest(session, now=at, settings=settings, tz_name="Asia/Shanghai")
        return session.scalars(
            sa.select(Notification.body)
            .where(Notification.kind == "digest", Notification.user_id == boss.id)
            .order_by(Notification.id.desc())
            .limit(1)
        ).one()

    assert "排班" not in digest_of(NOW)  # both work every day
    for agent in (early, late):  # both off on Sunday 11-22; a holiday on Tuesday 11-24
        shifts.set_day(session, agent, date(2026, 11, 22), [], actor=boss, now=NOW, tz=SH)
    shop.working_hours = WorkingHours(tz=SH, holidays=frozenset({date(2026, 11, 24)})).to_dict()
    shifts.set_day(session, early, date(2026, 11, 28), [], actor=boss, now=NOW, tz=SH)  # a week on
    shifts.set_day(session, late, date(2026, 11, 23), [], actor=boss, now=NOW, tz=SH)  # 15:00 on
    session.commit()
    body = digest_of(NOW + timedelta(days=1))  # Saturday's digest: the week to Friday 11-27
    assert (
        "\n排班：11-22 周日 全天；11-23 周一 15:00–22:00 没有客服当班，新案件会没人接。"
        "\nhttps://t.example/reports/roster"
    ) in body
    # a shop without agents has nothing to plan
    empty = make_shop(name="小店")
    assert roster.uncovered(session, empty, now=NOW, tz=SH) == []


def test_a_follow_up_due_while_its_owner_is_off_says_so_on_the_case_page(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """A 下次跟进 at Saturday 10:00 for the early agent, who has the day off: its reminder
    will go to the supervisors, and the case page says so now, with when they are back; on
    leave the same, from the leave's end; on shift, or passed, nothing."""
    from tracker.services import case_page

    shop, boss, early, _ = team
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)
    case = open_case(session, shop, at=FRIDAY_EVENING - timedelta(days=3))
    case.owner_id = early.id
    case.next_follow_up_at = datetime(2026, 11, 21, 10, tzinfo=SH)
    session.commit()
    hours = WorkingHours(tz=SH)

    def off(now: datetime = FRIDAY_EVENING) -> shifts.Unable | None:
        return case_page.detail(
            session, case, viewer=boss, now=now, hours=hours
        ).follow_up_owner_off

    assert off() == shifts.Unable("休息", datetime(2026, 11, 22, 9, tzinfo=SH))
    case.next_follow_up_at = datetime(2026, 11, 22, 10, tzinfo=SH)  # Sunday, on shift
    session.commit()
    assert off() is None
    early.away_from = datetime(2026, 11, 22, 0, tzinfo=SH)
    early.away_until = datetime(2026, 11, 24, 0, tzinfo=SH)  # back on Tuesday
    session.commit()
    assert off() == shifts.Unable("不在岗", datetime(2026, 11, 24, 9, tzinfo=SH))
    assert off(datetime(2026, 11, 22, 11, tzinfo=SH)) is None  # passed: the alerts' business


def test_agent_load_lists_the_follow_ups_of_the_coming_week_due_while_their_owner_is_off(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """客服负荷 looks a week ahead: the early agent's Saturday off and 21:00 (after their
    15:00), the late one's leave; not a follow-up on shift, passed, beyond the week, or of
    a closed case."""
    from tracker.models.enums import CaseStatus
    from tracker.services import follow_ups

    shop, boss, early, late = team
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)
    late.away_from = datetime(2026, 11, 23, 0, tzinfo=SH)
    late.away_until = datetime(2026, 11, 25, 0, tzinfo=SH)
    now = FRIDAY_EVENING
    planned = {
        ("e1", early): datetime(2026, 11, 21, 10, tzinfo=SH),  # Saturday off
        ("e2", early): datetime(2026, 11, 22, 21, tzinfo=SH),  # Sunday after the shift
        ("e3", early): datetime(2026, 11, 22, 10, tzinfo=SH),  # on shift
        ("e4", early): datetime(2026, 11, 20, 19, tzinfo=SH),  # passed
        ("e5", early): datetime(2026, 11, 28, 10, tzinfo=SH),  # beyond the week (on Saturday)
        ("l1", late): datetime(2026, 11, 23, 16, tzinfo=SH),  # on leave
        ("l2", late): datetime(2026, 11, 25, 16, tzinfo=SH),  # back
        ("l3", late): datetime(2026, 11, 24, 16, tzinfo=SH),  # on leave, but the case closed
    }
    made = {}
    for (key, owner), at in planned.items():
        case = open_case(session, shop, key=key, nick=f"买家{key}", at=NOW - timedelta(days=3))
        case.owner_id, case.next_follow_up_at = owner.id, at
        made[key] = case
    made["e5"].next_follow_up_at = datetime(2026, 11, 28, 16, tzinfo=SH)
    shifts.set_day(session, early, date(2026, 11, 28), [], actor=boss, now=NOW, tz=SH)
    made["l3"].status = CaseStatus.RECOVERED
    session.commit()

    off = follow_ups.due_while_off(session, shop, [early, late], now=now, tz=SH)
    assert {owner: [(f.case_id, f.unable.why) for f in found] for owner, found in off.items()} == {
        early.id: [(made["e1"].id, "休息"), (made["e2"].id, "休息")],
        late.id: [(made["l1"].id, "不在岗")],
    }
    assert off[early.id][0].unable.back_at == datetime(2026, 11, 22, 9, tzinfo=SH)
    assert off[late.id][0].unable.back_at == datetime(2026, 11, 25, 15, tzinfo=SH)
    assert follow_ups.due_while_off(session, shop, [], now=now, tz=SH) == {}


def test_the_morning_digest_names_todays_follow_ups_due_while_their_owner_is_off(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """Friday 09:00: the early agent's follow-up at 16:00 (after their 15:00) and two of the
    late one's at 10:00 (before their 15:00) are said, with whose and how many, soonest
    owner first; the late one's at 17:00 (on shift) and one tomorrow evening are not."""
    shop, _, early, late = team
    nine = datetime(2026, 11, 20, 9, tzinfo=SH)
    for key, owner, at in (
        ("a", early, nine.replace(hour=16)),
        ("b", late, nine.replace(hour=10)),
        ("c", late, nine.replace(hour=10, minute=30)),
        ("d", late, nine.replace(hour=17)),
        ("e", early, nine + timedelta(days=1, hours=10)),  # Saturday 19:00: beyond 24 hours
    ):
        case = open_case(session, shop, key=key, nick=f"买家{key}", at=NOW - timedelta(days=3))
        case.owner_id, case.next_follow_up_at = owner.id, at
    session.commit()
    settings = alerts.AlertSettings(base_url="https://t.example")
    assert alerts.morning_digest(session, now=nine, settings=settings, tz_name="Asia/Shanghai")
    body = session.scalars(
        sa.select(Notification.body).where(Notification.kind == "digest")
    ).first()
    assert body is not None
    assert (
        "24 小时内约好的跟进，到时负责人不在班 3 件（晚班小李 2、早班小王 1），可先转给当班的同事"
    ) in body
    assert "https://t.example/reports/agents" in body


def test_the_next_try_after_a_missed_call_falls_in_its_owners_hours(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    """Friday 14:30, a call not answered and no 下次跟进 given: the early agent (09:00–15:00)
    is offered Saturday morning, which they work; the shop's evening, theirs off, would send
    the reminder to the supervisors. A supervisor's case, on the shop's hours, is offered
    the evening (19:00), a part of the day not tried yet."""
    from tracker.models.enums import AttemptOutcome, Channel
    from tracker.services import cases as svc
    from tracker.services import follow_ups

    shop, boss, early, _ = team
    hours = WorkingHours.from_dict(shop.working_hours, SH)
    called = datetime(2026, 11, 20, 14, 30, tzinfo=SH)
    owned = open_case(session, shop, key="o", nick="买家o", at=called - timedelta(days=3))
    bosses = open_case(session, shop, key="f", nick="买家f", at=called - timedelta(days=3))
    owned.owner_id, bosses.owner_id = early.id, boss.id
    session.commit()
    for case, who in ((owned, early), (bosses, boss)):
        svc.log_attempt(
            session,
            case,
            svc.AttemptDraft(Channel.PHONE, called, AttemptOutcome.NO_ANSWER),
            actor=who,
            now=called + timedelta(minutes=1),
            expected_version=None,
            hours=hours,
        )
    assert owned.next_follow_up_at == datetime(2026, 11, 21, 9, 30, tzinfo=SH)
    assert bosses.next_follow_up_at == datetime(2026, 11, 20, 19, 0, tzinfo=SH)
    tip = follow_ups.next_try_for(session, owned, hours=hours, now=called + timedelta(minutes=5))
    assert tip is not None and tip.at == owned.next_follow_up_at  # what the case page offers
    assert shifts.unable(early, shop, tip.at, SH) is None


def test_an_alert_sent_to_the_supervisors_for_an_owner_off_names_who_is_on_shift(
    session: Session, team, make_user
) -> None:  # type: ignore[no-untyped-def]
    """Friday 20:00 the early agent's case is overdue: the supervisors read who is on shift
    to hand it to (the late agent; not one on leave, nor the early one); at 23:30 nobody is."""
    shop, _, early, _ = team
    away = make_user(Role.AGENT, shops=[shop], display_name="休假小赵")
    away.away_from, away.away_until = NOW - timedelta(days=1), NOW + timedelta(days=3)
    for key, at in (("8pm", FRIDAY_EVENING), ("late", FRIDAY_EVENING.replace(hour=23, minute=30))):
        case = open_case(session, shop, key=key, nick=f"买家{key}", at=at - timedelta(days=3))
        case.owner_id = early.id
        case.first_contact_due_at = at - timedelta(minutes=5)
        session.commit()
        alerts.scan(session, now=at, settings=alerts.AlertSettings(), tz_name="Asia/Shanghai")
    bodies = list(
        session.scalars(
            sa.select(Notification.body)
            .where(Notification.kind != "shift")
            .order_by(Notification.id)
        )
    )
    assert any("负责人：早班小王（休息）· 当班：晚班小李 ·" in body for body in bodies)
    assert any("负责人：早班小王（休息）· 现在没有客服当班 ·" in body for body in bodies)
    assert not any("休假小赵" in body for body in bodies)
    assert shifts.on_shift_now(session, shop, FRIDAY_EVENING, SH) == [team[3]]


def test_the_boards_reading_of_follow_ups_due_while_their_owner_is_off(
    session: Session, team
) -> None:  # type: ignore[no-untyped-def]
    """Many cases at once, as the board reads them: the early agent's Saturday off, not the
    late one's shift, nor a case nobody owns."""
    from tracker.services import follow_ups

    shop, boss, early, late = team
    shifts.set_day(session, early, SATURDAY, [], actor=boss, now=NOW, tz=SH)
    saturday = datetime(2026, 11, 21, 16, tzinfo=SH)
    made = {}
    for key, owner in (("e", early), ("l", late), ("n", None)):
        case = open_case(session, shop, key=key, nick=f"买家{key}", at=NOW - timedelta(days=3))
        case.owner_id, case.next_follow_up_at = (owner.id if owner else None), saturday
        made[key] = case
    session.commit()
    off = follow_ups.owners_off_by_case(session, ((c.id, saturday) for c in made.values()), tz=SH)
    assert off == {made["e"].id: shifts.Unable("休息", datetime(2026, 11, 22, 9, tzinfo=SH))}
    assert follow_ups.owners_off_by_case(session, [], tz=SH) == {}
