"""Supervisors' pages: the dashboard, trend charts, the agents' load, exports."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db, talisman
from tracker.models import Shop, User
from tracker.models.enums import LEADS
from tracker.services import access_log as personal_data
from tracker.services import (
    auto_assign,
    availability,
    exports,
    flagged_notes,
    follow_ups,
    reports,
    roster,
    shifts,
    staff_rights,
    surveys,
)
from tracker.services.access_log import BY_STAFF, BY_SYSTEM
from tracker.services.contact_handles import ACCESS_FIELDS
from tracker.services.errors import FieldError
from tracker.web import away, cached, shift
from tracker.web import roster as roster_view
from tracker.web.access import current_shop, roles_required, shops_query
from tracker.web.cached import Computed, computed
from tracker.web.choices import row_choices
from tracker.web.home.forms import ShopSwitchForm
from tracker.web.inputs import parse_id, requested_page
from tracker.web.reports import charts
from tracker.web.reports.forms import AccessLogForm, AutoAssignForm, PeriodForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@roles_required(*LEADS)
def _supervisors_only() -> None:
    """Every report is for supervisors and admins: checked once for the whole blueprint."""


def _tz() -> ZoneInfo:
    return local_zone(current_app.config)


def _shop() -> Shop:
    shop = current_shop()
    if shop is None:
        abort(404)
    return shop


def _period(form: PeriodForm) -> reports.Period:
    """The period asked for; a bad one is reported on its field and the default is shown."""
    tz = _tz()
    today = utcnow().astimezone(tz).date()
    try:
        return reports.Period.parse(
            request.args.get("start"), request.args.get("end"), tz, today=today
        )
    except FieldError as exc:
        getattr(form, exc.field).errors = [exc.message]
        return reports.Period.parse(None, None, tz, today=today)


def _choice(name: str, allowed: object, default: str) -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default  # type: ignore[operator]


# Figures are computed at most once a minute per shop, period and view: a supervisor's
# reload, five supervisors watching the same shop and the page's own chart images then
# cost one computation (tens of thousands of cases), not one each. The page says when.
FIGURES_FRESH_SECONDS = 60


def _key(shop: Shop, period: reports.Period, part: str) -> str:
    return f"figures:{shop.id}:{period.start}:{period.end}:{part}"


def _figures(
    shop: Shop, period: reports.Period, by: str, grain: str
) -> tuple[reports.Dashboard, reports.Trends, datetime]:
    """The page's figures and when they were computed; both from one read of the facts."""
    board_key, trend_key = _key(shop, period, f"dashboard:{by}"), _key(shop, period, grain)
    board, trend = cached.read(board_key, trend_key)
    if board is None or trend is None:
        now = utcnow()
        facts = reports.load_facts(
            db.session, shop.id, period, now=now, with_reasons=by == "reason"
        )
        board = Computed(
            reports.dashboard(db.session, shop.id, period, now=now, by=by, facts=facts), now
        )
        trend = Computed(
            reports.trends(db.session, shop.id, period, now=now, grain=grain, facts=facts), now
        )
        cached.keep({board_key: board, trend_key: trend}, FIGURES_FRESH_SECONDS)
    return board.value, trend.value, min(board.at, trend.at)


def _trends(shop: Shop, period: reports.Period, grain: str) -> reports.Trends:
    def compute() -> reports.Trends:
        return reports.trends(db.session, shop.id, period, now=utcnow(), grain=grain)

    return computed(_key(shop, period, grain), FIGURES_FRESH_SECONDS, compute).value


