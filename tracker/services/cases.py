"""Working a case: claim, assign, log contact attempts, change status, remedies, explanation.

Every change writes audit rows. Edits carry the case version the user saw; an edit based on
a copy someone else changed meanwhile is refused with who changed it and when.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import case_flow, compliance, remedy_notices
from tracker.domain.contact_policy import stop_refusal, stopped
from tracker.domain.platform_rules import ReviewRules, rules_for
from tracker.domain.privacy import identifying_parts
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    AuditEvent,
    Case,
    CaseReason,
    ContactAttempt,
    Order,
    OrderLine,
    Remedy,
    Shop,
    User,
)
from tracker.models.enums import (
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Platform,
    Reason,
    RemedyKind,
    Role,
)
from tracker.services import alerts, buyer_profiles, contact_log, follow_ups, recommendations
from tracker.services.audit import record_case_change, record_change
from tracker.services.corrections import store_correction
from tracker.services.errors import FieldError
from tracker.services.transaction import ChangedMeanwhile, transaction

EXPLANATION_LIMIT = 500


class CaseConflict(RuntimeError):
    """The action cannot go ahead as asked; the message says why, for the agent."""


class StaleCase(CaseConflict):
    """Someone changed the case since the page was loaded: who and when, for the message
    (the time in the viewer's zone, which the web layer knows)."""

    def __init__(self, who: str | None, at: datetime | None) -> None:
        self.who, self.at = who, at
        super().__init__(self.describe(UTC))

    def describe(self, tz: tzinfo) -> str:
        by = f"{self.who}于 {self.at.astimezone(tz):%H:%M}" if self.who and self.at else "他人"
        return f"此案件已被{by}修改，您看到的不是最新内容。请刷新页面后再操作。"


class AlreadyClaimed(CaseConflict):
    pass


def _display(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return "系统"
    user = session.get(User, user_id)
    return user.display_name if user else f"用户 {user_id}"


def check_version(session: Session, case: Case, expected: int | None) -> None:
    """Refuse an edit made on an outdated copy of the case."""
    if expected is None or expected == case.version:
        return
    last = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.case_id == case.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()
    raise StaleCase(
        _display(session, last.actor_id) if last else None, last.occurred_at if last else None
    )


def may_work(case: Case, user: User) -> bool:
    """Agents work their own cases and unassigned ones; supervisors and admins any case."""
    return user.role is not Role.AGENT or case.owner_id in (None, user.id)


def check_can_work(case: Case, user: User, session: Session) -> None:
    """:func:`may_work`, or the conflict that names who works the case."""
    if not may_work(case, user):
        raise CaseConflict(f"此案件由{_display(session, case.owner_id)}负责，您不能操作。")


def touch(case: Case, now: datetime) -> None:
    case.updated_at = now  # also bumps the version (optimistic lock)


@contextmanager
def case_transaction(session: Session) -> Iterator[Session]:
    """A case command's one transaction, committed or rolled back whole; a save that lost
    the race to another agent's becomes the message the agent sees."""
    try:
        with transaction(session):
            yield session
    except ChangedMeanwhile as exc:
        raise StaleCase("此案件刚刚被他人修改，您的操作未保存。请刷新页面后再试。") from exc


def claim(session: Session, case: Case, user: User, *, now: datetime) -> list[int]:
    """Take an unassigned case. Of two agents claiming at once, exactly one gets it.

    The buyer's other open cases nobody has claimed come along (one buyer, one agent, as
    intake gives a buyer's new case to whoever works them); returns their ids."""
    with case_transaction(session):
        taken = session.execute(
            sa.update(Case)
            .where(Case.id == case.id, Case.owner_id.is_(None))
            .values(owner_id=user.id, updated_at=now, version=Case.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            owner_id = session.scalar(sa.select(Case.owner_id).where(Case.id == case.id))
            raise AlreadyClaimed(
                f"此案件已由{_display(session, owner_id)}认领。"
                if owner_id != user.id
                else "您已经认领了此案件。"
            )
        record_case_change(
            session,
            case,
            now=now,
            actor_id=user.id,
            field="owner",
            old=None,
            new=user.display_name,
        )
        along = _take_the_buyers_other_cases(session, case, user, now)
    session.refresh(case)
    return along


def _take_the_buyers_other_cases(
    session: Session, case: Case, user: User, now: datetime
) -> list[int]:
    """The buyer's other open cases nobody has claimed become ``user``'s, as ``case`` did:
    one buyer, one agent. Audited on each; returns their ids. Only cases opened by ``now``:
    one the buyer opens later is intake's to assign (to this agent while this case is open)."""
    if case.buyer_id is None:
        return []
    # Rows another claim holds are skipped, not waited for: two agents claiming two cases of
    # one buyer at once would each wait for the other's row (a deadlock on PostgreSQL).
    free = session.scalars(
        sa.select(Case.id)
        .where(
            Case.shop_id == case.shop_id,
            Case.buyer_id == case.buyer_id,
            Case.id != case.id,
            Case.owner_id.is_(None),
            Case.status.in_(case_flow.OPEN),
            Case.opened_at <= now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    if not free:
        return []
    along = sorted(
        session.scalars(
            sa.update(Case)
            .where(Case.id.in_(free), Case.owner_id.is_(None))
            .values(owner_id=user.id, updated_at=now, version=Case.version + 1)
            .returning(Case.id)
            .execution_options(synchronize_session=False)
        )
    )
    for other_id in along:
        record_change(
            session,
            now=now,
            actor_id=user.id,
            entity_type="case",
            entity_id=other_id,
            case_id=other_id,
            field="owner",
            old=None,
            new=f"{user.display_name}（认领同一买家的 #{case.id} 时一并认领）",
        )
    return along


def hand_over(
    session: Session,
    case: Case,
    owner_id: int | None,
    *,
    actor_id: int | None,
    now: datetime,
    old: str | None,
    new: str | None,
) -> None:
    """Give ``case`` to another owner (or none), in the audit trail as ``old`` → ``new`` and
    with its version moved, so a page open on it is stale. The caller owns the transaction."""
    record_case_change(session, case, now=now, actor_id=actor_id, field="owner", old=old, new=new)
    case.owner_id = owner_id
    touch(case, now)


def assign(
    session: Session, cases: Sequence[Case], owner: User | None, *, actor: User, now: datetime
) -> int:
    """Supervisors (and admins) assign or unassign cases; returns how many changed."""
    with case_transaction(session):
        if not actor.leads:
            raise CaseConflict("只有主管可以分配案件。")
        if owner is not None and (
            not owner.is_active or not {c.shop_id for c in cases} <= owner.shop_ids
        ):
            raise FieldError("owner_id", f"{owner.display_name} 不负责这些案件所在的店铺。")
        if owner is not None and owner.is_away(now):
            raise FieldError("owner_id", f"{owner.display_name} 不在岗，请分给在岗的同事。")
        changed = 0
        for case in cases:
            new_owner = owner.id if owner else None
            if case.owner_id == new_owner:
                continue
            hand_over(
                session,
                case,
                new_owner,
                actor_id=actor.id,
                now=now,
                old=_display(session, case.owner_id) if case.owner_id else None,
                new=owner.display_name if owner else None,
            )
            if owner is not None:
                alerts.notify_assigned(session, case, owner, actor=actor, now=now)
            changed += 1
        return changed


@dataclass(frozen=True)
class AttemptDraft:
    channel: Channel
    attempted_at: datetime
    outcome: AttemptOutcome
    duration_seconds: int | None = None
    notes: str = ""
    next_attempt_at: datetime | None = None
    shown: tuple[recommendations.Shown, ...] = ()  # the suggestions on screen for this call
    mentioned: frozenset[int] = frozenset()  # product ids the agent ticked
    override_reason: str = ""  # a supervisor's reason to go past the contact policy
    # a notice the buyer waits for (a remedy recorded, not yet announced): only quiet hours
    # and 勿扰 hold it, not the gap or the caps (tracker.domain.remedy_notices.awaited)
    awaited: bool = False


def _work_seconds(hours: WorkingHours, start: datetime, end: datetime) -> int:
    return int(hours.between(start, end).total_seconds())


def _respect_contact_policy(
    session: Session,
    case: Case,
    draft: AttemptDraft,
    *,
    actor: User,
    now: datetime,
    tz: ZoneInfo,
    new_contact: bool = True,
) -> None:
    """Refuse an attempt the shop's contact policy forbids (quiet hours, caps, the gap, the
    buyer's 勿扰) unless a supervisor gives a reason, which is audited. A buyer's own message
    is never refused, nor the result of a call already made (``new_contact`` false);
    买家要求勿扰 locks further contact until a supervisor lifts it (no reason goes past it
    here)."""
    buyer = case.buyer
    if buyer is None or draft.outcome is AttemptOutcome.BUYER_REPLIED:
        return
    if new_contact and stopped(buyer.do_not_contact_at, draft.attempted_at):
        raise FieldError(
            "attempted_at", stop_refusal(buyer.do_not_contact_at, tz, leads=actor.leads)
        )
    refusals: list[str] = []
    if new_contact:
        refusals = contact_log.refusals(
            session,
            contact_log.policy_of(session, case.shop_id),
            buyer,
            draft.attempted_at,
            tz=tz,
            contacted=contact_log.times_for_buyer(session, buyer.id),
            awaited=draft.awaited,
        )
    reason = draft.override_reason.strip()
    if refusals and not (reason and actor.leads):
        hint = (
            "如确有必要，请填写越过联系规则的原因。"
            if actor.leads
            else "如确有必要，请主管填写原因后记录。"
        )
        raise FieldError("attempted_at", "；".join(refusals) + "。" + hint)
    if refusals:
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="contact_policy_override",
            old="；".join(refusals),
            new=reason,
        )
    if draft.outcome is AttemptOutcome.DO_NOT_CONTACT and buyer.do_not_contact_at is None:
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="buyer",
            entity_id=buyer.id,
            field="do_not_contact_at",
            old=None,
            new=draft.attempted_at.isoformat(),
        )
        buyer.do_not_contact_at = draft.attempted_at


def _check_follow_up_in_hours(
    session: Session, case: Case, at: datetime, hours: WorkingHours, field: str
) -> None:
    """A call planned in the shop's quiet hours could not be made when it came."""
    policy = contact_log.policy_of(session, case.shop_id)
    if not policy.in_hours(at, hours.tz):
        raise FieldError(
            field,
            f"下次跟进 {at.astimezone(hours.tz):%m-%d %H:%M} 是休息时间：只在 {policy.hours_text} "
            "联系买家，请选这段时间内。",
        )


def reschedule_follow_up(
    session: Session,
    case: Case,
    at: datetime,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
    hours: WorkingHours,
) -> bool:
    """Move an open case's 下次跟进 without a contact to log: to a time its owner works, or
    to the day the buyer named when they wrote. Audited; the reminder follows the new time
    (its key is the time). One already passed is moved by the contact that was due (logged
    with its next time) or by a supervisor: moved by hand it would leave 跟进已过 unseen.
    Returns whether it changed."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        if case.status not in case_flow.OPEN:
            raise FieldError("at", "案件已结案，不再跟进。")
        passed = case.next_follow_up_at is not None and case.next_follow_up_at <= now
        if passed and not actor.leads:
            raise FieldError(
                "at", "约好的跟进时间已过：请联系买家并记录（可同时填下次跟进），或请主管改约。"
            )
        if at <= now:
            raise FieldError("at", "下次跟进应晚于现在。")
        _check_follow_up_in_hours(session, case, at, hours, "at")
        if at == case.next_follow_up_at:
            return False
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="next_follow_up_at",
            old=case.next_follow_up_at.isoformat() if case.next_follow_up_at else None,
            new=at.isoformat(),
        )
        case.next_follow_up_at = at
        touch(case, now)
        return True


def log_attempt(
    session: Session,
    case: Case,
    draft: AttemptDraft,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
    hours: WorkingHours,
    together: Collection[int] = (),
    together_outcome: AttemptOutcome | None = None,
) -> ContactAttempt:
    """Log a contact on the case; ``together``: the ids of the buyer's other open cases the
    same contact was about (一次联系一并处理), each given it as its own attempt, with the
    same result or ``together_outcome`` (which a result about this review alone needs:
    :data:`case_flow.ABOUT_ONE_REVIEW`). It is one contact: the policy judges it once, and
    the contact log counts it once (before, logging the call again on the other case was
    refused as 距上次联系不足 2 小时, and that case's first-contact clock ran on though the
    buyer had been reached)."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        _check_attempt(session, case, draft, now=now, hours=hours)
        attempt = record_attempt(session, case, draft, actor=actor, now=now, hours=hours)
        if together and together_outcome is None and draft.outcome in case_flow.ABOUT_ONE_REVIEW:
            said = rules_of_case(session, case).attempt_label(draft.outcome)
            raise FieldError(
                "together_outcome",
                f"“{said}”是买家对这条评价的答复：请选买家对勾选的案件怎么说，或取消勾选。",
            )
        same = replace(  # at the contact's time (a privacy call's own, if it described one)
            draft,
            outcome=together_outcome or draft.outcome,
            attempted_at=attempt.attempted_at,
            shown=(),
            mentioned=frozenset(),
            override_reason="",
            awaited=False,
        )
        for other in _together(session, case, together):  # loaded after the main is taken
            check_can_work(other, actor, session)
            try:
                _check_attempt(session, other, same, now=now, hours=hours)
            except FieldError as exc:
                raise FieldError("together", f"#{other.id}：{exc.message}") from exc
            record_attempt(
                session, other, same, actor=actor, now=now, hours=hours, same_contact=True
            )
        return attempt


def _together(session: Session, case: Case, ids: Collection[int]) -> list[Case]:
    """The buyer's other open cases named, read afresh (taking the main case along may have
    just made them the agent's)."""
    if not ids:
        return []
    found = session.scalars(
        sa.select(Case)
        .where(Case.id.in_(ids))
        .order_by(Case.id)
        .execution_options(populate_existing=True)
    ).all()
    for other in found:
        if (
            other.id == case.id
            or other.buyer_id != case.buyer_id
            or other.shop_id != case.shop_id
            or other.status not in case_flow.OPEN
        ):
            raise FieldError("together", f"#{other.id} 不是这位买家进行中的其他案件。")
    if len(found) != len(set(ids)):
        raise FieldError("together", "勾选的案件有的已不存在，请刷新页面后再试。")
    return list(found)


def _check_attempt(
    session: Session, case: Case, draft: AttemptDraft, *, now: datetime, hours: WorkingHours
) -> None:
    """What makes an attempt impossible to log on this case, whatever the policy says."""
    if draft.attempted_at > now + timedelta(minutes=5):
        raise FieldError("attempted_at", "联系时间不能晚于现在。")
    if draft.attempted_at < case.opened_at - timedelta(days=1):
        raise FieldError("attempted_at", "联系时间不能早于开案时间。")
    if draft.next_attempt_at is not None and draft.next_attempt_at <= draft.attempted_at:
        raise FieldError("next_attempt_at", "下次联系时间应晚于本次联系时间。")
    if (planned := draft.next_attempt_at) is not None:  # a night call could not be made
        _check_follow_up_in_hours(session, case, planned, hours, "next_attempt_at")
    if draft.duration_seconds is not None and not 0 <= draft.duration_seconds <= 6 * 3600:
        raise FieldError("duration_minutes", "通话时长应在 0 到 360 分钟之间。")
    if draft.outcome in case_flow.SYSTEM_ATTEMPTS:
        raise FieldError("outcome", f"“{draft.outcome.label}”由系统记录，不能手动选择。")
    if problem := case_flow.attempt_problem(draft.channel, draft.outcome):
        raise FieldError("outcome", problem)
    if draft.outcome is AttemptOutcome.HANDLING and draft.next_attempt_at is None:
        # 锲而不舍 until it is solved: the call that checks is on the agent's list
        raise FieldError(
            "next_attempt_at",
            f"“{draft.outcome.label}”需要下次跟进时间（比如补发预计送到的那天），"
            "到时再联系买家，确认问题解决了。",
        )
    if draft.outcome is AttemptOutcome.AGREED:  # to what the buyer can still do
        rules = rules_of_case(session, case)
        if not rules.can_still_change(has_follow_up=bool(case.review.follow_up_text)):
            raise FieldError(
                "outcome",
                f"买家已经追评过，{rules.platform.label}上这条评价不会再变，没有可以答应的"
                f"{rules.promise}。问题解决后请以“{CaseOutcome.SATISFIED_UNCHANGED.label}”"
                "结案。",
            )


def record_attempt(
    session: Session,
    case: Case,
    draft: AttemptDraft,
    *,
    actor: User,
    now: datetime,
    hours: WorkingHours,
    same_contact: bool = False,
) -> ContactAttempt:
    """Add an attempt the contact policy allows, and move the case along (first contact,
    first conversation, a promise, the status). The caller owns the transaction: a logged
    call, a queued message and a privacy-number call all come through here. What the buyer
    said on a privacy-number call just placed is written on that call's attempt.
    ``same_contact``: the contact just logged on the buyer's other case, also about this
    one; the policy has judged it already."""
    call = None if same_contact else call_described(session, case, draft)
    _respect_contact_policy(
        session,
        case,
        draft,
        actor=actor,
        now=now,
        tz=hours.tz,
        new_contact=call is None and not same_contact,
    )
    if call is None:
        attempt = ContactAttempt(
            case_id=case.id,
            agent_id=actor.id,
            channel=draft.channel,
            attempted_at=draft.attempted_at,
            outcome=draft.outcome,
            duration_seconds=draft.duration_seconds,
            notes=draft.notes.strip(),
            next_attempt_at=draft.next_attempt_at,
            created_at=now,
        )
        session.add(attempt)
        case.attempt_count += 1
    else:  # the call's own time stays; the provider's duration unless one is typed
        attempt = call
        attempt.outcome = draft.outcome
        if draft.duration_seconds is not None:
            attempt.duration_seconds = draft.duration_seconds
        attempt.notes = "；".join(n for n in (attempt.notes, draft.notes.strip()) if n)
        attempt.next_attempt_at = draft.next_attempt_at
    if draft.shown:
        session.flush()
        recommendations.record_call(session, case, attempt, draft.shown, set(draft.mentioned))
    if case.owner_id is None:
        case.owner_id = actor.id
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="owner",
            old=None,
            new=actor.display_name,
        )
        _take_the_buyers_other_cases(session, case, actor, now)
    at = attempt.attempted_at
    if case.first_attempt_at is None or at < case.first_attempt_at:
        case.first_attempt_at = at  # stops the first-contact clock
        case.first_attempt_work_seconds = _work_seconds(hours, case.opened_at, at)
    if draft.outcome in case_flow.CONVERSATIONS and (
        case.first_conversation_at is None or at < case.first_conversation_at
    ):
        note_first_conversation(case, at, hours)
    if draft.outcome is AttemptOutcome.AGREED and case.promised_at is None:
        # 买家承诺修改: the case now waits for the platform to show the change
        case.promised_at = at
    new_status = case_flow.status_after_attempt(case.status, draft.outcome)
    if new_status is not case.status:
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="status",
            old=case.status.value,
            new=new_status.value,
        )
        case.status = new_status
    # a notice they wait for asks no reply: the check-up planned on the call stands
    planned = case.next_follow_up_at is not None
    keeps_plan = draft.awaited and draft.next_attempt_at is None and planned
    if not keeps_plan:
        case.next_follow_up_at = draft.next_attempt_at
    if (
        draft.next_attempt_at is None
        and case.next_follow_up_at is None
        and draft.outcome in case_flow.UNANSWERED
    ):
        # 锲而不舍: a buyer not reached comes back on the agent's list at the suggested try
        session.flush()
        tip = follow_ups.next_try_for(session, case, hours=hours, now=now)
        case.next_follow_up_at = tip.at if tip else None
    # said as the form said it: 已接通-同意追评 on Tmall, 同意和解 on WeChat
    rules = rules_of_case(session, case)
    said = rules.attempt_label(draft.outcome)
    record_case_change(
        session,
        case,
        now=now,
        actor_id=actor.id,
        field="attempt",
        old=None,
        new=f"{rules.channel_label(draft.channel)} · {said}"
        + ("（隐私号外呼的结果）" if call else ""),
    )
    touch(case, now)
    return attempt


def note_first_conversation(case: Case, at: datetime, hours: WorkingHours) -> None:
    """The buyer was first reached at ``at``: stops the first-conversation clock."""
    case.first_conversation_at = at
    case.first_conversation_work_seconds = _work_seconds(hours, case.opened_at, at)


def call_described(session: Session, case: Case, draft: AttemptDraft) -> ContactAttempt | None:
    """The privacy-number call this hand-logged result is about: the case's latest attempt,
    placed from the case page within the hour before (``case_flow.describes_call``)."""
    if draft.channel is not Channel.PHONE or draft.outcome in case_flow.SYSTEM_ATTEMPTS:
        return None  # no need to read the case's attempts
    latest = session.scalars(
        sa.select(ContactAttempt)
        .where(ContactAttempt.case_id == case.id)
        .order_by(ContactAttempt.attempted_at.desc(), ContactAttempt.id.desc())
        .limit(1)
    ).first()
    if latest is None or not case_flow.describes_call(
        (latest.channel, latest.attempted_at, latest.outcome),
        draft.channel,
        draft.outcome,
        draft.attempted_at,
    ):
        return None
    return latest


def change_status(
    session: Session,
    case: Case,
    status: CaseStatus,
    outcome: CaseOutcome | None,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
    note: str = "",
) -> None:
    """A person moves the case. Outcomes the platform confirms (已改为好评, 已删除评价,
    已追评转好) and 承诺未兑现 are the tracker's to set, never a person's; a supervisor may
    still close a case as recovered on their own word, with a reason, marked as such."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        if outcome in case_flow.SYSTEM_OUTCOMES:
            rules = rules_of_case(session, case)
            raise FieldError(
                "outcome",
                f"“{outcome.label}”由平台数据确认后自动设置，不能手动选择。"
                f"买家答应{rules.promise}时，请记录联系结果"
                f"“{rules.attempt_label(AttemptOutcome.AGREED)}”，案件会等待平台显示。",
            )
        note = note.strip()
        if outcome is CaseOutcome.MANUAL_RECOVERED:
            if not actor.leads:
                raise FieldError("outcome", "只有主管可以在平台未确认时认定挽回。")
            if not note:
                raise FieldError("note", "请写明认定挽回的依据（平台未确认，报表会单列）。")
        try:
            case_flow.check_transition(
                case.status, status, outcome, is_hidden_negative=case.is_hidden_negative
            )
        except case_flow.TransitionError as exc:
            raise FieldError("status", str(exc)) from exc
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="status",
            old=case.status.value,
            new=status.value,
        )
        if outcome is not None or case.outcome is not None:
            record_case_change(
                session,
                case,
                now=now,
                actor_id=actor.id,
                field="outcome",
                old=case.outcome.value if case.outcome else None,
                new=outcome.value if outcome else None,
            )
        case.status = status
        case.outcome = outcome
        if note or case.outcome_note:
            record_case_change(
                session,
                case,
                now=now,
                actor_id=actor.id,
                field="outcome_note",
                old=case.outcome_note,
                new=note or None,
            )
            case.outcome_note = note or None
        if status is CaseStatus.DISMISSED:  # the model was wrong: the next training learns it
            store_correction(session, case.review_id, is_positive=True, user_id=actor.id, now=now)
        if status in case_flow.CLOSED:
            case.closed_at, case.closed_by_id = now, actor.id
            case.next_follow_up_at = None
        else:  # an open status; from a closed one, reopened
            if case.closed_at is not None and case.promised_at is not None:
                # a promise the closing overtook (买家拒绝 after 同意追评, say) would have the
                # reopened case wait for the platform and close as 承诺未兑现: worked afresh
                record_case_change(
                    session,
                    case,
                    now=now,
                    actor_id=actor.id,
                    field="promised_at",
                    old=case.promised_at.isoformat(),
                    new=None,
                )
                case.promised_at = None
            case.closed_at = case.closed_by_id = None
        touch(case, now)


def set_reasons(
    session: Session,
    case: Case,
    reasons: Sequence[Reason],
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
) -> None:
    """Staff correct the reason tags the rules guessed; corrected tags are confirmed."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        wanted = list(dict.fromkeys(reasons))
        if not wanted:
            raise FieldError("reasons", "至少选择一个原因。")
        old = sorted(r.reason.value for r in case.reasons)
        case.reasons = [CaseReason(reason=r, is_confirmed=True) for r in wanted]
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="reasons",
            old=old,
            new=sorted(r.value for r in wanted),
        )
        touch(case, now)


@dataclass(frozen=True)
class RemedyDraft:
    kind: RemedyKind
    amount: Decimal
    cost: Decimal
    note: str = ""


def add_remedy(
    session: Session,
    case: Case,
    draft: RemedyDraft,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
) -> Remedy:
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        for field, value in (("amount", draft.amount), ("cost", draft.cost)):
            if value < 0 or value >= Decimal("1000000"):
                raise FieldError(field, "金额应在 0 到 999999.99 之间。")
        for finding in compliance.check(draft.note):  # a remedy never depends on the review
            raise FieldError(
                "note", f"{finding.describe()}。补偿只针对问题本身，不能以改评为条件。"
            )
        remedy = Remedy(
            case_id=case.id,
            kind=draft.kind,
            amount=draft.amount,
            cost=draft.cost,
            note=draft.note.strip(),
            created_by_id=actor.id,
            created_at=now,
        )
        case.remedies.append(remedy)
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="remedy",
            old=None,
            new=f"{draft.kind.label} ¥{draft.amount}（成本 ¥{draft.cost}）",
        )
        touch(case, now)
        return remedy


