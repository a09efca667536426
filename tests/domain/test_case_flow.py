from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.domain.case_flow import (
    CLOSED,
    CONVERSATIONS,
    TRANSITIONS,
    UNANSWERED,
    TransitionError,
    attempt_problem,
    check_transition,
    closed_status,
    describes_call,
    status_after_attempt,
)
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.next_try import next_try, suggest, tried_enough
from tracker.domain.platform_rules import rules_for
from tracker.domain.working_hours import WorkingHours
from tracker.models.enums import AttemptOutcome as A
from tracker.models.enums import CaseOutcome as O
from tracker.models.enums import CaseStatus as S
from tracker.models.enums import Channel, Platform
from tracker.models.enums import Channel as C

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("old", list(S))
@pytest.mark.parametrize("new", list(S))
def test_the_transition_table_is_what_is_enforced(old: S, new: S) -> None:
    outcome = {S.RECOVERED: O.REVIEW_REVISED, S.DISMISSED: O.FALSE_ALARM}.get(new, O.REFUSED)
    outcome = outcome if new in CLOSED else None
    allowed = new in TRANSITIONS[old]
    if allowed:
        check_transition(old, new, outcome, is_hidden_negative=True)
    else:
        with pytest.raises(TransitionError):
            check_transition(old, new, outcome, is_hidden_negative=True)


def test_only_a_hidden_negative_can_be_a_false_alarm() -> None:
    check_transition(S.CONTACTING, S.DISMISSED, O.FALSE_ALARM, is_hidden_negative=True)
    with pytest.raises(TransitionError, match="只有隐性差评"):
        check_transition(S.CONTACTING, S.DISMISSED, O.FALSE_ALARM, is_hidden_negative=False)
    with pytest.raises(TransitionError, match="对应“误报”"):
        check_transition(S.CONTACTING, S.UNRECOVERED, O.FALSE_ALARM, is_hidden_negative=True)
    assert closed_status(O.FALSE_ALARM) is S.DISMISSED


def test_every_status_can_be_left_and_closed_cases_only_reopen() -> None:
    assert all(TRANSITIONS[s] for s in S if s is not S.REMOVED)  # a removed review is gone
    assert (
        TRANSITIONS[S.RECOVERED]
        == TRANSITIONS[S.UNRECOVERED]
        == TRANSITIONS[S.DISMISSED]
        == {S.CONTACTING}
    )


def test_closing_needs_the_matching_outcome() -> None:
    with pytest.raises(TransitionError, match="结案需要选择结果"):
        check_transition(S.CONTACTING, S.RECOVERED, None)
    with pytest.raises(TransitionError, match="对应“未挽回”"):
        check_transition(S.CONTACTING, S.RECOVERED, O.REFUSED)
    with pytest.raises(TransitionError, match="只有结案时"):
        check_transition(S.NEW, S.CONTACTING, O.REFUSED)
    assert closed_status(O.REVIEW_DELETED) is S.RECOVERED
    assert closed_status(O.SATISFIED_UNCHANGED) is S.UNRECOVERED
    assert closed_status(O.EXPLANATION_POSTED) is S.UNRECOVERED


def test_attempts_move_open_cases() -> None:
    assert status_after_attempt(S.NEW, A.NO_ANSWER) is S.CONTACTING
    assert status_after_attempt(S.CONTACTING, A.AGREED) is S.WAITING
    assert status_after_attempt(S.WAITING, A.BUYER_REPLIED) is S.CONTACTING
    assert status_after_attempt(S.RECOVERED, A.NO_ANSWER) is S.RECOVERED


def test_a_problem_being_handled_is_a_conversation_that_keeps_the_case_in_work() -> None:
    """已接通-问题处理中: the buyer was reached (the conversation clock stops), and the case
    stays with the shop, 联系中, even one that was waiting on a promise."""
    assert A.HANDLING in CONVERSATIONS and A.HANDLING not in UNANSWERED
    assert status_after_attempt(S.NEW, A.HANDLING) is S.CONTACTING
    assert status_after_attempt(S.WAITING, A.HANDLING) is S.CONTACTING
    tried = [(C.PHONE, at(23 + d, 10), A.NO_ANSWER) for d in range(3)]
    tried += [(C.WANGWANG, at(23 + d, 15), A.MESSAGE_LEFT) for d in range(3)]
    assert tried_enough(tried, HOURS) is not None
    assert tried_enough([*tried, (C.PHONE, at(26, 10), A.HANDLING)], HOURS) is None


