"""How many SMS a text is billed as in mainland China: every character (汉字, letter, digit,
punctuation, space, the signature's 【】) counts one; up to 70 is one message, a longer
one is split and billed at 67 a part (UCS-2 with the concatenation header). The buyer's
phone still shows one message, so only the bill says it was long."""

from __future__ import annotations

import math

SINGLE = 70  # one message holds up to this many characters
PART = 67  # each part of a long message holds this many


def billed_parts(text: str) -> int:
    """The messages a text is billed as: 70 → 1, 71 → 2, 134 → 2, 135 → 3."""
    length = len(text)
    if length <= SINGLE:
        return 1
    return math.ceil(length / PART)
