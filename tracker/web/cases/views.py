"""The case board and the case page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Field, HiddenField, SelectChoice

from tracker import runtime
from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain import case_flow, compliance
from tracker.domain.phone_numbers import PhoneNumber
from tracker.domain.segments import LEVEL_NAMES
from tracker.domain.triage import ScoreBands
from tracker.domain.wording import listing_name
from tracker.extensions import db
from tracker.models import Case, Product, Remedy, Review, Shop, User
from tracker.models.enums import (
    AppealReason,
    AttemptOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    Rating,
    Reason,
    RemedyKind,
    Role,
)
from tracker.runtime import bands_of_model
from tracker.runtime import settings as shop_settings
from tracker.services import (
    appeals,
    board,
    browse,
    buyer_flags,
    case_page,
    confirmations,
    follow_ups,
    messaging,
    rereads,
    shifts,
)
from tracker.services import cases as svc
from tracker.services.errors import FieldError
from tracker.sources import registry
from tracker.sources.contract import Capability, PostsReplies, SourceError
from tracker.web.access import current_shop, shop_or_404, visible_shop_ids
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.cases import shown
from tracker.web.cases.forms import (
    AppealDecisionForm,
    AppealForm,
    AssignForm,
    AttemptForm,
    BoardFilterForm,
    BuyerFlagForm,
    CallForm,
    ConfirmForm,
    ExplanationForm,
    FollowUpForm,
    LiftStopForm,
    LooksFineForm,
    MessageForm,
    PostExplanationForm,
    PreferencesForm,
    ReasonsForm,
    RemedyForm,
    StatusForm,
)
from tracker.web.choices import row_choices
from tracker.web.fields import attach_error
from tracker.web.inputs import came_from_or, parse_id, requested_page, searched_page

bp = Blueprint("cases", __name__, url_prefix="/cases")


def _tz() -> ZoneInfo:
    return local_zone(current_app.config)


def _local_input(moment: datetime | None) -> datetime | None:
    return moment.astimezone(_tz()).replace(tzinfo=None) if moment else None


def conflict_message(exc: Exception) -> str:
    """A conflict as the agent reads it: a stale edit names who changed it and when, in
    the shop's time."""
    if isinstance(exc, svc.StaleCase):
        return exc.describe(_tz())
    return getattr(exc, "message", None) or str(exc)


def _aware(moment: datetime | None) -> datetime | None:
    """Form datetimes are the shop's local time."""
    return moment.replace(tzinfo=_tz()) if moment is not None else None


def _version(form: FlaskForm) -> int | None:
    raw = getattr(form, "version", None)
    # decimal digits only: "²" passes isdigit() but not int()
    return int(raw.data) if raw is not None and str(raw.data or "").isdecimal() else None


def _case_or_404(case_id: int) -> Case:
    """The case row alone, for an action: what the page shows is loaded only to show it."""
    return _visible(db.session.get(Case, case_id))


def _case_page_or_404(case_id: int) -> Case:
    """The case with everything its page shows, in four queries."""
    return _visible(case_page.load_case(db.session, case_id))


def _visible(case: Case | None) -> Case:
    """404 for a case that does not exist or belongs to a shop the user may not see."""
    if case is None:
        abort(404)
    shop_or_404(case.shop_id)
    return case


def _owners(shop_ids: tuple[int, ...] | sa.Select[tuple[int]]) -> list[User]:
    return [
        u
        for u in board.assignable_agents(db.session, shop_ids)
        if u.role in (Role.AGENT, Role.SUPERVISOR)
    ]


def _owner_choices(
    shop_ids: tuple[int, ...] | sa.Select[tuple[int]],
    first: str,
    follow_up: tuple[Shop, datetime] | None = None,
) -> list[SelectChoice]:
    """Who a case can be given to; someone away is listed, marked, and refused by the
    service with the reason (a silent gap in the list would look like a bug); someone whose
    leave is booked is marked with its first day (a case given today may outlast the week);
    given the case's shop and coming 下次跟进, someone off then is marked (跟进时休息): a
    case handed on for its follow-up goes to whoever will be on."""
    now, tz = utcnow(), _tz()

    def name(user: User) -> str:
        if user.is_away(now):
            return f"{user.display_name}（不在岗）"
        if user.is_booked_away(now):
            return f"{user.display_name}（{user.away_from.astimezone(tz):%m-%d} 起不在岗）"  # type: ignore[union-attr]
        off = shifts.unable(user, follow_up[0], follow_up[1], tz) if follow_up else None
        if off is not None:
            return f"{user.display_name}（跟进时{off.why}）"
        return user.display_name

    return row_choices([(0, first)] + [(u.id, name(u)) for u in _owners(shop_ids)])


