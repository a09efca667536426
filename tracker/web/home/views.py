from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db
from tracker.services import availability, board, browse, confirmations, follow_ups
from tracker.web.access import current_shop, shop_or_404, shops_query
from tracker.web.away import BackForm
from tracker.web.cached import computed
from tracker.web.home.forms import ShopSwitchForm
from tracker.web.inputs import requested_page, safe_next, search_text

bp = Blueprint("home", __name__)


# Counting a big shop's orders and reviews takes a tenth of a second, and everyone lands
# here after logging in: the totals are counted at most every few minutes per shop.
COUNTS_FRESH_SECONDS = 300


@bp.route("/")
def index() -> str:
    shop = current_shop()
    if shop is None:
        return render_template("home/index.html", shop=None)
    counts = computed(
        f"shop-counts:{shop.id}",
        COUNTS_FRESH_SECONDS,
        lambda: browse.shop_counts(db.session, shop.id, now=utcnow()),
    )
    watermark = board.watermark(db.session)  # before the page's own queries, as the board
    now = utcnow()
    tz = local_zone(current_app.config)
    day = board.my_day(db.session, (shop.id,), user_id=current_user.id, now=now, tz=tz)
    supervises = current_user.leads
    team = (
        board.team_day(db.session, (shop.id,), user_id=current_user.id, now=now, tz=tz)
        if supervises
        else []
    )
    recent = browse.recent_unhappy(db.session, shop.id)
    return render_template(
        "home/index.html",
        shop=shop,
        day=day,
        team=team,
        waiting=confirmations.count_waiting(db.session, shop.id, now=now) if supervises else 0,
        now=now,
        counts=counts.value,
        counted_at=counts.at,
        recent_unhappy=recent,
        recent_cases=browse.cases_of_reviews(db.session, [r.id for r in recent]),
        # the board's news for the default board of this person (mine + unassigned, or the
        # team's): a case opened while the home page stays open is announced here too
        news_url=url_for("cases.news", after=watermark),
        news_every=board.NEWS_EVERY_SECONDS,
        leave=availability.leave(current_user, now, tz),
        back_form=BackForm(),
        # my follow-ups of the week that fall while I am off: re-book or hand over before
        my_off=follow_ups.due_while_off(db.session, shop, [current_user], now=now, tz=tz).get(
            current_user.id, []
        ),
    )


SHOPS_PER_PAGE = 20


@bp.route("/shop/switch")
def pick_shop() -> str:
    """The shops to switch to, searchable and a page at a time: the navigation bar's
    drop-down stops at a few dozen (a host may keep thousands)."""
    q = search_text()
    return render_template(
        "home/pick_shop.html",
        page=requested_page(shops_query(q), per_page=SHOPS_PER_PAGE),
        q=q,
        current=current_shop(),
        form=ShopSwitchForm(),
    )


@bp.route("/shop/switch", methods=["POST"])
def switch_shop() -> Response:
    form = ShopSwitchForm()
    if not form.validate_on_submit():
        abort(400)
    shop = shop_or_404(form.shop_id.data or 0)
    session["shop_id"] = shop.id
    if form.next.data:
        return redirect(safe_next(form.next.data))
    target = request.referrer or ""
    if target.startswith(url_for("home.pick_shop", _external=True)):
        target = ""  # picked from the list: on to the shop's home page
    if not target.startswith(request.host_url):
        return redirect(url_for("home.index"))
    return redirect(same_page_of(target, shop.id))


def same_page_of(target: str, shop_id: int) -> str:
    """``target``, or the same page of the chosen shop where the page is one shop's by its
    address (another shop's model or settings): back to that page would still show it."""
    try:
        endpoint, args = current_app.url_map.bind_to_environ(request.environ).match(
            urlsplit(target).path, method="GET"
        )
    except HTTPException:
        return target
    if "shop_id" not in args:
        return target
    return url_for(endpoint, **(args | {"shop_id": shop_id}))
