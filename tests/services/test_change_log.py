"""变更记录: an account's and a shop's audit rows in words, shop time and with who did it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tests.conftest import NOW
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import MessageTemplate
from tracker.models.enums import MessagePurpose, Role
from tracker.services import accounts, auto_assign, availability, change_log, shop_settings
from tracker.services.audit import record_shop_change, record_user_change

SH = ZoneInfo("Asia/Shanghai")


def _read(changes: list[change_log.Change]) -> list[tuple[str, str, str | None, str | None]]:
    return [(c.by, c.what, c.old, c.new) for c in changes]


def test_an_accounts_changes_read_in_words_with_who_and_shop_time(
    session: Session, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(name="晨光优选")
    admin = make_user(Role.ADMIN, display_name="店铺管理员")
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    agent = make_user(Role.AGENT, shops=[shop], display_name="客服小王")
    accounts.update_user(
        session,
        agent,
        accounts.UserChanges("客服小王", Role.SUPERVISOR, frozenset({shop.id}), True),
        actor=admin,
        now=NOW,
    )
    later = NOW + timedelta(minutes=5)
    accounts.sign_out_everywhere(session, agent, actor_id=admin.id, now=later, why="admin")
    availability.set_away(
        session,
        boss,
        date(2026, 11, 25),
        first_day=date(2026, 11, 23),
        release=False,
        actor=boss,
        now=later,
        tz=SH,
    )
    record_user_change(  # a leave set before bookings existed: only the moment back
        session, boss.id, now=NOW, actor_id=None, field="away_until", old=None,
        new="2026-11-22T00:00:00+08:00",
    )  # fmt: skip
    session.commit()

    assert _read(change_log.of_user(session, agent.id, SH)) == [
        ("店铺管理员", "登录", None, "管理员让所有登录失效"),
        ("店铺管理员", "角色", "客服", "主管"),
    ]
    assert _read(change_log.of_user(session, boss.id, SH)) == [
        ("主管老陈", "不在岗", None, "11-23 至 11-25（含）"),
        ("系统", "不在岗", None, "至 11-21（含）"),
    ]
    assert change_log.of_user(session, agent.id, SH)[0].at == later


def test_a_locks_time_is_shop_time_and_unknown_fields_show_as_stored(
    session: Session, make_user
) -> None:  # type: ignore[no-untyped-def]
    agent = make_user(Role.AGENT)
    for n, (field, old, new) in enumerate(
        [
            ("locked_until", None, "2026-11-20T02:15:00+00:00 (10.0.0.7)"),
            ("locked_until", "1 处锁定", "unlocked"),
            ("password", "***", "changed by the user"),
            ("some_new_field", "a", "2026-11-20T02:15:00+00:00"),
        ]
    ):
        record_user_change(
            session, agent.id, now=NOW + timedelta(seconds=n), actor_id=None, field=field,
            old=old, new=new,
        )  # fmt: skip
    session.commit()
    assert _read(change_log.of_user(session, agent.id, SH)) == [
        ("系统", "some_new_field", "a", "11-20 10:15"),
        ("系统", "密码", "（旧密码）", "本人修改"),
        ("系统", "登录锁定", "1 处锁定", "已解除"),
        ("系统", "登录锁定", None, "锁定至 11-20 10:15（来自 10.0.0.7）"),
    ]


def test_a_shops_settings_show_only_the_keys_that_changed(
    session: Session, make_shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(
        working_hours=WorkingHours(tz=SH).to_dict(), deadline_policy=DeadlinePolicy().to_dict()
    )
    boss = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管老陈")
    auto_assign.switch(session, shop, True, actor_id=boss.id, now=NOW)
    hours = WorkingHours(tz=SH, weekdays=frozenset(range(6)))  # Monday to Saturday
    shop_settings.update_policy(
        session,
        shop,
        hours,
        DeadlinePolicy(bad_hours=1),
        actor_id=boss.id,
        now=NOW + timedelta(minutes=1),
    )
    session.commit()
    changes = _read(change_log.of_shop(session, shop.id, SH))
    assert ("主管老陈", "首次联系时限", "差评（工作小时） 2", "差评（工作小时） 1") in changes
    assert (
        "主管老陈",
        "工作时间",
        "工作日 周一、周二、周三、周四、周五、周六、周日",
        "工作日 周一、周二、周三、周四、周五、周六",
    ) in changes
    assert changes[-1] == ("主管老陈", "自动分配", "关", "开")


def test_the_survey_template_reads_by_its_name(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    template = MessageTemplate(
        shop_id=shop.id, provider="aliyun", name="售后回访", sign_name="晨光",
        template_code="SMS_1", body="${name}您好 ${link}", purpose=MessagePurpose.NOTICE,
        created_at=NOW,
    )  # fmt: skip
    session.add(template)
    session.flush()
    record_shop_change(
        session, shop.id, now=NOW, actor_id=None, field="survey_template_id", old=None,
        new=template.id,
    )  # fmt: skip
    session.commit()
    (change,) = change_log.of_shop(session, shop.id, SH)
    assert (change.what, change.new) == ("回访短信模板", f"售后回访（#{template.id}）")
    assert change.at == NOW and isinstance(change.at, datetime)


def test_a_shop_on_default_settings_shows_what_changed_not_every_default(
    session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()  # working hours and deadlines never set: the defaults are in force
    assert shop.working_hours is None and shop.deadline_policy is None
    shop_settings.update_policy(
        session, shop, WorkingHours(tz=SH), DeadlinePolicy(bad_hours=1), actor_id=None, now=NOW
    )
    assert _read(change_log.of_shop(session, shop.id, SH)) == [
        ("系统", "首次联系时限", "差评（工作小时） 2", "差评（工作小时） 1")
    ]
