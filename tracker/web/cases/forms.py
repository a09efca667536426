from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.domain import case_flow
from tracker.models.enums import (
    AppealReason,
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Rating,
    Reason,
    RemedyKind,
)
from tracker.web.choices import enum_choices, pairs
from tracker.web.fields import CheckboxListField, FiniteDecimalField, Form, in_calendar, row_id


class BoardFilterForm(Form):
    """The board's filters travel in the query string: bookmarkable, no CSRF needed."""

    class Meta:
        csrf = False

    scope = SelectField(
        "范围",
        choices=pairs(
            [
                ("default", "我的 + 未分配"),
                ("mine", "我的"),
                ("unassigned", "未分配"),
                ("all", "全部"),
            ]
        ),
        default="default",
    )
    # "" (the default) is every open case; "all" adds the closed ones (search an order
    # whose case closed a minute ago); a status narrows to it.
    status = SelectField(
        "状态",
        choices=[
            SelectChoice("", "进行中"),
            SelectChoice("all", "全部（含已结案）"),
            *enum_choices(CaseStatus),
        ],
        default="",
    )
    priority = SelectField(
        "优先级",
        choices=pairs([("", "全部")] + [(str(p), f"P{p}") for p in (1, 2, 3, 4)]),
        default="",
    )
    reason = SelectField("原因", choices=enum_choices(Reason, "全部"), default="")
    rating = SelectField("评价", choices=enum_choices(Rating, "全部"), default="")
    product_id = IntegerField("商品", validators=[Optional(), row_id])
    owner_id = IntegerField("负责人", validators=[Optional(), row_id])
    overdue = BooleanField("已超时")
    due_today = BooleanField("今天到期")
    number_expiring = BooleanField("号码即将失效")
    unseen_on_platform = BooleanField("平台已找不到")
    survey_unsolved = BooleanField("回访说没解决")
    survey_unheeded = BooleanField("回访说没解决、还没跟进")
    follow_up_missed = BooleanField("跟进已过")
    opened_from = DateField("开案从", validators=[Optional(), in_calendar])
    opened_to = DateField("到", validators=[Optional(), in_calendar])
    q = StringField(
        "搜索",
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": "买家昵称、订单号、评价或追评"},
    )
    sort = SelectField(
        "排序",
        choices=pairs(
            [
                ("deadline", "首次联系时限"),
                ("priority", "优先级"),
                ("newest", "最新开案"),
                ("oldest", "最早开案"),
                ("follow_up", "下次跟进"),
                ("window", "30 天期限"),
                ("number", "号码失效时间"),
                ("closed", "最近结案"),
            ]
        ),
        default="deadline",
    )
    view = SelectField(
        "视图", choices=pairs([("columns", "看板"), ("list", "列表")]), default="columns"
    )


class VersionedForm(Form):
    """Carries the case version the page showed, so stale edits are refused."""

    version = HiddenField()


class AttemptForm(VersionedForm):
    channel = SelectField("渠道", choices=enum_choices(Channel))
    attempted_at = DateTimeLocalField(
        "联系时间",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("请填写联系时间。")],
        description="不改则记为提交时间；补记以前的联系时再改。",
    )
    # the time the page put in 联系时间: left as it was, the contact is logged when sent
    attempted_at_shown = HiddenField()
    outcome = SelectField(
        "结果",
        choices=[
            c for c in enum_choices(AttemptOutcome) if c.value not in case_flow.SYSTEM_ATTEMPTS
        ],
    )
    duration_minutes = IntegerField(
        "时长（分钟）", validators=[Optional(), NumberRange(0, 360, "应在 0 到 360 分钟之间。")]
    )
    notes = TextAreaField(
        "备注",
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2, "placeholder": "买家说了什么，约定了什么"},
    )
    next_attempt_at = DateTimeLocalField(
        "下次跟进",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="选“问题处理中”时必填，到时回访确认问题解决",
    )
    shown = HiddenField()  # the suggestions on screen, signed (tracker.web.cases.shown)
    mentioned = CheckboxListField("通话中提到的推荐商品", coerce=int, choices=[])
    # the buyer's other open cases this one contact was also about (一次联系一并处理)
    together = CheckboxListField(
        "这次联系也记到同一买家的",
        coerce=int,
        choices=[],
        description="一次联系一并处理：勾选的案件各记一条，只算一次联系",
    )
    together_outcome = SelectField(
        "勾选的案件的结果",
        choices=[
            SelectChoice("", "与本案件相同"),
            *(c for c in enum_choices(AttemptOutcome) if c.value not in case_flow.SYSTEM_ATTEMPTS),
        ],
        default="",
        description="同意或拒绝只是对本案件这条评价的答复，勾选的案件要另选买家对那条评价怎么说",
    )
    override_reason = StringField(
        "越过联系规则的原因（仅主管）",
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": "例如：买家约好 21:30 来电"},
    )
    submit = SubmitField("记录联系")


class FollowUpForm(VersionedForm):
    """改约: the 下次跟进 moved without a contact to log."""

    at = DateTimeLocalField(
        "改约到", format="%Y-%m-%dT%H:%M", validators=[InputRequired("请填写新的跟进时间。")]
    )
    submit = SubmitField("改约")


