"""班次: the page of 客服负荷 where a supervisor (or an admin) sets an agent's own working
periods, which 自动分配 reads to prefer whoever is on shift."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice, StringField, SubmitField
from wtforms.validators import Length, Optional

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain.working_hours import (
    WEEKDAY_NAMES,
    PolicyError,
    WorkingHours,
    parse_periods,
    periods_text,
)
from tracker.extensions import db
from tracker.models import Shop, User
from tracker.services import shifts
from tracker.services.errors import FieldError
from tracker.web.admin.forms import CheckboxListField
from tracker.web.fields import Form, attach_error

WEEKDAYS = [SelectChoice(str(i), f"周{name}") for i, name in enumerate(WEEKDAY_NAMES)]


class ShiftForm(Form):
    periods = StringField(
        "上班时段",
        validators=[Optional(), Length(max=200)],
        description="如 09:00-15:00，或 09:00-12:00, 13:30-18:00；留空则按店铺工作时间",
    )
    weekdays = CheckboxListField("上班的日子", coerce=int, choices=WEEKDAYS)
    submit = SubmitField("保存班次")


def shift_page(user: User, shop: Shop, done_url: str) -> Response | tuple[str, int]:
    """GET shows ``user``'s shift (or the shop's hours it follows); POST saves it."""
    tz = local_zone(current_app.config)
    form = ShiftForm()
    shop_hours = WorkingHours.from_dict(shop.working_hours, tz).to_dict()
    if form.is_submitted() and form.validate():
        text = (form.periods.data or "").strip()
        try:
            periods = parse_periods(text) if text else None
        except PolicyError as exc:
            attach_error(form, FieldError("periods", str(exc)))
        else:
            try:
                shifts.set_shift(
                    db.session,
                    user,
                    periods,
                    list(form.weekdays.data or []),
                    actor=current_user,
                    now=utcnow(),
                    tz=tz,
                )
            except FieldError as exc:
                attach_error(form, exc)
            else:
                flash(f"{user.display_name} 的班次：{shifts.describe(user.shift)}。", "success")
                return redirect(done_url)
    elif not form.is_submitted():
        shown = user.shift or shop_hours
        if user.shift:
            form.periods.data = periods_text(user.shift["periods"])
        form.weekdays.data = list(shown["weekdays"])
    return render_template(
        "reports/shift.html",
        user=user,
        shop=shop,
        form=form,
        shop_hours=shifts.describe(shop_hours),
        done_url=done_url,
    ), 400 if form.errors else 200
