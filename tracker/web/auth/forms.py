from __future__ import annotations

from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.web.fields import Form


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=200)])
    remember = BooleanField("记住我")
    submit = SubmitField("登录")


class PasswordChangeForm(Form):
    current = PasswordField(
        "当前密码",
        validators=[DataRequired("请输入当前密码。"), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "新密码",
        validators=[DataRequired("请输入新密码。"), Length(max=200)],
        description="至少 8 个字符，同时包含字母和数字。",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "确认新密码",
        validators=[EqualTo("password", "两次输入的密码不一致。")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("修改密码")


class ContactForm(Form):
    email = StringField(
        "邮箱",
        validators=[Optional(), Length(max=254)],
        description="选填：超时和到期提醒会发到这里",
        render_kw={"autocomplete": "email"},
    )
    phone = StringField(
        "外呼手机",
        validators=[Optional(), Length(max=32)],
        description="隐私号外呼时平台先拨这部手机（A 号码），加密保存",
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    remove_phone = BooleanField("删除已登记的外呼手机")
    submit = SubmitField("保存联系方式")