@dataclass(frozen=True)
class RemedyTotals:
    amount: Decimal
    cost: Decimal


def remedy_totals(case: Case) -> RemedyTotals:
    return RemedyTotals(
        sum((r.amount for r in case.remedies), Decimal("0.00")),
        sum((r.cost for r in case.remedies), Decimal("0.00")),
    )


def rules_of(session: Session, shop_id: int) -> ReviewRules:
    shop = session.get(Shop, shop_id)
    return rules_for(shop.platform if shop is not None else Platform.OTHER)


def rules_of_case(session: Session, case: Case) -> ReviewRules:
    """The shop's platform rules as they bear on this case's review (a hidden negative's
    buyer is asked for a 追评 wherever the shop sells)."""
    return rules_of(session, case.shop_id).for_rating(case.review.rating)


def explanation_window_ends(session: Session, case: Case) -> datetime | None:
    """When the seller can no longer explain, by the shop's platform rules (a 追评 closes
    it at once where the platform says so); None: the platform sets no end."""
    return _explanation_window(rules_of(session, case.shop_id), case)


def _explanation_window(rules: ReviewRules, case: Case) -> datetime | None:
    review = case.review
    return rules.explanation_closes(review.first_posted_at, review.follow_up_at)


def _check_explanation_open(session: Session, case: Case, now: datetime) -> None:
    rules = rules_of(session, case.shop_id)
    ends = _explanation_window(rules, case)
    if ends is None or now <= ends:
        return
    follow_up = case.review.follow_up_at
    if rules.follow_up_closes_explanation and follow_up is not None and follow_up <= now:
        raise FieldError("explanation", f"买家已追评，{rules.platform.label}不再允许商家发布解释。")
    raise FieldError(
        "explanation", f"评价已超过 {rules.explanation_window.days} 天，平台不再允许发布解释。"
    )


