"""Admin pages for intake: source health, file import, push tokens, deadline policy."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker import runtime
from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain.contact_policy import ContactPolicy
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import (
    PolicyError,
    WorkingHours,
    dated_text,
    parse_dated,
    parse_periods,
    periods_text,
)
from tracker.extensions import db
from tracker.jobs import executor
from tracker.models import ImportJob, QuarantinedRecord, Shop
from tracker.queue.contract import Executor
from tracker.runtime import model_store
from tracker.sentiment.store import bundled_model_dir
from tracker.services import (
    alerts,
    background_work,
    import_jobs,
    pulls,
    quarantine,
    retention,
    source_credentials,
)
from tracker.services.api_tokens import issue_token
from tracker.services.errors import FieldError
from tracker.services.shop_settings import update_policy
from tracker.sources import registry
from tracker.sources.contract import Adapter, SourceError
from tracker.sources.files import parse_mapping
from tracker.web.access import shop_or_404
from tracker.web.admin.forms import CsrfOnlyForm, ImportForm, PolicyForm, credentials_form
from tracker.web.admin.views import bp
from tracker.web.choices import row_choices
from tracker.web.fields import attach_error
from tracker.web.inputs import requested_page, search_text

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHOPS_PER_PAGE = 24  # a host with thousands of shops pages through them, or filters


@bp.route("/sources")
def sources() -> str:
    q = search_text()
    needs_attention = request.args.get("show") == "attention"
    page = requested_page(
        pulls.shops_to_list(q=q, needs_attention=needs_attention), per_page=SHOPS_PER_PAGE
    )
    shops = list(page.items)
    runs = pulls.recent_runs(db.session, [s.id for s in shops], limit=50)

    store = model_store(current_app)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    work = executor(app)
    live = _live_queue(work)
    return render_template(
        "admin/sources.html",
        shops=shops,
        page=page,
        q=q,
        needs_attention=needs_attention,
        work=background_work.health(db.session, now=utcnow()),
        work_mode=work.describe(),
        live=live,
        pulls={
            int(key.removeprefix("pull:")): row
            for key, row in background_work.states(
                db.session, [f"pull:{s.id}" for s in shops]
            ).items()
        },
        runs=runs,
        adapters={s.id: registry.for_platform(s.platform) for s in shops},
        connected=runtime.pulled_shops(current_app, db.session, list(shops)),
        hints={s.id: source_credentials.stored_hint(db.session, s) for s in shops},
        aside=quarantine.waiting(db.session, [s.id for s in shops]),
        run_sources=RUN_SOURCES,
        model_setting=current_app.config["TRACKER_SENTIMENT_MODEL"],
        model_current=store.current_version() or f"{bundled_model_dir().name}（内置）",
        model_history=store.history(),
        deliveries=alerts.recent_deliveries(db.session, limit=20),
        channels={
            "邮件": bool(current_app.config["TRACKER_SMTP_HOST"]),
            "群机器人": bool(current_app.config["TRACKER_WEBHOOK_URL"]),
        },
    )


def _live_queue(work: Executor) -> dict[str, object] | None:
    """The broker's own figures (Celery): tasks waiting, workers answering a ping."""
    if work.mode != "celery":
        return None
    depth = work.depth()
    return {"depth": depth, "answering": work.ping() if depth is not None else []}


