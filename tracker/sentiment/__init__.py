"""Sentiment scoring behind one small interface.

Everything here is imported lazily by intake (CLI and scheduler): web workers never load
a model, and snownlp (seconds to import) is loaded only when chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Scorer(Protocol):
    """Scores texts with the probability that each is positive (0..1)."""

    @property
    def version(self) -> str: ...

    def score(self, texts: Sequence[str]) -> list[float]: ...