@bp.route("/")
def dashboard() -> str:
    shop = _shop()
    form = PeriodForm(request.args)
    period = _period(form)
    form.start.data, form.end.data = period.start, period.end
    by = _choice("by", reports.BREAKDOWNS, "agent")
    grain = _choice("grain", ("day", "week"), "day" if period.days <= 45 else "week")
    form.by.data, form.grain.data = by, grain
    board, trend, computed_at = _figures(shop, period, by, grain)
    query = {"start": period.start.isoformat(), "end": period.end.isoformat(), "grain": grain}
    return render_template(
        "reports/dashboard.html",
        shop=shop,
        form=form,
        board=board,
        trend=trend,
        tables=charts.tables(trend),
        query=query,
        by_label=reports.BREAKDOWNS[by],
        computed_at=computed_at,
        csat=surveys.csat(
            db.session,
            shop.id,
            period.start_utc,
            period.end_utc,
            by if by in ("agent", "reason", "product") else "product",
        ),
        csat_by=reports.BREAKDOWNS[by if by in ("agent", "reason", "product") else "product"],
        flagged=computed(
            _key(shop, period, "flagged-notes"),
            FIGURES_FRESH_SECONDS,
            lambda: flagged_notes.flagged_notes(
                db.session, shop.id, period.start_utc, period.end_utc
            ),
        ).value,
    )


SHOPS_PER_PAGE = 20


@bp.route("/shops")
def shops() -> str:
    """The shops the supervisor may see, side by side for a period (a page at a time, by
    name): which one is behind this morning. Each shop's line is cached like its own
    dashboard's figures."""
    form = PeriodForm(request.args)
    period = _period(form)
    form.start.data, form.end.data = period.start, period.end
    page = requested_page(shops_query(), per_page=SHOPS_PER_PAGE)

    def summary(shop: Shop) -> Computed:
        return computed(
            _key(shop, period, "summary"),
            FIGURES_FRESH_SECONDS,
            lambda: reports.shop_summary(db.session, shop.id, period, now=utcnow()),
        )

    lines = [(shop, summary(shop)) for shop in page.items]
    return render_template(
        "reports/shops.html",
        form=form,
        period=period,
        past_today=period.end > utcnow().astimezone(_tz()).date(),
        page=page,
        lines=lines,
        current=current_shop(),
        switch=ShopSwitchForm(),
        query={"start": period.start.isoformat(), "end": period.end.isoformat()},
    )


