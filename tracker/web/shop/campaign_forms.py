"""The campaign form: who, who not, which approved text, how many held back."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tracker.domain.segments import LEVEL_NAMES, BuyerClass
from tracker.services import care
from tracker.web.choices import pairs
from tracker.web.fields import CheckboxListField, FiniteDecimalField, Form, row_id


class CampaignForm(Form):
    name = StringField("活动名称", validators=[DataRequired("请填写活动名称。"), Length(max=100)])
    classes = CheckboxListField(
        "客户类型",
        choices=pairs((c.value, c.label) for c in BuyerClass if c is not BuyerClass.PROSPECT),
    )
    big = SelectField(
        "大小客户", choices=pairs([("", "不限"), ("1", "大客户"), ("0", "小客户")]), default=""
    )
    min_level = SelectField(
        "会员等级不低于",
        choices=pairs([("", "不限")] + [(str(i), n) for i, n in enumerate(LEVEL_NAMES) if i]),
        default="",
    )
    days_from = IntegerField("距上次购买（天）从", validators=[Optional(), NumberRange(0, 3650)])
    days_to = IntegerField("到", validators=[Optional(), NumberRange(0, 3650)])
    birthday_days = IntegerField("未来几天内生日", validators=[Optional(), NumberRange(0, 31)])
    late_days = IntegerField(
        "近 30 天有订单送达超过几天", validators=[Optional(), NumberRange(1, 60)]
    )
    exclude_open_case = BooleanField("排除有未结案件的买家", default=True)
    unhappy_days = IntegerField(
        "排除几天内给过中差评的", default=30, validators=[Optional(), NumberRange(1, 365)]
    )
    refund_days = IntegerField(
        "排除几天内退过款的", default=30, validators=[Optional(), NumberRange(1, 365)]
    )
    contacted_days = IntegerField(
        "排除几天内联系过的", default=7, validators=[Optional(), NumberRange(1, 90)]
    )
    # radios drawn with each template's words (_macros/messages.html); the service refuses
    # a template it cannot send, under this field
    template_id = RadioField(
        "营销模板", coerce=int, choices=[], validate_choice=False, validators=[row_id]
    )
    control_percent = IntegerField(
        "对照组（%）", default=10, validators=[NumberRange(0, 50, "应在 0 到 50 之间。")]
    )
    coupon = StringField(  # recorded with the campaign: nothing issues it, the text tells it
        "短信里写明的优惠（可选，无条件）",
        validators=[Optional(), Length(max=200)],
        description="系统不发券：买家只从所选模板的文字里得知优惠，这里记下它，供活动记录。",
    )
    coupon_value = FiniteDecimalField(
        "面额（元）", places=2, validators=[Optional(), NumberRange(0, 100000)]
    )
    submit = SubmitField("保存活动")


class CareRuleForm(Form):
    """A care rule (客户关怀规则): which day, which approved text, how many held back. Each
    value is checked here and the rule's own conditions by the service (收货后关怀 needs its
    days, 节日问候 its date), each under its field, with what was typed kept."""

    kind = SelectField("类型", choices=pairs(care.KINDS.items()))
    name = StringField("名称", validators=[Optional(), Length(max=64)])
    days = IntegerField("收货后天数", validators=[Optional(), NumberRange(1, 90)])
    holiday = StringField("节日（MM-DD）", validators=[Optional(), Length(max=5)])
    template_id = RadioField(
        "模板", coerce=int, choices=[], validate_choice=False, validators=[row_id]
    )
    control_percent = IntegerField(
        "对照%", default=0, validators=[NumberRange(0, 50, "应在 0 到 50 之间。")]
    )
    submit = SubmitField("添加")