HOURS = WorkingHours(tz=SH, periods=((time(9), time(12)), (time(13, 30), time(22))))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def test_after_a_missed_morning_call_try_chat_later_in_another_part_of_the_day() -> None:
    tip = suggest([(C.PHONE, at(23, 10), A.NO_ANSWER)], HOURS, now=at(23, 10, 5))
    assert tip.channel is C.WANGWANG
    assert tip.at >= at(23, 12) and tip.at.date() == at(23, 0).date()
    assert "上午" not in tip.reason.split("：")[0] and "未接通" in tip.reason


def test_parts_of_the_day_already_tried_come_last() -> None:
    tried = [
        (C.PHONE, at(23, 10), A.NO_ANSWER),
        (C.WANGWANG, at(23, 15), A.NO_ANSWER),
        (C.SMS, at(23, 20), A.MESSAGE_LEFT),
    ]
    all_day = WorkingHours(tz=SH, periods=((time(9), time(22)),))
    tip = suggest(tried, all_day, now=at(23, 20, 5))
    assert tip.at == at(24, 12)  # 中午 is the part of the day not tried yet
    assert tip.channel is C.PHONE  # every way tried once: round again, never WeChat
    # a shop that breaks for lunch does not call then: the least-tried part comes next
    tip = suggest(tried, HOURS, now=at(23, 20, 5))
    assert tip.at == at(24, 9, 30)


def test_a_tip_after_a_call_with_seconds_is_a_whole_minute_the_policy_allows() -> None:
    """Tried at 13:48:23 (a call's time carries seconds): the tip read 15:48, and a try
    logged at 15:48 was refused for the 23 seconds still missing. It reads 15:49."""
    called = at(24, 13, 48).replace(second=23)
    tried = [(C.WANGWANG, called, A.NO_ANSWER)]
    tip = next_try(tried, HOURS, called, policy=ContactPolicy(), contacted=[called])
    assert tip.at == at(24, 15, 49)
    assert ContactPolicy().refusals(tip.at, [called], tz=SH) == []


def test_never_the_phone_again_after_a_wrong_number() -> None:
    tried = [(C.PHONE, at(23, 10), A.WRONG_NUMBER), (C.WANGWANG, at(23, 15), A.NO_ANSWER)]
    tip = suggest(tried, HOURS, now=at(23, 15))
    assert tip.channel is C.WANGWANG  # the platform's chat is the one way left
    on_wechat = [*tried, (C.WECHAT, at(23, 17), A.MESSAGE_LEFT)]
    assert suggest(on_wechat, HOURS, now=at(23, 18)).channel is C.WANGWANG
    assert suggest(on_wechat[:2], HOURS, now=at(23, 18)).channel is C.WANGWANG


def test_wechat_is_tried_only_on_a_buyer_the_shop_reaches_there() -> None:
    """A Tmall buyer told to be tried 微信 after 电话, 旺旺/千牛 and 短信 is someone nobody
    has on WeChat: the tip went round to it. WeChat comes in once the agent has tried the
    buyer there, and the platform's chat is named as its staff name it."""
    tried = [
        (C.PHONE, at(23, 10), A.NO_ANSWER),
        (C.WANGWANG, at(23, 14), A.MESSAGE_LEFT),
        (C.SMS, at(24, 10), A.MESSAGE_SENT),
    ]
    every = [suggest(tried[:n], HOURS, now=at(24, 10, 1)).channel for n in range(1, 4)]
    assert C.WECHAT not in every and every[-1] is C.PHONE
    reached_there = [*tried, (C.WECHAT, at(24, 14), A.MESSAGE_LEFT), (C.PHONE, at(24, 19), A.BUSY)]
    assert suggest(reached_there, HOURS, now=at(24, 19, 1)).channel is C.WANGWANG
    assert suggest(reached_there[:4], HOURS, now=at(24, 14, 1)).channel is C.PHONE
    jd = rules_for(Platform.JD).channel_label
    tip = suggest(tried[:1], HOURS, now=at(23, 10, 1), named=jd)
    assert (
        tip.reason.startswith("换个时段（")
        and "并改用京东咚咚再试：上次 未接通（电话）" in tip.reason
    )
    chat_missed = suggest(tried[:2], HOURS, now=at(23, 14, 1), named=jd)
    assert chat_missed.reason.endswith("上次 已留言（京东咚咚）")


