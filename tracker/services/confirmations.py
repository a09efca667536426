"""待确认: good ratings whose words the model is unsure about wait for a person, who either
confirms the complaint (a case opens, its first-contact deadline counted from then) or
dismisses it (误报: no case, and the next training learns from it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker.domain.triage import NEUTRAL_UP_TO, CaseKind, ScoreBands
from tracker.models import AuditEvent, Case, Review, SentimentCorrection, User
from tracker.models.enums import Rating, Reason
from tracker.services.audit import record_change
from tracker.services.cases import rules_of
from tracker.services.corrections import store_correction
from tracker.services.intake import IntakeSettings, open_case_for, reasons_named
from tracker.services.transaction import transaction


class CannotOpen(RuntimeError):
    """A person asked for a case the review cannot have; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AlreadyDecided(RuntimeError):
    """Someone decided this review meanwhile (or it changed and left the queue)."""

    message = "这条评价已经有人处理过了（或已被买家修改）。"


def _waiting(session: Session, shop_id: int, now: datetime) -> sa.ColumnElement[bool]:
    window = rules_of(session, shop_id).change_window
    return sa.and_(
        Review.shop_id == shop_id,
        Review.awaiting_confirmation_at.is_not(None),
        Review.is_deleted.is_(False),
        # past the buyer's window nothing is left to recover: it leaves the queue by itself
        Review.first_posted_at > now - window,
    )


def count_waiting(session: Session, shop_id: int, *, now: datetime) -> int:
    return session.scalar(sa.select(sa.func.count()).where(_waiting(session, shop_id, now))) or 0


@dataclass(frozen=True)
class Waiting:
    review: Review
    reasons: list[Reason]  # what the words complain of, as a case would be tagged; may be none
    window_ends: datetime  # the buyer can change (or 追评) the review until then
    # Other reviews on the page with these very words (first posted after this one): the
    # queue shows a text once, and one click can decide them all.
    alike: list[Review] = field(default_factory=list)
    alike_waiting: int = 1  # reviews waiting with these words, this one and beyond the page


Words = tuple[str, str | None]  # a review's text and its 追评: what a person judges


def _words(review: Review) -> Words:
    return review.text, review.follow_up_text


def waiting(
    session: Session, shop_id: int, *, now: datetime, limit: int = 50, offset: int = 0
) -> list[Waiting]:
    """Oldest first: the buyer's window runs from the review, not from the queue. With the
    reasons its words name (包装问题…), which tell a complaint from praise at a glance, and
    the end of the buyer's window, which says which to read first. Reviews with the same
    words are one item: buyers copy texts (不想麻烦才给的好评…), and judging the words once
    is one person's reading, not one per review."""
    reviews = session.scalars(
        sa.select(Review)
        .where(_waiting(session, shop_id, now))
        .options(selectinload(Review.product), selectinload(Review.buyer))
        .order_by(Review.first_posted_at, Review.id)
        .limit(limit)
        .offset(offset)
    ).all()
    counts = _with_words(session, _waiting(session, shop_id, now), {r.text for r in reviews})
    return _one_item_per_words(session, shop_id, reviews, counts)


def _one_item_per_words(
    session: Session, shop_id: int, reviews: Sequence[Review], counts: dict[Words, int]
) -> list[Waiting]:
    """The reviews of a page as items, those with the same words one item (the first, the
    others on the page beside it), each with how many reviews of its list have its words
    (``counts``, beyond the page too)."""
    groups: dict[Words, list[Review]] = {}
    for review in reviews:
        groups.setdefault(_words(review), []).append(review)
    firsts = as_waiting(session, shop_id, [group[0] for group in groups.values()])
    return [
        replace(item, alike=others, alike_waiting=max(counts.get(words, 0), 1 + len(others)))
        for item, (words, (_, *others)) in zip(firsts, groups.items(), strict=True)
    ]


def _with_words(
    session: Session, listed: sa.ColumnElement[bool], texts: set[str]
) -> dict[Words, int]:
    """How many reviews of a list (``listed``: 待确认, the second look) have each of these
    texts (and their 追评), in one query."""
    if not texts:
        return {}
    rows = session.execute(
        sa.select(Review.text, Review.follow_up_text, sa.func.count())
        .where(listed, Review.text.in_(texts))
        .group_by(Review.text, Review.follow_up_text)
    )
    return {(text, follow_up): count for text, follow_up, count in rows}


def _alike(session: Session, listed: sa.ColumnElement[bool], review: Review) -> list[int]:
    """The other reviews of a list (``listed``) with the review's very words (text and
    追评), oldest first."""
    return list(
        session.scalars(
            sa.select(Review.id)
            .where(
                listed,
                Review.text == review.text,
                Review.follow_up_text.is_not_distinct_from(review.follow_up_text),
                Review.id != review.id,
            )
            .order_by(Review.first_posted_at, Review.id)
        )
    )


