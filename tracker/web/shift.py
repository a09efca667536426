"""班次: the page of 客服负荷 where a supervisor (or an admin) sets an agent's own working
periods, which 自动分配 reads to prefer whoever is on shift, and the days worked otherwise
(调班)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, HiddenField, RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain.working_hours import (
    LONGEST_ROTATION,
    WEEKDAY_NAMES,
    PolicyError,
    WorkingHours,
    parse_periods,
    periods_text,
    stored_periods,
)
from tracker.extensions import db
from tracker.models import Shop, User
from tracker.services import shifts
from tracker.services.errors import FieldError
from tracker.services.shifts import ROTATION_NAMES
from tracker.web.fields import CheckboxListField, Form, attach_error, in_calendar

WEEKDAYS = [SelectChoice(str(i), f"周{name}") for i, name in enumerate(WEEKDAY_NAMES)]


@dataclass(frozen=True)
class ShiftUrls:
    """Where the 班次 page and its forms post, and where 返回 goes."""

    page: str
    save_day: str
    clear_day: str
    done: str


WEEKS = [SelectChoice("1", "每周一样")] + [
    SelectChoice(str(n), words) for n, words in ROTATION_NAMES.items()
]
THIS_WEEK = [SelectChoice(str(n), f"第{n}周") for n in range(1, LONGEST_ROTATION + 1)]
LATER_WEEKS = range(2, LONGEST_ROTATION + 1)


def _later_week(number: int) -> tuple[StringField, CheckboxListField]:
    """The fields of the ``number``-th week of a rotation."""
    return (
        StringField(
            f"第{number}周上班时段",
            validators=[Optional(), Length(max=200)],
            description="留空则与第1周相同",
        ),
        CheckboxListField(f"第{number}周上班的日子", coerce=int, choices=WEEKDAYS),
    )


class ShiftForm(Form):
    weeks = RadioField("轮班", choices=WEEKS, default="1")
    periods = StringField(
        "上班时段",
        validators=[Optional(), Length(max=200)],
        description="如 09:00-15:00，或 09:00-12:00, 13:30-18:00；留空则按店铺工作时间",
    )
    weekdays = CheckboxListField("上班的日子", coerce=int, choices=WEEKDAYS)
    # a pair of fields for each week after the first, up to LONGEST_ROTATION
    periods_2, weekdays_2 = _later_week(2)
    periods_3, weekdays_3 = _later_week(3)
    periods_4, weekdays_4 = _later_week(4)
    this_week = RadioField("本周是", choices=THIS_WEEK, default="1")
    submit = SubmitField("保存班次")

    def rotation(self) -> list[tuple[list[list[str]] | None, list[int]]]:
        """The weeks after the first as typed (periods None: the first week's); FieldError
        under the periods of a week that do not read."""
        weeks = []
        for number in range(2, int(self.weeks.data or 1) + 1):
            text = (self[f"periods_{number}"].data or "").strip()
            try:
                periods = parse_periods(text) if text else None
            except PolicyError as exc:
                raise FieldError(f"periods_{number}", f"第{number}周：{exc}") from exc
            weeks.append((periods, list(self[f"weekdays_{number}"].data or [])))
        return weeks


class ShiftDayForm(Form):
    """One day worked otherwise than the 班次 says."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # its own names: the page holds the 班次 form too, whose field is also "periods"
        kwargs.setdefault("prefix", "day")
        super().__init__(*args, **kwargs)

    day = DateField("日期", validators=[InputRequired("请选调班的日期。"), in_calendar])
    kind = RadioField(
        "当天", choices=[SelectChoice("work", "上班"), SelectChoice("off", "休息")], default="work"
    )
    periods = StringField(
        "当天上班时段",
        validators=[Optional(), Length(max=200)],
        description="如 09:00-18:00；选“休息”时不用填",
    )
    submit = SubmitField("保存调班")


class ClearDayForm(Form):
    """Back to the 班次 on one day (its 调班 taken away)."""

    day = HiddenField()
    submit = SubmitField("恢复按班次")


def _day_periods(form: ShiftDayForm) -> list[list[str]]:
    """The day's periods as typed ([] for a day off); PolicyError when they do not read."""
    if form.kind.data == "off":
        return []
    text = (form.periods.data or "").strip()
    if not text:
        raise PolicyError("请填写当天的上班时段，或选“休息”。")
    return parse_periods(text)


def save_day(user: User, shop: Shop, urls: ShiftUrls) -> Response | tuple[str, int]:
    """POST of the 调班 form: saves the day and comes back to the page, or shows the page
    with the error under its field."""
    tz = local_zone(current_app.config)
    form = ShiftDayForm()
    if form.validate():
        try:
            stored = shifts.set_day(
                db.session,
                user,
                form.day.data,  # type: ignore[arg-type]
                _day_periods(form),
                actor=current_user,
                now=utcnow(),
                tz=tz,
            )
        except PolicyError as exc:
            attach_error(form, FieldError("periods", str(exc)))
        except FieldError as exc:
            attach_error(form, exc)
        else:
            said = shifts.describe_day(stored or [])
            flash(f"{user.display_name} {form.day.data:%m-%d} 调班：{said}。", "success")
            return redirect(urls.page)
    shift_form = ShiftForm(formdata=None, data=_shift_data(user, shop))
    return _render(user, shop, shift_form, form, urls)


def clear_day(user: User, urls: ShiftUrls) -> Response:
    """POST of 恢复按班次: the day follows the 班次 again."""
    form = ClearDayForm()
    try:
        day = date.fromisoformat(form.day.data or "")
    except ValueError:
        day = None
    if form.validate() and day is not None:
        try:
            shifts.set_day(
                db.session,
                user,
                day,
                None,
                actor=current_user,
                now=utcnow(),
                tz=local_zone(current_app.config),
            )
        except FieldError as exc:
            flash(exc.message, "danger")
        else:
            flash(f"{user.display_name} {day:%m-%d} 恢复按班次。", "success")
    else:
        flash("没有找到要恢复的日期，请重试。", "danger")
    return redirect(urls.page)


def _fill_day(form: ShiftDayForm, user: User, shop: Shop, day: date) -> None:
    """The day form set to ``day`` as it stands (its 调班, else what the 班次 says), for
    the person to change rather than retype."""
    set_before = shifts.day_set(user, day)
    if set_before is not None:
        periods = set_before.periods
    else:
        hours = shifts.hours_of(user, shop, local_zone(current_app.config))
        periods = stored_periods(hours.periods_on(day))
    form.day.data = day
    form.kind.data = "work" if periods or set_before is None else "off"
    form.periods.data = periods_text(periods)


def _shift_data(user: User, shop: Shop) -> dict[str, object]:
    """The 班次 form's values as stored (or the shop's weekdays it follows); the weeks of a
    rotation not set start as the first week's days, and 本周是 says where this week falls."""
    tz = local_zone(current_app.config)
    shown = user.shift or WorkingHours.from_dict(shop.working_hours, tz).to_dict()
    data: dict[str, object] = {
        "periods": periods_text(user.shift["periods"]) if user.shift else "",
        "weekdays": list(shown["weekdays"]),
    }
    for number in LATER_WEEKS:
        data[f"weekdays_{number}"] = list(shown["weekdays"])
    if user.shift and user.shift.get("rotation"):
        hours = WorkingHours.from_dict(user.shift, tz)
        data["weeks"] = str(len(hours.rotation) + 1)
        data["this_week"] = str(hours.week_number(utcnow().astimezone(tz).date()))
        for number, week in enumerate(hours.rotation, 2):
            data[f"periods_{number}"] = periods_text(stored_periods(week.periods))
            data[f"weekdays_{number}"] = sorted(week.weekdays)
    return data


def _render(
    user: User, shop: Shop, form: ShiftForm, day_form: ShiftDayForm, urls: ShiftUrls
) -> tuple[str, int]:
    tz = local_zone(current_app.config)
    today = utcnow().astimezone(tz).date()
    shop_hours = WorkingHours.from_dict(shop.working_hours, tz).to_dict()
    return render_template(
        "reports/shift.html",
        user=user,
        shop=shop,
        form=form,
        day_form=day_form,
        clear_form=ClearDayForm(formdata=None),
        days=shifts.upcoming_days(user, today),
        shop_hours=shifts.describe(shop_hours),
        urls=urls,
    ), 400 if form.errors or day_form.errors else 200


def shift_page(user: User, shop: Shop, urls: ShiftUrls) -> Response | tuple[str, int]:
    """GET shows ``user``'s shift (or the shop's hours it follows) and their 调班 days, the
    day form set to ``?day=`` (a cell of the 排班表); POST saves the shift."""
    form = ShiftForm()
    day_form = ShiftDayForm(formdata=None)
    if form.is_submitted() and form.validate():
        text = (form.periods.data or "").strip()
        try:
            periods = parse_periods(text) if text else None
            rotation = form.rotation()
        except PolicyError as exc:
            attach_error(form, FieldError("periods", str(exc)))
        except FieldError as exc:
            attach_error(form, exc)
        else:
            try:
                shifts.set_shift(
                    db.session,
                    user,
                    periods,
                    list(form.weekdays.data or []),
                    rotation=rotation,
                    this_week=int(form.this_week.data or 1),
                    actor=current_user,
                    now=utcnow(),
                    tz=local_zone(current_app.config),
                )
            except FieldError as exc:
                attach_error(form, exc)
            else:
                today = utcnow().astimezone(local_zone(current_app.config)).date()
                said = shifts.describe(user.shift, today)
                flash(f"{user.display_name} 的班次：{said}。", "success")
                return redirect(urls.done)
    elif not form.is_submitted():
        form = ShiftForm(formdata=None, data=_shift_data(user, shop))
        with contextlib.suppress(ValueError):  # no day asked for, or not one
            _fill_day(day_form, user, shop, date.fromisoformat(request.args.get("day", "")))
    return _render(user, shop, form, day_form, urls)
