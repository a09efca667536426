"""The case lifecycle as an explicit table, and what a contact attempt does to a case."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.models.enums import AttemptOutcome, CaseOutcome, CaseStatus, Channel

S = CaseStatus
OPEN = frozenset({S.NEW, S.CONTACTING, S.WAITING})
CLOSED = frozenset({S.RECOVERED, S.UNRECOVERED, S.DISMISSED, S.REMOVED})
# Cases that count in recovery figures: a dismissed false alarm never needed recovering, and
# a review the platform removed on appeal left no buyer to win back (both counted apart).
COUNTED = frozenset({S.NEW, S.CONTACTING, S.WAITING, S.RECOVERED, S.UNRECOVERED})

# Allowed moves. Closing needs an outcome; a closed case may be reopened (to 联系中).
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.NEW: frozenset({S.CONTACTING, S.WAITING, S.RECOVERED, S.UNRECOVERED, S.DISMISSED}),
    S.CONTACTING: frozenset({S.WAITING, S.RECOVERED, S.UNRECOVERED, S.DISMISSED}),
    S.WAITING: frozenset({S.CONTACTING, S.RECOVERED, S.UNRECOVERED, S.DISMISSED}),
    S.RECOVERED: frozenset({S.CONTACTING}),
    S.UNRECOVERED: frozenset({S.CONTACTING}),
    S.DISMISSED: frozenset({S.CONTACTING}),
    S.REMOVED: frozenset(),  # the review is gone: nothing to reopen
}

# Recovered as the platform shows it: set by intake when the change arrives, never typed.
VERIFIED_OUTCOMES = frozenset(
    {CaseOutcome.REVIEW_REVISED, CaseOutcome.REVIEW_DELETED, CaseOutcome.POSITIVE_FOLLOW_UP}
)
# Closed as recovered: the verified ones, and a supervisor's word (reported apart).
RECOVERED_OUTCOMES = VERIFIED_OUTCOMES | {CaseOutcome.MANUAL_RECOVERED}
# Only the tracker sets these: what the platform shows, and a promise whose window ran out.
SYSTEM_OUTCOMES = VERIFIED_OUTCOMES | {CaseOutcome.PROMISE_BROKEN, CaseOutcome.APPEAL_UPHELD}

# Attempts that reached the buyer: they stop the "first real conversation" clock.
CONVERSATIONS = frozenset(
    {
        AttemptOutcome.HANDLING,
        AttemptOutcome.AGREED,
        AttemptOutcome.CONSIDERING,
        AttemptOutcome.REFUSED,
        AttemptOutcome.BUYER_REPLIED,
        AttemptOutcome.CALL_CONNECTED,
    }
)
# What a buyer said of one review (yes, they will change it; no, they will not): their word
# on the buyer's other review is their own, so a contact logged on that case too does not
# carry it over unasked — it made a promise nobody heard, and 承诺未兑现 when none came.
ABOUT_ONE_REVIEW = frozenset({AttemptOutcome.AGREED, AttemptOutcome.REFUSED})
# Attempts that went as hoped: the buyer reached and the problem in hand or the change
# agreed, the buyer wrote, a message delivered, a privacy call connected. Green on the
# case's log and on the buyer's contact history alike.
WENT_WELL = frozenset(
    {
        AttemptOutcome.HANDLING,
        AttemptOutcome.AGREED,
        AttemptOutcome.BUYER_REPLIED,
        AttemptOutcome.MESSAGE_DELIVERED,
        AttemptOutcome.CALL_CONNECTED,
    }
)
# Written by the tracker from a provider's answer, never picked by a person.
SYSTEM_ATTEMPTS = frozenset(
    {
        AttemptOutcome.MESSAGE_QUEUED,
        AttemptOutcome.MESSAGE_SENT,
        AttemptOutcome.MESSAGE_DELIVERED,
        AttemptOutcome.MESSAGE_FAILED,
        AttemptOutcome.CALL_PLACED,
        AttemptOutcome.CALL_CONNECTED,
    }
)
FAILED = frozenset(
    {
        AttemptOutcome.NO_ANSWER,
        AttemptOutcome.BUSY,
        AttemptOutcome.MESSAGE_LEFT,
        AttemptOutcome.WRONG_NUMBER,
        AttemptOutcome.MESSAGE_FAILED,
    }
)
# Tries the buyer has not answered (yet): failed, or a message out and a call placed whose
# answer is still to come. After one, the case needs a next try on someone's list.
UNANSWERED = FAILED | frozenset(
    {
        AttemptOutcome.MESSAGE_QUEUED,
        AttemptOutcome.MESSAGE_SENT,
        AttemptOutcome.MESSAGE_DELIVERED,
        AttemptOutcome.CALL_PLACED,
    }
)


# A message has no line that rings: 未接通 and 占线/挂断 are what a call gets. Logged on an SMS
# or an email they read as a failed call, and the next try would be planned as after one.
MESSAGE_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})
CALL_RESULTS = frozenset({AttemptOutcome.NO_ANSWER, AttemptOutcome.BUSY})


def attempt_problem(channel: Channel, outcome: AttemptOutcome) -> str | None:
    """Why this result cannot come from this channel, in the agent's words; else None."""
    if channel in MESSAGE_CHANNELS and outcome in CALL_RESULTS:
        return (
            f"{channel.label}没有“{outcome.label}”：发出后买家还没回请选"
            f"“{AttemptOutcome.MESSAGE_LEFT.label}”，回了请选“{AttemptOutcome.BUYER_REPLIED.label}”。"
        )
    return None


