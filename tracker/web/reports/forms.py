from __future__ import annotations

from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import Optional

from tracker.services.reports import BREAKDOWNS
from tracker.web.choices import pairs
from tracker.web.fields import Form, in_calendar


class PeriodForm(Form):
    """Read from the query string (GET): bookmarkable, no CSRF needed for reading."""

    class Meta:
        csrf = False

    start = DateField("从", validators=[Optional(), in_calendar])
    end = DateField("到", validators=[Optional(), in_calendar])
    by = SelectField("分组", choices=pairs(BREAKDOWNS.items()), default="agent")
    grain = SelectField("趋势", choices=pairs([("day", "按天"), ("week", "按周")]), default="day")
    submit = SubmitField("查看")
