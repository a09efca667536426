"""The segment view: who the shop's buyers are, its 80/20 figure, member levels and their
export in the platform's grade shape."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models.enums import LEADS
from tracker.models.shop import Shop
from tracker.services import exports, level_sync, segments
from tracker.services.errors import FieldError
from tracker.sources import registry
from tracker.sources.contract import Capability
from tracker.web.access import roles_required
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.shop.segment_forms import MemberLevelsForm
from tracker.web.shop.views import _shop, bp


@bp.route("/segments")
def segment_view() -> str:
    shop = _shop()
    return _segment_page(shop)


def _segment_page(shop: Shop, levels_form: MemberLevelsForm | None = None) -> str:
    """The page, with the level form as the shop has its levels, or as just typed."""
    adapter = registry.for_platform(shop.platform)
    levels = segments.levels_of(shop)
    return render_template(
        "shop/segments.html",
        shop=shop,
        view=segments.view(db.session, shop),
        levels=levels,
        can_edit=current_user.leads,
        form=CsrfOnlyForm(),
        levels_form=MemberLevelsForm.showing(levels) if levels_form is None else levels_form,
        sync_adapter=adapter
        if adapter is not None and Capability.SYNC_LEVELS in adapter.capabilities
        else None,
        sync=level_sync.state(db.session, shop) if shop.level_sync else None,
        refused=level_sync.refused_examples(db.session, shop) if shop.level_sync else [],
        last_run=level_sync.last_run(shop),
    )


@bp.route("/segments/levels", methods=["POST"])
@roles_required(*LEADS)
def segment_levels() -> Response | tuple[str, int]:
    shop = _shop()
    form = MemberLevelsForm()
    if form.validate_on_submit():
        try:
            segments.set_levels(
                db.session,
                shop,
                form.levels(),
                adapter=registry.for_platform(shop.platform),
                actor=current_user,
                now=utcnow(),
            )
        except FieldError as exc:  # the levels as a whole, not one box
            form.form_errors.append(exc.message)
        else:
            flash("会员等级已保存，一分钟内按新门槛重新计算。", "success")
            return redirect(url_for("shop.segment_view"))
    return _segment_page(shop, form), 400


@bp.route("/segments/recompute", methods=["POST"])
@roles_required(*LEADS)
def segment_recompute() -> Response:
    shop = _shop()
    if CsrfOnlyForm().validate_on_submit():
        segments.request(db.session, shop, now=utcnow())
        flash("已请求重新计算，一分钟内完成。", "success")
    return redirect(url_for("shop.segment_view"))


@bp.route("/segments/sync", methods=["POST"])
@roles_required(*LEADS)
def segment_sync() -> Response:
    """Turn pushing member levels to the platform on or off."""
    shop = _shop()
    if not CsrfOnlyForm().validate_on_submit():
        flash("表单已过期，请重试。", "danger")
        return redirect(url_for("shop.segment_view"))
    on = request.form.get("on") == "1"
    try:
        level_sync.set_enabled(
            db.session,
            shop,
            on,
            adapter=registry.for_platform(shop.platform),
            actor=current_user,
            now=utcnow(),
        )
    except FieldError as exc:
        flash(f"未开启同步：{exc.message}", "danger")
    else:
        flash("已开启同步，一分钟内开始推送到平台。" if on else "已停止同步。", "success")
    return redirect(url_for("shop.segment_view"))


@bp.route("/segments/sync/now", methods=["POST"])
@roles_required(*LEADS)
def segment_sync_now() -> Response:
    shop = _shop()
    if CsrfOnlyForm().validate_on_submit() and shop.level_sync:
        level_sync.request(db.session, shop, now=utcnow())
        flash("已请求同步，一分钟内开始。", "success")
    return redirect(url_for("shop.segment_view"))


@bp.route("/segments/grades.csv")
@roles_required(*LEADS)
def segment_grades() -> Response:
    shop = _shop()
    body = exports.to_csv(segments.GRADE_HEADERS, segments.grade_rows(db.session, shop))
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="member-grades-{shop.code}.csv"'
    )
    return response
