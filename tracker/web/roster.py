"""排班表 on screen: one page for leads (客服负荷 → 排班表, each cell opens that day's 调班) and,
read-only, for agents (我的账号 → 团队排班表: who is on tonight, whom to ask for a swap)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db
from tracker.services import exports, roster, shift_requests
from tracker.services.staff_rights import FURTHEST_AHEAD
from tracker.web.access import current_shop


def _first_day(today: date) -> date:
    """The day asked for (``?start=``), from today up to :data:`FURTHEST_AHEAD`."""
    try:
        first = max(today, date.fromisoformat(request.args.get("start", "")))
    except ValueError:
        first = today
    return min(first, today + FURTHEST_AHEAD)


def roster_export() -> Response:
    """排班表 as an Excel file: four weeks from the page's first day, to post to the team."""
    shop = current_shop()
    if shop is None:
        abort(404)
    now, tz = utcnow(), local_zone(current_app.config)
    first = _first_day(now.astimezone(tz).date())
    staff = roster.agents_of(db.session, shop)
    days = roster.plan(shop, staff, first, now=now, tz=tz, days=roster.EXPORTED_DAYS)
    headers, rows = roster.export_rows(staff, days)
    response = Response(
        exports.to_xlsx(headers, rows, title="排班表"), mimetype=exports.XLSX_MIMETYPE
    )
    name = f"roster-{shop.code}-{first:%Y%m%d}.xlsx"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def roster_page(*, editable: bool, endpoint: str) -> str:
    """The shop on screen's agents over two weeks from today (or a later ``?start=`` day,
    up to :data:`FURTHEST_AHEAD`); ``endpoint`` is this page's, for 前两周 / 后两周."""
    shop = current_shop()
    if shop is None:
        abort(404)
    now, tz = utcnow(), local_zone(current_app.config)
    today = now.astimezone(tz).date()
    first = _first_day(today)
    staff = roster.agents_of(db.session, shop)
    staff.sort(key=lambda user: user.id != current_user.id)  # one's own column first
    step = timedelta(days=roster.DAYS_SHOWN)
    return render_template(
        "roster.html",
        shop=shop,
        staff=staff,
        days=roster.plan(
            shop,
            staff,
            first,
            now=now,
            tz=tz,
            asked=shift_requests.asked_days(db.session, shop, first, first + step),
        ),
        today=today,
        earlier=max(today, first - step) if first > today else None,
        later=first + step if first + step <= today + FURTHEST_AHEAD else None,
        editable=editable,
        endpoint=endpoint,
        exported=f"{endpoint}_export",
    )