def test_right_after_a_wrong_number_another_way_at_once_or_the_new_number() -> None:
    """换个时段（下午）并改用微信再试 after 号码错误: another part of the day does not mend a
    wrong number. The next working moment, another way; a number come in since (fetched
    from the platform, imported) brings the phone back."""
    tried = [(C.WANGWANG, at(23, 9, 30), A.MESSAGE_LEFT), (C.PHONE, at(23, 10), A.WRONG_NUMBER)]
    taobao = rules_for(Platform.TAOBAO).channel_label
    tip = suggest(tried, HOURS, now=at(23, 10, 1), named=taobao)
    assert tip.at == at(23, 13, 30) and tip.channel is C.WANGWANG  # the gap, lunch, at once
    assert tip.reason == "上次号码错误：改用旺旺/千牛联系；向平台获取到新号码后可再打电话"
    old_number = suggest(tried, HOURS, now=at(23, 10, 1), number_since=at(23, 9), named=taobao)
    assert old_number == tip
    fresh = suggest(tried, HOURS, now=at(23, 10, 30), number_since=at(23, 10, 20))
    assert fresh.channel is C.PHONE and fresh.at == at(23, 13, 30)
    assert fresh.reason == "上次号码错误，已有新号码：用新号码再打"
    later = [*tried, (C.WECHAT, at(23, 14), A.NO_ANSWER)]  # on WeChat; a new number: SMS too
    assert suggest(later, HOURS, now=at(23, 14, 1)).channel is C.WANGWANG
    assert suggest(later, HOURS, now=at(23, 14, 1), number_since=at(23, 10, 20)).channel is C.SMS


def test_suggestions_fall_in_working_hours() -> None:
    tip = suggest([(C.PHONE, at(23, 21, 30), A.NO_ANSWER)], HOURS, now=at(23, 21, 31))
    assert HOURS.add(tip.at, timedelta(0)) == tip.at and tip.at > at(23, 23)


def test_a_tip_the_policy_moves_on_picks_its_part_of_the_day_again() -> None:
    """Called in the morning and the afternoon: the day's cap (2) is reached, so the evening
    that ``suggest`` picks is not allowed today. Moved on as it was, the tip read 换个时段
    （晚上） at 09:00 tomorrow; chosen again from tomorrow, it is tomorrow evening."""
    tried = [(C.PHONE, at(24, 10), A.NO_ANSWER), (C.WANGWANG, at(24, 14, 45), A.NO_ANSWER)]
    contacted = [moment for _, moment, _ in tried]
    tip = next_try(tried, HOURS, at(24, 14, 46), policy=ContactPolicy(), contacted=contacted)
    assert tip.at == at(25, 19) and "晚上" in tip.reason
    assert ContactPolicy().earliest(tip.at, contacted, tz=SH) == tip.at
    # a tip the policy allows as it is stays as ``suggest`` made it
    free = next_try(tried[:1], HOURS, at(24, 10, 5), policy=ContactPolicy(), contacted=[])
    assert free == suggest(tried[:1], HOURS, now=at(24, 10, 5))


