"""The forms of 调班申请."""

from __future__ import annotations

from wtforms import DateField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional

from tracker.services.shift_requests import NOTE_LONGEST
from tracker.web.fields import Form, in_calendar

KINDS = [
    SelectChoice("off", "休息"),
    SelectChoice("work", "上班（另定时段）"),
    SelectChoice("swap", "和同事换班"),
]


class AskForm(Form):
    day = DateField("日期", validators=[InputRequired("请选要调班的日期。"), in_calendar])
    kind = RadioField("想要", choices=KINDS, default="off")
    periods = StringField(
        "当天上班时段",
        validators=[Optional(), Length(max=200)],
        description="选“上班”时填，如 09:00-18:00",
    )
    swap_with = SelectField(
        "换班的同事",
        coerce=int,
        choices=[],
        validators=[Optional()],
        description="选“和同事换班”时选：那天你上他的班，他上你的班；先要他同意",
    )
    swap_day = DateField(
        "还班的日子（可不填）",
        validators=[Optional(), in_calendar],
        description="换休时填：这天你们再换回来（你替他上班），和上面那天一起批准；只换一天就不填",
    )
    note = StringField(
        "说明", validators=[Optional(), Length(max=NOTE_LONGEST)], description="给主管看的原因"
    )
    submit = SubmitField("提交申请")


class AnswerForm(Form):
    """The colleague of a swap: yes or no."""

    agree = SubmitField("同意换班")
    refuse = SubmitField("不同意")


class DecideForm(Form):
    """A supervisor's answer to a request."""

    answer = StringField("回复（可不填）", validators=[Optional(), Length(max=NOTE_LONGEST)])
    approve = SubmitField("批准")
    decline = SubmitField("不批准")


class WithdrawForm(Form):
    submit = SubmitField("撤回")
