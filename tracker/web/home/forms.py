from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired


class ShopSwitchForm(FlaskForm):
    shop_id = IntegerField(validators=[InputRequired()])
    next = HiddenField()  # a page of the chosen shop to open (the shops' comparison)
