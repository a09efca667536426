"""What the model reads in a review: character n-grams per clause, plus what a bag of
characters misses — which words sit under a negation (没有任何问题, 不掉色, 一点都不累) and
which come after a turn (还行…但是…).

Plain Python with a stable hash (CRC-32), so scoring needs no scikit-learn and gives the
same feature ids in every process and on every machine.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

# Longest first: 没有 must win over 没, 一点都不 over 不.
NEGATORS = (
    "一点也不", "一点都不", "一点也没", "一点都没", "没什么", "没有", "毫无", "从不", "从没",
    "绝不", "并不", "并没", "不是", "不会", "不", "没", "无", "未", "别", "非", "免",
)  # fmt: skip
TURNS = ("但是", "可是", "不过", "然而", "只是", "就是", "可惜", "但", "却", "而且", "并且")
CLAUSE_BREAK = re.compile(r"[\s，。！？!?,.;；~～、…：:\"“”'‘’()（）\[\]【】<>《》|/\\-]+")
NEGATOR = re.compile("|".join(NEGATORS))
SCOPE_CHARS = 6  # a negation reaches this far into its clause
NGRAMS = (1, 2, 3)


def normalize(text: str) -> str:
    """Full-width to half-width, one case: ＡＢＣ and abc are the same word."""
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str) -> list[str]:
    """Every feature of a text as a string: character 1–3-grams of each clause (``^``/``$``
    at its edges); those wholly inside a negation's scope are read as negated (``!``: 不掉色
    says nothing of 掉色 but 掉色 negated); unigrams and bigrams after a turn once more
    (``>``: 还行…但是 — what follows the turn is what the buyer means)."""
    found: list[str] = []
    after_turn = False
    for clause in CLAUSE_BREAK.split(normalize(text)):
        if not clause:
            continue
        if clause.startswith(TURNS):
            after_turn = True
        edged = f"^{clause}$"
        scope_start = scope_end = len(edged)
        negation = NEGATOR.search(clause)
        if negation:  # positions in ``edged`` (one longer at the front)
            scope_start = negation.end() + 1
            reaches_end = negation.end() + SCOPE_CHARS >= len(clause)
            scope_end = len(edged) if reaches_end else scope_start + SCOPE_CHARS
        for n in NGRAMS:
            for i in range(len(edged) - n + 1):
                gram = edged[i : i + n]
                if scope_start <= i and i + n <= scope_end:
                    found.append("!" + gram)
                elif gram not in ("^", "$"):
                    found.append(gram)
        if after_turn:
            found.extend(
                ">" + clause[i : i + n] for n in (1, 2) for i in range(len(clause) - n + 1)
            )
    return found


def feature_ids(text: str, bits: int) -> set[int]:
    """The text's features hashed into ``2**bits`` slots (presence, not counts: one
    complaint repeated is not a stronger complaint)."""
    mask = (1 << bits) - 1
    return {zlib.crc32(term.encode("utf-8")) & mask for term in terms(text)}
