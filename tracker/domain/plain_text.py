"""Text as a database, a spreadsheet and a browser can all hold it.

Platforms and files hand us what buyers typed, and sometimes what a broken client sent: a
NUL (PostgreSQL refuses it), other control characters (XML, so XLSX, refuses them), half of
a surrogate pair such as a lone ``\\ud83d`` (no UTF-8 encoder accepts it). Cleaning happens
once, where text comes in, and again where it goes out to a file.
"""

from __future__ import annotations

import re

# C0 controls except tab, line feed and carriage return; DEL. (C1 controls are valid XML
# and valid text: they stay.)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """``text`` with control characters dropped and lone surrogates replaced by U+FFFD (a
    well-formed pair that arrived split, as JSON escapes allow, is joined again)."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROLS.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)
