from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from tracker.domain.retention import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, OUT_OF_RANGE
from tracker.domain.working_hours import WEEKDAY_NAMES
from tracker.models.enums import MessagePurpose, Platform, RemedyNotice, Role
from tracker.providers.contract import ProviderSpec
from tracker.sources.contract import Adapter
from tracker.web.choices import enum_choices, pairs
from tracker.web.fields import CheckboxListField, FiniteDecimalField, Form, row_id


class UserEditForm(Form):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=64)])
    email = StringField(
        "邮箱", validators=[Optional(), Length(max=254)], description="选填：超时提醒会发到这里"
    )
    role = SelectField("角色", choices=enum_choices(Role))
    shop_ids = CheckboxListField("负责店铺", coerce=int, validate_choice=True)
    is_active = BooleanField("启用账号", default=True)
    phone = StringField(
        "外呼手机",
        validators=[Optional(), Length(max=32)],
        description="隐私号外呼从这部手机拨出（A 号码），加密保存；留空则不变",
    )
    submit = SubmitField("保存")


class UserCreateForm(UserEditForm):
    username = StringField(
        "用户名",
        validators=[DataRequired("请填写用户名。"), Length(max=64)],
        description="登录用，字母、数字和 _ . -",
    )
    password = PasswordField("初始密码", validators=[DataRequired("请设置密码。"), Length(max=200)])
    confirm = PasswordField("确认密码", validators=[EqualTo("password", "两次输入的密码不一致。")])


class PasswordResetForm(Form):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码。"), Length(max=200)])
    confirm = PasswordField(
        "确认新密码", validators=[EqualTo("password", "两次输入的密码不一致。")]
    )
    submit = SubmitField("重置密码")


class ShopForm(Form):
    code = StringField(
        "店铺代码",
        validators=[DataRequired("请填写店铺代码。"), Length(max=32)],
        description="小写字母、数字、_ 和 -；配置文件中的凭据按此代码查找",
    )
    name = StringField("店铺名称", validators=[DataRequired("请填写店铺名称。"), Length(max=100)])
    platform = SelectField("平台", choices=enum_choices(Platform))
    platform_seller_id = StringField("平台卖家 ID", validators=[Optional(), Length(max=64)])
    is_active = BooleanField("启用", default=True)
    submit = SubmitField("保存")


class ImportForm(Form):
    shop_id = SelectField("店铺", coerce=int)
    kind = SelectField(
        "数据类型",
        choices=[
            SelectChoice("reviews", "评价"),
            SelectChoice("orders", "订单"),
            SelectChoice("products", "商品"),
            SelectChoice("buyers", "买家"),
        ],
    )
    file = FileField(
        "文件",
        validators=[
            FileRequired("请选择文件。"),
            FileAllowed(["csv", "xlsx", "txt", "tsv"], "只支持 .csv 和 .xlsx 文件。"),
        ],
        description="千牛/京麦导出的 CSV 或 Excel；UTF-8、GBK 均可",
    )
    mapping = TextAreaField(
        "列映射（可选）",
        validators=[Optional(), Length(max=2000)],
        description="表头不是常见中文列名时，每行写一个：列名=字段名，如 留言=text",
        render_kw={"rows": 3},
    )
    skip_bad_rows = BooleanField("跳过有问题的行，只导入正确的行")
    submit = SubmitField("导入")


