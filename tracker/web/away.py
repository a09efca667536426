"""不在岗: the page that marks someone away and the button that marks them back, shared by
我的账号 (oneself) and 客服负荷 (a supervisor for the shop's agents)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import BooleanField, DateField, SubmitField
from wtforms.validators import InputRequired, Optional

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db
from tracker.models import User
from tracker.services import availability
from tracker.services.errors import FieldError
from tracker.web.fields import Form, attach_error, in_calendar


class AwayForm(Form):
    first_day = DateField(
        "第一天",
        validators=[Optional(), in_calendar],
        description="今天（或留空）：立即生效；以后的日子：提前安排，那天 0 点开始。",
    )
    last_day = DateField(
        "最后一天（含）",
        validators=[InputRequired("请选不在岗的最后一天。"), in_calendar],
        description="这天结束（北京时间 24:00）后自动回岗；提前回来可点“回岗”。",
    )
    release = BooleanField("把进行中的案件交给同事", default=True)
    submit = SubmitField("设为不在岗")


class BackForm(Form):
    submit = SubmitField("回岗")


def away_page(user: User, done_url: str, back_url: str) -> Response | tuple[str, int]:
    """GET shows the form; POST marks ``user`` away and goes on to ``done_url``."""
    now = utcnow()
    tz = local_zone(current_app.config)
    form = AwayForm()
    shown = availability.leave(user, now, tz)  # as it stands (a refused change leaves it)
    if form.is_submitted() and form.validate():
        try:
            released = availability.set_away(
                db.session,
                user,
                form.last_day.data,  # type: ignore[arg-type]
                first_day=form.first_day.data,
                release=bool(form.release.data),
                actor=current_user,
                now=now,
                tz=tz,
            )
        except FieldError as exc:
            attach_error(form, exc)
        else:
            booked = availability.leave(user, now, tz)
            if booked and not booked.started:
                said = (
                    f"已安排 {user.display_name} {booked.first_day:%m-%d} 至 "
                    f"{booked.last_day:%m-%d}（含）不在岗，"
                    + (
                        "那天起进行中的案件交给同事。"
                        if booked.hands_over
                        else "案件留在名下，提醒届时发给主管。"
                    )
                )
            else:
                said = f"{user.display_name} 不在岗至 {form.last_day.data:%m-%d}（含）。"
            if released.reassigned:
                said += f"{released.reassigned} 件进行中的案件已转给在岗的同事。"
            if released.to_unassigned:
                said += f"{released.to_unassigned} 件进行中的案件已放回未分配。"
            flash(said, "success")
            return redirect(done_url)
    elif not form.is_submitted():
        today = now.astimezone(tz).date()
        form.first_day.data = shown.first_day if shown and shown.first_day else today
        form.last_day.data = shown.last_day if shown else today + timedelta(days=1)
        if shown and not shown.started:
            form.release.data = shown.hands_over
    status = 400 if form.errors else 200
    cases, shops = availability.open_cases(db.session, user)
    return render_template(
        "auth/away.html",
        user=user,
        form=form,
        own=user.id == current_user.id,
        open_cases=cases,
        in_shops=shops,
        back_form=BackForm(),
        done_url=done_url,
        back_url=back_url,
        leave=shown,
    ), status


def mark_back(user: User, done_url: str) -> Response:
    form = BackForm()
    if form.validate_on_submit():
        availability.set_back(db.session, user, actor=current_user, now=utcnow())
        flash(
            "已回岗。" if user.id == current_user.id else f"{user.display_name} 已回岗。", "success"
        )
    return redirect(done_url)
