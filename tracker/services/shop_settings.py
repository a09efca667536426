"""A shop's working hours and deadline policy: read them, and change them safely."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import triage
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.platform_rules import rules_for
from tracker.domain.retention import checked_days
from tracker.domain.triage import CaseKind, DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, Shop
from tracker.models.enums import CaseStatus
from tracker.services.audit import record_case_change, record_shop_change
from tracker.services.intake import IntakeSettings
from tracker.services.transaction import transaction


class Keep(Enum):
    """A setting the caller leaves as it is (None is a value: no retention period)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def intake_settings(
    shop: Shop,
    *,
    timezone: str,
    bands: triage.ScoreBands | None = None,
) -> IntakeSettings:
    return IntakeSettings(
        working_hours=WorkingHours.from_dict(shop.working_hours, ZoneInfo(timezone)),
        deadline_policy=DeadlinePolicy.from_dict(shop.deadline_policy),
        bands=bands or triage.ScoreBands(),
        rules=rules_for(shop.platform),
    )


def update_policy(
    session: Session,
    shop: Shop,
    hours: WorkingHours,
    policy: DeadlinePolicy,
    *,
    actor_id: int | None,
    now: datetime,
    pull_interval_minutes: int | None = None,
    contact: ContactPolicy | None = None,
    retention_days: int | Keep | None = KEEP,
) -> int:
    """Save the shop's policy (and pull interval) in one audited transaction and move the
    deadlines of open cases nobody has contacted yet.

    Returns how many deadlines moved. Cases already contacted keep theirs: the clock
    they were measured against has stopped.
    """

    def save(field: str, new: Any, old: Any) -> None:
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field=field,
            old=old,
            new=new,
        )
        setattr(shop, field, new)

    with transaction(session):
        # audited against the settings in force, defaults included: the history then says
        # what changed (差评 2 → 1), not every default as if it were new
        in_force = WorkingHours.from_dict(shop.working_hours, hours.tz).to_dict()
        save("working_hours", hours.to_dict(), in_force)
        save(
            "deadline_policy",
            policy.to_dict(),
            DeadlinePolicy.from_dict(shop.deadline_policy).to_dict(),
        )
        if pull_interval_minutes is not None:
            save("pull_interval_minutes", pull_interval_minutes, shop.pull_interval_minutes)
        if contact is not None:  # audited against the policy in force, default or stored
            old = shop.contact_rules.to_dict()
            save("contact_policy", contact.to_dict(), old)
        if not isinstance(retention_days, Keep):
            days = checked_days(retention_days)
            save("personal_data_retention_days", days, shop.personal_data_retention_days)
        moved = 0
        for case in session.scalars(
            sa.select(Case).where(
                Case.shop_id == shop.id,
                Case.status == CaseStatus.NEW,
                Case.first_attempt_at.is_(None),
            )
        ):
            due = triage.first_contact_due(case.opened_at, CaseKind(case.kind), policy, hours)
            if due != case.first_contact_due_at:
                record_case_change(
                    session,
                    case,
                    now=now,
                    actor_id=actor_id,
                    field="first_contact_due_at",
                    old=case.first_contact_due_at.isoformat(),
                    new=due.isoformat(),
                )
                case.first_contact_due_at = due
                case.updated_at = now
                moved += 1
    return moved