def _problems_named(review: Review) -> list[Reason]:
    """The problems the buyer's words name, as a case would be tagged; none for praise."""
    return [r for r in reasons_named(review) if r is not Reason.OTHER]


def as_waiting(session: Session, shop_id: int, reviews: Iterable[Review]) -> list[Waiting]:
    """Each review with the reasons its words name and the end of the buyer's window."""
    rules = rules_of(session, shop_id)
    return [
        Waiting(
            review,
            _problems_named(review),
            rules.change_window_end(review.first_posted_at),
        )
        for review in reviews
    ]


# 中性好评 read for reasons, lowest-scored first, at most this many: naming reasons is
# Python (0.1–0.5 ms a text), and a shop with 150,000 reviews a month has thousands in the
# band. The page says when the list stopped there.
SECOND_LOOK_READ = 2000


BandsOf = Callable[[str], ScoreBands]  # a model version's bands, as the shop reads its scores


@dataclass(frozen=True)
class SecondLook:
    """中性好评 · 可能漏判: the reviews to list (ids, likeliest complaints first) and how many
    中性 good ratings were read for them."""

    ids: list[int]
    read: int
    stopped: bool  # more than SECOND_LOOK_READ: the highest-scored were not read
    # The listed reviews still to look at, in the list's order: executed later, one opened
    # or called fine meanwhile has dropped out.
    page: sa.Select[tuple[Review]]
    # what keeps a good rating on the list, its models' bands read once (copies count by it)
    listed: sa.ColumnElement[bool]


def second_look(session: Session, shop_id: int, *, now: datetime, bands_of: BandsOf) -> SecondLook:
    """The good ratings whose words read 中性 (above the 待确认 band, below NEUTRAL_UP_TO, on
    the scale of the model that scored each: ``bands_of(version)``) and name a problem
    (物流问题, 临期…, as a case would be tagged), that the buyer can still change, with no
    case and no staff word that they are fine; lowest-scored first. Not a queue with a
    deadline: the list staff read when 待确认 is empty. Requiring a named problem keeps it
    to 1–3% of a shop's good ratings instead of 6–8% (README, Sentiment: 中性好评 · 可能漏判;
    bench/sentiment_loco.py's ``listed_*`` figures)."""
    listed = _second_look(session, shop_id, now, bands_of)  # its models' bands read once
    candidates = session.scalars(
        sa.select(Review)
        .where(listed)
        .order_by(Review.sentiment_score, Review.id)
        .limit(SECOND_LOOK_READ + 1)
    ).all()
    read = candidates[:SECOND_LOOK_READ]
    ids = [r.id for r in read if _problems_named(r)]
    page = (
        sa.select(Review)
        .where(Review.id.in_(ids), listed)
        .options(selectinload(Review.product), selectinload(Review.buyer))
        .order_by(Review.sentiment_score, Review.id)
    )
    return SecondLook(ids, len(read), len(candidates) > SECOND_LOOK_READ, page, listed)


def second_look_items(
    session: Session, shop_id: int, found: SecondLook, reviews: Sequence[Review]
) -> list[Waiting]:
    """A page of the second look as 待确认 shows its queue: reviews with the same words are
    one item, with how many are listed with them — buyers copy texts, and one reading of
    the words is enough for all (没问题 for each copy was a click per buyer)."""
    counts = _with_words(session, found.listed, {r.text for r in reviews})
    return _one_item_per_words(session, shop_id, reviews, counts)


def looks_fine(
    session: Session,
    shop_id: int,
    review_id: int,
    *,
    actor: User,
    now: datetime,
    bands_of: BandsOf,
    alike: bool = False,
) -> int:
    """没问题 on the second look: the words are stored as happy for the next training and
    the review leaves the list; with ``alike``, every review still listed with the same
    words too. Returns how many."""
    with transaction(session):
        review = session.get(Review, review_id)
        if review is None or review.shop_id != shop_id:
            raise AlreadyDecided()
        ids = [review.id]
        if alike:
            ids += _alike(session, _second_look(session, shop_id, now, bands_of), review)
        for listed in ids:
            store_correction(session, listed, is_positive=True, user_id=actor.id, now=now)
        return len(ids)


