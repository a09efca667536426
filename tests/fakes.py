"""Stand-ins for slow or external parts, each honest about what it does."""

from __future__ import annotations

from collections.abc import Sequence

UNHAPPY_WORDS = ("差", "坏", "烂", "慢", "失望", "不好", "太小", "不新鲜", "投诉")


UNSURE_WORDS = ("还行吧", "凑合")


class KeywordScorer:
    """Scores by a few unhappy words: deterministic, instant, good enough to test triage."""

    version = "keyword-test-1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(list(texts))
        return [
            0.05
            if any(w in t for w in UNHAPPY_WORDS)
            else 0.4  # between the default bands (0.3, 0.5): 待确认
            if any(w in t for w in UNSURE_WORDS)
            else 0.95
            for t in texts
        ]
