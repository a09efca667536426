"""What buyers answered to the 满意度回访, as the figures, the board, the home page and the
digest read it: each case's one counted survey, and the cases whose buyer said the problem
is not solved with nobody having talked to them since. Kept apart from :mod:`surveys`
(asking and answering), which tells agents through :mod:`alerts`: the digest in
:mod:`alerts` reads these too."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tracker.domain import case_flow
from tracker.models import Case, CaseSurvey, ContactAttempt
from tracker.models.enums import AttemptOutcome
from tracker.models.surveys import UNSOLVED


def counted_surveys(*shop_ids: int) -> sa.Subquery:
    """Each case's one survey that the figures and the board count (``case_id``,
    ``survey_id``): its latest answer, the buyer's last word, else its latest ask that reached
    them. A case asked again counts once: its 还没有解决 is replaced by what the buyer says
    after it was worked again, and stands while they have not answered the second ask."""
    answered = sa.case((CaseSurvey.answered_at.is_not(None), CaseSurvey.id))
    return (
        sa.select(
            CaseSurvey.case_id,
            sa.func.coalesce(sa.func.max(answered), sa.func.max(CaseSurvey.id)).label("survey_id"),
        )
        .where(
            CaseSurvey.shop_id.in_(shop_ids),
            sa.or_(CaseSurvey.state == "sent", CaseSurvey.answered_at.is_not(None)),
        )
        .group_by(CaseSurvey.case_id)
        .subquery()
    )


# Talking to the buyer since they said 还没有解决: a call that got through, a conversation.
# Their own message (买家已回复) is them chasing us, not us answering them.
TALKED = case_flow.CONVERSATIONS - {AttemptOutcome.BUYER_REPLIED}


def unheeded(*shop_ids: int) -> sa.Select:
    """The ids of cases whose buyer's last word in the survey (as :func:`counted_surveys`
    reads it: no answer after it) is 还没有解决 or 解决了一部分 and nobody has talked to the
    buyer since: still closed, or reopened (reopening is not reaching them; a reopened case
    has no clock of its own), but not closed again after the answer (a person decided).
    The agent was told once, by a notice that is read and scrolled away; these wait on a
    person — reopen and work it, or call and hear the buyer out.

    Read from the unsolved answers, not from every case's counted survey: grouping all of
    a big shop's surveys on each home page would cost more than the few it finds."""
    case, later = aliased(Case), aliased(CaseSurvey)
    answered_since = sa.exists().where(
        later.case_id == CaseSurvey.case_id,
        later.id > CaseSurvey.id,
        later.answered_at.is_not(None),
    )
    talked = sa.exists().where(
        ContactAttempt.case_id == CaseSurvey.case_id,
        ContactAttempt.attempted_at >= CaseSurvey.answered_at,
        ContactAttempt.outcome.in_(TALKED),
    )
    return (
        sa.select(CaseSurvey.case_id)
        .join(case, case.id == CaseSurvey.case_id)
        .where(
            CaseSurvey.shop_id.in_(shop_ids),
            CaseSurvey.resolved.in_(UNSOLVED),
            sa.or_(case.closed_at.is_(None), case.closed_at <= CaseSurvey.answered_at),
            ~answered_since,
            ~talked,
        )
    )
