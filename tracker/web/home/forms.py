from __future__ import annotations

from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired

from tracker.web.fields import Form


class ShopSwitchForm(Form):
    shop_id = IntegerField(validators=[InputRequired()])
    next = HiddenField()  # a page of the chosen shop to open (the shops' comparison)