# What the buyer said on a privacy-number call, logged by hand soon after, describes that
# call: it is written on the call's own attempt. As a second attempt the contact policy
# would refuse it (too soon after the last contact) and the buyer would count as called
# twice. A call back from the buyer (买家已回复) is their own contact, never this.
PRIVACY_CALLS = frozenset({AttemptOutcome.CALL_PLACED, AttemptOutcome.CALL_CONNECTED})
CALL_RESULT_WINDOW = timedelta(hours=1)


def awaits_result(call: tuple[Channel, datetime, AttemptOutcome], at: datetime) -> bool:
    """Whether the case's latest attempt ``call`` (channel, time, outcome, as the next-try
    rules read attempts) is a privacy-number call whose result may still be logged on it
    at ``at``."""
    channel, called_at, outcome = call
    return (
        outcome in PRIVACY_CALLS
        and channel is Channel.PHONE
        and called_at <= at <= called_at + CALL_RESULT_WINDOW
    )


def describes_call(
    call: tuple[Channel, datetime, AttemptOutcome],
    channel: Channel,
    outcome: AttemptOutcome,
    at: datetime,
) -> bool:
    """Whether a result logged by hand (``channel``, ``outcome``, ``at``) is that of the
    case's latest attempt ``call``, a privacy-number call placed from the case page."""
    return (
        awaits_result(call, at)
        and channel is Channel.PHONE
        and outcome not in SYSTEM_ATTEMPTS
        and outcome is not AttemptOutcome.BUYER_REPLIED
    )


class TransitionError(ValueError):
    pass


def closed_status(outcome: CaseOutcome) -> CaseStatus:
    if outcome is CaseOutcome.FALSE_ALARM:
        return S.DISMISSED
    if outcome is CaseOutcome.APPEAL_UPHELD:
        return S.REMOVED
    return S.RECOVERED if outcome in RECOVERED_OUTCOMES else S.UNRECOVERED


def check_transition(
    old: CaseStatus,
    new: CaseStatus,
    outcome: CaseOutcome | None,
    *,
    is_hidden_negative: bool = False,
) -> None:
    """Raise :class:`TransitionError` (with a message for the agent) unless allowed."""
    if new is S.DISMISSED and not is_hidden_negative:
        raise TransitionError("只有隐性差评（好评但文字不满）可以标为误报；中差评需要处理。")
    if new is old:
        raise TransitionError(f"案件已经是“{old.label}”。")
    if new not in TRANSITIONS[old]:
        raise TransitionError(f"不能从“{old.label}”改为“{new.label}”。")
    if new in CLOSED:
        if outcome is None:
            raise TransitionError("结案需要选择结果。")
        if closed_status(outcome) is not new:
            raise TransitionError(
                f"结果“{outcome.label}”对应“{closed_status(outcome).label}”，不是“{new.label}”。"
            )
    elif outcome is not None:
        raise TransitionError("只有结案时才能选择结果。")


def status_after_attempt(current: CaseStatus, outcome: AttemptOutcome) -> CaseStatus:
    """Logging an attempt moves an open case along; a closed case stays closed."""
    if current in CLOSED:
        return current
    if outcome in (AttemptOutcome.AGREED, AttemptOutcome.CONSIDERING):
        return S.WAITING  # the buyer will revise (or think about it): wait and check
    return S.CONTACTING  # 问题处理中 too: the shop still has work to do, and a call to make
