"""What the model reads in a review: character n-grams per clause, plus what a bag of
characters misses — which words sit under a negation (没有任何问题, 不掉色, 一点都不累) and
which come after a turn (还行…但是…).

``terms`` spells the features out as strings; ``hashed_features`` computes the same
features' ids for a whole batch of texts in numpy — the CRC-32 of each term's UTF-8 bytes,
so ids are the same in every process and on every machine, and scoring needs neither
scikit-learn nor a Python loop per n-gram (that loop held long reviews to ~4,000/s).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterator, Sequence

import numpy as np

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
TURN_NGRAMS = (1, 2)
NEGATED, TURNED = "!", ">"  # the prefixes of negated and after-the-turn terms
EDGES = ("^", "$")  # a clause's start and end; alone they say nothing


def normalize(text: str) -> str:
    """Full-width to half-width, one case: ＡＢＣ and abc are the same word."""
    return unicodedata.normalize("NFKC", text).lower()


Clause = tuple[str, int, int, bool]


def clauses(text: str) -> Iterator[Clause]:
    """Each clause with its edges (``^…$``), where the negation's scope starts and ends in
    it (n-grams starting there or later and ending by its end are negated; no negation:
    both at its end), and whether a turn came before it (a plain tuple: this runs for
    every clause of every review scored)."""
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
        yield edged, scope_start, scope_end, after_turn


def terms(text: str) -> list[str]:
    """Every feature of a text as a string: character 1–3-grams of each clause (``^``/``$``
    at its edges); those wholly inside a negation's scope are read as negated (``!``: 不掉色
    says nothing of 掉色 but 掉色 negated); unigrams and bigrams after a turn once more
    (``>``: 还行…但是 — what follows the turn is what the buyer means)."""
    found: list[str] = []
    for edged, scope_start, scope_end, after_turn in clauses(text):
        for n in NGRAMS:
            for i in range(len(edged) - n + 1):
                gram = edged[i : i + n]
                if scope_start <= i and i + n <= scope_end:
                    found.append(NEGATED + gram)
                elif gram not in EDGES:
                    found.append(gram)
        if after_turn:
            inner = edged[1:-1]
            found.extend(
                TURNED + inner[i : i + n] for n in TURN_NGRAMS for i in range(len(inner) - n + 1)
            )
    return found


def hashed_features(texts: Sequence[str], bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The ids of ``terms`` (CRC-32 of the UTF-8 bytes, into ``2**bits`` slots) for each
    text, as two aligned arrays: the text's index and the slot, each pair once (presence,
    not counts: one complaint repeated is not a stronger complaint), sorted."""
    found = [(index, *clause) for index, text in enumerate(texts) for clause in clauses(text)]
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    owner, edged, scope_start, scope_end, turned = zip(*found, strict=True)
    points = np.frombuffer("".join(edged).encode("utf-32-le"), dtype="<u4")
    length = np.fromiter(map(len, edged), dtype=np.int64, count=len(edged))
    first = np.cumsum(length) - length  # each clause's first code point
    clause_owner = np.asarray(owner, dtype=np.int64)
    start_of_scope = np.asarray(scope_start, dtype=np.int64)
    end_of_scope = np.asarray(scope_end, dtype=np.int64)
    after_turn = np.asarray(turned, dtype=bool)
    hasher = _NgramHasher(points)

    rows, slots = [], []
    mask = (1 << bits) - 1
    edge_points = [ord(e) for e in EDGES]
    for n in NGRAMS:
        clause, at = _positions(length - n + 1, 0)
        negated = (start_of_scope[clause] <= at) & (at + n <= end_of_scope[clause])
        start = first[clause] + at
        keep = negated | (n > 1) | ~np.isin(points[start], edge_points)
        start, clause, negated = start[keep], clause[keep], negated[keep]
        rows.append(clause_owner[clause])
        slots.append(hasher.crc32(start, n, "", negated=negated) & mask)
    for n in TURN_NGRAMS:  # inside the edges of clauses after a turn
        clause, at = _positions(np.where(after_turn, length - 1 - n, 0), 1)
        start = first[clause] + at
        rows.append(clause_owner[clause])
        slots.append(hasher.crc32(start, n, TURNED) & mask)
    keys = (np.concatenate(rows) << bits) | np.concatenate(slots)
    keys.sort()  # then drop repeats (np.unique hashes, several times slower here)
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return keys >> bits, keys & mask


