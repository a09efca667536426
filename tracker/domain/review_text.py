"""What a review's text says before any model looks at it."""

from __future__ import annotations

import re

# Texts the platforms write themselves (or that mean "no text").
SYSTEM_DEFAULT_PATTERNS = (
    "系统默认好评",
    "系统默认评价",
    "没有填写评价",
    "未填写评价",
    "买家未填写",
    "未及时做出评价",
    "此用户没有填写",
    "该用户觉得商品非常好",
    "用户未填写评价内容",
)
_BLANK = re.compile(r"^[\s\W_]*$")


def is_system_default(text: str | None) -> bool:
    """True for empty texts and platform defaults: they say nothing about the buyer."""
    if text is None or _BLANK.match(text):
        return True
    compact = re.sub(r"[\s\W_]+", "", text)
    rest = compact
    for pattern in SYSTEM_DEFAULT_PATTERNS:
        rest = rest.replace(pattern, "")
    # A default phrase plus at most a few words of filler (评价方, 此用户): a quoted
    # default inside a real complaint leaves the complaint behind and is scored.
    return rest != compact and len(rest) <= 4
