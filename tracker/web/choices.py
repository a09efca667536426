"""Choices for form fields, built from the models' enums and rows."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import SelectChoice

from tracker.models.enums import LabelledEnum


def enum_choices(enum: type[LabelledEnum]) -> list[SelectChoice]:
    return [SelectChoice(member.value, member.label) for member in enum]


def row_choices(rows: Iterable[tuple[int, str]]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in rows]
