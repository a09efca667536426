"""Shop administration: staff accounts and shops (admins only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db
from tracker.models import Shop, User
from tracker.models.enums import Platform, Role
from tracker.services import accounts, change_log, shops
from tracker.services.errors import FieldError
from tracker.web.access import roles_required
from tracker.web.admin.forms import (
    CsrfOnlyForm,
    PasswordResetForm,
    ShopForm,
    UserCreateForm,
    UserEditForm,
)
from tracker.web.choices import row_choices
from tracker.web.fields import attach_error

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@roles_required(Role.ADMIN)
def _admins_only() -> None:
    """Every admin route is for admins: checked once for the whole blueprint."""


def _shop_choices() -> list[SelectChoice]:
    return row_choices(
        db.session.execute(sa.select(Shop.id, Shop.name).order_by(Shop.name)).tuples()
    )


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users")
def users() -> str:
    rows = db.session.scalars(sa.select(User).order_by(User.role, User.username)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Response | str:
    form = UserCreateForm()
    form.shop_ids.choices = _shop_choices()
    if form.validate_on_submit():
        draft = accounts.UserDraft(
            username=form.username.data or "",
            display_name=form.display_name.data or "",
            role=Role(form.role.data),
            shop_ids=frozenset(form.shop_ids.data or []),
            password=form.password.data or "",
            is_active=bool(form.is_active.data),
            email=form.email.data or "",
        )
        try:
            user = accounts.create_user(db.session, draft, actor_id=current_user.id, now=utcnow())
        except FieldError as exc:  # the service rolled its transaction back
            attach_error(form, exc)
        else:
            flash(f"已创建用户 {user.username}。", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, title="新建用户")


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int) -> Response | str:
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user)
    if not form.is_submitted():
        form.phone.data = ""  # never filled in: the page shows only the masked hint
    form.phone.description = (
        f"已保存 {user.phone_hint}；留空则不变" if user.phone_hint else form.phone.description
    )
    form.shop_ids.choices = _shop_choices()
    if not form.is_submitted():
        form.shop_ids.data = sorted(user.shop_ids)
    if form.validate_on_submit():
        changes = accounts.UserChanges(
            display_name=form.display_name.data or "",
            role=Role(form.role.data),
            shop_ids=frozenset(form.shop_ids.data or []),
            is_active=bool(form.is_active.data),
            email=form.email.data or "",
        )
        try:
            released = accounts.update_user(
                db.session, user, changes, actor=current_user, now=utcnow()
            )
            if form.phone.data:
                accounts.set_agent_phone(
                    db.session, user, form.phone.data, actor=current_user, now=utcnow()
                )
        except FieldError as exc:  # the service rolled its transaction back
            attach_error(form, exc)
        else:
            flash(f"已保存用户 {user.username}。", "success")
            if released:
                flash(
                    f"{user.display_name} 的 {released} 个进行中的案件已回到未分配，"
                    "请在看板上重新分配。",
                    "warning",
                )
            return redirect(url_for("admin.users"))
    history = change_log.of_user(db.session, user.id, local_zone(current_app.config))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        history=history,
        title=f"编辑用户 {user.username}",
        password_form=PasswordResetForm(prefix="pw"),
        locked=accounts.is_locked(db.session, user, now=utcnow()),
    )


@bp.route("/users/<int:user_id>/sign-out", methods=["POST"])
def user_sign_out(user_id: int) -> Response:
    """End every session and remember-me cookie of the user (a lost phone, a leaver)."""
    user = _user_or_404(user_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    accounts.sign_out_everywhere(
        db.session, user, actor_id=current_user.id, now=utcnow(), why="admin"
    )
    flash(f"{user.username} 的所有登录（含“记住我”）已失效。", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def user_unlock(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    accounts.unlock(db.session, user, actor_id=current_user.id, now=utcnow())
    flash(f"已解除 {user.username} 的登录锁定。", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_password(user_id: int) -> Response | str:
    user = _user_or_404(user_id)
    form = PasswordResetForm(prefix="pw")
    if form.validate_on_submit():
        try:
            accounts.reset_password(
                db.session, user, form.password.data or "", actor_id=current_user.id, now=utcnow()
            )
        except FieldError as exc:  # the service rolled its transaction back
            attach_error(form, exc)
        else:
            flash(f"已重置 {user.username} 的密码。", "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    edit_form = UserEditForm(obj=user)
    edit_form.shop_ids.choices = _shop_choices()
    edit_form.shop_ids.data = sorted(user.shop_ids)
    return render_template(
        "admin/user_form.html",
        form=edit_form,
        user=user,
        history=change_log.of_user(db.session, user.id, local_zone(current_app.config)),
        title=f"编辑用户 {user.username}",
        password_form=form,
        locked=accounts.is_locked(db.session, user, now=utcnow()),
    ), 400


@bp.route("/shops")
def shops_list() -> str:
    rows = db.session.scalars(sa.select(Shop).order_by(Shop.name)).all()
    return render_template("admin/shops.html", shops=rows)


def _shop_draft(form: ShopForm) -> shops.ShopDraft:
    return shops.ShopDraft(
        code=(form.code.data or "").strip(),
        name=form.name.data or "",
        platform=Platform(form.platform.data),
        platform_seller_id=form.platform_seller_id.data,
        is_active=bool(form.is_active.data),
    )


@bp.route("/shops/new", methods=["GET", "POST"])
def shop_new() -> Response | str:
    form = ShopForm()
    if form.validate_on_submit():
        try:
            shop = shops.create_shop(
                db.session, _shop_draft(form), actor_id=current_user.id, now=utcnow()
            )
        except FieldError as exc:  # the service rolled its transaction back
            attach_error(form, exc)
        else:
            flash(f"已创建店铺 {shop.name}。", "success")
            return redirect(url_for("admin.shops_list"))
    return render_template("admin/shop_form.html", form=form, title="新建店铺")


@bp.route("/shops/<int:shop_id>", methods=["GET", "POST"])
def shop_edit(shop_id: int) -> Response | str:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        abort(404)
    form = ShopForm(obj=shop)
    if form.validate_on_submit():
        try:
            shops.update_shop(
                db.session, shop, _shop_draft(form), actor_id=current_user.id, now=utcnow()
            )
        except FieldError as exc:  # the service rolled its transaction back
            attach_error(form, exc)
        else:
            flash(f"已保存店铺 {shop.name}。", "success")
            return redirect(url_for("admin.shops_list"))
    return render_template(
        "admin/shop_form.html",
        form=form,
        shop=shop,
        title=f"编辑店铺 {shop.name}",
        history=change_log.of_shop(db.session, shop.id, local_zone(current_app.config)),
    )
