"""Admin pages for intake: source health, file import, push tokens, deadline policy."""

from __future__ import annotations

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import PolicyError, WorkingHours
from tracker.extensions import db
from tracker.models import Shop
from tracker.models.enums import Platform
from tracker.runtime import model_store
from tracker.sentiment.store import bundled_model_dir
from tracker.services import alerts, pulls
from tracker.services.api_tokens import issue_token
from tracker.services.imports import import_parsed
from tracker.services.shop_settings import intake_settings, update_policy
from tracker.sources.files import parse_file, parse_mapping
from tracker.web.admin.forms import CsrfOnlyForm, ImportForm, PolicyForm
from tracker.web.admin.views import bp
from tracker.web.choices import row_choices

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _shop_or_404(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        abort(404)
    return shop


@bp.route("/sources")
def sources() -> str:
    shops = db.session.scalars(sa.select(Shop).order_by(Shop.name)).all()
    credentials = current_app.config["TRACKER_SHOP_CREDENTIALS"]
    runs = pulls.recent_runs(db.session, [s.id for s in shops], limit=50)

    store = model_store(current_app)
    return render_template(
        "admin/sources.html",
        shops=shops,
        runs=runs,
        has_credentials={s.id: s.code in credentials for s in shops},
        pullable={Platform.TAOBAO, Platform.TMALL},
        model_setting=current_app.config["TRACKER_SENTIMENT_MODEL"],
        model_current=store.current_version() or f"{bundled_model_dir().name}（内置）",
        model_history=store.history(),
        deliveries=alerts.recent_deliveries(db.session, limit=20),
        channels={
            "邮件": bool(current_app.config["TRACKER_SMTP_HOST"]),
            "群机器人": bool(current_app.config["TRACKER_WEBHOOK_URL"]),
        },
    )


@bp.route("/shops/<int:shop_id>/token", methods=["POST"])
def shop_token(shop_id: int) -> str:
    shop = _shop_or_404(shop_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    token = issue_token(db.session, shop, actor_id=current_user.id, now=utcnow())
    return render_template("admin/token.html", shop=shop, token=token)


@bp.route("/import", methods=["GET", "POST"])
def import_file() -> str:
    form = ImportForm()
    form.shop_id.choices = row_choices(
        db.session.execute(sa.select(Shop.id, Shop.name).order_by(Shop.name)).tuples()
    )
    report = None
    if form.validate_on_submit():
        shop = _shop_or_404(form.shop_id.data or 0)
        try:
            mapping = parse_mapping(
                [line for line in (form.mapping.data or "").splitlines() if line.strip()]
            )
        except ValueError as exc:
            form.mapping.errors = [*form.mapping.errors, str(exc)]
        else:
            upload = form.file.data
            tz = current_app.config["TRACKER_TIMEZONE"]
            parsed = parse_file(
                form.kind.data,
                upload.read(),
                upload.filename or "upload.csv",
                tz=ZoneInfo(tz),
                mapping=mapping,
            )
            now = utcnow()
            # No model in web workers: imported reviews are scored by the scheduler.
            report = import_parsed(
                db.session,
                shop,
                parsed,
                now=now,
                skip_bad_rows=bool(form.skip_bad_rows.data),
                scorer=None,
                settings=intake_settings(shop, timezone=tz),
            )
            if report.written:
                pulls.record_run(
                    db.session,
                    shop,
                    source=f"import:{form.kind.data}",
                    now=now,
                    result=report.intake,
                )
                db.session.commit()
    return render_template("admin/import.html", form=form, report=report)


def _dates(text: str | None) -> list[str]:
    return _DATE.findall(text or "")


@bp.route("/shops/<int:shop_id>/policy", methods=["GET", "POST"])
def shop_policy(shop_id: int) -> Response | str:
    shop = _shop_or_404(shop_id)
    tz = ZoneInfo(current_app.config["TRACKER_TIMEZONE"])
    hours = WorkingHours.from_dict(shop.working_hours, tz)
    policy = DeadlinePolicy.from_dict(shop.deadline_policy)
    form = PolicyForm()
    if not form.is_submitted():
        stored = hours.to_dict()
        form.periods.data = ", ".join(f"{a}-{b}" for a, b in stored["periods"])
        form.weekdays.data = stored["weekdays"]
        form.holidays.data = "\n".join(stored["holidays"])
        form.workdays.data = "\n".join(stored["workdays"])
        form.bad_hours.data = Decimal(str(policy.bad_hours))
        form.neutral_hours.data = Decimal(str(policy.neutral_hours))
        form.hidden_negative_hours.data = Decimal(str(policy.hidden_negative_hours))
        form.pull_interval_minutes.data = shop.pull_interval_minutes
    if form.validate_on_submit():
        try:
            periods = [
                part.strip().split("-")
                for part in (form.periods.data or "").replace("，", ",").split(",")
                if part.strip()
            ]
            if any(len(p) != 2 for p in periods):
                raise PolicyError("每个时段写成 开始-结束，如 09:00-12:00")
            new_hours = WorkingHours.from_dict(
                {
                    "periods": periods,
                    "weekdays": form.weekdays.data or [],
                    "holidays": _dates(form.holidays.data),
                    "workdays": _dates(form.workdays.data),
                },
                tz,
            )
        except PolicyError as exc:
            form.periods.errors = [*form.periods.errors, str(exc)]
        else:
            new_policy = DeadlinePolicy(
                float(form.bad_hours.data or 0),
                float(form.neutral_hours.data or 0),
                float(form.hidden_negative_hours.data or 0),
            )
            shop.pull_interval_minutes = form.pull_interval_minutes.data or 10
            moved = update_policy(
                db.session, shop, new_hours, new_policy, actor_id=current_user.id, now=utcnow()
            )
            flash(f"已保存；{moved} 个尚未联系的案件已按新规则重算首次联系时限。", "success")
            return redirect(url_for("admin.shop_policy", shop_id=shop.id))
    return render_template("admin/policy.html", form=form, shop=shop)