class PolicyForm(Form):
    periods = StringField(
        "每天工作时段",
        validators=[DataRequired("请填写工作时段。"), Length(max=200)],
        description="如 09:00-12:00, 13:30-22:00",
    )
    weekdays = CheckboxListField(
        "工作日",
        coerce=int,
        choices=[SelectChoice(str(i), name) for i, name in enumerate(WEEKDAY_NAMES)],
    )
    holidays = TextAreaField(
        "节假日（不上班）",
        validators=[Optional(), Length(max=5000)],
        description="每行一个日期，如 2026-10-01",
        render_kw={"rows": 3},
    )
    workdays = TextAreaField(
        "调休上班日",
        validators=[Optional(), Length(max=2000)],
        description="每行一个日期",
        render_kw={"rows": 2},
    )
    dated = TextAreaField(
        "特殊营业时间",
        validators=[Optional(), Length(max=5000)],
        description="大促延长、节前缩短：每行一天，如 2026-11-11 09:00-24:00",
        render_kw={"rows": 2},
    )
    bad_hours = FiniteDecimalField(
        "差评首次联系时限（工作小时）",
        places=1,
        validators=[InputRequired("请填写。"), NumberRange(0.1, 240, "应在 0.1 到 240 之间。")],
    )
    neutral_hours = FiniteDecimalField(
        "中评首次联系时限（工作小时）",
        places=1,
        validators=[InputRequired("请填写。"), NumberRange(0.1, 240, "应在 0.1 到 240 之间。")],
    )
    hidden_negative_hours = FiniteDecimalField(
        "隐性差评首次联系时限（工作小时）",
        places=1,
        validators=[InputRequired("请填写。"), NumberRange(0.1, 240, "应在 0.1 到 240 之间。")],
    )
    contact_hours = StringField(
        "可联系买家的时段",
        validators=[DataRequired("请填写。"), Length(max=20)],
        description="如 09:00-21:00：其余时间不打电话、不发短信",
    )
    contact_per_day = IntegerField(
        "每位买家每天最多联系",
        validators=[InputRequired("请填写。"), NumberRange(1, 50, "应在 1 到 50 之间。")],
    )
    contact_per_week = IntegerField(
        "每位买家 7 天内最多联系",
        validators=[InputRequired("请填写。"), NumberRange(1, 50, "应在 1 到 50 之间。")],
    )
    contact_gap_minutes = IntegerField(
        "两次联系最短间隔（分钟）",
        validators=[InputRequired("请填写。"), NumberRange(0, 2880, "应在 0 到 2880 之间。")],
    )
    pull_interval_minutes = IntegerField(
        "拉取间隔（分钟）",
        validators=[InputRequired("请填写。"), NumberRange(1, 1440, "应在 1 到 1440 之间。")],
    )
    retention_days = IntegerField(
        "个人信息保存期限（天）",
        validators=[
            Optional(),
            NumberRange(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS, OUT_OF_RANGE),
        ],
        description=(
            "买家超过这么多天没有订单、评价或案件（且没有未结案件），其姓名、地址、生日、号码和偏好备注"
            "在夜间自动删除，订单、评价和案件记录保留。留空则一直保存到买家要求删除。"
        ),
    )
    # "1" when the form lists the whole calendar, days gone included: saving it then
    # replaces them (a past holiday typed wrongly can be taken out), else they are kept
    with_past = HiddenField()
    submit = SubmitField("保存时限设置")


class CsrfOnlyForm(Form):
    """A button that changes something: nothing to fill in, but still CSRF-protected."""


def _template_id(value: object) -> int | None:
    """A template's id, or None for 不发回访 (the empty choice)."""
    return int(str(value)) if value not in (None, "") else None


class SurveyTemplateForm(Form):
    """Which template carries 满意度回访: drawn as radios with each template's words
    (_macros/messages.html); the service refuses one that cannot carry it."""

    survey_template = RadioField(
        "回访模板", coerce=_template_id, choices=[], validate_choice=False, validators=[row_id]
    )
    submit = SubmitField("保存")


class RecommendationSettingsForm(Form):
    suggestions_per_call = IntegerField(
        "每次通话推荐商品数",
        validators=[InputRequired("请填写。"), NumberRange(1, 20, "应在 1 到 20 之间。")],
    )
    submit = SubmitField("保存")


def credentials_form(
    adapter: Adapter | ProviderSpec, *, stored: bool, prefix: str = ""
) -> FlaskForm:
    """A form with one field per credential the shop's platform needs. Secrets are never
    filled in from what is stored: left blank, the stored value stays."""

    class CredentialsForm(Form):
        submit = SubmitField("保存凭据")

    for f in adapter.fields:
        if f.choices:
            field = SelectField(
                f.label, choices=pairs((c, c) for c in f.choices), default=f.default()
            )
        elif f.secret:
            field = PasswordField(
                f.label,
                validators=[
                    Optional() if stored else DataRequired(f"请填写{f.label}。"),
                    Length(max=500),
                ],
                description="已保存；留空则不变" if stored else None,
            )
        else:
            field = StringField(
                f.label, validators=[DataRequired(f"请填写{f.label}。"), Length(max=200)]
            )
        setattr(CredentialsForm, f.name, field)
    return CredentialsForm(prefix=prefix)


class MessageTemplateForm(Form):
    """A template exactly as the provider approved it."""

    provider = SelectField("发送渠道", choices=[])
    name = StringField("名称", validators=[DataRequired("请填写名称。"), Length(max=64)])
    sign_name = StringField("短信签名", validators=[DataRequired("请填写签名。"), Length(max=64)])
    template_code = StringField(
        "模板 CODE",
        validators=[DataRequired("请填写模板 CODE。"), Length(max=64)],
        render_kw={"placeholder": "SMS_123456789"},
    )
    body = TextAreaField(
        "模板内容（与审核通过的一致）",
        validators=[DataRequired("请填写模板内容。"), Length(max=500)],
        description=(
            "参数：${name} 称呼、${product} 商品简称、${shop} 店铺名、${order} 订单号后四位"
        ),
    )
    purpose = SelectField("类型", choices=enum_choices(MessagePurpose))
    announces = SelectField(
        "通知的补偿",
        choices=enum_choices(RemedyNotice, blank="—"),
        default="",
        description="告诉买家补发、换货、退款等已安排的通知，只能从登记了该补偿的案件发出。",
    )
    submit = SubmitField("登记模板")


class TemplateAnnouncesForm(Form):
    """What a registered notice tells the buyer was arranged (its text cannot change)."""

    announces = SelectField("通知的补偿", choices=enum_choices(RemedyNotice, blank="—"), default="")
    submit = SubmitField("保存")
