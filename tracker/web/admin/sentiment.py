"""Admin page for a shop's sentiment models: each candidate with its figures, which one
scores the shop, 立即训练 and 回滚."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker import runtime
from tracker.clock import utcnow
from tracker.domain.triage import CALIBRATION_MIN_REVIEWS
from tracker.extensions import db
from tracker.sentiment.store import model_description
from tracker.services import calibration, shop_models
from tracker.web.access import shop_or_404
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.admin.views import bp


@bp.route("/shops/<int:shop_id>/sentiment")
def shop_sentiment(shop_id: int) -> str:
    shop = shop_or_404(shop_id)
    store = runtime.model_store(current_app)
    installation = store.current_version()
    calibrated = runtime.calibrated_bands(current_app, shop) is not None
    version = runtime.scoring_model_version(current_app, shop)
    return render_template(
        "admin/sentiment.html",
        shop=shop,
        models=shop_models.models(db.session, shop.id),
        bands=runtime.score_bands(current_app, shop.id),
        calibrated_at=datetime.fromisoformat(shop.sentiment_calibration["at"])
        if calibrated and shop.sentiment_calibration
        else None,
        refused=shop.sentiment_retrain_refused,
        refused_at=datetime.fromisoformat(shop.sentiment_retrain_refused["at"])
        if shop.sentiment_retrain_refused
        else None,
        # not calibrated yet: how many good ratings the next night (or 立即训练) would read
        good_scored=None
        if calibrated or version is None
        else calibration.good_ratings_scored(db.session, shop, model_version=version, now=utcnow()),
        min_good=CALIBRATION_MIN_REVIEWS,
        calibration_sample=calibration.SAMPLE,  # the count stops there
        calibrates_at=current_app.config["TRACKER_RECOMMENDER_BUILD_AT"],
        installation=installation,
        # adapted to the shops' words (train-sentiment --adapt-to-shops): how many texts
        installation_adapted=(
            model_description(current_app.config["TRACKER_SENTIMENT_MODEL"], store) or {}
        ).get("adapted_to"),
        follows_shops=current_app.config["TRACKER_SENTIMENT_MODEL"] in ("", "auto"),
        min_examples=shop_models.MIN_EXAMPLES,
        form=CsrfOnlyForm(),
    )


@bp.route("/shops/<int:shop_id>/sentiment/retrain", methods=["POST"])
def retrain_sentiment(shop_id: int) -> Response:
    shop = shop_or_404(shop_id)
    if CsrfOnlyForm().validate_on_submit():
        shop_models.request_retrain(db.session, shop, now=utcnow())
        flash("已加入训练队列，调度器将在一分钟内开始训练。", "success")
    else:
        flash("表单已过期，请重试。", "danger")
    return redirect(url_for("admin.shop_sentiment", shop_id=shop.id))


@bp.route("/shops/<int:shop_id>/sentiment/rollback", methods=["POST"])
def rollback_sentiment(shop_id: int) -> Response:
    shop = shop_or_404(shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        flash("表单已过期，请重试。", "danger")
    else:
        try:
            version = shop_models.rollback(db.session, shop, actor_id=current_user.id, now=utcnow())
        except shop_models.ShopModelError as exc:
            flash(exc.message, "warning")
        else:
            flash(f"已回滚，现在由 {version or '安装级默认模型'} 评分。", "success")
    return redirect(url_for("admin.shop_sentiment", shop_id=shop.id))
