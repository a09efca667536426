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
from tracker.services import alerts, auto_assign, change_log, shifts
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
        sa.select(Notification.user_id, Notification.body).order_by(Notification.id)
    ).all()
    by_user = {user_id: body for user_id, body in told}
    assert set(by_user) == {boss.id, late.id}  # the early shift left at 15:00: the boss hears
    assert "负责人：早班小王（休息）" in by_user[boss.id]
    assert "负责人：晚班小李 ·" in by_user[late.id]
