"""Reaching the buyer from the case page: open a number, ask the platform for one, call
through a privacy number, send an approved SMS. Each is one service call."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker import runtime
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import Case
from tracker.providers.contract import ProviderError
from tracker.runtime import settings as shop_settings
from tracker.services import calls, contact_handles, messaging
from tracker.services import cases as svc
from tracker.services.errors import FieldError
from tracker.sources.contract import ExtendsContacts, SourceError
from tracker.web.access import shop_or_404
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.cases.forms import CallForm, MessageForm
from tracker.web.cases.views import (
    _case_page_or_404,
    _render,
    bp,
    conflict_message,
    follow_up_kept_note,
    follow_up_note,
)


def _override(reason: str | None) -> str:
    """Only supervisors may go past the contact policy; an agent's text is ignored."""
    return (reason or "").strip() if current_user.leads else ""


def _flash_on_failure(case_id: int, action: Callable[[], str]) -> Response:
    """Run the action; its success message or what went wrong, then back to the case."""
    try:
        message = action()
    except FieldError as exc:
        flash(exc.message, "danger")
    except (ProviderError, SourceError) as exc:
        flash(f"{exc.message}（{exc.code}）", "danger")
    except svc.CaseConflict as exc:
        flash(conflict_message(exc), "danger")
    else:
        flash(message, "success")
    return redirect(url_for("cases.case_view", case_id=case_id))


@bp.route("/<int:case_id>/numbers/<int:handle_id>", methods=["POST"])
def reveal_number(case_id: int, handle_id: int) -> Response | tuple[str, int]:
    """The full number in this answer only, audited."""
    case = _case_page_or_404(case_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        number = contact_handles.reveal(db.session, case, handle_id, current_user, now=utcnow())
    except PermissionError:
        abort(403)
    except FieldError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("cases.case_view", case_id=case_id))
    return _render(case, revealed=(handle_id, number))


@bp.route("/<int:case_id>/decrypt", methods=["POST"])
def decrypt_number(case_id: int) -> Response | tuple[str, int]:
    """Ask the shop's platform for a number to call now (the after-sales scene)."""
    case = _case_page_or_404(case_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    shop = shop_or_404(case.shop_id)
    try:
        platform = runtime.decrypting_source(current_app, db.session, shop)
        revealed = contact_handles.decrypt(
            db.session, case, current_user, platform=platform, now=utcnow()
        )
    except PermissionError:
        abort(403)
    except (FieldError, SourceError) as exc:
        flash(exc.message, "danger")
        return redirect(url_for("cases.case_view", case_id=case_id))
    return _render(case, revealed=revealed)


@bp.route("/<int:case_id>/numbers/<int:handle_id>/extend", methods=["POST"])
def extend_number(case_id: int, handle_id: int) -> Response:
    """Ask the shop's platform to keep a virtual number about to lapse."""
    case = _case_page_or_404(case_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    shop = shop_or_404(case.shop_id)

    def extend() -> str:
        platform = runtime.decrypting_source(current_app, db.session, shop)
        if not isinstance(platform, ExtendsContacts):
            raise FieldError("extend", "本店的平台接口不支持虚拟号延期，请重新获取号码。")
        until = contact_handles.extend(
            db.session, case, handle_id, current_user, platform=platform, now=utcnow()
        )
        local = until.astimezone(shop_settings(current_app, shop).working_hours.tz)
        return f"平台已把这个号码的有效期延长到 {local:%m-%d %H:%M}。"

    try:
        return _flash_on_failure(case_id, extend)
    except PermissionError:
        abort(403)


@bp.route("/<int:case_id>/call", methods=["POST"])
def privacy_call(case_id: int) -> Response:
    case: Case = _case_page_or_404(case_id)
    form = CallForm(prefix="call")
    if not form.validate_on_submit():
        abort(400)
    shop = shop_or_404(case.shop_id)

    def place() -> str:
        handle = calls.place_call(
            db.session,
            case,
            actor=current_user,
            now=utcnow(),
            hours=shop_settings(current_app, shop).working_hours,
            calls=runtime.provider(current_app, db.session, shop, messaging.AXB, interactive=True),
            override_reason=_override(form.override_reason.data),
        )
        minutes = calls.CALL_WINDOW.seconds // 60
        return f"请在 {minutes} 分钟内用本人手机拨打 {handle.hint}，接通后即为买家。" + (
            follow_up_note(case, "没接通的话，")
        )

    return _flash_on_failure(case_id, place)


@bp.route("/<int:case_id>/message", methods=["POST"])
def send_message(case_id: int) -> Response:
    case = _case_page_or_404(case_id)
    form = MessageForm(prefix="message")
    if not form.validate_on_submit() or not form.template.data:
        flash("请选择短信模板。", "danger")
        return redirect(url_for("cases.case_view", case_id=case_id))
    shop = shop_or_404(case.shop_id)

    planned = case.next_follow_up_at

    def queue() -> str:
        messaging.queue(
            db.session,
            case,
            form.template.data,
            actor=current_user,
            now=utcnow(),
            hours=shop_settings(current_app, shop).working_hours,
            override_reason=_override(form.override_reason.data),
        )
        sent = "短信已进入发送队列，一分钟内发出；送达情况会记在联系记录里。"
        if planned is not None and case.next_follow_up_at == planned:  # a notice they awaited
            return sent + follow_up_kept_note(case)
        return sent + follow_up_note(case, "买家没回复的话，")

    return _flash_on_failure(case_id, queue)
