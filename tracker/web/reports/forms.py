from __future__ import annotations

from wtforms import DateField, HiddenField, SelectField, SubmitField
from wtforms.validators import Optional

from tracker.services.access_log import BY_STAFF, BY_SYSTEM
from tracker.services.contact_handles import ACCESS_FIELDS
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


class AccessLogForm(PeriodForm):
    """The access log's period and what to show: one kind of access, people's or the
    tracker's own."""

    what = SelectField(
        "操作", choices=pairs([("", "全部操作"), *ACCESS_FIELDS.items()]), default=""
    )
    who = SelectField(
        "由谁",
        choices=pairs([("", "全部"), (BY_STAFF, "员工"), (BY_SYSTEM, "系统")]),
        default="",
    )


class AutoAssignForm(Form):
    """自动分配 on or off: the button says which (the hidden value is what it sets)."""

    on = HiddenField()
    submit = SubmitField()
