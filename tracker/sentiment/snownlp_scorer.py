"""snownlp, the engine the product card names: always available as a fallback."""

from __future__ import annotations

from collections.abc import Sequence


class SnowNLPScorer:
    version = "snownlp-0.12.3-default"

    def __init__(self) -> None:
        from snownlp import sentiment  # slow import (seconds): only when this scorer is chosen

        self._classifier = sentiment

    def score(self, texts: Sequence[str]) -> list[float]:
        return [float(self._classifier.classify(text)) if text.strip() else 0.5 for text in texts]
