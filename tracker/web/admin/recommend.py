"""Admin page for recommendations: how many to show, the stored model, "rebuild now"."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.services import recommendations
from tracker.services.errors import FieldError
from tracker.web.access import shop_or_404
from tracker.web.admin.forms import CsrfOnlyForm, RecommendationSettingsForm
from tracker.web.admin.views import bp


@bp.route("/shops/<int:shop_id>/recommendations", methods=["GET", "POST"])
def shop_recommendations(shop_id: int) -> Response | str:
    shop = shop_or_404(shop_id)
    form = RecommendationSettingsForm()
    if not form.is_submitted():
        form.suggestions_per_call.data = shop.suggestions_per_call
    if form.validate_on_submit():
        try:
            recommendations.set_suggestions_per_call(
                db.session, shop, form.suggestions_per_call.data or 0
            )
        except FieldError as exc:
            form.suggestions_per_call.errors = [*form.suggestions_per_call.errors, exc.message]
        else:
            flash("已保存。", "success")
            return redirect(url_for("admin.shop_recommendations", shop_id=shop.id))
    return render_template(
        "admin/recommendations.html",
        shop=shop,
        form=form,
        rebuild_form=CsrfOnlyForm(),
        status=recommendations.model_status(db.session, shop.id),
    )


@bp.route("/shops/<int:shop_id>/recommendations/rebuild", methods=["POST"])
def rebuild_recommender(shop_id: int) -> Response:
    shop = shop_or_404(shop_id)
    if CsrfOnlyForm().validate_on_submit():
        recommendations.request_build(db.session, shop, now=utcnow())
        flash("已加入构建队列，调度器将在一分钟内开始重建。", "success")
    else:
        flash("表单已过期，请重试。", "danger")
    return redirect(url_for("admin.shop_recommendations", shop_id=shop.id))