def save_explanation(
    session: Session,
    case: Case,
    text: str,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
) -> list[compliance.Finding]:
    """Save the draft; returns what the compliance guard found in it (a warning: the draft
    is kept, and the person fixes it before it is posted)."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        text = text.strip()
        if not text:
            raise FieldError("explanation", "请填写解释内容。")
        if len(text) > EXPLANATION_LIMIT:
            raise FieldError(
                "explanation", f"解释最多 {EXPLANATION_LIMIT} 字，现在 {len(text)} 字。"
            )
        _check_explanation_open(session, case, now)
        if case.explanation_posted_at is not None:
            raise FieldError("explanation", "解释已经发布，不能再修改。")
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="explanation_draft",
            old=case.explanation_draft,
            new=text,
        )
        case.explanation_draft = text
        touch(case, now)
    return explanation_findings(session, case, text)


def explanation_findings(session: Session, case: Case, text: str) -> list[compliance.Finding]:
    """What keeps an explanation from being published: it stands under the review for every
    shopper to read, so an inducement, pressure, anything that names the buyer, or a
    remedy said to be given that the case does not record (已为您补发 with no 补发 in 补偿:
    a public claim nobody can check, and a cost the reports never see)."""
    found = compliance.check_public(text, buyer_identifiers(session, case))
    recorded = [remedy.kind for remedy in case.remedies]
    for sentence, rule in remedy_notices.unrecorded_claims(text, recorded):
        found.append(compliance.Finding("remedy", sentence, rule))
    return found


def buyer_identifiers(session: Session, case: Case) -> list[str]:
    """What names the case's buyer to anyone who reads it: their name, address, nick and
    order number. Opened only to keep them out of a public text; nothing is shown, so no
    access is logged."""
    buyer = case.buyer
    if buyer is None:
        return []
    profile = buyer_profiles.opened(buyer)
    tid = session.scalar(
        sa.select(Order.tid)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.id == case.review.order_line_id)
    )
    return [*identifying_parts(profile.name, profile.region), buyer.platform_nick, tid or ""]


def post_explanation(
    session: Session,
    case: Case,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
    publish: Callable[[str, str], None] | None,
) -> bool:
    """Post the draft through the shop's source when it can (``publish(platform_key,
    text)``, the source's reply capability), or record that staff posted it by hand.
    Returns True when the tracker posted it itself."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        review = case.review
        if not case.explanation_draft:
            raise FieldError("explanation", "请先保存解释内容。")
        if case.explanation_posted_at is not None:
            raise FieldError("explanation", "解释已经发布。")
        for finding in explanation_findings(session, case, case.explanation_draft):
            raise FieldError("explanation", f"{finding.describe()}。请修改后再发布。")
        _check_explanation_open(session, case, now)
        posted_here = False
        if publish is not None:
            # raises SourceError on failure: nothing is marked posted
            publish(review.platform_key, case.explanation_draft)
            posted_here = True
        case.explanation_posted_at, case.explanation_posted_by_id = now, actor.id
        review.explanation, review.explained_at = case.explanation_draft, now
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="explanation_posted",
            old=None,
            new="由系统发布" if posted_here else "已手动发布",
        )
        touch(case, now)
        return posted_here


def note_preferences(
    session: Session, case: Case, text: str, *, actor: User, now: datetime
) -> None:
    """What the case's buyer said they like, kept in the archive for the next call; noted
    by whoever may work the case (an agent not on another agent's)."""
    buyer = case.buyer
    if buyer is None:
        raise FieldError("preferences", "此案件没有买家档案。")
    check_can_work(case, actor, session)
    with transaction(session):
        text = text.strip()
        if len(text) > 2000:
            raise FieldError("preferences", "偏好备注最多 2000 字。")
        record_change(
            session,
            now=now,
            actor_id=actor.id,
            entity_type="buyer",
            entity_id=buyer.id,
            field="preferences",
            old=buyer.preferences,
            new=text,
        )
        buyer.preferences = text
