"""WTForms' own messages reach people in Chinese, like the ones we write."""

from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, SelectChoice, SelectField

from tracker.web import fields
from tracker.web.cases import forms as case_forms
from tracker.web.fields import Form


def test_every_form_of_the_app_derives_from_the_chinese_form() -> None:
    from flask_wtf import FlaskForm

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found | {s for c in found for s in subclasses(c)}

    assert case_forms.AttemptForm in subclasses(Form)  # the modules are imported by the app
    strays = [c for c in subclasses(FlaskForm) if not issubclass(c, fields.Form)]
    assert strays == []


def test_a_number_and_a_choice_are_refused_in_chinese(app: Flask) -> None:
    class Sample(Form):
        days = IntegerField("天数")
        kind = SelectField("类别", choices=[SelectChoice("a", "甲")])

    with app.test_request_context(method="POST"):
        form = Sample(formdata=MultiDict({"days": "三年", "kind": "z"}), meta={"csrf": False})
        assert not form.validate()
        assert form.errors == {"days": ["不是有效的整数。"], "kind": ["不是有效的选择。"]}