def _second_look(
    session: Session, shop_id: int, now: datetime, bands_of: BandsOf
) -> sa.ColumnElement[bool]:
    window = rules_of(session, shop_id).change_window
    fine = sa.exists().where(
        SentimentCorrection.review_id == Review.id, SentimentCorrection.is_positive.is_(True)
    )
    unjudged = sa.and_(
        Review.shop_id == shop_id,
        Review.first_posted_at > now - window,
        Review.rating == Rating.GOOD,
        Review.is_deleted.is_(False),
        Review.awaiting_confirmation_at.is_(None),
        ~sa.exists().where(Case.review_id == Review.id),
        ~fine,
    )
    # Each score on its own model's scale: after a promotion the window holds reviews
    # scored by the model before (a review is scored again only when its words change).
    versions = session.scalars(
        sa.select(Review.sentiment_model)
        .where(unjudged, Review.sentiment_model.is_not(None))
        .distinct()
    ).all()
    neutral = [
        sa.and_(
            Review.sentiment_model == version,
            Review.sentiment_score >= bands.confirm,
            Review.sentiment_score < max(NEUTRAL_UP_TO, bands.confirm),
        )
        for version in versions
        for bands in [bands_of(version)]
    ]
    return sa.and_(unjudged, sa.or_(sa.false(), *neutral))


