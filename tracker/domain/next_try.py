"""After a failed attempt: when and how to try next (锲而不舍, but not the same way twice)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from tracker.clock import whole_minute
from tracker.domain import case_flow
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models.enums import AttemptOutcome, CaseOutcome, Channel

# Parts of the day a buyer may be free in, in the shop's time zone.
DAYPARTS: tuple[tuple[str, time, time], ...] = (
    ("上午", time(9, 30), time(11, 30)),
    ("中午", time(12, 0), time(13, 30)),
    ("下午", time(14, 30), time(17, 30)),
    ("晚上", time(19, 0), time(21, 0)),
)
# The ways every buyer can be tried: their number, the platform's chat, SMS. WeChat is a
# way only to a buyer the shop already reaches there (one tried on it before): a Tmall
# buyer told to be tried 微信 is someone nobody has on WeChat.
ROTATION = (Channel.PHONE, Channel.WANGWANG, Channel.SMS)
MIN_GAP = timedelta(hours=2)
POLICY_ROUNDS = 4  # the policy moves a tip on at most a few times (quiet hours, cap, week)
# 锲而不舍 has been done when this many tries, on more than one channel and over this many
# days, never reached the buyer: closing as 联系不上买家 is then honest, not giving up early.
ENOUGH_TRIES = 5
ENOUGH_DAYS = 3


Named = Callable[[Channel], str]  # a channel as the shop's platform calls it


def _label(channel: Channel) -> str:
    return channel.label


@dataclass(frozen=True)
class Suggestion:
    channel: Channel
    at: datetime
    reason: str


def _daypart(moment: datetime) -> str | None:
    t = moment.timetz().replace(tzinfo=None)
    for name, start, end in DAYPARTS:
        if start <= t < end:
            return name
    return None


def suggest(
    tried: Sequence[tuple[Channel, datetime, AttemptOutcome]],
    hours: WorkingHours,
    now: datetime,
    *,
    number_since: datetime | None = None,
    named: Named = _label,
) -> Suggestion:
    """Another channel than the last one (never the phone after 号码错误, until a number
    comes in after it: ``number_since``, the newest number's arrival), at the next working
    moment in a part of the day not tried yet (or least tried), at least two hours on.
    Right after 号码错误 the time of day is no cure: the next working moment, another way
    (or the new number). ``named`` says a channel as the shop's platform does (its chat:
    旺旺/千牛 on Taobao, 京东咚咚 on JD)."""
    last_channel, last_at, last_outcome = tried[-1]
    local = hours.tz
    wrong = max((at for _, at, o in tried if o is AttemptOutcome.WRONG_NUMBER), default=None)
    renumbered = wrong is not None and number_since is not None and number_since > wrong
    banned = {Channel.PHONE, Channel.SMS} if wrong is not None and not renumbered else set()
    used = [c for c, _, _ in tried]
    ways = (*ROTATION, Channel.WECHAT) if Channel.WECHAT in used else ROTATION
    options = [c for c in ways if c not in banned and c is not last_channel] or [Channel.WANGWANG]
    channel = min(options, key=lambda c: (used.count(c), ways.index(c)))
    tried_parts = [_daypart(at.astimezone(local)) for _, at, _ in tried]
    earliest = whole_minute(max(now, last_at + MIN_GAP)).astimezone(local)
    if last_outcome is AttemptOutcome.WRONG_NUMBER:
        moment = hours.add(earliest, timedelta(0))
        if renumbered:
            return Suggestion(Channel.PHONE, moment, "上次号码错误，已有新号码：用新号码再打")
        return Suggestion(
            channel,
            moment,
            f"上次号码错误：改用{named(channel)}联系；向平台获取到新号码后可再打电话",
        )
    best: tuple[int, datetime, str] | None = None
    day = earliest.date()
    for _ in range(14):
        if hours.is_working_day(day):
            for name, start, _end in DAYPARTS:
                moment = max(datetime.combine(day, start, tzinfo=local), earliest)
                if _daypart(moment) != name:
                    continue  # this part of the day is already over
                if hours.add(moment, timedelta(0)) != moment:
                    continue  # outside the shop's working hours
                key = (tried_parts.count(name), moment, name)
                if best is None or key[:2] < best[:2]:
                    best = key
        if best is not None and best[0] == 0:
            break
        day += timedelta(days=1)
    if best is None:
        moment = hours.add(earliest, timedelta(0))
        return Suggestion(channel, moment, f"换用{named(channel)}")
    return Suggestion(
        channel,
        best[1],
        f"换个时段（{best[2]}）并改用{named(channel)}再试："
        f"上次 {last_outcome.label}（{named(last_channel)}）",
    )


def next_try(
    tried: Sequence[tuple[Channel, datetime, AttemptOutcome]],
    hours: WorkingHours,
    now: datetime,
    *,
    policy: ContactPolicy,
    contacted: Sequence[datetime],
    window_ends: datetime | None = None,
    number_since: datetime | None = None,
    named: Named = _label,
) -> Suggestion:
    """``suggest`` from the first moment the shop's contact policy allows (quiet hours, the
    daily cap, the gap after ``contacted``): what the case page offers an agent after a
    failed attempt. When the policy moves a tip on (the day's cap reached), the part of the
    day is chosen again from there: moved as it was, 换个时段（晚上） read 09:00 tomorrow.
    A tip past the case's ``window_ends`` that could come before it is brought forward: a
    new part of the day is worth less than a try while the buyer can still change things."""
    tip = _within_policy(
        suggest(tried, hours, now, number_since=number_since, named=named),
        tried,
        hours,
        policy,
        contacted,
        number_since,
        named,
    )
    if window_ends is None or tip.at < window_ends:
        return tip
    last_channel, last_at, last_outcome = tried[-1]
    soon = hours.add(whole_minute(max(now, last_at + MIN_GAP)), timedelta(0))
    for _ in range(POLICY_ROUNDS):  # the policy's moment may fall outside working hours
        allowed = policy.earliest(soon, contacted, tz=hours.tz)
        soon = hours.add(allowed, timedelta(0))
        if soon == allowed:
            break
    if soon >= window_ends:  # (the tip, at or after the window, is no sooner either)
        return tip  # nothing sooner is allowed: the problem is still the shop's to solve
    ends = window_ends.astimezone(hours.tz).strftime("%m-%d %H:%M")
    return Suggestion(
        tip.channel,
        soon,
        f"赶在挽回期限（{ends}）前改用{named(tip.channel)}再试："
        f"上次 {last_outcome.label}（{named(last_channel)}）",
    )


def _within_policy(
    tip: Suggestion,
    tried: Sequence[tuple[Channel, datetime, AttemptOutcome]],
    hours: WorkingHours,
    policy: ContactPolicy,
    contacted: Sequence[datetime],
    number_since: datetime | None,
    named: Named,
) -> Suggestion:
    for _ in range(POLICY_ROUNDS):
        allowed = policy.earliest(tip.at, contacted, tz=hours.tz)
        if allowed == tip.at:
            return tip
        tip = suggest(tried, hours, allowed, number_since=number_since, named=named)
    return replace(tip, at=policy.earliest(tip.at, contacted, tz=hours.tz))


def tried_enough(
    tried: Sequence[tuple[Channel, datetime, AttemptOutcome]],
    hours: WorkingHours,
    *,
    named: Named = _label,
) -> str | None:
    """What to tell an agent whose buyer was never reached though tried often enough, in
    enough ways and on enough days (:data:`ENOUGH_TRIES`, :data:`ENOUGH_DAYS`); else None."""
    if not tried or any(o in case_flow.CONVERSATIONS for _, _, o in tried):
        return None
    unanswered = [(c, at) for c, at, o in tried if o in case_flow.UNANSWERED]
    channels = [c for c in Channel if any(c is used for used, _ in unanswered)]
    days = {at.astimezone(hours.tz).date() for _, at in unanswered}
    if len(unanswered) < ENOUGH_TRIES or len(channels) < 2 or len(days) < ENOUGH_DAYS:
        return None
    ways = "、".join(named(c) for c in channels)
    return (
        f"{len(days)} 天里用{ways}联系了 {len(unanswered)} 次，买家都没有回应："
        f"可以再试，也可以在“状态与结案”里以“{CaseOutcome.UNREACHABLE.label}”结案。"
    )
