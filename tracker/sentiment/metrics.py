"""How well a scorer separates negative from positive reviews (negative is the class we act on)."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score


def evaluate(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, float]:
    """``labels``: 1 positive, 0 negative; ``scores``: probability positive."""
    negative_true = [1 - y for y in labels]
    negative_pred = [1 if s < threshold else 0 for s in scores]
    precision, recall, f1, _ = precision_recall_fscore_support(
        negative_true, negative_pred, average="binary", zero_division=0
    )
    auc = roc_auc_score(labels, scores) if len(set(labels)) == 2 else float("nan")
    return {
        "n": len(labels),
        "accuracy": round(float(accuracy_score(negative_true, negative_pred)), 4),
        "auc": round(float(auc), 4),
        "neg_precision": round(float(precision), 4),
        "neg_recall": round(float(recall), 4),
        "neg_f1": round(float(f1), 4),
        "threshold": round(threshold, 4),
    }


def pick_threshold(
    labels: Sequence[int], scores: Sequence[float], min_recall: float = 0.95
) -> float:
    """The threshold with the best negative F1 among those reaching ``min_recall``
    (or the best F1 overall when none does). Acting on too few unhappy buyers costs more
    than a needless call, hence the recall floor."""
    best: tuple[bool, float, float] | None = None
    for step in range(20, 81):
        threshold = step / 100
        m = evaluate(labels, scores, threshold)
        key = (m["neg_recall"] >= min_recall, m["neg_f1"], -abs(threshold - 0.5))
        if best is None or key > best:
            best = key
            chosen = threshold
    return chosen
