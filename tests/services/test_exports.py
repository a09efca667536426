"""Exports a spreadsheet opens safely: no formula runs, no character breaks the file."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tracker.services.exports import safe_cell, to_csv, to_xlsx


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+86 cmd",
        "-2+3",
        "@SUM(A1)",
        ' =HYPERLINK("http://evil")',
        "\u00a0=1",  # NBSP
        "\u3000=1",  # ideographic space
        "\u200b=1",  # zero-width space
        "\ufeff=1",  # BOM
        "\n=1",
        "\t=1",
        "\r=1",
        "＝HYPERLINK(1)",  # full-width signs
        "＋1",
        "－1",
        "＠x",
    ],
)
def test_every_formula_start_is_kept_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["很好", "A=B", "质量 -- 一般", "邮箱 a@b.cn", "", "  好"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert safe_cell(text) == text
    assert safe_cell(3) == 3


def test_control_characters_do_not_break_the_xlsx() -> None:
    rows = [["\x00坏了\x01\x08\x0b", "=1+1", "ok"], ["\ud83d孤", "\x1f", 2]]
    book = load_workbook(io.BytesIO(to_xlsx(["评价\x07", "b", "c"], rows, title="导出")))
    sheet = book.active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["评价", "b", "c"]
    assert values[1] == ["坏了", "'=1+1", "ok"]
    assert values[2][2] == 2
    csv_text = to_csv(["a"], [["\x00x"]]).decode("utf-8-sig")
    assert "'" not in csv_text  # a NUL is not a formula start; CSV carries it as it is
