"""Tables out as CSV and XLSX that Excel opens correctly and safely."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

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


DATE_FORMAT = "yyyy-mm-dd hh:mm"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):  # local times come naive, as the sheet shows them
        return value.strftime("%Y-%m-%d %H:%M")
    return safe_cell(value)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _width(header: str, rows: Sequence[Sequence[Any]], column: int) -> float:
    """Wide enough for the header and the first rows (a CJK character counts double),
    never wider than 60."""
    sample = [header, *(str(r[column]) for r in rows[:200] if r[column] not in (None, ""))]
    longest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) for text in sample)
    return float(min(max(longest + 2, 8), 60))


def _xlsx_row(sheet: WriteOnlyWorksheet, values: Sequence[Any]) -> list[Any]:
    row = []
    for value in values:
        if isinstance(value, datetime):  # a real date, sortable and filterable in Excel
            cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
            cell.number_format = DATE_FORMAT
            row.append(cell)
        else:
            row.append(_xlsx_cell(value))
    return row


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


def to_xlsx(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str) -> bytes:
    """Dates as dates, columns sized to their content, the header frozen and filterable."""
    return to_workbook([Sheet(title, headers, rows)])


def to_workbook(sheets: Sequence[Sheet]) -> bytes:
    """Several tables in one file, one sheet each, laid out as :func:`to_xlsx` lays one."""
    book = Workbook(write_only=True)
    for table in sheets:
        sheet = book.create_sheet(table.title[:31])
        for i, header in enumerate(table.headers):
            width = _width(header, table.rows, i)
            sheet.column_dimensions[get_column_letter(i + 1)].width = width
        sheet.freeze_panes = "A2"
        last = get_column_letter(len(table.headers))
        sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"
        sheet.append([_xlsx_cell(h) for h in table.headers])
        for row in table.rows:
            sheet.append(_xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
