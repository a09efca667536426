"""The bell: a user's notifications, and marking them read."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.services import alerts
from tracker.services.shift_requests import NEWS as REQUEST_NEWS
from tracker.services.shifts import SHIFT_NEWS
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.inputs import parse_id

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
# news not about a case, and the page that opening it goes to: one's hours on 我的账号, a
# 调班申请 to act on (or its answer) on its page
OPENS = {SHIFT_NEWS: "auth.account", REQUEST_NEWS: "shift_requests.page"}


def unread() -> int:
    """For the navigation bar: one small count query per page."""
    return alerts.unread_count(db.session, current_user.id)


@bp.route("/count")
def count() -> tuple[Response, int]:
    """The bell's count, asked every minute by pages without the board's news (a case page
    an agent works for half an hour must still show a case just given to them)."""
    response = jsonify(unread=unread())
    response.headers["Cache-Control"] = "no-store"
    return response, 200


@bp.route("/")
def inbox() -> str:
    items = alerts.inbox(db.session, current_user.id)
    return render_template(
        "notifications/inbox.html", items=items, form=CsrfOnlyForm(), opens=OPENS
    )


@bp.route("/<int:notification_id>/open", methods=["POST"])
def open_one(notification_id: int) -> Response:
    """Opening a notice reads it and goes to its case, for news of one's 班次 to 我的账号, for
    a 调班申请 to that page (a POST: reading changes state)."""
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    found = alerts.open_notification(db.session, current_user.id, notification_id, now=utcnow())
    if found is not None and found.case_id is not None:  # someone else's: nothing to open
        return redirect(url_for("cases.case_view", case_id=found.case_id))
    if found is not None and found.kind in OPENS:
        return redirect(url_for(OPENS[found.kind]))
    return redirect(url_for("notifications.inbox"))


@bp.route("/read", methods=["POST"])
def mark_read() -> Response:
    if CsrfOnlyForm().validate_on_submit():
        raw = request.form.get("id")  # none: all of them
        notification_id = parse_id(raw) if raw else None
        if raw and notification_id is None:
            abort(404)  # an odd id marks nothing, rather than everything
        alerts.mark_read(db.session, current_user.id, now=utcnow(), notification_id=notification_id)
    return redirect(url_for("notifications.inbox"))