class ConfirmForm(Form):
    """是差评 or 误报 for one review in 待确认 (``alike``: and for every review waiting with
    its very words, which the queue shows as one item)."""

    decision = SelectField(choices=pairs([("case", "是差评"), ("dismiss", "误报")]))
    alike = BooleanField()


class LooksFineForm(Form):
    """没问题 for one review on the second look (``alike``: and for every review listed with
    its very words, which the list shows as one item)."""

    alike = BooleanField()


class StatusForm(VersionedForm):
    status = SelectField(
        "改为",
        choices=enum_choices(CaseStatus, "请选择…"),
        default="",
        validators=[DataRequired("请选择新的状态。")],
    )
    outcome = SelectField(
        "结果（结案时必选）",
        choices=enum_choices(CaseOutcome, "—"),
        default="",
    )
    note = StringField(
        "依据（主管认定挽回时必填）",
        validators=[Optional(), Length(max=500, message="依据最多 500 字。")],
    )
    submit = SubmitField("更新状态")


class ReasonsForm(VersionedForm):
    reasons = CheckboxListField("原因", choices=enum_choices(Reason))
    submit = SubmitField("保存原因")


class RemedyForm(VersionedForm):
    kind = SelectField("补偿方式", choices=enum_choices(RemedyKind))
    amount = FiniteDecimalField(
        "金额（买家所得）",
        places=2,
        validators=[
            InputRequired("请填写金额。"),
            NumberRange(0, 999999.99, "应在 0 到 999999.99 之间。"),
        ],
    )
    cost = FiniteDecimalField(
        "成本（店铺支出）",
        places=2,
        validators=[
            InputRequired("请填写成本。"),
            NumberRange(0, 999999.99, "应在 0 到 999999.99 之间。"),
        ],
    )
    note = StringField("说明", validators=[Optional(), Length(max=500)])
    submit = SubmitField("添加补偿")


class ExplanationForm(VersionedForm):
    explanation = TextAreaField(
        "解释内容（最多 500 字）",
        validators=[DataRequired("请填写解释内容。"), Length(max=500, message="最多 500 字。")],
        render_kw={"rows": 3, "maxlength": 500},
    )
    submit = SubmitField("保存草稿")


class PostExplanationForm(VersionedForm):
    submit = SubmitField("发布解释")


class PreferencesForm(Form):
    preferences = TextAreaField(
        "偏好备注", validators=[Optional(), Length(max=2000)], render_kw={"rows": 2}
    )
    submit = SubmitField("保存备注")


class AppealForm(VersionedForm):
    reason = SelectField("违规类型", choices=enum_choices(AppealReason))
    note = TextAreaField(
        "违规说明与证据",
        validators=[DataRequired(message="请写明违规之处。"), Length(max=500)],
        render_kw={"rows": 2, "placeholder": "例如：买家留言要求返现 50 元才删差评（已截图）"},
    )
    submit = SubmitField("登记申诉")


class AppealDecisionForm(VersionedForm):
    decision = SelectField(
        choices=pairs([("accepted", "平台已受理删除"), ("rejected", "申诉被驳回")])
    )


class BuyerFlagForm(Form):
    reason = StringField(
        "标记原因（留空取消标记）",
        validators=[Optional(), Length(max=200, message="最多 200 字。")],
        render_kw={"placeholder": "例如：以差评要挟索要补偿"},
    )
    submit = SubmitField("保存标记")


class LiftStopForm(Form):
    reason = StringField(
        "解除原因",
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": "例如：买家主动来电要求回电"},
    )
    submit = SubmitField("解除勿扰")


class MessageForm(Form):
    """An approved template only: its parameters come from the case, nothing is typed."""

    # radios the page draws itself, each with its text: none is chosen until the agent does
    template = RadioField(
        "短信模板", coerce=int, choices=[], validate_choice=False, validators=[row_id]
    )
    override_reason = StringField(
        "越过联系规则的原因（主管）", validators=[Optional(), Length(max=200)]
    )
    submit = SubmitField("发送短信")


class CallForm(Form):
    override_reason = StringField(
        "越过联系规则的原因（主管）", validators=[Optional(), Length(max=200)]
    )
    submit = SubmitField("隐私号外呼")


class AssignForm(Form):
    owner_id = SelectField("负责人", coerce=int, choices=[])
    case_ids = SelectMultipleField(
        coerce=int, choices=[], validate_choice=False, validators=[row_id]
    )
    submit = SubmitField("分配")
    unassign = SubmitField("取消分配")  # in the list: its own button, never a default choice


class ScriptForm(Form):
    title = StringField("标题", validators=[DataRequired("请填写标题。"), Length(max=100)])
    reason = SelectField(
        "适用原因",
        choices=enum_choices(Reason, "通用（所有案件）"),
        default="",
    )
    shop_id = SelectField("适用店铺", coerce=int, choices=[])
    body = TextAreaField(
        "话术",
        validators=[DataRequired("请填写话术内容。"), Length(max=2000)],
        description="可用 {买家}、{商品} 和 {更新评价}（按平台：淘宝等“在订单里把评价改一下”，"
        "天猫“在订单里追评说一下现在的情况”，小程序“同意我们提交的和解”），案件页面上会自动替换",
        render_kw={"rows": 5},
    )
    submit = SubmitField("保存")
