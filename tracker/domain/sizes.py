"""The size a product's title names, and whether it fits a size the buyer wears. Pure.

A shop lists each size of a hoodie, a shoe or a set of bedding as a product of its own
(加绒连帽卫衣 宽松 百搭 XL 黑色, 经典帆布鞋 百搭 休闲 38 白色, 纯棉四件套 … 1.8m床 浅灰色):
one family, many listings. A suggestion brings up one of them, and the one in the size
the buyer has bought in that category is the one the agent can offer as it is.

Read from the title's own words, as sellers write them: letter sizes (S, M, XL, 2XL, with
码 or not), shoe sizes and ranges (36, 38码, 36-37) and bed widths (1.5m床). Anything else
(36枚, 400g, 均码) names no size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LETTERS = {"XS": 0, "S": 1, "M": 2, "L": 3, "XL": 4, "XXL": 5, "XXXL": 6}
_LETTERS |= {"2XL": 5, "3XL": 6, "4XL": 7, "5XL": 8}  # as many sellers write them
_LETTER = re.compile(r"^(XS|S|M|L|XL|XXL|XXXL|[2-5]XL)(?:码|号)?$")
_SHOE = re.compile(r"^(3\d|4\d)(?:-(3\d|4\d))?(?:码|号)?$")
_BED = re.compile(r"^(\d(?:\.\d)?)(?:m|米)床$")


@dataclass(frozen=True)
class Size:
    system: str  # "letter", "shoe" or "bed": sizes of different systems never fit
    low: float
    high: float  # a range's top (36-37 fits 36 and 37); a single size's own value


def size_of(title: str | None) -> Size | None:
    """The size the title names (its last word that is one), else None."""
    for word in reversed((title or "").split()):
        if found := _LETTER.match(word):
            rank = _LETTERS[found.group(1)]
            return Size("letter", rank, rank)
        if found := _SHOE.match(word):
            low = int(found.group(1))
            high = int(found.group(2) or low)
            if low <= high:
                return Size("shoe", low, high)
        if found := _BED.match(word):
            width = float(found.group(1))
            return Size("bed", width, width)
    return None


def fits(worn: Size, offered: Size) -> bool:
    """Whether a listing in ``offered`` fits someone who bought ``worn``: the same system,
    and the sizes overlap (a 38 wearer fits the 38-39 slipper)."""
    return worn.system == offered.system and offered.low <= worn.high and worn.low <= offered.high
