"""Training sentiment models from labelled reviews or from a shop's own history."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.domain.review_text import is_system_default
from tracker.models import Review, SentimentCorrection, Shop
from tracker.models.enums import Rating
from tracker.sentiment.hashed_logistic import HashedLogisticModel
from tracker.sentiment.metrics import evaluate, pick_threshold
from tracker.sources.files import FileProblem, read_text_table


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1 positive, 0 negative
    category: str = ""


class TrainingError(ValueError):
    pass


def read_labelled_csv(path: Path, *, exclude_categories: Sequence[str] = ()) -> list[Example]:
    """A CSV with ``label,review`` (and optionally ``cat``); every bad row is reported."""
    header, rows = read_text_table(path)
    missing = [c for c in ("label", "review") if c not in header]
    if missing:
        raise TrainingError(f"{path}: missing column(s) {', '.join(missing)}; found {header}")
    examples, problems = [], []
    for number, row in rows:
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
    """The shop's reviews labelled by their rating (good = positive, bad = negative, neutral
    left out); staff corrections override the rating."""
    corrections = dict(
        session.execute(
            sa.select(SentimentCorrection.review_id, SentimentCorrection.is_positive)
            .join(Review, Review.id == SentimentCorrection.review_id)
            .where(Review.shop_id == shop.id)
        )
        .tuples()
        .all()
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
        elif rating is Rating.GOOD:
            examples.append(Example(text, 1))
        elif rating is Rating.BAD:
            examples.append(Example(text, 0))
    return examples


@dataclass(frozen=True)
class TrainingReport:
    model: HashedLogisticModel
    train_size: int
    holdout: dict[str, float]


def train(
    examples: Sequence[Example],
    *,
    now: datetime,
    source: str,
    holdout: float = 0.2,
    seed: int = 2026,
) -> TrainingReport:
    """Train on most examples, measure on a held-back part (stratified), keep the model that
    was measured: the accuracy on record is the accuracy of the saved model."""
    labels = {e.label for e in examples}
    if labels != {0, 1}:
        raise TrainingError("training needs both positive and negative examples")
    if len(examples) < 50:
        raise TrainingError(f"only {len(examples)} labelled texts; at least 50 are needed")
    rng = random.Random(seed)
    by_label: dict[int, list[Example]] = {0: [], 1: []}
    for example in examples:
        by_label[example.label].append(example)
    train_set: list[Example] = []
    test_set: list[Example] = []
    for group in by_label.values():
        shuffled = group[:]
        rng.shuffle(shuffled)
        cut = max(1, round(len(shuffled) * holdout))
        test_set += shuffled[:cut]
        train_set += shuffled[cut:]
    version = f"hlr-{now:%Y%m%d-%H%M%S}"
    model = HashedLogisticModel.train(
        [e.text for e in train_set], [e.label for e in train_set], version=version
    )
    scores = model.score([e.text for e in test_set])
    truth = [e.label for e in test_set]
    model.threshold = pick_threshold(truth, scores)
    metrics = evaluate(truth, scores, model.threshold)
    model.meta = {
        "trained_at": now.isoformat(),
        "source": source,
        "train_size": len(train_set),
        "holdout": metrics,
        "categories": sorted({e.category for e in train_set if e.category}),
    }
    return TrainingReport(model, len(train_set), metrics)
