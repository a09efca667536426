"""Fitting a ``TextModel`` (training only: scikit-learn and scipy load here, never where
reviews are scored)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tracker.sentiment.features import hashed_features
from tracker.sentiment.text_model import BITS, TextModel, Thresholds

C = 4.0  # inverse regularisation; 1–16 measured within ±0.01 AUC on unseen categories
SMOOTHING = 1.0  # naive-Bayes pseudo-count


def _presence_matrix(texts: Sequence[str], bits: int):  # -> scipy.sparse.csr_matrix
    from scipy import sparse

    rows, slots = hashed_features(texts, bits)
    data = np.ones(len(slots), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, slots)), shape=(len(texts), 1 << bits))


def fit(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    version: str,
    weights: Sequence[float] | None = None,
    bits: int = BITS,
) -> TextModel:
    """``labels``: 1 positive, 0 negative. ``weights``: per text (a shop's own reviews
    count more than the general corpus). The thresholds are set later, on held-back
    texts."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    y = np.asarray(labels, dtype=np.int8)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    presence = _presence_matrix(texts, bits)
    positive = np.asarray(presence.T @ (w * (y == 1))).ravel() + SMOOTHING
    negative = np.asarray(presence.T @ (w * (y == 0))).ravel() + SMOOTHING
    ratios = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    ratios = ratios.astype(np.float32)
    # Only the slots some training text fills are fitted: an empty slot's weight stays at
    # zero under the L2 penalty, so leaving it out changes nothing but the optimiser's
    # vector, which a shop's few hundred reviews would otherwise pad to a million slots.
    used = np.flatnonzero(presence.getnnz(axis=0))
    features = normalize(presence[:, used] @ sparse.diags(ratios[used]), norm="l2", copy=False)
    regression = LogisticRegression(C=C, max_iter=2000).fit(features, y, sample_weight=w)
    coefficients = np.zeros(1 << bits, dtype=np.float32)
    coefficients[used] = regression.coef_[0]
    return TextModel(
        version=version,
        ratios=ratios,
        weights=coefficients,
        intercept=float(regression.intercept_[0]),
        thresholds=Thresholds(),
        bits=bits,
    )
