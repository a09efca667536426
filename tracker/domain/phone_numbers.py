"""Reading a phone number as shops and platforms write it, and what kind it is.

Platforms hide buyers' numbers: Taobao/Tmall, JD and Douyin give a virtual number, an
11-digit host number plus an extension (``18400913965-7576``, ``18400913965转7576``), that
stops working some days after the order completes. A shop's own records may hold a real
mobile or a landline with its area code (``0571-88992688``). An export that masks the
number (``138****5678``) gives nothing to call, and says so rather than storing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.domain.privacy import mask_phone

_SPACES = re.compile(r"[\s\u3000()（）]+")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
# host number, a separator the platforms use, a 1-6 digit extension
_VIRTUAL = re.compile(r"(1[3-9]\d{9})(?:-|_|,|，|转|ext\.?|#)(\d{1,6})", re.IGNORECASE)


EXTENSION_MARK = " 转 "  # how a masked number shows its extension: 184****3965 转 7576


class NumberError(ValueError):
    """Not a number anyone could dial; the message says why, in the staff's words."""


@dataclass(frozen=True)
class PhoneNumber:
    number: str  # digits only: a mobile, or a landline with its area code
    extension: str | None = None  # a platform virtual number's 分机号

    @property
    def is_virtual(self) -> bool:
        return self.extension is not None

    def dialable(self) -> str:
        """What a phone dials: the host number, a pause, then the extension."""
        return f"{self.number},{self.extension}" if self.extension else self.number

    def written(self) -> str:
        return f"{self.number}-{self.extension}" if self.extension else self.number


def parse_number(text: str) -> PhoneNumber:
    """A mobile (``+86 138-1234-5678``), a landline with area code, or a virtual number
    with its extension; :class:`NumberError` for anything else."""
    compact = _SPACES.sub("", text or "")
    if not compact:
        raise NumberError("号码为空")
    if "*" in compact:
        raise NumberError(
            f"号码已打码（{compact}），无法拨打：请导入完整号码，或在案件页向平台解密"
        )
    for prefix in ("+86", "0086", "86-"):
        if compact.startswith(prefix) and len(compact) > len(prefix) + 10:
            compact = compact[len(prefix) :].lstrip("-")
    virtual = _VIRTUAL.fullmatch(compact)
    if virtual:
        return PhoneNumber(virtual.group(1), virtual.group(2))
    digits = compact.replace("-", "")
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(compact):
        return PhoneNumber(digits)
    raise NumberError(f"不是手机号、带区号的座机号或“主号-分机号”形式的虚拟号：{text.strip()[:40]}")


def masked(number: PhoneNumber) -> str:
    """What every page may show: 184****3965 转 7576."""
    shown = mask_phone(number.number)
    return f"{shown}{EXTENSION_MARK}{number.extension}" if number.extension else shown
