"""The contact policy: quiet hours, caps, the gap, the buyer's stop."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.domain.contact_policy import ContactPolicy, answers_buyer
from tracker.domain.working_hours import PolicyError

SH = ZoneInfo("Asia/Shanghai")
POLICY = ContactPolicy()  # 09:00–21:00, 2 a day, 5 a week, 2 hours apart
MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def test_quiet_hours_are_refused_with_the_hours() -> None:
    assert POLICY.refusals(MON_10, [], tz=SH) == []
    (late,) = POLICY.refusals(MON_10.replace(hour=21, minute=5), [], tz=SH)
    assert "09:00–21:00" in late
    assert POLICY.refusals(MON_10.replace(hour=8, minute=59), [], tz=SH)


def test_caps_and_gap_count_every_case_of_the_buyer() -> None:
    assert "不足 2 小时" in POLICY.refusals(MON_10, [MON_10 - timedelta(hours=1)], tz=SH)[0]
    two_today = [MON_10 - timedelta(hours=1, minutes=30), MON_10 - timedelta(minutes=150)]
    assert any(
        "今天已联系 2 次" in r
        for r in POLICY.refusals(MON_10 + timedelta(hours=3), two_today, tz=SH)
    )
    week = [MON_10 - timedelta(days=d) for d in range(1, 6)]
    assert any("7 天内已联系 5 次" in r for r in POLICY.refusals(MON_10, week, tz=SH))


def test_answering_a_buyer_who_wrote_is_refused_only_at_night_or_after_a_stop() -> None:
    texted = MON_10 - timedelta(minutes=50)  # our SMS; the buyer wrote back 20 minutes later
    replied = [texted + timedelta(minutes=20)]
    assert answers_buyer(MON_10, [texted], replied)
    assert POLICY.refusals(MON_10, [texted], tz=SH) != []  # the gap, were it not an answer
    assert POLICY.refusals(MON_10, [texted], tz=SH, answering=True) == []
    full = [MON_10 - timedelta(days=d) for d in range(1, 6)]
    assert POLICY.refusals(MON_10, full, tz=SH, answering=True) == []
    night = MON_10.replace(hour=22)
    assert POLICY.refusals(night, [texted], tz=SH, answering=True)
    stopped = MON_10 - timedelta(minutes=5)
    assert POLICY.refusals(MON_10, [], tz=SH, do_not_contact_since=stopped, answering=True)
    # answered once, the next contact is ours again; a day-old message is no longer waiting
    assert not answers_buyer(MON_10 + timedelta(minutes=10), [texted, MON_10], replied)
    assert not answers_buyer(MON_10 + timedelta(days=2), [texted], replied)
    assert not answers_buyer(MON_10, [texted], [])


def test_a_buyer_who_asked_to_stop_is_not_contacted_again() -> None:
    (stop,) = POLICY.refusals(MON_10, [], tz=SH, do_not_contact_since=MON_10 - timedelta(days=1))
    assert "勿扰" in stop


def test_the_earliest_allowed_moment_skips_the_night_the_cap_and_the_gap() -> None:
    night = MON_10.replace(hour=22)
    assert POLICY.earliest(night, [], tz=SH) == MON_10 + timedelta(days=1, hours=-1)
    assert POLICY.earliest(MON_10, [MON_10 - timedelta(hours=1)], tz=SH) == MON_10 + timedelta(
        hours=1
    )
    full = [MON_10 - timedelta(hours=3), MON_10 - timedelta(minutes=30)]
    assert POLICY.earliest(MON_10, full, tz=SH) == datetime(2026, 11, 24, 9, tzinfo=SH)


def test_the_earliest_allowed_moment_waits_out_a_full_week() -> None:
    """Five attempts over the last five days: the next one waits until the oldest is a
    week old (it used to give up after 60 half-hour steps and return a refused moment)."""
    week = [MON_10 - timedelta(days=d, hours=1) for d in range(1, 6)]
    at = POLICY.earliest(MON_10, week, tz=SH)
    assert POLICY.refusals(at, week, tz=SH) == []
    assert at == week[-1] + timedelta(days=7, minutes=1)  # the whole minute after it


def test_the_earliest_allowed_moment_is_a_whole_minute_staff_can_type() -> None:
    """Called at 13:48:23: 15:48 read as allowed, and at 15:48 the form was refused for
    the 23 seconds still missing. The earliest moment is now 15:49."""
    called = MON_10.replace(hour=13, minute=48, second=23)
    at = POLICY.earliest(called + timedelta(minutes=10), [called], tz=SH)
    assert at == MON_10.replace(hour=15, minute=49)
    assert POLICY.refusals(at, [called], tz=SH) == []
    assert POLICY.refusals(at - timedelta(minutes=1), [called], tz=SH) != []
    assert POLICY.earliest(MON_10.replace(second=5), [], tz=SH) == MON_10 + timedelta(minutes=1)


def test_the_policy_round_trips_and_refuses_nonsense() -> None:
    policy = ContactPolicy(time(8, 30), time(20, 0), 1, 3, timedelta(hours=4))
    assert ContactPolicy.from_dict(policy.to_dict()) == policy
    assert ContactPolicy.from_dict(None) == ContactPolicy()
    with pytest.raises(PolicyError):
        ContactPolicy(day_starts=time(21), day_ends=time(9))
    with pytest.raises(PolicyError):
        ContactPolicy(per_day=6, per_week=5)


@settings(max_examples=400, deadline=None)
@given(
    hours=st.tuples(st.integers(0, 22), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
    per_day=st.integers(1, 5),
    extra_per_week=st.integers(0, 8),
    gap_minutes=st.sampled_from([0, 30, 120, 600, 1440, 2880]),
    after_minutes=st.integers(0, 3 * 24 * 60),
    # attempts on any of the buyer's cases, from eight days before to ten hours after
    attempts=st.lists(st.integers(-600, 8 * 24 * 60), max_size=15),
)
def test_the_earliest_moment_is_always_one_the_policy_allows(
    hours: tuple[int, int],
    per_day: int,
    extra_per_week: int,
    gap_minutes: int,
    after_minutes: int,
    attempts: list[int],
) -> None:
    """What 下次联系 suggests and a held campaign message waits for is never refused."""
    starts, ends = hours
    policy = ContactPolicy(
        day_starts=time(starts),
        day_ends=time(ends) if ends < 24 else time(23, 59),
        per_day=per_day,
        per_week=per_day + extra_per_week,
        min_gap=timedelta(minutes=gap_minutes),
    )
    after = MON_10 + timedelta(minutes=after_minutes)
    earlier = sorted(after - timedelta(minutes=m) for m in attempts)
    moment = policy.earliest(after, earlier, tz=SH)
    assert moment >= after
    assert policy.refusals(moment, earlier, tz=SH) == []


def test_a_day_may_end_at_24_00_and_its_last_minute_is_in_hours() -> None:
    """23:59 left a minute of every night refused: a shop's day (and the tests' lax policy)
    may run to 24:00, kept and shown as such."""
    stored = {"day_starts": "07:00", "day_ends": "24:00", "per_day": 2, "per_week": 5}
    until_midnight = ContactPolicy.from_dict(stored | {"min_gap_minutes": 0})
    assert until_midnight.to_dict()["day_ends"] == "24:00"
    assert until_midnight.refusals(MON_10.replace(hour=23, minute=59, second=30), [], tz=SH) == []
    (early,) = until_midnight.refusals(MON_10.replace(hour=6, minute=30), [], tz=SH)
    assert "07:00–24:00" in early
    with pytest.raises(PolicyError, match="不是时刻"):
        ContactPolicy.from_dict(stored | {"day_ends": "25:00", "min_gap_minutes": 0})
