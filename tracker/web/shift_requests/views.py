"""调班申请 (``/account/shift-requests``): an agent asks for a day off, other hours or a swap;
the colleague of a swap answers; a supervisor sees what approving would leave uncovered
and decides. One page for all three, each seeing what waits for them."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain.working_hours import PolicyError, parse_periods
from tracker.extensions import db
from tracker.models import Shop, User
from tracker.services import roster, shift_requests
from tracker.services.errors import FieldError, NotFound
from tracker.web.access import current_shop
from tracker.web.fields import attach_error
from tracker.web.shift_requests.forms import AnswerForm, AskForm, DecideForm, WithdrawForm

bp = Blueprint("shift_requests", __name__, url_prefix="/account/shift-requests")


@bp.app_template_global("shift_requests_waiting")
def waiting() -> int:
    """How many requests wait for the person (a swap to answer; a lead's, to decide), for
    the badge beside 调班申请 on any page."""
    shop = current_shop() if current_user.is_authenticated else None
    if shop is None:
        return 0
    today = utcnow().astimezone(local_zone(current_app.config)).date()
    return shift_requests.waiting_count(db.session, current_user, shop, today=today)


def _shop() -> Shop:
    shop = current_shop()
    if shop is None:
        abort(404)
    return shop


def _colleagues(shop: Shop) -> list[User]:
    return [u for u in roster.agents_of(db.session, shop) if u.id != current_user.id]


def _ask_form(colleagues: list[User], **kwargs: object) -> AskForm:
    form = AskForm(**kwargs)  # type: ignore[arg-type]
    form.swap_with.choices = [(0, "请选择…")] + [(u.id, u.display_name) for u in colleagues]
    return form


@bp.route("/", methods=["GET", "POST"])
def page() -> Response | tuple[str, int]:
    """GET: the ask form and what waits for this person; POST: a new request."""
    shop = _shop()
    colleagues = _colleagues(shop)
    form = _ask_form(colleagues)
    if form.is_submitted() and form.validate():
        try:
            request = shift_requests.ask(
                db.session,
                current_user._get_current_object(),
                shop,
                form.day.data,  # type: ignore[arg-type]
                periods=_periods(form),
                swap_with=_swap_with(form, colleagues),
                swap_day=form.swap_day.data if form.kind.data == "swap" else None,
                note=form.note.data or "",
                now=utcnow(),
                tz=local_zone(current_app.config),
            )
        except FieldError as exc:
            attach_error(form, exc)
        else:
            whom = "同事" if request.swap_with else "主管"
            when = "、".join(f"{day:%m-%d}" for day in request.days)
            flash(f"调班申请已提交（{when}），等{whom}答复。", "success")
            return redirect(url_for("shift_requests.page"))
    elif not form.is_submitted():
        form = _ask_form(colleagues, formdata=None)
    return _render(shop, form)


def _periods(form: AskForm) -> list[list[str]] | None:
    """What the form asks for that day ([] a day off; None for a swap); FieldError when
    the periods do not read."""
    if form.kind.data == "swap":
        return None
    if form.kind.data == "off":
        return []
    text = (form.periods.data or "").strip()
    if not text:
        raise FieldError("periods", "请填写当天想上班的时段，或选“休息”。")
    try:
        return parse_periods(text)
    except PolicyError as exc:
        raise FieldError("periods", str(exc)) from exc


def _swap_with(form: AskForm, colleagues: list[User]) -> User | None:
    if form.kind.data != "swap":
        return None
    chosen = next((u for u in colleagues if u.id == form.swap_with.data), None)
    if chosen is None:
        raise FieldError("swap_with", "请选一位同事换班。")
    return chosen


def _render(shop: Shop, form: AskForm) -> tuple[str, int]:
    now, tz = utcnow(), local_zone(current_app.config)
    return render_template(
        "shift_requests/page.html",
        shop=shop,
        form=form,
        seen=shift_requests.requests_for(
            db.session, current_user._get_current_object(), shop, now=now, tz=tz
        ),
        asked_for=shift_requests.asked_for,
        swapped_back=shift_requests.swapped_back,
        open_states=shift_requests.OPEN,
        answer_form=AnswerForm(formdata=None),
        decide_form=DecideForm(formdata=None),
        withdraw_form=WithdrawForm(formdata=None),
        today=now.astimezone(tz).date(),
    ), 400 if form.errors else 200


@bp.route("/<int:request_id>/answer", methods=["POST"])
def answer(request_id: int) -> Response:
    """The colleague of a swap agrees or refuses."""
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    agree = True if form.agree.data else False if form.refuse.data else None
    _act(
        lambda: shift_requests.answer(
            db.session,
            request_id,
            current_user._get_current_object(),
            agree=agree,
            now=utcnow(),
            tz=local_zone(current_app.config),
        ),
        "已同意换班，等主管批准。" if agree else "已回复不同意换班。",
    )
    return redirect(url_for("shift_requests.page"))


@bp.route("/<int:request_id>/decide", methods=["POST"])
def decide(request_id: int) -> Response:
    """A supervisor approves (the days are set) or declines."""
    form = DecideForm()
    if not form.validate_on_submit():
        flash("回复最多 200 个字。", "danger")
        return redirect(url_for("shift_requests.page"))
    approve = True if form.approve.data else False if form.decline.data else None
    _act(
        lambda: shift_requests.decide(
            db.session,
            request_id,
            current_user._get_current_object(),
            approve=approve,
            answer=form.answer.data or "",
            now=utcnow(),
            tz=local_zone(current_app.config),
        ),
        "已批准，排班表已按申请调班。" if approve else "已回复不批准。",
    )
    return redirect(url_for("shift_requests.page"))


@bp.route("/<int:request_id>/withdraw", methods=["POST"])
def withdraw(request_id: int) -> Response:
    if not WithdrawForm().validate_on_submit():
        abort(400)
    _act(
        lambda: shift_requests.withdraw(
            db.session, request_id, current_user._get_current_object(), now=utcnow()
        ),
        "申请已撤回。",
    )
    return redirect(url_for("shift_requests.page"))


def _act(work: Callable[[], object], done: str) -> None:
    """Run one step on a request: its answer flashed, a refusal flashed in its words, a
    request that is not the person's to act on a 404."""
    try:
        work()
    except NotFound:
        abort(404)
    except FieldError as exc:
        flash(exc.message, "danger")
    else:
        flash(done, "success")