@bp.route("/charts/<name>.svg")
@talisman(content_security_policy={"default-src": "'none'", "style-src": "'unsafe-inline'"})
def chart(name: str) -> Response:
    """pygal styles its SVG inline: allowed for this image only, which runs no script."""
    shop = _shop()
    period = _period(PeriodForm(request.args))
    grain = _choice("grain", ("day", "week"), "day")
    trend = _trends(shop, period, grain)
    if name not in charts.tables(trend):
        abort(404)
    narrow = request.args.get("narrow") == "1"
    response = Response(charts.render(name, trend, narrow=narrow), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"private, max-age={FIGURES_FRESH_SECONDS}"
    return response


@bp.route("/agents")
def agents() -> str:
    shop = _shop()
    staff = roster.agents_of(db.session, shop)
    now, tz = utcnow(), _tz()
    loads = reports.agent_view(db.session, shop.id, staff, now=now, tz=tz)
    leaves = {u.id: found for u in staff if (found := availability.leave(u, now, tz))}
    duties = {u.id: shifts.duty(u, shop, now, tz) for u in staff}
    return render_template(
        "reports/agents.html",
        shop=shop,
        loads=loads,
        leaves=leaves,
        duties=duties,
        off_follow_ups=follow_ups.due_while_off(db.session, shop, staff, now=now, tz=tz),
        today=f"{now.astimezone(tz):%Y-%m-%d}",
        back_form=away.BackForm(),
        auto_form=AutoAssignForm(on="" if shop.auto_assign else "y"),
    )


@bp.route("/agents/auto-assign", methods=["POST"])
def switch_auto_assign() -> Response:
    """自动分配 on or off for the shop on screen."""
    shop = _shop()
    form = AutoAssignForm()
    if not form.validate_on_submit():
        abort(400)
    on = form.on.data == "y"
    auto_assign.switch(db.session, shop, on, actor_id=current_user.id, now=utcnow())
    said = "已开启自动分配：新案件分给在岗的客服。" if on else "已关闭自动分配：新案件留在未分配。"
    flash(said, "success")
    return redirect(url_for("reports.agents"))


def _agent_or_404(user_id: int) -> User:
    """A colleague whom this supervisor may mark away (an agent of a shop they work
    for; an admin, anyone): nobody else's account is shown or changed here."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        staff_rights.check_may_set(user, current_user)
    except FieldError:
        abort(404)
    return user


@bp.route("/agents/<int:user_id>/away", methods=["GET", "POST"])
def agent_away(user_id: int) -> Response | tuple[str, int]:
    user = _agent_or_404(user_id)
    return away.away_page(
        user, url_for("reports.agents"), url_for("reports.agent_back", user_id=user.id)
    )


def _shift_urls(user_id: int) -> shift.ShiftUrls:
    """The 班次 page's addresses, and where 返回 goes: the 排班表 it was opened from, else
    客服负荷 (a fixed choice, never a URL from the request)."""
    back = {"from": "roster"} if request.args.get("from") == "roster" else {}
    return shift.ShiftUrls(
        page=url_for("reports.agent_shift", user_id=user_id, **back),
        save_day=url_for("reports.agent_shift_day", user_id=user_id, **back),
        clear_day=url_for("reports.agent_shift_day_clear", user_id=user_id, **back),
        done=url_for("reports.roster_page" if back else "reports.agents"),
    )


@bp.route("/agents/<int:user_id>/shift", methods=["GET", "POST"])
def agent_shift(user_id: int) -> Response | tuple[str, int]:
    return shift.shift_page(_agent_or_404(user_id), _shop(), _shift_urls(user_id))


@bp.route("/agents/<int:user_id>/shift/day", methods=["POST"])
def agent_shift_day(user_id: int) -> Response | tuple[str, int]:
    return shift.save_day(_agent_or_404(user_id), _shop(), _shift_urls(user_id))


@bp.route("/agents/<int:user_id>/shift/day/clear", methods=["POST"])
def agent_shift_day_clear(user_id: int) -> Response:
    return shift.clear_day(_agent_or_404(user_id), _shift_urls(user_id))


@bp.route("/roster")
def roster_page() -> str:
    return roster_view.roster_page(editable=True, endpoint="reports.roster_page")


@bp.route("/roster.xlsx")
def roster_page_export() -> Response:
    return roster_view.roster_export()


@bp.route("/agents/<int:user_id>/back", methods=["POST"])
def agent_back(user_id: int) -> Response:
    return away.mark_back(_agent_or_404(user_id), url_for("reports.agents"))


@bp.route("/export.<fmt>")
def export(fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    shop = _shop()
    period = _period(PeriodForm(request.args))
    rows = reports.export_rows(db.session, shop.id, period, now=utcnow())
    name = f"cases-{shop.code}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"
    if fmt == "csv":
        body, mimetype = exports.to_csv(reports.EXPORT_HEADERS, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(reports.EXPORT_HEADERS, rows, title="案件")
        mimetype = exports.XLSX_MIMETYPE
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/access-log")
def access_log() -> str:
    """Who opened which buyer's number, decrypted one, called or messaged them."""
    shop = _shop()
    form = AccessLogForm(request.args)
    form.who.choices = [*form.who.choices, *row_choices(personal_data.staff(db.session, shop.id))]
    period = _period(form)
    form.start.data, form.end.data = period.start, period.end  # the period shown, said
    found = personal_data.entries(db.session, shop.id, period, limit=500, **_shown(form))
    return render_template(
        "reports/access_log.html", shop=shop, form=form, period=period, entries=found
    )


def _shown(form: AccessLogForm) -> dict[str, str | None]:
    """The access log's filters; an unknown choice (a hand-edited link) shows everything."""
    # 员工, 系统, or one person by id (the CSV link carries it); anything else: everyone
    who = form.who.data if form.who.data in (BY_STAFF, BY_SYSTEM) else parse_id(form.who.data)
    return {"field": form.what.data if form.what.data in ACCESS_FIELDS else None, "who": who}


@bp.route("/access-log.csv")
def access_log_export() -> Response:
    shop = _shop()
    form = AccessLogForm(request.args)
    period = _period(form)
    found = personal_data.entries(db.session, shop.id, period, **_shown(form))
    body = exports.to_csv(personal_data.HEADERS, personal_data.rows(found, period))
    response = Response(body, mimetype="text/csv; charset=utf-8")
    name = f"access-log-{shop.code}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