def test_a_tip_past_the_buyers_window_is_brought_forward_when_it_can_be() -> None:
    """The same two tries, the day's cap reached: tomorrow evening is the part of the day
    not tried yet, but the window ends tomorrow at noon. The first moment the policy allows
    (09:00) comes first, and says why; a window no try can beat leaves the tip alone."""
    tried = [(C.PHONE, at(24, 10), A.NO_ANSWER), (C.WANGWANG, at(24, 14, 45), A.NO_ANSWER)]
    contacted = [moment for _, moment, _ in tried]
    policy = ContactPolicy()
    plain = next_try(tried, HOURS, at(24, 14, 46), policy=policy, contacted=contacted)
    assert plain.at == at(25, 19)
    tip = next_try(
        tried, HOURS, at(24, 14, 46), policy=policy, contacted=contacted, window_ends=at(25, 12)
    )
    assert tip.at == at(25, 9) and tip.channel is plain.channel
    assert tip.reason.startswith("赶在挽回期限（11-25 12:00）前改用") and "未接通" in tip.reason
    assert policy.earliest(tip.at, contacted, tz=SH) == tip.at  # still within the policy
    # a window that ends before any try is allowed: the problem is still to be solved
    late = next_try(
        tried, HOURS, at(24, 14, 46), policy=policy, contacted=contacted, window_ends=at(24, 20)
    )
    assert late == plain
    # a window the tip already beats changes nothing
    early = next_try(
        tried, HOURS, at(24, 14, 46), policy=policy, contacted=contacted, window_ends=at(26, 9)
    )
    assert early == plain


def test_a_message_cannot_ring_out_or_be_busy() -> None:
    for channel in (Channel.SMS, Channel.EMAIL):
        for outcome in (A.NO_ANSWER, A.BUSY):
            assert attempt_problem(channel, outcome)
        for outcome in (A.MESSAGE_LEFT, A.BUYER_REPLIED, A.WRONG_NUMBER, A.DO_NOT_CONTACT):
            assert attempt_problem(channel, outcome) is None
    for channel in (Channel.PHONE, Channel.WANGWANG, Channel.WECHAT):
        assert attempt_problem(channel, A.BUSY) is None


def test_a_result_logged_soon_after_a_privacy_call_describes_it() -> None:
    placed_at = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    call = (Channel.PHONE, placed_at, A.CALL_PLACED)
    soon = placed_at + timedelta(minutes=20)
    assert describes_call(call, Channel.PHONE, A.CONSIDERING, soon)
    assert describes_call(
        (Channel.PHONE, placed_at, A.CALL_CONNECTED), Channel.PHONE, A.AGREED, soon
    )
    assert describes_call(call, Channel.PHONE, A.DO_NOT_CONTACT, soon)
    assert not describes_call(call, Channel.WANGWANG, A.CONSIDERING, soon)  # another channel
    assert not describes_call(call, Channel.PHONE, A.BUYER_REPLIED, soon)  # their call back
    assert not describes_call(call, Channel.PHONE, A.AGREED, placed_at + timedelta(hours=2))
    assert not describes_call(call, Channel.PHONE, A.AGREED, placed_at - timedelta(minutes=1))
    missed = (Channel.PHONE, placed_at, A.NO_ANSWER)  # a call logged by hand is its own
    assert not describes_call(missed, Channel.PHONE, A.CONSIDERING, soon)


def test_a_buyer_tried_often_in_several_ways_on_several_days_may_be_closed_unreachable() -> None:
    tried = [
        (C.PHONE, at(23, 10), A.NO_ANSWER),
        (C.WANGWANG, at(23, 15), A.MESSAGE_LEFT),
        (C.PHONE, at(24, 19), A.BUSY),
        (C.SMS, at(24, 21), A.MESSAGE_SENT),
        (C.PHONE, at(25, 12), A.NO_ANSWER),
    ]
    said = tried_enough(tried, HOURS, named=rules_for(Platform.TMALL).channel_label)
    assert said == (
        "3 天里用电话、旺旺/千牛、短信联系了 5 次，买家都没有回应："
        "可以再试，也可以在“状态与结案”里以“联系不上买家”结案。"
    )
    assert tried_enough(tried[:4], HOURS) is None  # four tries: keep going
    same_way = [(C.PHONE, t, o) for _, t, o in tried]
    assert tried_enough(same_way, HOURS) is None  # one channel only: try another
    two_days = [(c, t.replace(day=min(t.day, 24)), o) for c, t, o in tried]
    assert tried_enough(two_days, HOURS) is None
    talked = [*tried[:2], (C.PHONE, at(24, 10), A.CONSIDERING), *tried[2:]]
    assert tried_enough(talked, HOURS) is None  # reached once: not unreachable
