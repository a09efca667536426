from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired


class ShopSwitchForm(FlaskForm):
    shop_id = IntegerField(validators=[InputRequired()])
