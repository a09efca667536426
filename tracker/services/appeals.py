"""评价申诉: a review that breaks the platform's rules (insults, ads, extortion by a
professional bad reviewer) is appealed to the platform. The case records the appeal and the
platform's answer; when the platform removes the review, intake sees the deletion and closes
the case as 申诉成功 — reported apart, never as a buyer won back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tracker.domain import case_flow
from tracker.models import Case, User
from tracker.models.enums import AppealReason, AppealState
from tracker.services.audit import record_case_change
from tracker.services.cases import case_transaction, check_can_work, check_version, touch
from tracker.services.errors import FieldError

NOTE_LIMIT = 500


def submit(
    session: Session,
    case: Case,
    reason: AppealReason,
    note: str,
    *,
    actor: User,
    now: datetime,
    expected_version: int | None,
) -> None:
    """Record that the shop appealed the review (submitted on the platform's seller center)."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        check_can_work(case, actor, session)
        if case.status not in case_flow.OPEN:
            raise FieldError("reason", "案件已结案，不能再申诉。")
        if case.appeal_state in (AppealState.SUBMITTED, AppealState.ACCEPTED):
            raise FieldError("reason", "这条评价已经申诉过，等待平台处理。")
        note = note.strip()
        if not note:
            raise FieldError("note", "请写明违规之处（平台审核要看证据：聊天记录、截图）。")
        if len(note) > NOTE_LIMIT:
            raise FieldError("note", f"说明最多 {NOTE_LIMIT} 字，现在 {len(note)} 字。")
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="appeal_state",
            old=case.appeal_state.value if case.appeal_state else None,
            new=AppealState.SUBMITTED.value,
        )
        case.appeal_state, case.appeal_reason, case.appeal_note = (
            AppealState.SUBMITTED,
            reason,
            note,
        )
        case.appealed_at, case.appeal_decided_at = now, None
        touch(case, now)


def decide(
    session: Session,
    case: Case,
    *,
    accepted: bool,
    actor: User,
    now: datetime,
    expected_version: int | None,
) -> None:
    """A supervisor records the platform's answer. Accepted: the review will disappear, and
    the next pull closes the case; rejected: the case goes on as before."""
    with case_transaction(session):
        check_version(session, case, expected_version)
        if not actor.leads:
            raise FieldError("decision", "只有主管可以登记平台的申诉结果。")
        if case.appeal_state is not AppealState.SUBMITTED:
            raise FieldError("decision", "没有等待处理的申诉。")
        new = AppealState.ACCEPTED if accepted else AppealState.REJECTED
        record_case_change(
            session,
            case,
            now=now,
            actor_id=actor.id,
            field="appeal_state",
            old=case.appeal_state.value,
            new=new.value,
        )
        case.appeal_state, case.appeal_decided_at = new, now
        touch(case, now)
