"""Tables out as CSV and XLSX that Excel opens correctly and safely."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from tracker.domain.plain_text import clean_text

# What a spreadsheet may read as the start of a formula, also in full-width forms, and
# what it skips before looking (spaces of every kind, zero-width signs, line breaks).
FORMULA_SIGNS = frozenset("=+-@＝＋－＠")
SKIPPED_FIRST = " \t\r\n\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff"


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @ …, after any leading blanks)
    is kept as text: a buyer's review saying ``=HYPERLINK(...)`` must not become a live
    link in a supervisor's Excel."""
    if (
        isinstance(value, str)
        and (
            value.startswith(("\t", "\r"))  # OWASP's list: these two start a formula too
            or value.lstrip(SKIPPED_FIRST)[:1] in FORMULA_SIGNS
        )
    ):
        return "'" + value
    return value


def _xlsx_cell(value: Any) -> Any:
    """A value an XLSX can hold: numbers as numbers, text without what its XML refuses
    (control characters, lone surrogates), kept safe from formulas."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        value = clean_text(value)
    return safe_cell(value)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append([_xlsx_cell(h) for h in headers])
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