# -- board ---------------------------------------------------------------------------------
def _filter(form: BoardFilterForm, shop_ids: tuple[int, ...]) -> board.BoardFilter:
    def enum(cls: type, raw: str | None):  # type: ignore[no-untyped-def]
        return cls(raw) if raw in {m.value for m in cls} else None

    data = form.data if form.validate() else {}
    return board.BoardFilter(
        shop_ids=shop_ids,
        scope=data.get("scope") or "default",
        status=enum(CaseStatus, data.get("status")),
        include_closed=data.get("status") == "all",
        priority=int(data["priority"]) if data.get("priority") else None,
        overdue=bool(data.get("overdue")),
        due_today=bool(data.get("due_today")),
        number_expiring=bool(data.get("number_expiring")),
        unseen_on_platform=bool(data.get("unseen_on_platform")),
        survey_unsolved=bool(data.get("survey_unsolved")),
        survey_unheeded=bool(data.get("survey_unheeded")),
        follow_up_missed=bool(data.get("follow_up_missed")),
        reason=enum(Reason, data.get("reason")),
        product_id=data.get("product_id"),
        owner_id=data.get("owner_id"),
        rating=enum(Rating, data.get("rating")),
        opened_from=data.get("opened_from"),
        opened_to=data.get("opened_to"),
        q=(data.get("q") or "").strip(),
        sort=data.get("sort") or "deadline",
    )


def _board_form() -> BoardFilterForm:
    """The board's filters from the query string: an agent starts from their own cases and
    the unclaimed, a supervisor from the team's (the board and its news read the same)."""
    return BoardFilterForm(request.args, scope="all" if current_user.leads else "default")


@bp.route("")
def board_page() -> str:
    shop = current_shop()
    if shop is None:
        abort(404)
    shop_ids = (shop.id,)
    form = _board_form()
    criteria = _filter(form, shop_ids)
    now, tz = utcnow(), _tz()
    view = request.args.get("view", "columns")
    context = {
        "form": form,
        "shop": shop,
        "view": view,
        "now": now,
        "follow_ups": board.follow_ups_today(
            db.session, shop_ids, user_id=current_user.id, now=now, tz=tz
        ),
        "products": db.session.execute(
            sa.select(Product.id, Product.title)
            .where(
                Product.id.in_(
                    sa.select(Case.product_id).where(
                        Case.shop_id == shop.id, Case.status.in_(case_flow.OPEN)
                    )
                )
            )
            .order_by(Product.title)
        ).all(),
        "is_supervisor": current_user.leads,
        "owners": _owners(shop_ids),
    }
    context["waiting"] = confirmations.count_waiting(db.session, shop.id, now=now)
    context["news_url"] = url_for(
        "cases.news", **{**request.args.to_dict(), "after": board.watermark(db.session)}
    )
    context["news_every"] = board.NEWS_EVERY_SECONDS
    if view == "list":
        found = board.listing(db.session, criteria, user_id=current_user.id, now=now, tz=tz)
        page = searched_page(found)
        context["page"] = page
        context["broad"] = found.broad
        context["search_limit"] = browse.SEARCH_LIMIT
        context["rows"] = board.cards(db.session, page.items, now=now, tz=tz)
        assign = AssignForm()
        assign.owner_id.choices = _owner_choices(shop_ids, "选择负责人…")
        context["assign_form"] = assign
    else:
        context["kanban"] = board.kanban(
            db.session, criteria, user_id=current_user.id, now=now, tz=tz
        )
        context["closed"] = case_flow.CLOSED
        window = board.closed_window(criteria)
        context["closed_days"] = window.days if window is not None else None
    return render_template("cases/board.html", **context)


@bp.route("/news")
def news() -> tuple[Response, int]:
    """How many cases matching this board were opened since it was drawn (``after``: the
    watermark it was drawn with), 待确认 and unread notifications: the board asks every
    minute and, when there are new cases, offers to refresh (never refreshes by itself,
    which would throw away what an agent was typing in a filter)."""
    shop = current_shop()
    if shop is None:
        abort(404)
    raw = request.args.get("after", "0")  # none: every matching case counts as new
    after = 0 if raw == "0" else parse_id(raw)
    if after is None:
        return jsonify(error="after", message="after：需要看板绘制时的案件编号（整数）"), 400
    form = _board_form()
    found = board.news(
        db.session,
        _filter(form, (shop.id,)),
        after_id=after,
        user_id=current_user.id,
        now=utcnow(),
        tz=_tz(),
    )
    response = jsonify(new_cases=found.new_cases, waiting=found.waiting, unread=found.unread)
    response.headers["Cache-Control"] = "no-store"
    return response, 200


