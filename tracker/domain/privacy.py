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
