from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class SentimentCorrectionForm(FlaskForm):
    label = SelectField(
        choices=[SelectChoice("positive", "正面"), SelectChoice("negative", "负面")]
    )


class ErasureForm(FlaskForm):
    """买家要求删除个人信息: what the request was is the record of why."""

    reason = StringField(
        "依据",
        validators=[
            DataRequired("请写明依据：谁、何时、通过什么渠道要求删除。"),
            Length(max=200, message="依据最多 200 字。"),
        ],
        render_kw={"placeholder": "例如：买家 12-01 旺旺留言要求删除个人信息"},
    )
    submit = SubmitField("删除个人信息")