@bp.route("/assign", methods=["POST"])
def bulk_assign() -> Response:
    if not current_user.leads:
        abort(403)
    shops = visible_shop_ids()
    form = AssignForm()
    form.owner_id.choices = _owner_choices(shops, "")
    if not form.validate_on_submit():
        abort(400)
    cases = list(
        db.session.scalars(
            sa.select(Case).where(Case.id.in_(form.case_ids.data or []), Case.shop_id.in_(shops))
        )
    )
    if not cases:
        flash("请先勾选要分配的案件。", "warning")
        return redirect(request.referrer or url_for("cases.board_page"))
    owner = db.session.get(User, form.owner_id.data) if form.owner_id.data else None
    if owner is None and not form.unassign.data:  # unassigning is its own button
        flash("请选择负责人；要取消分配请点“取消分配”。", "warning")
        return redirect(request.referrer or url_for("cases.board_page", view="list"))
    try:
        changed = svc.assign(db.session, cases, owner, actor=current_user, now=utcnow())
    except (FieldError, svc.CaseConflict) as exc:  # the service rolled back
        flash(conflict_message(exc), "danger")
    else:
        done = f"分配给 {owner.display_name}" if owner else "取消分配"
        flash(f"已{done} {changed} 个案件。", "success")
    return redirect(request.referrer or url_for("cases.board_page", view="list"))


# -- 待确认 ------------------------------------------------------------------------------------
@bp.route("/confirm")
def confirm_queue() -> str:
    shop = current_shop()
    if shop is None:
        abort(404)
    now = utcnow()
    page_size = current_app.config["TRACKER_PAGE_SIZE"]
    return render_template(
        "cases/confirm.html",
        shop=shop,
        now=now,
        rules=svc.rules_of(db.session, shop.id).for_rating(Rating.GOOD),  # all 好评 here
        reviews=confirmations.waiting(db.session, shop.id, now=now, limit=page_size),
        total=confirmations.count_waiting(db.session, shop.id, now=now),
    )


@bp.route("/confirm/second-look")
def second_look() -> str:
    """中性好评 · 可能漏判, lowest-scored first, a page at a time."""
    shop = current_shop()
    if shop is None:
        abort(404)
    now = utcnow()
    found = confirmations.second_look(db.session, shop.id, now=now, bands_of=_bands_of(shop.id))
    page = requested_page(found.page)
    return render_template(
        "cases/confirm.html",
        shop=shop,
        now=now,
        rules=svc.rules_of(db.session, shop.id).for_rating(Rating.GOOD),  # all 好评 here
        reviews=confirmations.second_look_items(db.session, shop.id, found, page.items),
        page=page,
        total=page.total,
        second_look=found,
        open_form=CsrfOnlyForm(),
    )


def _bands_of(shop_id: int) -> Callable[[str], ScoreBands]:
    """Each model version's bands as the shop reads its scores, read once a request."""

    @functools.cache
    def bands_of(version: str) -> ScoreBands:
        return bands_of_model(current_app, db.session, shop_id, version)

    return bands_of


def _judged_review(review_id: int, form: FlaskForm) -> Shop:
    """The shop of a review a 待确认 or second-look button was pressed on: 404 for an
    unknown review or another shop's (as for its cases), 400 for a form without its token."""
    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    shop = shop_or_404(review.shop_id)
    if not form.validate_on_submit():
        abort(400)
    return shop


@bp.route("/confirm/second-look/<int:review_id>/fine", methods=["POST"])
def second_look_fine(review_id: int) -> Response:
    """没问题 on the second look, for the review or every review listed with its words."""
    form = LooksFineForm()
    shop = _judged_review(review_id, form)
    try:
        fine = confirmations.looks_fine(
            db.session, shop.id, review_id, actor=current_user, now=utcnow(),
            bands_of=_bands_of(shop.id), alike=form.alike.data,
        )  # fmt: skip
    except confirmations.AlreadyDecided as exc:
        flash(exc.message, "warning")
    else:
        which = f"将 {fine} 条评价" if fine > 1 else ""
        flash(f"已{which}标为没问题，不再列出；模型下次训练会学到。", "success")
    return redirect(came_from_or(url_for("cases.second_look")))