@bp.route("/shops/<int:shop_id>/pull/resume", methods=["POST"])
def resume_pull(shop_id: int) -> Response:
    """A parked shop's pull is tried again at the next dispatch (within seconds)."""
    shop = shop_or_404(shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if background_work.resume(db.session, f"pull:{shop.id}", now=utcnow()):
        flash(f"{shop.name} 的拉取已恢复，几秒内会再试一次。", "success")
    return redirect(url_for("admin.sources"))


# What each run's source reads as on 数据源.
RUN_SOURCES = {
    "push": "推送接口",
    "score": "评分",
    "credentials": "凭据",
    "import:reviews": "导入评价",
    "import:orders": "导入订单",
    "import:products": "导入商品",
    "import:buyers": "导入买家",
    **{a.name: f"拉取 · {a.label}" for a in registry.ADAPTERS.values()},
}


def _adapter_or_404(shop: Shop) -> Adapter:
    adapter = registry.for_platform(shop.platform)
    if adapter is None:
        abort(404)
    return adapter


@bp.route("/shops/<int:shop_id>/credentials", methods=["GET", "POST"])
def shop_credentials(shop_id: int) -> Response | str:
    shop = shop_or_404(shop_id)
    adapter = _adapter_or_404(shop)
    hint = source_credentials.stored_hint(db.session, shop)
    form = credentials_form(adapter, stored=hint is not None)
    if hint is not None and not form.is_submitted():
        sealer = runtime.sealer(current_app)
        for name, value in source_credentials.shown_values(db.session, shop, sealer=sealer).items():
            form[name].data = value
    if form.validate_on_submit():
        values = {f.name: form[f.name].data or "" for f in adapter.fields}
        try:
            source_credentials.save(
                db.session,
                shop,
                values,
                sealer=runtime.sealer(current_app),
                actor_id=current_user.id,
                now=utcnow(),
            )
        except FieldError as error:
            attach_error(form, error)
        else:
            # new credentials are the usual cure of a parked pull: try again at once
            background_work.resume(db.session, f"pull:{shop.id}", now=utcnow())
            flash("凭据已加密保存。可以点“检查连接”确认能用。", "success")
            return redirect(url_for("admin.shop_credentials", shop_id=shop.id))
    env = current_app.config["TRACKER_SHOP_CREDENTIALS"]
    return render_template(
        "admin/credentials.html",
        shop=shop,
        adapter=adapter,
        form=form,
        hint=hint,
        from_environment=hint is None and bool(env.get(shop.code)),
        csrf_form=CsrfOnlyForm(),
    )


@bp.route("/shops/<int:shop_id>/credentials/check", methods=["POST"])
def check_credentials(shop_id: int) -> Response:
    """One cheap authenticated call through the shop's source: an admin's explicit action,
    the only time a page talks to the platform."""
    shop = shop_or_404(shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        connected = runtime.review_source(current_app, db.session, shop, interactive=True)
        if connected is None:
            flash("此店铺还没有配置接口凭据。", "warning")
        else:
            connected.source.check()
            flash(f"连接正常：{connected.adapter.label}接受了这组凭据。", "success")
    except SourceError as exc:
        flash(f"连接失败（{exc.code}）：{exc.message}", "danger")
    return redirect(url_for("admin.shop_credentials", shop_id=shop.id))


@bp.route("/quarantine/<int:record_id>/retry", methods=["POST"])
def retry_quarantined(record_id: int) -> Response:
    row = db.session.get(QuarantinedRecord, record_id)
    if row is None:
        abort(404)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    shop = shop_or_404(row.shop_id)
    key = row.platform_key
    if quarantine.retry(
        db.session, row, now=utcnow(), settings=runtime.settings(current_app, shop)
    ):
        flash(f"评价 {key} 已入库（稍后自动评分）。", "success")
    else:
        flash(f"评价 {key} 仍无法入库：{row.error}", "danger")
    return redirect(url_for("admin.sources", _anchor="aside"))


@bp.route("/shops/<int:shop_id>/credentials/delete", methods=["POST"])
def delete_credentials(shop_id: int) -> Response:
    shop = shop_or_404(shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if source_credentials.delete(db.session, shop, actor_id=current_user.id, now=utcnow()):
        flash("已删除保存的凭据；此店铺不再自动拉取（除非环境变量中另有配置）。", "success")
    return redirect(url_for("admin.shop_credentials", shop_id=shop.id))


@bp.route("/shops/<int:shop_id>/token", methods=["POST"])
def shop_token(shop_id: int) -> str:
    shop = shop_or_404(shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    token = issue_token(db.session, shop, actor_id=current_user.id, now=utcnow())
    return render_template("admin/token.html", shop=shop, token=token)


@bp.route("/import", methods=["GET", "POST"])
def import_file() -> Response | str:
    """The upload is stored and queued; the scheduler imports it (a big file would outlast
    any web request) and its page shows the progress, then the report."""
    form = ImportForm()
    shops = db.session.execute(sa.select(Shop.id, Shop.name).order_by(Shop.name)).tuples().all()
    form.shop_id.choices = row_choices(shops)
    if form.validate_on_submit():
        shop = shop_or_404(form.shop_id.data or 0)
        try:
            mapping = parse_mapping(
                [line for line in (form.mapping.data or "").splitlines() if line.strip()]
            )
        except ValueError as exc:
            form.mapping.errors = [*form.mapping.errors, str(exc)]
        else:
            upload = form.file.data
            job = import_jobs.queue(
                db.session,
                shop,
                kind=form.kind.data,
                filename=upload.filename or "upload.csv",
                save=lambda path: upload.save(path),  # streamed to disk, not into memory
                folder=Path(current_app.instance_path) / "uploads",
                mapping=mapping,
                skip_bad_rows=bool(form.skip_bad_rows.data),
                actor_id=current_user.id,
                now=utcnow(),
            )
            return redirect(url_for("admin.import_job", job_id=job.id))
    recent = import_jobs.recent(db.session, [shop_id for shop_id, _ in shops])
    return render_template("admin/import.html", form=form, jobs=recent)


@bp.route("/imports/<int:job_id>")
def import_job(job_id: int) -> str:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    return render_template(
        "admin/import_job.html",
        job=job,
        shop=shop_or_404(job.shop_id),
        skipping_would_help=import_jobs.skipping_would_help(job),
    )


def _dates(text: str | None) -> list[str]:
    return _DATE.findall(text or "")


@bp.route("/shops/<int:shop_id>/policy", methods=["GET", "POST"])
def shop_policy(shop_id: int) -> Response | str:
    shop = shop_or_404(shop_id)
    tz = local_zone(current_app.config)
    hours = WorkingHours.from_dict(shop.working_hours, tz)
    today = utcnow().astimezone(tz).date()
    policy = DeadlinePolicy.from_dict(shop.deadline_policy)
    form = PolicyForm()
    if not form.is_submitted():
        form.with_past.data = "1" if request.args.get("past") == "1" else ""
        # days gone stay stored, listed only when asked for (to correct one)
        stored = (hours if form.with_past.data else hours.from_day(today)).to_dict()
        form.periods.data = periods_text(stored["periods"])
        form.weekdays.data = stored["weekdays"]
        form.holidays.data = "\n".join(stored["holidays"])
        form.workdays.data = "\n".join(stored["workdays"])
        form.dated.data = dated_text(stored.get("dated", {}))
        form.bad_hours.data = Decimal(str(policy.bad_hours))
        form.neutral_hours.data = Decimal(str(policy.neutral_hours))
        form.hidden_negative_hours.data = Decimal(str(policy.hidden_negative_hours))
        form.pull_interval_minutes.data = shop.pull_interval_minutes
        contact = shop.contact_rules.to_dict()
        form.contact_hours.data = f"{contact['day_starts']}-{contact['day_ends']}"
        form.contact_per_day.data = contact["per_day"]
        form.contact_per_week.data = contact["per_week"]
        form.contact_gap_minutes.data = contact["min_gap_minutes"]
        form.retention_days.data = shop.personal_data_retention_days
    if form.validate_on_submit():
        try:
            new_hours = WorkingHours.from_dict(
                {
                    "periods": parse_periods(form.periods.data or ""),
                    "weekdays": form.weekdays.data or [],
                    "holidays": _dates(form.holidays.data),
                    "workdays": _dates(form.workdays.data),
                    "dated": parse_dated(form.dated.data or ""),
                },
                tz,
            )
            if form.with_past.data != "1":
                new_hours = new_hours.keeping_past(hours, today)
            new_hours.check_reachable(utcnow())
        except PolicyError as exc:
            field = getattr(form, exc.about, form.periods)
            field.errors = [*field.errors, str(exc)]
            return _policy_page(form, shop, hours.past_days(today))
        try:
            start, dash, end = (form.contact_hours.data or "").replace("—", "-").partition("-")
            if not dash:
                raise ValueError("no 开始-结束")
            contact_policy = ContactPolicy.from_dict(
                {
                    "day_starts": start.strip(),
                    "day_ends": end.strip(),
                    "per_day": form.contact_per_day.data,
                    "per_week": form.contact_per_week.data,
                    "min_gap_minutes": form.contact_gap_minutes.data,
                }
            )
        except (PolicyError, ValueError) as exc:
            message = str(exc) if isinstance(exc, PolicyError) else "写成 开始-结束，如 09:00-21:00"
            form.contact_hours.errors = [*form.contact_hours.errors, message]
        else:
            new_policy = DeadlinePolicy(
                float(form.bad_hours.data or 0),
                float(form.neutral_hours.data or 0),
                float(form.hidden_negative_hours.data or 0),
            )
            moved = update_policy(
                db.session,
                shop,
                new_hours,
                new_policy,
                actor_id=current_user.id,
                now=utcnow(),
                pull_interval_minutes=form.pull_interval_minutes.data or 10,
                contact=contact_policy,
                retention_days=form.retention_days.data,
            )
            flash(f"已保存；{moved} 个尚未联系的案件已按新规则重算首次联系时限。", "success")
            return redirect(url_for("admin.shop_policy", shop_id=shop.id))
    return _policy_page(form, shop, hours.past_days(today))


def _policy_page(form: PolicyForm, shop: Shop, past_days: int) -> str:
    return render_template(
        "admin/policy.html",
        form=form,
        shop=shop,
        past_days=past_days,
        with_past=form.with_past.data == "1",
        retention_due=retention.due(db.session, shop, utcnow()),
        retention_at=current_app.config["TRACKER_RECOMMENDER_BUILD_AT"],
    )
