"""Browsing a shop's data: products, buyers and their archive, orders, reviews."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.domain.segments import LEVEL_NAMES, BuyerClass
from tracker.extensions import db
from tracker.models import Buyer, Review, Shop
from tracker.models.enums import LEADS, Rating
from tracker.runtime import settings as shop_settings
from tracker.services import (
    browse,
    buyer_flags,
    buyer_profiles,
    confirmations,
    contact_handles,
    contact_log,
    erasure,
    exports,
    personal_copy,
    segments,
)
from tracker.services.case_access import works_buyer_of
from tracker.services.corrections import correct_sentiment
from tracker.services.errors import FieldError
from tracker.web.access import current_shop, roles_required, shop_or_404
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.inputs import came_from_or, requested_page, search_text, searched_page
from tracker.web.shop.forms import CopyRequestForm, ErasureForm, SentimentCorrectionForm

bp = Blueprint("shop", __name__, url_prefix="/shop")

# browse.BUYER_SORTS's orders as the buyer list offers them
BUYER_SORT_LABELS = {
    "nick": "按昵称",
    "recent": "最近购买",
    "spent": "累计消费最多",
    "orders": "订单最多",
}


def _shop() -> Shop:
    shop = current_shop()
    if shop is None:
        abort(404)
    return shop


@bp.route("/products")
def products() -> str:
    shop = _shop()
    category, q = request.args.get("category", ""), search_text()
    page = requested_page(browse.products(shop.id, q=q, category=category))
    return render_template(
        "shop/products.html",
        shop=shop,
        page=page,
        q=q,
        category=category,
        categories=browse.categories(db.session, shop.id),
    )


@bp.route("/buyers")
def buyers() -> str:
    shop = _shop()
    klass = request.args.get("klass") or None
    klass = klass if klass in {c.value for c in BuyerClass} else None
    big = {"1": True, "0": False}.get(request.args.get("big", ""))
    raw_level = request.args.get("level", "")
    level = int(raw_level) if raw_level in {"0", "1", "2", "3", "4"} else None
    sort = request.args.get("sort", "")
    sort = sort if sort in browse.BUYER_SORTS else "nick"
    q = search_text()
    asked = browse.BuyerListing(q=q, klass=klass, big=big, level=level, sort=sort)
    found = browse.buyers(db.session, shop.id, asked)
    page = searched_page(found)
    return render_template(
        "shop/buyers.html",
        shop=shop,
        page=page,
        q=q,
        segments=browse.segments_of(db.session, [b.id for b in page.items]),
        filters={"klass": klass, "big": request.args.get("big", ""), "level": level, "sort": sort},
        sorts=BUYER_SORT_LABELS,
        classes=list(BuyerClass),
        level_names=LEVEL_NAMES,
        broad=found.broad,
        search_limit=browse.SEARCH_LIMIT,
    )


def _buyer_or_404(buyer_id: int) -> tuple[Buyer, Shop]:
    buyer = db.session.get(Buyer, buyer_id)
    if buyer is None:
        abort(404)
    return buyer, shop_or_404(buyer.shop_id)


@bp.route("/buyers/<int:buyer_id>")
def buyer(buyer_id: int) -> str:
    return _buyer_page(*_buyer_or_404(buyer_id))


def _buyer_page(
    buyer: Buyer,
    shop: Shop,
    erasure_form: ErasureForm | None = None,
    copy_form: CopyRequestForm | None = None,
) -> str:
    profile = buyer_profiles.for_viewer(  # first: its access-log line commits
        db.session,
        buyer,
        current_user,
        works=works_buyer_of(db.session, current_user, buyer.id),
        now=utcnow(),
        tz=shop_settings(current_app, shop).working_hours.tz,
    )
    shown = None if request.args.get("all") == "1" else browse.ARCHIVE_SHOWN  # None: all
    if current_user.leads:
        erasure_form = erasure_form or ErasureForm()
        copy_form = copy_form or CopyRequestForm(prefix="copy")
    return render_template(
        "shop/buyer.html",
        shop=shop,
        erasure_form=erasure_form,
        copy_form=copy_form,
        archive=browse.buyer_archive(db.session, buyer, shown=shown),
        profile=profile,
        caution=buyer_flags.caution(db.session, buyer),
        numbers=contact_handles.of_buyer(db.session, buyer.id, utcnow()),
        contacts=contact_log.history(db.session, shop, buyer.id),
        contacts_shown=contact_log.HISTORY_LIMIT,
        segment=segments.of_buyer(db.session, buyer.id),
        level_names=LEVEL_NAMES,
    )


@bp.route("/buyers/<int:buyer_id>/erase", methods=["POST"])
@roles_required(*LEADS)
def erase_buyer(buyer_id: int) -> Response | tuple[str, int]:
    """买家要求删除个人信息 (supervisors and admins)."""
    buyer, shop = _buyer_or_404(buyer_id)
    form = ErasureForm()
    if form.validate_on_submit():
        try:
            wiped = erasure.erase(
                db.session, buyer, current_user, reason=form.reason.data or "", now=utcnow()
            )
        except FieldError as exc:
            form.reason.errors = [exc.message]
        else:
            flash(f"已删除这位买家的姓名、地址、生日、备注和 {wiped} 个号码。", "success")
            return redirect(url_for("shop.buyer", buyer_id=buyer_id))
    return _buyer_page(buyer, shop, form), 400


@bp.route("/buyers/<int:buyer_id>/copy", methods=["POST"])
@roles_required(*LEADS)
def copy_buyer_data(buyer_id: int) -> Response | tuple[str, int]:
    """买家要求查阅、复制个人信息 (supervisors and admins): a workbook to hand over."""
    buyer, shop = _buyer_or_404(buyer_id)
    form = CopyRequestForm(prefix="copy")
    if form.validate_on_submit():
        try:
            made = personal_copy.copy(
                db.session,
                buyer,
                shop,
                current_user,
                reason=form.reason.data or "",
                now=utcnow(),
                tz=shop_settings(current_app, shop).working_hours.tz,
            )
        except FieldError as exc:
            form.reason.errors = [exc.message]
        else:
            response = Response(made.body, mimetype=exports.XLSX_MIMETYPE)
            response.headers["Content-Disposition"] = f'attachment; filename="{made.filename}"'
            return response
    return _buyer_page(buyer, shop, copy_form=form), 400


@bp.route("/orders")
def orders() -> str:
    shop = _shop()
    q = search_text()
    found = browse.orders(db.session, shop.id, q=q)
    page = searched_page(found)
    cases = browse.cases_of_orders(db.session, [o.id for o in page.items])
    return render_template(
        "shop/orders.html",
        shop=shop,
        page=page,
        q=q,
        cases=cases,
        broad=found.broad,
        search_limit=browse.SEARCH_LIMIT,
    )


@bp.route("/reviews")
def reviews() -> str:
    shop = _shop()
    raw = request.args.get("rating", "")
    rating = Rating(raw) if raw in {r.value for r in Rating} else None
    q = search_text()
    worded = request.args.get("words") == "1"
    raw_days = request.args.get("days", "")
    days = int(raw_days) if raw_days in {str(d) for d in browse.REVIEW_PERIODS} else None
    since = browse.period_start(utcnow(), days) if days else None
    found = browse.reviews(db.session, shop.id, q=q, rating=rating, worded=worded, since=since)
    page = searched_page(found)
    ids = [r.id for r in page.items]
    cases = browse.cases_of_reviews(db.session, ids)
    openable = confirmations.openable(
        db.session, shop.id, page.items, with_case=set(cases), now=utcnow()
    )
    return render_template(
        "shop/reviews.html",
        shop=shop,
        page=page,
        q=q,
        rating=rating,
        ratings=list(Rating),
        worded=worded,
        days=days,
        periods=browse.REVIEW_PERIODS,
        corrected=browse.corrections(db.session, ids),
        cases=cases,
        openable=openable,
        open_form=CsrfOnlyForm(),
        broad=found.broad,
        search_limit=browse.SEARCH_LIMIT,
    )


@bp.route("/reviews/<int:review_id>/case", methods=["POST"])
def open_review_case(review_id: int) -> Response:
    """是差评 · 开案件: a person read the review and wants the buyer reached."""
    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    shop = shop_or_404(review.shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        case = confirmations.open_for_review(
            db.session,
            shop.id,
            review_id,
            actor=current_user,
            now=utcnow(),
            settings=shop_settings(current_app, shop),
        )
    except confirmations.CannotOpen as exc:
        flash(exc.message, "warning")
        return _back_to_reviews()
    flash(f"案件 #{case.id} 已开，首次联系时限从现在起算。", "success")
    return redirect(url_for("cases.case_view", case_id=case.id))


@bp.route("/reviews/<int:review_id>/sentiment", methods=["POST"])
def correct_review_sentiment(review_id: int) -> Response:
    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    shop_or_404(review.shop_id)
    form = SentimentCorrectionForm()
    if not form.validate_on_submit():
        abort(400)
    correct_sentiment(
        db.session,
        review,
        is_positive=form.label.data == "positive",
        user_id=current_user.id,
        now=utcnow(),
    )
    flash("已记录情感标注，下次训练模型时会使用。", "success")
    return _back_to_reviews()


def _back_to_reviews() -> Response:
    """The list page the person was on (its filter and page), never another site."""
    return redirect(came_from_or(url_for("shop.reviews")))