@bp.route("/confirm/<int:review_id>", methods=["POST"])
def confirm_decide(review_id: int) -> Response:
    form = ConfirmForm()
    shop = _judged_review(review_id, form)
    now = utcnow()
    try:
        if form.decision.data == "case":
            cases = confirmations.confirm(
                db.session,
                shop.id,
                review_id,
                actor=current_user,
                now=now,
                settings=shop_settings(current_app, shop),
                alike=form.alike.data,
            )
            opened = "、".join(f"#{case.id}" for case in cases)
            flash(f"已确认为差评，案件 {opened} 已开，首次联系时限从现在起算。", "success")
        else:
            dismissed = confirmations.dismiss(
                db.session, shop.id, review_id, actor=current_user, now=now, alike=form.alike.data
            )
            which = f"将 {dismissed} 条评价" if dismissed > 1 else ""
            flash(f"已{which}标为误报，不开案件；模型下次训练会学到。", "success")
    except confirmations.AlreadyDecided as exc:
        flash(exc.message, "warning")
    return redirect(url_for("cases.confirm_queue"))


# -- the case page ---------------------------------------------------------------------------
def _forms(case: Case, *, assigns: bool) -> dict[str, FlaskForm]:
    """The page's forms; ``assigns``: with the owner picker, which only supervisors see
    (its list of staff is a query agents' pages need not make)."""
    version = str(case.version)
    shown_now = _local_input(utcnow())
    attempt = AttemptForm(
        prefix="attempt",
        formdata=None,
        data={
            "version": version,
            "attempted_at": shown_now,
            "attempted_at_shown": f"{shown_now:%Y-%m-%dT%H:%M}",  # as 联系时间 shows it
        },
    )
    follow_up = FollowUpForm(
        prefix="follow",
        formdata=None,
        data={"version": version, "at": _local_input(case.next_follow_up_at)},
    )
    status = StatusForm(prefix="status", formdata=None, data={"version": version})
    status.status.data = ""  # nothing preselected: closing a case is a choice, never a default
    status.outcome.choices = [
        c for c in status.outcome.choices if not c.value or _offered(CaseOutcome(c.value), case)
    ]
    reasons = ReasonsForm(
        prefix="reasons",
        formdata=None,
        data={"version": version, "reasons": [r.reason.value for r in case.reasons]},
    )
    remedy = RemedyForm(prefix="remedy", formdata=None, data={"version": version})
    explanation = ExplanationForm(
        prefix="explanation",
        formdata=None,
        data={"version": version, "explanation": case.explanation_draft or ""},
    )
    post = PostExplanationForm(prefix="post", formdata=None, data={"version": version})
    preferences = PreferencesForm(
        prefix="prefs",
        formdata=None,
        data={"preferences": case.buyer.preferences if case.buyer else ""},
    )
    forms: dict[str, FlaskForm] = {
        "attempt_form": attempt,
        "status_form": status,
        "follow_up_form": follow_up,
        "reasons_form": reasons,
        "remedy_form": remedy,
        "explanation_form": explanation,
        "post_form": post,
        "preferences_form": preferences,
        "claim_form": CsrfOnlyForm(),
        "appeal_form": AppealForm(prefix="appeal", formdata=None, data={"version": version}),
        "decision_form": AppealDecisionForm(
            prefix="decision", formdata=None, data={"version": version}
        ),
        "lift_form": LiftStopForm(prefix="lift", formdata=None),
        "message_form": MessageForm(prefix="message", formdata=None),
        "call_form": CallForm(prefix="call", formdata=None),
        "flag_form": BuyerFlagForm(
            prefix="flag",
            formdata=None,
            data={"reason": case.buyer.flag_reason if case.buyer else ""},
        ),
    }
    if assigns:
        assign = AssignForm(prefix="assign", formdata=None, data={"owner_id": case.owner_id or 0})
        coming = follow_ups.still_to_come(case, utcnow())
        shop = db.session.get(Shop, case.shop_id)
        assign.owner_id.choices = _owner_choices(
            (case.shop_id,), "（未分配）", (shop, coming) if shop and coming else None
        )
        forms["assign_form"] = assign
    return forms


def _offered(outcome: CaseOutcome, case: Case) -> bool:
    """Outcomes a person may pick on this case: never one the platform confirms (intake sets
    those), 误报 only on a hidden negative, a supervisor's 认定挽回 only to supervisors."""
    if outcome in case_flow.SYSTEM_OUTCOMES:
        return False
    if outcome is CaseOutcome.FALSE_ALARM:
        return case.is_hidden_negative
    if outcome is CaseOutcome.MANUAL_RECOVERED:
        return current_user.leads
    return True


