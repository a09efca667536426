"""Form fields and validators every blueprint shares, for values people type."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectMultipleField, widgets
from wtforms.validators import ValidationError

from tracker.clock import OUT_OF_CALENDAR, within_calendar
from tracker.services.errors import FieldError
from tracker.web.inputs import MAX_ID


class Form(FlaskForm):
    """Every form of the app: WTForms' own messages (不是有效的整数。, 不是有效的选择。) in
    Chinese, from the catalogue WTForms ships, as the messages we write are. Flask-WTF's
    translations need Flask-Babel, hence ``WTF_I18N_ENABLED = False`` in the config."""

    class Meta:
        locales = ("zh",)


class CheckboxListField(SelectMultipleField):
    """Several choices as a row of checkboxes (the forms macro draws them inline, the way
    Bootstrap does); a bare ListWidget drew a bulleted list inside a text box."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class FiniteDecimalField(DecimalField):
    """A decimal number; ``NaN``, ``sNaN`` and ``Infinity`` are refused, not stored (and a
    signaling NaN would break the range check after it)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError("请填写一个有效的数字。")


def row_id(form: Any, field: Any) -> None:
    """An id chosen on a page: a row id can be no larger than this."""
    values = field.data if isinstance(field.data, list) else [field.data]
    if any(isinstance(v, int) and not 0 < v <= MAX_ID for v in values):
        raise ValidationError("所选的记录不存在。")


def in_calendar(form: Any, field: Any) -> None:
    if isinstance(field.data, date) and not within_calendar(field.data):
        raise ValidationError(OUT_OF_CALENDAR)


def attach_error(form: FlaskForm, error: FieldError) -> None:
    """A service's refusal shown under the field it names (the form's first field when the
    form has no such field)."""
    field = getattr(form, error.field, None)
    if field is None:
        field = next(iter(form))
    field.errors = [*field.errors, error.message]
