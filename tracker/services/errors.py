"""Errors a service raises for the caller to show next to the right field."""

from __future__ import annotations


class FieldError(ValueError):
    """A value is not acceptable; ``field`` names the form field or column it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(LookupError):
    """No such record, or not one the caller may act on (a page shows 404 either way)."""
