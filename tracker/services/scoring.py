"""The scheduler's scoring command: finish the triage of reviews that arrived unscored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tracker.models import Shop
from tracker.sentiment import Scorer
from tracker.services.intake import IntakeResult, IntakeSettings, score_pending
from tracker.services.pulls import record_run
from tracker.services.transaction import retrying


def score_shop(
    session: Session,
    shop: Shop,
    *,
    scorer: Scorer,
    now: datetime,
    settings: IntakeSettings,
    limit: int | None = 5000,
) -> IntakeResult:
    """One transaction: score what waits, triage it, and leave a run when there was any."""

    def work() -> IntakeResult:
        result = score_pending(
            session, shop, scorer=scorer, now=now, settings=settings, limit=limit
        )
        if result.received:
            record_run(session, shop, source="score", now=now, result=result)
        return result

    return retrying(session, work)