def _render(
    case: Case,
    status_code: int = 200,
    *,
    revealed: tuple[int, PhoneNumber] | None = None,
    **bound: FlaskForm,
) -> tuple[str, int]:
    """The case page; ``revealed``: a number opened for this answer only (never kept in
    the page's later views), by its handle id."""
    now = utcnow()
    shop = shop_or_404(case.shop_id)
    detail = case_page.detail(
        db.session,
        case,
        viewer=current_user,
        now=now,
        hours=shop_settings(current_app, shop).working_hours,
    )
    is_supervisor = current_user.leads
    forms = _forms(case, assigns=is_supervisor) | bound
    attempt = forms["attempt_form"]
    attempt.outcome.choices = [  # 已接通-同意修改 / 同意追评 (Tmall) / 同意和解 (WeChat)
        SelectChoice(c.value, detail.rules.attempt_label(AttemptOutcome(c.value)))
        for c in attempt.outcome.choices
        if detail.can_still_change or c.value != AttemptOutcome.AGREED.value
    ]
    attempt.channel.choices = [  # the platform's chat by its name: 旺旺/千牛, 京东咚咚
        SelectChoice(c.value, detail.rules.channel_label(Channel(c.value)))
        for c in attempt.channel.choices
    ]
    if "attempt_form" not in bound:
        attempt.shown.data = shown.dump(case.id, [s.shown for s in detail.suggestions])
    attempt.mentioned.choices = row_choices(
        [(s.product.id, s.product.title) for s in detail.suggestions]
    )
    along = [c for c in detail.open_siblings if svc.may_work(c, current_user)]
    attempt.together.choices = row_choices([(c.id, _sibling_label(c)) for c in along])
    attempt.together_outcome.choices = [  # said as for this case: 同意追评 on Tmall
        SelectChoice(
            c.value,
            detail.rules.attempt_label(AttemptOutcome(c.value)) if c.value else c.label,
        )
        for c in attempt.together_outcome.choices
    ]
    if "attempt_form" not in bound:  # the try about to be logged, or the call's result
        attempt.together.data = [c.id for c in along]  # the page says 一次联系一并处理
        if detail.call_to_describe:
            forms["attempt_form"].channel.data = Channel.PHONE.value
        elif detail.next_try:
            forms["attempt_form"].channel.data = detail.next_try.channel.value
        if detail.stop_note:  # only the buyer reaching us is logged now
            forms["attempt_form"].outcome.data = AttemptOutcome.BUYER_REPLIED.value
    connected = _connected(case)  # one look at the stored credentials for both buttons
    return render_template(
        "cases/case.html",
        detail=detail,
        case=case,
        shop=shop,
        now=now,
        can_work=svc.may_work(case, current_user),
        is_supervisor=is_supervisor,
        allowed=[
            s
            for s in sorted(case_flow.TRANSITIONS[case.status], key=list(CaseStatus).index)
            if s is not CaseStatus.DISMISSED or case.is_hidden_negative
        ],
        reopen=CaseStatus.CONTACTING,  # a closed case's one-click way back to work
        can_publish=connected and _takes_replies(case),
        can_check=connected and case.closed_at is None,
        manual_recovered=CaseOutcome.MANUAL_RECOVERED,
        satisfied_unchanged=CaseOutcome.SATISFIED_UNCHANGED,
        revealed=revealed,
        level_names=LEVEL_NAMES,
        **forms,
    ), status_code


@bp.route("/<int:case_id>")
def case_view(case_id: int) -> tuple[str, int]:
    return _render(_case_page_or_404(case_id))


def _shown_field(form: FlaskForm, name: str) -> bool:
    """Whether ``form`` has a field ``name`` a person sees (an error under a hidden one, or
    under a form's first field when it has no such field, is never read)."""
    field = getattr(form, name, None)
    return isinstance(field, Field) and not isinstance(field, HiddenField)


def _act(
    case: Case,
    form: FlaskForm,
    key: str,
    action: Callable[[], object],
    success: str | Callable[[object], str],
    warning: str = "请修改后再发布。",
) -> Response | tuple[str, int]:
    """Validate, run one service call, and answer: redirect on success, the page with the
    errors next to the fields on bad input, a clear message on a conflict; the compliance
    guard's findings the call returns, as warnings followed by ``warning``."""
    case_id = case.id  # read now: the commit expires the case, and reading it again reloads it
    if not form.validate_on_submit():
        return _render(case, 400, **{key: form})
    try:
        result = action()
    except FieldError as exc:  # the service rolled its transaction back
        if not _shown_field(form, exc.field):  # a form that is a button: say it above the page
            flash(exc.message, "danger")
            return redirect(url_for("cases.case_view", case_id=case_id))
        attach_error(form, exc)
        return _render(_case_page_or_404(case_id), 400, **{key: form})
    except svc.CaseConflict as exc:
        flash(conflict_message(exc), "danger")
        return redirect(url_for("cases.case_view", case_id=case_id))
    flash(success(result) if callable(success) else success, "success")
    for finding in result if isinstance(result, list) else ():  # the compliance guard's warnings
        if isinstance(finding, compliance.Finding):
            flash(f"{finding.describe()}。{warning}", "warning")
    return redirect(url_for("cases.case_view", case_id=case_id))


