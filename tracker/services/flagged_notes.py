"""Contact notes that read as an inducement or pressure, for the supervisor.

An agent's note is saved as written (it is what happened) and the agent is warned at once;
the supervisor sees the period's flagged notes on the reports page, by whom and on which
case, read with today's compliance guard. A note may record the buyer's own demand (以差评
索要返现): that is for the case's 评价申诉, and the list says so rather than judging.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain import compliance
from tracker.models import Case, ContactAttempt, User

# Every phrase the guard looks for holds one of these characters (好评, 五星, 删, 改…);
# notes holding none are not read at all.
MARKERS = ("评", "星", "删", "改", "撤")
SCAN_LIMIT = 5_000  # the newest notes read for one page; the page says when there were more
SHOWN = 20


@dataclass(frozen=True)
class FlaggedNote:
    case_id: int
    attempted_at: datetime
    agent: str
    finding: compliance.Finding


@dataclass(frozen=True)
class FlaggedNotes:
    notes: list[FlaggedNote]  # newest first, at most SHOWN
    total: int  # flagged among those read
    by_agent: list[tuple[str, int]]  # most first
    capped: bool  # more notes in the period than were read


def flagged_notes(session: Session, shop_id: int, start: datetime, end: datetime) -> FlaggedNotes:
    """The shop's contact notes written in [start, end) that the compliance guard flags."""
    rows = session.execute(
        sa.select(
            ContactAttempt.case_id,
            ContactAttempt.attempted_at,
            User.display_name,
            ContactAttempt.notes,
        )
        .join(Case, Case.id == ContactAttempt.case_id)
        .join(User, User.id == ContactAttempt.agent_id)
        .where(
            Case.shop_id == shop_id,
            ContactAttempt.attempted_at >= start,
            ContactAttempt.attempted_at < end,
            sa.or_(*(ContactAttempt.notes.contains(m, autoescape=True) for m in MARKERS)),
        )
        .order_by(ContactAttempt.attempted_at.desc(), ContactAttempt.id.desc())
        .limit(SCAN_LIMIT + 1)
    ).all()
    flagged = [
        FlaggedNote(case_id, at, agent, findings[0])
        for case_id, at, agent, notes in rows[:SCAN_LIMIT]
        if (findings := compliance.check(notes))
    ]
    counts = Counter(note.agent for note in flagged)
    return FlaggedNotes(
        flagged[:SHOWN],
        len(flagged),
        sorted(counts.items(), key=lambda item: (-item[1], item[0])),
        len(rows) > SCAN_LIMIT,
    )