def _positions(counts: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """For clauses with ``counts[k]`` n-grams each: every n-gram's clause and its start
    (``offset`` onwards) within the clause."""
    counts = np.maximum(counts, 0)
    clause = np.repeat(np.arange(len(counts)), counts)
    before = np.cumsum(counts) - counts
    return clause, np.arange(len(clause)) - before[clause] + offset


def _utf8(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each code point's UTF-8 bytes (up to four, left-aligned) and how many there are."""
    p = points.astype(np.uint32)
    size = 1 + (p >= 0x80) + (p >= 0x800) + (p >= 0x10000)
    out = np.zeros((len(p), 4), dtype=np.uint32)

    def tail(shift: int) -> np.ndarray:  # a continuation byte: 10xxxxxx
        return 0x80 | ((p >> shift) & 0x3F)

    out[:, 0] = np.select(
        [size == 1, size == 2, size == 3], [p, 0xC0 | (p >> 6), 0xE0 | (p >> 12)], 0xF0 | (p >> 18)
    )
    out[:, 1] = np.select([size == 2, size == 3], [tail(0), tail(6)], tail(12))
    out[:, 2] = np.where(size == 3, tail(0), tail(6))
    out[:, 3] = tail(0)
    return out, size


def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1)
    return table.astype(np.uint32)


# zlib's CRC-32 (reflected 0xEDB88320): a byte moves the register r to
# TABLE[(r ^ byte) & 0xFF] ^ (r >> 8)
_TABLE = _crc_table()


def _zero_bytes_tables() -> np.ndarray:
    """``[L, j, b]``: the register ``b << 8j`` after ``L`` zero bytes (L = 0…4). Feeding zero
    bytes is linear in the register, so any register's value is the XOR over its 4 bytes."""
    out = np.zeros((5, 4, 256), dtype=np.uint32)
    for j in range(4):
        register = np.arange(256, dtype=np.uint32) << np.uint32(8 * j)
        out[0, j] = register
        for length in range(1, 5):
            register = _TABLE[register & 0xFF] ^ (register >> 8)
            out[length, j] = register
    return out


_ZERO_BYTES = _zero_bytes_tables()
MAX_TERM_BYTES = 64


def _after_zero_bytes(register: np.ndarray, count: np.ndarray) -> np.ndarray:
    z = _ZERO_BYTES
    return (
        z[count, 0, register & 0xFF]
        ^ z[count, 1, (register >> 8) & 0xFF]
        ^ z[count, 2, (register >> 16) & 0xFF]
        ^ z[count, 3, register >> 24]
    )


def _prefix_registers(prefix: str) -> np.ndarray:
    """``[m]``: zlib's register after ``prefix`` (``crc32(prefix + gram) == crc32(gram,
    crc32(prefix))``) and then ``m`` zero bytes."""
    register = np.uint32(0xFFFFFFFF ^ zlib.crc32(prefix.encode()))
    out = [register]
    for _ in range(MAX_TERM_BYTES):
        register = _TABLE[register & 0xFF] ^ (register >> 8)
        out.append(register)
    return np.asarray(out, dtype=np.uint32)


_PREFIXES = {prefix: _prefix_registers(prefix) for prefix in ("", NEGATED, TURNED)}


class _NgramHasher:
    """zlib's CRC-32 of the UTF-8 bytes of every n-gram of a run of code points, at once.

    A CRC register is linear: after bytes ``B`` from register ``s`` it is (``s`` after
    ``len(B)`` zero bytes) XOR (``B`` from register 0). So each character's own part is
    computed once, an n-gram's register is its (n-1)-gram's moved on by one character, and
    a term's prefix with zlib's initial register costs one lookup by the gram's length in
    bytes."""

    def __init__(self, points: np.ndarray) -> None:
        utf8, size = _utf8(points)
        own = np.zeros(len(points), dtype=np.uint32)  # each character's bytes from register 0
        for j in range(4):
            stepped = _TABLE[(own ^ utf8[:, j]) & 0xFF] ^ (own >> 8)
            own = np.where(size > j, stepped, own)
        self.byte_at = np.concatenate(([0], np.cumsum(size)))
        self.registers = {1: own}  # [n][i]: the n characters from i, from register 0
        for n in range(2, max(*NGRAMS, *TURN_NGRAMS) + 1):
            previous = self.registers[n - 1][:-1]
            self.registers[n] = _after_zero_bytes(previous, size[n - 1 :]) ^ own[n - 1 :]

    def crc32(
        self, start: np.ndarray, n: int, prefix: str, *, negated: np.ndarray | None = None
    ) -> np.ndarray:
        """The CRC-32 of ``prefix`` + the ``n`` characters from each ``start`` (``NEGATED``
        instead of ``prefix`` where ``negated``)."""
        length = self.byte_at[start + n] - self.byte_at[start]
        before = _PREFIXES[prefix][length]
        if negated is not None:
            before = np.where(negated, _PREFIXES[NEGATED][length], before)
        return ((self.registers[n][start] ^ before) ^ np.uint32(0xFFFFFFFF)).astype(np.int64)
