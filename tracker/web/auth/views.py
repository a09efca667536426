from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db, limiter
from tracker.services.accounts import LoginFailure, authenticate
from tracker.web.auth.forms import LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("home.index")


def _login_limit() -> str:
    return str(current_app.config["TRACKER_LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(
            db.session, form.username.data or "", form.password.data or "", now=utcnow()
        )
        if isinstance(result, LoginFailure):
            form.password.errors.append(result.value)
        else:
            login_user(result, remember=bool(form.remember.data))
            flash(f"欢迎回来，{result.display_name}。", "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))
