"""Call scripts (话术): supervisors write them, agents use them on the case page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import Script, Shop
from tracker.models.enums import LEADS, Reason, Role
from tracker.services.errors import FieldError
from tracker.services.scripts import ScriptDraft, delete_script, save_script
from tracker.web.access import (
    current_shop,
    roles_required,
    shop_if_visible,
    switcher_shops,
    visible_shop_ids,
)
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.cases.forms import ScriptForm
from tracker.web.choices import row_choices

bp = Blueprint("scripts", __name__, url_prefix="/scripts")


@bp.before_request
@roles_required(*LEADS)
def _supervisors_only() -> None:
    """Agents use scripts on the case page; writing them is the supervisors' job."""


def _visible() -> sa.Select:
    return sa.select(Script).where(
        sa.or_(Script.shop_id.is_(None), Script.shop_id.in_(visible_shop_ids()))
    )


def _script_or_404(script_id: int) -> Script:
    script = db.session.scalar(_visible().where(Script.id == script_id))
    if script is None:
        abort(404)
    return script


@bp.route("")
def index() -> str:
    scripts = db.session.scalars(_visible().order_by(Script.reason, Script.id)).all()
    return render_template("scripts/list.html", scripts=scripts, delete_form=CsrfOnlyForm())


def _shop_choices(script: Script | None) -> list[Shop]:
    """The shops a script may be written for: every shop the user sees when the bar lists
    them all, else the shop in use and the script's own (thousands of options help nobody,
    and loading them costs every page view)."""
    shops, _ = switcher_shops()
    if shops:
        return shops
    own = shop_if_visible(script.shop_id) if script and script.shop_id else None
    return list({s.id: s for s in (current_shop(), own) if s is not None}.values())


def _form(script: Script | None) -> ScriptForm:
    form = ScriptForm(obj=script)
    form.shop_id.choices = row_choices(
        [(0, "所有店铺")] + [(s.id, s.name) for s in _shop_choices(script)]
    )
    if script is not None and not form.is_submitted():
        form.reason.data = script.reason.value if script.reason else ""
        form.shop_id.data = script.shop_id or 0
    return form


@bp.route("/new", methods=["GET", "POST"], defaults={"script_id": None})
@bp.route("/<int:script_id>", methods=["GET", "POST"])
def edit(script_id: int | None) -> Response | str:
    script = _script_or_404(script_id) if script_id else None
    form = _form(script)
    if form.validate_on_submit():
        draft = ScriptDraft(
            form.title.data or "",
            form.body.data or "",
            Reason(form.reason.data) if form.reason.data else None,
            form.shop_id.data or None,
        )
        try:
            save_script(
                db.session,
                script,
                draft,
                actor_id=current_user.id,
                actor_is_admin=current_user.role is Role.ADMIN,
                now=utcnow(),
            )
        except FieldError as exc:  # the service rolled its transaction back
            getattr(form, exc.field).errors.append(exc.message)
        else:
            flash("话术已保存。", "success")
            return redirect(url_for("scripts.index"))
    return render_template("scripts/form.html", form=form, script=script)


@bp.route("/<int:script_id>/delete", methods=["POST"])
def delete(script_id: int) -> Response:
    script = _script_or_404(script_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if script.shop_id is None and current_user.role is not Role.ADMIN:
        abort(403)
    delete_script(db.session, script, actor_id=current_user.id, now=utcnow())
    flash("话术已删除。", "success")
    return redirect(url_for("scripts.index"))
