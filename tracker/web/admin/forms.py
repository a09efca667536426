from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.models.enums import Platform, Role
from tracker.web.choices import enum_choices


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class UserEditForm(FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=64)])
    role = SelectField("角色", choices=enum_choices(Role))
    shop_ids = CheckboxListField("负责店铺", coerce=int, validate_choice=True)
    is_active = BooleanField("启用账号", default=True)
    submit = SubmitField("保存")


class UserCreateForm(UserEditForm):
    username = StringField(
        "用户名",
        validators=[DataRequired("请填写用户名。"), Length(max=64)],
        description="登录用，字母、数字和 _ . -",
    )
    password = PasswordField("初始密码", validators=[DataRequired("请设置密码。"), Length(max=200)])
    confirm = PasswordField("确认密码", validators=[EqualTo("password", "两次输入的密码不一致。")])


class PasswordResetForm(FlaskForm):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码。"), Length(max=200)])
    confirm = PasswordField(
        "确认新密码", validators=[EqualTo("password", "两次输入的密码不一致。")]
    )
    submit = SubmitField("重置密码")


class ShopForm(FlaskForm):
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
