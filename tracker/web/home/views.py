from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.services import browse
from tracker.web.access import current_shop, shop_or_404
from tracker.web.home.forms import ShopSwitchForm

bp = Blueprint("home", __name__)


@bp.route("/")
def index() -> str:
    shop = current_shop()
    overview = None
    if shop is not None:
        overview = browse.overview(db.session, shop.id, since=utcnow() - timedelta(days=30))
    return render_template("home/index.html", shop=shop, overview=overview)


@bp.route("/shop/switch", methods=["POST"])
def switch_shop() -> Response:
    form = ShopSwitchForm()
    if not form.validate_on_submit():
        abort(400)
    shop = shop_or_404(form.shop_id.data or 0)
    session["shop_id"] = shop.id
    target = request.referrer or ""
    return redirect(target if target.startswith(request.host_url) else url_for("home.index"))
