"""The bell: a user's notifications, and marking them read."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.services import alerts
from tracker.web.admin.forms import CsrfOnlyForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def unread() -> int:
    """For the navigation bar: one small count query per page."""
    return alerts.unread_count(db.session, current_user.id)


@bp.route("/")
def inbox() -> str:
    items = alerts.inbox(db.session, current_user.id)
    return render_template("notifications/inbox.html", items=items, form=CsrfOnlyForm())


@bp.route("/read", methods=["POST"])
def mark_read() -> Response:
    if CsrfOnlyForm().validate_on_submit():
        raw = request.form.get("id")
        alerts.mark_read(
            db.session,
            current_user.id,
            now=utcnow(),
            notification_id=int(raw) if raw and raw.isdigit() else None,
        )
    return redirect(url_for("notifications.inbox"))