@bp.route("/<int:case_id>/claim", methods=["POST"])
def claim(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    return _act(
        case,
        CsrfOnlyForm(),
        "claim_form",
        lambda: svc.claim(db.session, case, current_user, now=utcnow()),
        lambda along: (
            "已认领。"
            + (f"同一买家的 {'、'.join(f'#{i}' for i in along)} 也一并认领。" if along else "")
        ),
    )


@bp.route("/<int:case_id>/assign", methods=["POST"])
def assign(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = AssignForm(prefix="assign")
    form.owner_id.choices = _owner_choices((case.shop_id,), "")

    def run() -> None:
        owner = db.session.get(User, form.owner_id.data) if form.owner_id.data else None
        svc.assign(db.session, [case], owner, actor=current_user, now=utcnow())

    return _act(case, form, "assign_form", run, "已更新负责人。")


@bp.route("/<int:case_id>/attempts", methods=["POST"])
def attempt(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = AttemptForm(prefix="attempt")
    try:
        on_screen = shown.load(case.id, form.shown.data)
    except FieldError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("cases.case_view", case_id=case.id))
    form.mentioned.choices = row_choices([(s.product_id, str(s.product_id)) for s in on_screen])
    # which of them may go along is the service's to say (the buyer's, open, one's own)
    form.together.choices = row_choices([(i, f"#{i}") for i in form.together.data or ()])

    def run() -> list[compliance.Finding]:
        minutes = form.duration_minutes.data
        now = utcnow()
        draft = svc.AttemptDraft(
            channel=Channel(form.channel.data),
            attempted_at=now if _time_left_as_shown(form) else _aware(form.attempted_at.data),
            outcome=AttemptOutcome(form.outcome.data),
            duration_seconds=minutes * 60 if minutes is not None else None,
            notes=form.notes.data or "",
            next_attempt_at=_aware(form.next_attempt_at.data),
            shown=on_screen,
            mentioned=frozenset(form.mentioned.data or ()),
            override_reason=form.override_reason.data or "",
        )
        logged = svc.log_attempt(
            db.session,
            case,
            draft,
            actor=current_user,
            now=now,
            expected_version=_version(form),
            hours=shop_settings(current_app, shop_or_404(case.shop_id)).working_hours,
            together=form.together.data or (),
            together_outcome=(
                AttemptOutcome(form.together_outcome.data) if form.together_outcome.data else None
            ),
        )
        along.extend(form.together.data or ())
        if logged.created_at < now:  # written on the privacy call placed before
            on_call.append(logged.attempted_at.astimezone(_tz()))
        return compliance.check(draft.notes)  # saved as written; what it reads as, shown

    on_call: list[datetime] = []
    along: list[int] = []

    def saved(_: object) -> str:
        said = f"已记在 {on_call[0]:%H:%M} 的隐私号外呼上。" if on_call else "已记录本次联系。"
        if along:
            said += f"同一次联系也记到了 {'、'.join(f'#{i}' for i in sorted(along))}。"
        return said + ("" if form.next_attempt_at.data else follow_up_note(case))

    return _act(case, form, "attempt_form", run, saved, ATTEMPT_WARNING)


def _sibling_label(case: Case) -> str:
    """A sibling case as a choice: its number, what was bought, where it stands."""
    title = f" {listing_name(case.product.title, limit=24)}" if case.product else ""
    return f"#{case.id}{title} · {case.status.label}"


def _time_left_as_shown(form: AttemptForm) -> bool:
    """Whether 联系时间 still holds the time the page was opened at: then the contact is
    logged when it is sent. A page left open an hour before the call would otherwise log
    it an hour early — on time against a deadline it missed."""
    shown = form.attempted_at_shown.data
    typed = (form.attempted_at.raw_data or [""])[0]
    return bool(shown) and typed == shown


def follow_up_note(case: Case, lead: str = "") -> str:
    """The follow-up a try the buyer has not answered left on the case, said after it and
    after ``lead`` (the case is read again: the service committed); "" when it left none."""
    if case.next_follow_up_at is None:
        return ""
    at = case.next_follow_up_at.astimezone(_tz())
    return f"{lead}下次跟进：{at:%m-%d %H:%M}（按建议安排，当天列入“我今天要跟进”）。"


def follow_up_kept_note(case: Case) -> str:
    """Said when a contact left the planned follow-up as it was (a notice the buyer waited
    for asks no reply: the check-up agreed on the call stands)."""
    if case.next_follow_up_at is None:
        return ""
    return f"下次跟进不变：{case.next_follow_up_at.astimezone(_tz()):%m-%d %H:%M}。"


# A note is what happened and is kept as written; what it reads as is for the agent to see
# now (and the supervisor, in 报表's 联系记录合规提示), and a buyer's demand is the appeal's.
ATTEMPT_WARNING = (
    "记录已保存。补偿只针对问题本身，不能以改评为条件，也不能向买家施压；"
    "若这是买家提出的要求（以差评索要补偿），可在本页提交评价申诉。"
)


@bp.route("/<int:case_id>/follow-up", methods=["POST"])
def reschedule(case_id: int) -> Response | tuple[str, int]:
    """改约: the 下次跟进 moved to a time its owner works, or the buyer asked for."""
    case = _case_or_404(case_id)
    form = FollowUpForm(prefix="follow")

    def run() -> bool:
        return svc.reschedule_follow_up(
            db.session,
            case,
            _aware(form.at.data),  # type: ignore[arg-type]  # required by the form
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
            hours=shop_settings(current_app, shop_or_404(case.shop_id)).working_hours,
        )

    def saved(changed: object) -> str:
        return f"下次跟进：{form.at.data:%m-%d %H:%M}。" if changed else "下次跟进没有变。"

    return _act(case, form, "follow_up_form", run, saved)


@bp.route("/<int:case_id>/status", methods=["POST"])
def status(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = StatusForm(prefix="status")
    return _act(
        case,
        form,
        "status_form",
        lambda: svc.change_status(
            db.session,
            case,
            CaseStatus(form.status.data),
            CaseOutcome(form.outcome.data) if form.outcome.data else None,
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
            note=form.note.data or "",
        ),
        "状态已更新。",
    )


@bp.route("/<int:case_id>/reasons", methods=["POST"])
def reasons(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = ReasonsForm(prefix="reasons")
    return _act(
        case,
        form,
        "reasons_form",
        lambda: svc.set_reasons(
            db.session,
            case,
            [Reason(r) for r in form.reasons.data or []],
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
        ),
        "原因已更新。",
    )


@bp.route("/<int:case_id>/remedies", methods=["POST"])
def remedy(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = RemedyForm(prefix="remedy")
    return _act(
        case,
        form,
        "remedy_form",
        lambda: svc.add_remedy(
            db.session,
            case,
            svc.RemedyDraft(
                RemedyKind(form.kind.data), form.amount.data, form.cost.data, form.note.data or ""
            ),
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
        ),
        _remedy_added,
    )


def _remedy_added(remedy: object) -> str:
    """Added, and the shop's notice that tells the buyer, if it has one."""
    assert isinstance(remedy, Remedy)
    notices = messaging.notices_of(db.session, remedy.case.shop_id, remedy.kind)
    if not notices:
        return "已添加补偿。"
    names = "、".join(f"“{t.name}”" for t in notices)
    return f"已添加补偿。可以在“联系买家”的短信模板里选{names}告诉买家。"


@bp.route("/<int:case_id>/explanation", methods=["POST"])
def explanation(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = ExplanationForm(prefix="explanation")
    return _act(
        case,
        form,
        "explanation_form",
        lambda: svc.save_explanation(
            db.session,
            case,
            form.explanation.data or "",
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
        ),
        "解释草稿已保存。",
    )


def _connected(case: Case) -> bool:
    """Whether the case's shop reads its platform (credentials stored or configured):
    decided from the stored settings, without a client or the network."""
    shop = shop_or_404(case.shop_id)
    return shop.id in runtime.pulled_shops(current_app, db.session, [shop])


def _takes_replies(case: Case) -> bool:
    """Whether the shop's platform takes the seller's replies (the registry alone)."""
    adapter = registry.for_platform(shop_or_404(case.shop_id).platform)
    return adapter is not None and Capability.REPLY in adapter.capabilities


CHECKED = {
    rereads.Checked.CLOSED: ("平台已显示挽回，案件已自动结案。", "success"),
    rereads.Checked.CHANGED: (
        "平台上的评价有变化，已记录；新内容评估后（约一分钟）再看结果。",
        "info",
    ),
    rereads.Checked.UNCHANGED: ("平台上的评价没有变化。", "info"),
    rereads.Checked.NOT_LISTED: (
        "平台这次没有返回这条评价，未作任何改动（不会据此当作已删除）。",
        "warning",
    ),
    rereads.Checked.SET_ASIDE: (
        "平台返回的评价无法按原样入库，已暂存（管理 → 数据源）。",
        "warning",
    ),
}


@bp.route("/<int:case_id>/platform-check", methods=["POST"])
def platform_check(case_id: int) -> Response | tuple[str, int]:
    """立即向平台核实: ask the platform for this review now, not at the next hourly round."""
    case = _case_or_404(case_id)
    if not CsrfOnlyForm().validate_on_submit():
        return _render(case, 400)
    if case.closed_at is not None or not _connected(case):
        flash("只有已接入平台接口的店铺、未结案的案件可以向平台核实。", "warning")
        return redirect(url_for("cases.case_view", case_id=case_id))
    shop = shop_or_404(case.shop_id)
    try:
        connected = runtime.review_source(current_app, db.session, shop, interactive=True)
        if connected is None:
            raise SourceError("credentials", "店铺没有可用的接口凭据")
        checked = rereads.check_case(
            db.session,
            case,
            connected.source,
            source_name=connected.adapter.name,
            now=utcnow(),
            settings=shop_settings(current_app, shop),
            actor_id=current_user.id,
        )
    except SourceError as exc:
        db.session.rollback()
        flash(
            f"平台没有应答（{exc.code}）：{exc.message}。可稍后再试；系统每小时也会自动核对。",
            "danger",
        )
    else:
        flash(*CHECKED[checked])
    return redirect(url_for("cases.case_view", case_id=case_id))


def _publisher(case: Case) -> Callable[[str, str], None] | None:
    """The shop's reply capability, built only when an agent posts; otherwise staff copy."""
    if not (_takes_replies(case) and _connected(case)):
        return None
    shop = shop_or_404(case.shop_id)
    connected = runtime.review_source(current_app, db.session, shop, interactive=True)
    source = connected.source if connected is not None else None
    return source.post_reply if isinstance(source, PostsReplies) else None


@bp.route("/<int:case_id>/explanation/post", methods=["POST"])
def post_explanation(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = PostExplanationForm(prefix="post")

    def run() -> None:
        try:
            svc.post_explanation(
                db.session,
                case,
                actor=current_user,
                now=utcnow(),
                expected_version=_version(form),
                publish=_publisher(case),
            )
        except SourceError as exc:
            raise svc.CaseConflict(f"平台拒绝发布解释（{exc.code}）：{exc.message}") from exc

    return _act(case, form, "post_form", run, "已记录解释发布。")


@bp.route("/<int:case_id>/appeal", methods=["POST"])
def appeal(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = AppealForm(prefix="appeal")
    return _act(
        case,
        form,
        "appeal_form",
        lambda: appeals.submit(
            db.session,
            case,
            AppealReason(form.reason.data),
            form.note.data or "",
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
        ),
        "已登记申诉；平台删除评价后，案件会自动结案为“申诉成功”。",
    )


@bp.route("/<int:case_id>/appeal/decision", methods=["POST"])
def appeal_decision(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    form = AppealDecisionForm(prefix="decision")
    return _act(
        case,
        form,
        "decision_form",
        lambda: appeals.decide(
            db.session,
            case,
            accepted=form.decision.data == "accepted",
            actor=current_user,
            now=utcnow(),
            expected_version=_version(form),
        ),
        "已登记平台的申诉结果。",
    )


@bp.route("/<int:case_id>/buyer-flag", methods=["POST"])
def buyer_flag(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    if case.buyer is None:
        abort(404)
    form = BuyerFlagForm(prefix="flag")
    return _act(
        case,
        form,
        "flag_form",
        lambda: buyer_flags.flag(
            db.session, case.buyer, form.reason.data or "", actor=current_user, now=utcnow()
        ),
        "已保存买家标记。",
    )


@bp.route("/<int:case_id>/lift-stop", methods=["POST"])
def lift_stop(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    if case.buyer is None:
        abort(404)
    form = LiftStopForm(prefix="lift")
    return _act(
        case,
        form,
        "lift_form",
        lambda: buyer_flags.lift_stop(
            db.session, case.buyer, form.reason.data or "", actor=current_user, now=utcnow()
        ),
        "已解除“买家要求勿扰”。",
    )


@bp.route("/<int:case_id>/preferences", methods=["POST"])
def preferences(case_id: int) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    if case.buyer is None:
        abort(404)
    form = PreferencesForm(prefix="prefs")
    return _act(
        case,
        form,
        "preferences_form",
        lambda: svc.note_preferences(
            db.session, case, form.preferences.data or "", actor=current_user, now=utcnow()
        ),
        "已保存买家偏好。",
    )
