"""How personal data is shown to staff who do not work that buyer's case, taken out of
staff's notes, and kept out once the buyer asked for it to be deleted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

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


REDACTED = "〔已删除〕"
# a mobile (+86 and separators allowed), a landline with its area code, or a platform's
# virtual number with its extension (18400913965-1234, …转1234); not a run of digits inside a
# longer one (an order number)
_PHONE = re.compile(
    r"(?<![\d*])(?:\+?86[\s-]?)?"
    r"(?:1[3-9]\d(?:[\s-]?\d){8}|0\d{2,3}[\s-]?\d{7,8})"
    r"(?:\s*(?:-|转|#|ext\.?)\s*\d{1,5})?(?![\d*])",
    re.IGNORECASE,
)


def _spelled_anyhow(known: Sequence[str]) -> list[re.Pattern[str]]:
    """Each ``known`` string of two characters or more, however it is spaced, the longest
    first (an address before its street)."""
    compact = {"".join(k.split()) for k in known if k}
    wanted = sorted((value for value in compact if len(value) >= 2), key=len, reverse=True)
    return [re.compile(r"\s*".join(map(re.escape, value))) for value in wanted]


def redact(text: str | None, known: list[str]) -> str | None:
    """Staff's free text with a buyer's identifiers taken out, for a buyer who asked that
    their data be deleted: every phone number written in it, and each ``known`` string
    (their full name, their address), however it was spaced. Masked forms (138****5678,
    郑**) stay: they identify no one."""
    if not text:
        return text
    for pattern in _spelled_anyhow(known):
        text = pattern.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


def personal_data_in(text: str, known: Sequence[str]) -> list[str]:
    """Each of ``known`` (a buyer's name, address, nick, order number) that a text writes,
    however spaced, as written there and in order. Masked forms (郑**) are not: they
    identify no one."""
    patterns = _spelled_anyhow(known)
    found = sorted((m.start(), m.group(0)) for p in patterns for m in p.finditer(text))
    return [written for _, written in found]


def phone_numbers_in(text: str) -> list[str]:
    """Every phone number a text writes (mobile, landline, virtual with its extension), as
    written; a masked one (138****5678) is none."""
    return [m.group(0).strip() for m in _PHONE.finditer(text)]


_STREET = (re.compile(r"^.*?[区县旗](.{3,})$"), re.compile(r"^.*?市(.{3,})$"))


def identifying_parts(name: str | None, address: str | None) -> list[str]:
    """What :func:`redact` looks for besides numbers: the name, the whole address, and its
    street part (文三路100号 of 浙江省杭州市西湖区文三路100号), which a note may write alone; a
    province or a city alone tells no one apart."""
    parts = [p for p in (name, address) if p]
    if address:
        compact = "".join(address.split())
        for pattern in _STREET:
            found = pattern.match(compact)
            if found:
                parts.append(found.group(1))
                break
    return parts


def may_take_in(erased_at: datetime | None, given_at: datetime | None) -> bool:
    """Whether personal data given at ``given_at`` (an order's payment; None: a file that
    does not say when) may be kept for a buyer who asked at ``erased_at`` for theirs to be
    deleted: only what they gave again after asking. Re-importing an old export must not
    undo an erasure."""
    return erased_at is None or (given_at is not None and given_at > erased_at)
