"""The default model: character 1-3-grams, hashed, TF-IDF weighted, logistic regression.

Characters need no word segmentation (Chinese has no spaces) and carry over to product
categories the model never saw. The model is saved as plain arrays plus JSON: loading it
runs no pickled code and does not depend on the scikit-learn version that trained it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

KIND = "hashed-char-logistic"
N_FEATURES = 2**18
NGRAMS = (1, 3)


def _vectorizer(n_features: int, ngrams: tuple[int, int]) -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char", ngram_range=ngrams, n_features=n_features, alternate_sign=False, norm=None
    )


@dataclass
class HashedLogisticModel:
    version: str
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5
    n_features: int = N_FEATURES
    ngrams: tuple[int, int] = NGRAMS
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._hasher = _vectorizer(self.n_features, self.ngrams)
        self._tfidf = TfidfTransformer(sublinear_tf=True)
        self._tfidf.idf_ = self.idf

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        features = self._tfidf.transform(self._hasher.transform(list(texts)))
        return expit(features @ self.coef + self.intercept).tolist()

    @classmethod
    def train(
        cls, texts: Sequence[str], labels: Sequence[int], *, version: str, c: float = 4.0
    ) -> HashedLogisticModel:
        hasher = _vectorizer(N_FEATURES, NGRAMS)
        tfidf = TfidfTransformer(sublinear_tf=True)
        features = tfidf.fit_transform(hasher.transform(list(texts)))
        regression = LogisticRegression(C=c, max_iter=3000).fit(features, list(labels))
        return cls(
            version=version,
            idf=tfidf.idf_.astype(np.float32),
            coef=regression.coef_[0].astype(np.float32),
            intercept=float(regression.intercept_[0]),
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "model.npz", idf=self.idf, coef=self.coef)
        meta = self.meta | {
            "kind": KIND,
            "version": self.version,
            "intercept": self.intercept,
            "threshold": self.threshold,
            "n_features": self.n_features,
            "ngrams": list(self.ngrams),
        }
        (directory / "meta.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> HashedLogisticModel:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("kind") != KIND:
            raise ValueError(f"{directory} holds a {meta.get('kind')!r} model, not {KIND}")
        with np.load(directory / "model.npz") as arrays:
            idf, coef = arrays["idf"], arrays["coef"]
        return cls(
            version=meta["version"],
            idf=idf,
            coef=coef,
            intercept=meta["intercept"],
            threshold=meta.get("threshold", 0.5),
            n_features=meta["n_features"],
            ngrams=tuple(meta["ngrams"]),
            meta=meta,
        )  # type: ignore[arg-type]
