"""满意度回访: a short survey of each closed case, sent by SMS with a signed link (asked
again once after the buyer said not solved and the case was worked again)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db

# what a buyer may answer to 问题解决了吗, as stored and as said
RESOLVED = {"yes": "已经解决了", "partly": "解决了一部分", "no": "还没有解决"}
UNSOLVED = ("partly", "no")  # what the buyer said when the problem is not (all) solved
UNSOLVED_NEWS = "survey_unsolved"  # the notice's kind: the buyer says it is not (all) solved


# A case is asked again once, after its buyer said the problem was not solved and the case
# was reopened and closed again: was it solved this time? (a third ask would press them)
MAX_ROUNDS = 2


class CaseSurvey(db.Model):
    """One ask of a closed case's buyer. A case has one, or a second after its buyer said the
    problem was not solved and it was worked again (:data:`MAX_ROUNDS`); the figures read
    each case's latest answer, the buyer's last word."""

    __tablename__ = "case_surveys"
    __table_args__ = (sa.Index("ix_case_surveys_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    handle_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact_handles.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(sa.String(16))  # queued, sending, sent, failed
    out_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    score: Mapped[int | None]  # 1 很不满意 … 5 很满意
    # was the problem solved, in the buyer's words: yes, partly, no; NULL when not asked
    # (answers given before the question existed)
    resolved: Mapped[str | None] = mapped_column(sa.String(8))
    comment: Mapped[str | None] = mapped_column(sa.Text)
