"""The size a product's title names (or the phone it is made for), and whether it fits
what the buyer bought. Pure.

A shop lists each size of a hoodie, a shoe or a set of bedding, and each phone a case is
made for, as a product of its own (加绒连帽卫衣 宽松 百搭 XL 黑色, 经典帆布鞋 百搭 休闲 38
白色, 纯棉四件套 … 1.8m床 浅灰色, 磨砂手机壳 防摔 全包 iPhone 16 黑色): one family, many
listings. A suggestion brings up one of them, and the one in the size the buyer has bought
in that category (for the phone they bought a screen film for) is the one the agent can
offer as it is.

Read from the title's own words, as sellers write them: letter sizes (S, M, XL, 2XL, with
码 or not), shoe sizes and ranges (36, 38码, 36-37), bed widths (1.5m床) and a phone brand
with the model words after it (iPhone 16, 华为 Mate 70, 小米 14 Pro). Anything else (36枚,
400g, 均码, 两条装) names no size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LETTERS = {"XS": 0, "S": 1, "M": 2, "L": 3, "XL": 4, "XXL": 5, "XXXL": 6}
_LETTERS |= {"2XL": 5, "3XL": 6, "4XL": 7, "5XL": 8}  # as many sellers write them
_LETTER = re.compile(r"^(XS|S|M|L|XL|XXL|XXXL|[2-5]XL)(?:码|号)?$")
_SHOE = re.compile(r"^(3\d|4\d)(?:-(3\d|4\d))?(?:码|号)?$")
_BED = re.compile(r"^(\d(?:\.\d)?)(?:m|米)床$")
_BRANDS = "iPhone|华为|HUAWEI|荣耀|HONOR|小米|Xiaomi|Redmi|红米|OPPO|vivo|一加|三星|Galaxy"
_PHONE = re.compile(rf"^({_BRANDS})([A-Za-z0-9+]*)$", re.IGNORECASE)
_MODEL_WORD = re.compile(r"^[A-Za-z0-9+]+$")  # Mate, 70, Pro, 16e; a colour word ends it
_BRAND_NAMES = {"huawei": "华为", "honor": "荣耀", "xiaomi": "小米", "红米": "redmi"}


@dataclass(frozen=True)
class Size:
    system: str  # "letter", "shoe", "bed" or "phone": sizes of different systems never fit
    low: float = 0
    high: float = 0  # a range's top (36-37 fits 36 and 37); a single size's own value
    model: str = ""  # a phone's brand and model, lower case: only the same one fits


def size_of(title: str | None) -> Size | None:
    """The phone the title names, else the size (its last word that is one), else None."""
    words = (title or "").split()
    if phone := _phone_of(words):
        return phone
    for word in reversed(words):
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


def _phone_of(words: list[str]) -> Size | None:
    """A phone brand and the model words after it: iPhone 16 Pro, 华为 Mate 70."""
    for i, word in enumerate(words):
        if found := _PHONE.match(word):
            brand, joined = found.group(1).lower(), found.group(2).lower()  # iPhone16: 16
            model = [_BRAND_NAMES.get(brand, brand)] + ([joined] if joined else [])
            for after in words[i + 1 :]:
                if not _MODEL_WORD.match(after):
                    break
                model.append(after.lower())
            if len(model) > 1:  # a brand alone (华为 快充头) names no phone
                return Size("phone", model=" ".join(model))
    return None


def fits(worn: Size, offered: Size) -> bool:
    """Whether a listing in ``offered`` fits someone who bought ``worn``: the same system,
    and the sizes overlap (a 38 wearer fits the 38-39 slipper), or the same phone."""
    return (
        worn.system == offered.system
        and worn.model == offered.model
        and offered.low <= worn.high
        and worn.low <= offered.high
    )
