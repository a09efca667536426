from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from tracker.web.fields import Form


class SentimentCorrectionForm(Form):
    label = SelectField(
        choices=[SelectChoice("positive", "正面"), SelectChoice("negative", "负面")]
    )


class ErasureForm(Form):
    """买家要求删除个人信息: what the request was is the record of why."""

    reason = StringField(
        "依据",
        validators=[
            DataRequired("请写明依据：谁、何时、通过什么渠道要求删除。"),
            Length(max=200, message="依据最多 200 字。"),
        ],
        render_kw={"placeholder": "例如：买家 12-01 留言要求删除个人信息"},
    )
    submit = SubmitField("删除个人信息")


class CopyRequestForm(Form):
    """买家要求查阅、复制个人信息: the request, recorded with what was copied."""

    reason = StringField(
        "依据",
        validators=[
            DataRequired("请写明依据：谁、何时、通过什么渠道要求查阅或复制。"),
            Length(max=200, message="依据最多 200 字。"),
        ],
        render_kw={"placeholder": "例如：买家 12-01 来电要求查看店铺保存的个人信息"},
    )
    submit = SubmitField("导出副本（Excel）")
