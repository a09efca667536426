from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db, limiter
from tracker.services import accounts, availability, shifts
from tracker.services.accounts import LoginFailure, authenticate
from tracker.services.errors import FieldError
from tracker.web import away, roster
from tracker.web.auth.forms import ContactForm, LoginForm, PasswordChangeForm
from tracker.web.fields import attach_error
from tracker.web.inputs import safe_next

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return str(current_app.config["TRACKER_LOGIN_RATE_LIMIT"])


def _address_limit() -> str:
    return str(current_app.config["TRACKER_LOGIN_ADDRESS_RATE_LIMIT"])


def _address_and_name() -> str:
    """Tries per client address *and* user name: colleagues behind one office NAT each
    have their own allowance, while one name guessed from one address is slowed down."""
    name = (request.form.get("username") or "").strip().lower()[:64]
    return f"{get_remote_address()}|{name}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_and_name)
@limiter.limit(_address_limit, methods=["POST"])  # a ceiling per address: many names sprayed
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(
            db.session,
            form.username.data or "",
            form.password.data or "",
            address=request.remote_addr or "",
            now=utcnow(),
        )
        if isinstance(result, LoginFailure):
            form.password.errors.append(result.value)
        else:
            login_user(result, remember=bool(form.remember.data))
            flash(f"欢迎回来，{result.display_name}。", "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        # every copy of this user's session and remember cookie ends here, not just ours
        accounts.sign_out_everywhere(
            db.session, current_user, actor_id=current_user.id, now=utcnow(), why="logout"
        )
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account")
def account() -> str:
    """我的账号: one's own password, e-mail and calling phone."""
    return _account_page(PasswordChangeForm(), _contact_form())


def _contact_form() -> ContactForm:
    form = ContactForm(email=current_user.email or "")
    form.phone.description = (
        f"已登记 {current_user.phone_hint}；留空则不变。{form.phone.description}"
        if current_user.phone_hint
        else form.phone.description
    )
    return form


def _account_page(
    password_form: PasswordChangeForm, contact_form: ContactForm, status: int = 200
) -> tuple[str, int]:
    now, tz = utcnow(), local_zone(current_app.config)
    today = now.astimezone(tz).date()
    return render_template(
        "auth/account.html",
        form=password_form,
        contact_form=contact_form,
        leave=availability.leave(current_user, now, tz),
        shift=shifts.describe(current_user.shift, today),
        shift_days=shifts.upcoming_days(current_user, today),
        back_form=away.BackForm(),
    ), status


@bp.route("/account/roster")
def account_roster() -> str:
    """团队排班表, read-only: an agent sees who works when (a supervisor plans it)."""
    return roster.roster_page(editable=False, endpoint="auth.account_roster")


@bp.route("/account/roster.xlsx")
def account_roster_export() -> Response:
    """团队排班表 as an Excel file, as the supervisor's page exports it."""
    return roster.roster_export()


@bp.route("/account/password", methods=["POST"])
@limiter.limit(_login_limit, key_func=_address_and_name)
def change_password() -> Response | tuple[str, int]:
    """修改密码: one's own, given the current one; other devices are signed out."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(
                db.session,
                current_user,
                form.current.data or "",
                form.password.data or "",
                address=request.remote_addr or "",
                now=utcnow(),
            )
        except FieldError as exc:
            attach_error(form, exc)
        else:
            login_user(current_user._get_current_object())  # this session, new generation
            flash("密码已修改，其他设备上的登录已退出。", "success")
            return redirect(url_for("home.index"))
    return _account_page(form, _contact_form(), 400)


@bp.route("/account/away", methods=["GET", "POST"])
def account_away() -> Response | tuple[str, int]:
    """不在岗: one's own leave, set by oneself (a supervisor may set it from 客服负荷)."""
    return away.away_page(
        current_user._get_current_object(), url_for("auth.account"), url_for("auth.account_back")
    )


@bp.route("/account/back", methods=["POST"])
def account_back() -> Response:
    return away.mark_back(
        current_user._get_current_object(), request.referrer or url_for("home.index")
    )


@bp.route("/account/contact", methods=["POST"])
def change_contact() -> Response | tuple[str, int]:
    """One's own e-mail and calling phone."""
    form = ContactForm()
    if form.validate_on_submit():
        phone = "" if form.remove_phone.data else (form.phone.data or "").strip() or None
        try:
            accounts.update_own_contact(
                db.session, current_user, email=form.email.data or "", phone=phone, now=utcnow()
            )
        except FieldError as exc:
            attach_error(form, exc)
        else:
            flash("联系方式已保存。", "success")
            return redirect(url_for("auth.account"))
    return _account_page(PasswordChangeForm(), form, 400)
