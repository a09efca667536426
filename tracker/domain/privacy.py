"""How personal data is shown to staff who do not work that buyer's case."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_phone(phone: str | None) -> str:
    """138****5678 for mobiles; other numbers keep only their last four digits visible."""
    if not phone:
        return ""
    digits = "".join(_DIGITS.findall(phone))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_nick(nick: str | None) -> str:
    """How the platforms show a buyer's nick publicly: first and last character."""
    if not nick:
        return ""
    if len(nick) <= 2:
        return nick[0] + "*"
    return f"{nick[0]}***{nick[-1]}"


def mask_name(name: str | None) -> str:
    """郑** for 郑俊杰: the surname stays (an SMS greets 郑先生/女士 from it), the given name
    is starred, one star per character."""
    name = (name or "").strip()
    if not name:
        return ""
    return (name[0] + "*" * (len(name) - 1))[:16] if len(name) > 1 else name + "*"


_AREA = re.compile(r"^\s*(.+?(?:特别行政区|自治区|省|市))")


def coarse_area(region: str | None) -> str:
    """The province (or municipality) of an address, the part shown on lists: 浙江省 for
    浙江省杭州市西湖区文三路 100 号; one that names none keeps its first word."""
    region = (region or "").strip()
    if not region:
        return ""
    first = region.split()[0]  # exports write 浙江省 杭州市 … with spaces
    found = _AREA.match(first)
    return (found.group(1) if found else first)[:16]
