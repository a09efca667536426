"""The default sentiment model: a logistic regression over naive-Bayes-weighted text
features (NB-LR, "baselines and bigrams", Wang & Manning 2012), scored with numpy alone.

A text's features (``features.hashed_features``) are present or absent; each carries its
naive-Bayes log-count ratio ``r`` and the regression's weight ``w``. With the vector
L2-normalised, the score is ``sigmoid(Σ w·r / ‖r‖ + b)``. Both arrays are stored as plain
arrays plus JSON: loading runs no pickled code, and scoring imports no scikit-learn (it
cost about 80 MB in every process that scored).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tracker.sentiment.features import hashed_features

KIND = "nb-logistic"
BITS = 20
BATCH = 1_000  # texts hashed at once: numpy's speed, a few MB of memory


@dataclass
class Thresholds:
    """Where the score is read. ``decision``: negative below it (the metrics' threshold).
    ``case``: a good rating scored below it opens a hidden-negative case. ``confirm``: a
    good rating between ``case`` and this waits in 待确认 for a person."""

    decision: float = 0.5
    case: float = 0.1
    confirm: float = 0.3

    def as_dict(self) -> dict[str, float]:
        return {"decision": self.decision, "case": self.case, "confirm": self.confirm}


@dataclass
class TextModel:
    version: str
    ratios: np.ndarray  # naive-Bayes log-count ratio per hashed feature
    weights: np.ndarray  # regression weight per hashed feature
    intercept: float
    thresholds: Thresholds = field(default_factory=Thresholds)
    bits: int = BITS
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return self.thresholds.decision

    def score(self, texts: Sequence[str]) -> list[float]:
        """Probability that each text is positive. Empty text: 0.5 (nothing to read)."""
        scores: list[float] = []
        for first in range(0, len(texts), BATCH):
            scores.extend(self._score_batch(texts[first : first + BATCH]))
        return scores

    def _score_batch(self, texts: Sequence[str]) -> list[float]:
        rows, slots = hashed_features(texts, self.bits)
        r = self.ratios[slots].astype(np.float64)
        along = r * self.weights[slots]
        count = np.bincount(rows, minlength=len(texts))
        norm = np.sqrt(np.bincount(rows, weights=r * r, minlength=len(texts)))
        logit = np.bincount(rows, weights=along, minlength=len(texts)) / np.where(
            norm > 0, norm, 1.0
        )
        scores = 1.0 / (1.0 + np.exp(-(logit + self.intercept)))
        return np.where(count > 0, scores, 0.5).tolist()

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, ratios=self.ratios, weights=self.weights)
        return buffer.getvalue()

    def describe(self) -> dict[str, Any]:
        return self.meta | {
            "kind": KIND,
            "version": self.version,
            "intercept": self.intercept,
            "thresholds": self.thresholds.as_dict(),
            "bits": self.bits,
        }

    @classmethod
    def from_parts(cls, description: dict[str, Any], arrays: bytes) -> TextModel:
        if description.get("kind") != KIND:
            raise ValueError(f"a {description.get('kind')!r} model, not {KIND}")
        with np.load(io.BytesIO(arrays)) as loaded:
            ratios, weights = loaded["ratios"], loaded["weights"]
        extra = {
            k: v
            for k, v in description.items()
            if k not in ("kind", "version", "intercept", "thresholds", "bits")
        }
        return cls(
            version=description["version"],
            ratios=ratios.astype(np.float32),
            weights=weights.astype(np.float32),
            intercept=float(description["intercept"]),
            thresholds=Thresholds(**description["thresholds"]),
            bits=int(description["bits"]),
            meta=extra,
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.npz").write_bytes(self.to_bytes())
        (directory / "meta.json").write_text(
            json.dumps(self.describe(), ensure_ascii=False, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> TextModel:
        description = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        try:
            return cls.from_parts(description, (directory / "model.npz").read_bytes())
        except ValueError as exc:
            raise ValueError(f"{directory} holds {exc}") from exc
