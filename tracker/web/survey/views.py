"""The one public page: a buyer answers the 满意度回访 of their case through the signed link
in the SMS. No login, nothing else reachable from it, one answer per case."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.services import surveys
from tracker.services.errors import FieldError
from tracker.web.fields import Form

bp = Blueprint("survey", __name__, url_prefix="/s")


class SurveyForm(Form):
    resolved = RadioField(
        "您反映的问题解决了吗？",
        choices=[SelectChoice(value, label) for value, label in surveys.RESOLVED.items()],
        validators=[InputRequired("请选择问题是否已经解决。")],
    )
    score = RadioField(
        "这次售后处理，您满意吗？",
        coerce=int,
        choices=[SelectChoice(score, label) for score, label in surveys.SCORES.items()],
        validators=[InputRequired("请选择满意程度。")],
    )
    comment = TextAreaField("还想说的（选填）", validators=[Optional(), Length(max=500)])
    submit = SubmitField("提交")


@bp.route("/", defaults={"token": ""})  # a link whose token an SMS lost: the buyer's
@bp.route("/<token>", methods=["GET", "POST"])  # page still, never the staff's 404
def page(token: str) -> tuple[str, int]:
    secret = current_app.config["SECRET_KEY"]
    try:
        survey = surveys.survey_of(db.session, token, secret)
    except surveys.SurveyLinkError as exc:
        return render_template("survey/closed.html", message=exc.message), 404
    if survey.answered_at is not None:
        return render_template("survey/closed.html", message="您已经评价过了，谢谢！"), 200
    asking = surveys.about(db.session, survey)
    form = SurveyForm()
    if form.validate_on_submit():
        try:
            surveys.answer(
                db.session,
                token,
                secret,
                form.score.data,
                form.comment.data or "",
                resolved=form.resolved.data,
                now=utcnow(),
            )
        except surveys.SurveyLinkError as exc:
            return render_template("survey/closed.html", message=exc.message), 200
        except FieldError as exc:
            form[exc.field].errors = [exc.message]
        else:
            thanks = "感谢您的评价！"
            if form.resolved.data in surveys.UNSOLVED:  # told to the case's agent: say so
                thanks += "您说问题还没有完全解决，我们已转告负责这次售后的客服。"
            return render_template("survey/closed.html", message=thanks), 200
    return render_template("survey/page.html", form=form, asking=asking), 200
