"""Choices for form fields, built from the models' enums and rows."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import SelectChoice

from tracker.models.enums import LabelledEnum


def enum_choices(enum: type[LabelledEnum], blank: str | None = None) -> list[SelectChoice]:
    """The enum's members as options, with an optional empty first option labelled ``blank``."""
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(member.value, member.label) for member in enum]


def pairs(items: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in items]


def row_choices(rows: Iterable[tuple[int, str]]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in rows]