def _take(session: Session, shop_id: int, review_id: int, now: datetime) -> Review:
    """Take the review out of the queue in one conditional UPDATE: of two people deciding
    at once, exactly one gets it."""
    taken = session.execute(
        sa.update(Review)
        .where(Review.id == review_id, _waiting(session, shop_id, now))
        .values(awaiting_confirmation_at=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if taken != 1:
        raise AlreadyDecided(review_id)
    review = session.get(Review, review_id)
    assert review is not None
    return review


def _decide(
    session: Session, shop_id: int, review_id: int, *, actor: User, now: datetime, complaint: bool
) -> Review:
    """Take the review out of the queue, store the person's word for the next training and
    audit it (inside the caller's transaction)."""
    review = _leave_queue(
        session, shop_id, review_id, now, actor_id=actor.id, word="是差评" if complaint else "误报"
    )
    store_correction(session, review.id, is_positive=not complaint, user_id=actor.id, now=now)
    return review


def _leave_queue(
    session: Session,
    shop_id: int,
    review_id: int,
    now: datetime,
    *,
    actor_id: int | None,
    word: str,
) -> Review:
    """Take the review out of the queue and audit what became of it (``word``)."""
    review = _take(session, shop_id, review_id, now)
    record_change(
        session,
        now=now,
        actor_id=actor_id,
        entity_type="review",
        entity_id=review.id,
        field="confirmation",
        old="待确认",
        new=word,
    )
    return review


def confirm(
    session: Session,
    shop_id: int,
    review_id: int,
    *,
    actor: User,
    now: datetime,
    settings: IntakeSettings,
    alike: bool = False,
) -> list[Case]:
    """是差评: a hidden-negative case opens now, with its deadline from now; with ``alike``,
    one for every review waiting with the same words too. The review's case comes first."""
    with transaction(session):
        reviews = _decide_all(
            session, shop_id, review_id, actor=actor, now=now, complaint=True, alike=alike
        )
        return [
            _open(session, review, CaseKind.HIDDEN_NEGATIVE, now=now, settings=settings)
            for review in reviews
        ]


def _open(
    session: Session, review: Review, kind: CaseKind, *, now: datetime, settings: IntakeSettings
) -> Case:
    """Open the case a judgment called for; the judgments of the review (是差评, an earlier
    误报) go into the case's history, so the case page says who called it a complaint."""
    case = open_case_for(session, review, kind, now=now, settings=settings)
    session.execute(
        sa.update(AuditEvent)
        .where(
            AuditEvent.entity_type == "review",
            AuditEvent.entity_id == review.id,
            AuditEvent.field == "confirmation",
            AuditEvent.case_id.is_(None),
        )
        .values(case_id=case.id)
        .execution_options(synchronize_session=False)
    )
    return case


def dismiss(
    session: Session,
    shop_id: int,
    review_id: int,
    *,
    actor: User,
    now: datetime,
    alike: bool = False,
) -> int:
    """误报: no case; the words are stored as happy for the next training. With ``alike``,
    every review waiting with the same words too. Returns how many were dismissed."""
    with transaction(session):
        decided = _decide_all(
            session, shop_id, review_id, actor=actor, now=now, complaint=False, alike=alike
        )
        return len(decided)


def _decide_all(
    session: Session,
    shop_id: int,
    review_id: int,
    *,
    actor: User,
    now: datetime,
    complaint: bool,
    alike: bool,
) -> list[Review]:
    """The person's word on the review and, with ``alike``, on every review still waiting
    with its words (oldest first); one a colleague decided meanwhile is left to them."""
    first = _decide(session, shop_id, review_id, actor=actor, now=now, complaint=complaint)
    decided = [first]
    if alike:
        for other in _alike(session, _waiting(session, shop_id, now), first):
            try:
                decided.append(
                    _decide(session, shop_id, other, actor=actor, now=now, complaint=complaint)
                )
            except AlreadyDecided:
                continue
    return decided


SETTLED = "本店校准后开案"  # the audit's word for a case the new bands opened


def settle(
    session: Session, shop_id: int, *, model_version: str, settings: IntakeSettings, now: datetime
) -> int:
    """After the shop's bands move (the nightly calibration), a waiting review that now
    scores below the case band is what intake would open a case for: it leaves the queue
    and its case opens, the deadline counted from now. One above the new 待确认 band stays
    for a person to decide (a click, no deadline). Returns how many cases opened."""
    with transaction(session):
        ids = list(
            session.scalars(
                sa.select(Review.id)
                .where(
                    _waiting(session, shop_id, now),
                    Review.sentiment_model == model_version,
                    Review.sentiment_score < settings.bands.case,
                )
                .order_by(Review.id)
            )
        )
        for review_id in ids:
            review = _leave_queue(session, shop_id, review_id, now, actor_id=None, word=SETTLED)
            _open(session, review, CaseKind.HIDDEN_NEGATIVE, now=now, settings=settings)
        return len(ids)


# The audit's word for a case a person opened for a review outside the queue: a complaint
# the triage let pass, counted apart from 待确认's 是差评 in the reports.
FOUND = "是差评（在评价里发现）"

KIND_OF_RATING = {
    Rating.GOOD: CaseKind.HIDDEN_NEGATIVE,
    Rating.NEUTRAL: CaseKind.NEUTRAL,
    Rating.BAD: CaseKind.BAD,
}


def why_no_case(
    review: Review, *, has_case: bool, window_ends: datetime, now: datetime
) -> str | None:
    """Why a person may not open a case for this review now, or None. The same rules as
    intake's: past the buyer's window nothing is left to recover, and a system-default good
    rating holds no words of the buyer's."""
    if has_case:
        return "这条评价已经有案件了。"
    if review.is_deleted:
        return "这条评价已被删除，不开案件。"
    if window_ends <= now:
        return "这条评价已过买家可改评、追评的期限，不再开案件。"
    if review.is_system_default and not review.follow_up_text:
        return "系统默认好评没有买家写的话，不开案件。"
    return None


def openable(
    session: Session, shop_id: int, reviews: Iterable[Review], *, with_case: set[int], now: datetime
) -> set[int]:
    """The listed reviews a person may open a case for now (``with_case``: those that have
    one): where 评价 offers 是差评，开案件."""
    rules = rules_of(session, shop_id)
    return {
        r.id
        for r in reviews
        if why_no_case(
            r,
            has_case=r.id in with_case,
            window_ends=rules.change_window_end(r.first_posted_at),
            now=now,
        )
        is None
    }


def open_for_review(
    session: Session,
    shop_id: int,
    review_id: int,
    *,
    actor: User,
    now: datetime,
    settings: IntakeSettings,
) -> Case:
    """是差评 from the 评价 list: a person read a review the model let pass (or one the queue
    holds) and opens its case now, the first-contact deadline counted from now. A good
    rating's words are stored as a complaint for the next training, as in 待确认.

    The review row is locked, so of two people clicking at once one opens the case and the
    other is told; intake opening it meanwhile (the buyer edited the review) is caught by
    the one-case-per-review key."""
    try:
        with transaction(session):
            review = session.get(Review, review_id, with_for_update=True, populate_existing=True)
            if review is None or review.shop_id != shop_id:
                raise CannotOpen("没有这条评价。")
            has_case = (
                session.scalar(sa.select(Case.id).where(Case.review_id == review.id)) is not None
            )
            refusal = why_no_case(
                review,
                has_case=has_case,
                window_ends=settings.rules.change_window_end(review.first_posted_at),
                now=now,
            )
            if refusal:
                raise CannotOpen(refusal)
            if review.awaiting_confirmation_at is not None:
                _leave_queue(session, shop_id, review.id, now, actor_id=actor.id, word="是差评")
            else:
                record_change(
                    session,
                    now=now,
                    actor_id=actor.id,
                    entity_type="review",
                    entity_id=review.id,
                    field="confirmation",
                    old=None,
                    new=FOUND,
                )
            if review.rating is Rating.GOOD:
                store_correction(session, review.id, is_positive=False, user_id=actor.id, now=now)
            return _open(session, review, KIND_OF_RATING[review.rating], now=now, settings=settings)
    except sa.exc.IntegrityError as exc:
        raise CannotOpen("这条评价刚刚已经开了案件。") from exc
