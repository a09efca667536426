"""The push API's command: a shop's own system sends a batch of reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tracker.models import Shop
from tracker.services.intake import IntakeResult, IntakeSettings
from tracker.services.pulls import recorded
from tracker.services.quarantine import ingest_guarded
from tracker.sources.push import FieldProblem, parse_batch


@dataclass(frozen=True)
class PushOutcome:
    problems: list[FieldProblem]
    result: IntakeResult | None = None  # None: nothing was stored


def receive_push(
    session: Session,
    shop: Shop,
    body: Any,
    *,
    tz: ZoneInfo,
    now: datetime,
    settings: IntakeSettings,
) -> PushOutcome:
    """Validate the whole batch, then store it in one transaction with its run record;
    one bad field stores nothing. Reviews arrive unscored (no model in web workers): the
    scheduler scores them and finishes their triage."""
    records, problems = parse_batch(body, tz, now=now)
    if problems:
        return PushOutcome(problems)

    def work() -> IntakeResult:
        return ingest_guarded(
            session, shop, records, source="push", now=now, scorer=None, settings=settings
        )

    return PushOutcome([], recorded(session, shop, source="push", now=now, work=work))
