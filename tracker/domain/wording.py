"""How a person says a product and a buyer on the phone or in a message: never the whole
listing title (【顺丰包邮】… 100g 清香型), never the buyer's platform nick."""

from __future__ import annotations

import re

_TAGS = re.compile(r"【[^】]*】|\[[^\]]*\]|（[^）]*）|\([^)]*\)")
_SPEC = re.compile(r"^[0-9０-９]")  # 5斤装, 100g, 500ml: a size, not the product


def short_product(title: str | None, *, limit: int = 12) -> str:
    """赣南脐橙 5斤装 新鲜 → 赣南脐橙; 【顺丰包邮】氨基酸洗面奶 温和清洁 → 氨基酸洗面奶."""
    if not title:
        return "宝贝"
    words = [w for w in _TAGS.sub(" ", title).split() if not _SPEC.match(w)]
    return (words[0] if words else title.strip())[:limit]


def listing_name(title: str, *, limit: int = 18) -> str:
    """A listing without its 【promo】 tags, cut to ``limit`` characters: short, but two
    sizes of one product still tell apart (a chart's legend)."""
    text = " ".join(_TAGS.sub(" ", title).split()) or title.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def variant_of(chosen: str, shown: str) -> str:
    """What sets one listing of a product apart from another of it, in the chosen one's
    words: 缓震跑步鞋 透气 39 白色 beside 缓震跑步鞋 透气 40 黑色 → 39 白色; the whole name,
    without its tags, when the words are the same."""
    seen = set(_TAGS.sub(" ", shown).split())
    words = _TAGS.sub(" ", chosen).split()
    differs = [w for w in words if w not in seen]
    return " ".join(differs) if differs else listing_name(chosen)


def spoken_name(name: str | None) -> str:
    """The buyer as an agent addresses them: the name on file, else 亲 (the shops'
    customary address), never the nick."""
    return name.strip() if name and name.strip() else "亲"


def written_name(name: str | None) -> str:
    """The buyer in an SMS: 李先生/女士 from the surname on file (the masked name 李** is
    enough, so sending opens no sealed data), else 亲."""
    return f"{name.strip()[0]}先生/女士" if name and name.strip() else "亲"
