"""Admin page for reaching buyers: provider accounts (Aliyun SMS, Aliyun 号码隐私保护),
approved SMS templates, and the URL the call records come back to."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker import runtime
from tracker.clock import utcnow
from tracker.domain import remedy_notices
from tracker.extensions import db
from tracker.models import MessageTemplate, Shop
from tracker.models.enums import MessagePurpose, RemedyNotice
from tracker.providers.aliyun import PROVIDERS
from tracker.services import calls, messaging, surveys
from tracker.services.errors import FieldError
from tracker.sources import registry
from tracker.sources.contract import Capability
from tracker.web.access import shop_or_404
from tracker.web.admin.forms import (
    CsrfOnlyForm,
    MessageTemplateForm,
    SurveyTemplateForm,
    TemplateAnnouncesForm,
    credentials_form,
)
from tracker.web.admin.views import bp
from tracker.web.choices import pairs
from tracker.web.fields import attach_error


def _template_form(shop: Shop) -> MessageTemplateForm:
    form = MessageTemplateForm(prefix="tpl")
    choices = [(messaging.SMS, messaging.PROVIDER_LABELS[messaging.SMS])]
    adapter = registry.for_platform(shop.platform)
    if adapter is not None and Capability.MESSAGE in adapter.capabilities:
        choices.append((messaging.PLATFORM, messaging.PROVIDER_LABELS[messaging.PLATFORM]))
    form.provider.choices = pairs(choices)
    return form


def _pushed_url(endpoint: str, shop: Shop, purpose: str) -> str:
    """The URL a provider pushes this shop's records to, its secret token included."""
    token = calls.receipt_token(current_app.config["SECRET_KEY"], shop.id, purpose)
    base = current_app.config["TRACKER_BASE_URL"].rstrip("/")
    return base + url_for(endpoint, shop_id=shop.id, token=token)


def _page(shop: Shop, template_form: MessageTemplateForm, status: int = 200) -> tuple[str, int]:
    hints = messaging.account_hints(db.session, shop.id)
    survey_form = SurveyTemplateForm(survey_template=shop.survey_template_id)
    provider_forms = {
        name: credentials_form(spec, stored=name in hints, prefix=name)
        for name, spec in PROVIDERS.items()
    }
    templates = messaging.templates_of(db.session, shop.id, all_of_them=True)
    notices = [t for t in templates if t.is_active and messaging.sent_from_cases(t)]
    return render_template(
        "admin/contact.html",
        shop=shop,
        providers=PROVIDERS,
        provider_forms=provider_forms,
        hints=hints,
        templates=templates,
        announce_forms={
            t.id: TemplateAnnouncesForm(
                prefix=f"announces-{t.id}", announces=t.announces.value if t.announces else ""
            )
            for t in notices
        },
        announce_questions={t.id: remedy_notices.undecided(t.body, t.announces) for t in notices},
        template_form=template_form,
        provider_labels=messaging.PROVIDER_LABELS,
        call_records_url=_pushed_url("api.call_records", shop, "axb-calls"),
        replies_url=_pushed_url("api.sms_replies", shop, "sms-replies"),
        csrf_form=CsrfOnlyForm(),
        survey_form=survey_form,
        survey_offers=surveys.template_offers(
            db.session,
            shop,
            base_url=current_app.config["TRACKER_BASE_URL"],
            secret_key=current_app.config["SECRET_KEY"],
        ),
    ), status


@bp.route("/shops/<int:shop_id>/contact")
def shop_contact(shop_id: int) -> tuple[str, int]:
    shop = shop_or_404(shop_id)
    return _page(shop, _template_form(shop))


@bp.route("/shops/<int:shop_id>/contact/<provider>", methods=["POST"])
def save_provider(shop_id: int, provider: str) -> Response | tuple[str, int]:
    shop = shop_or_404(shop_id)
    spec = PROVIDERS.get(provider) or abort(404)
    stored = provider in messaging.account_hints(db.session, shop.id)
    form = credentials_form(spec, stored=stored, prefix=provider)
    if form.validate_on_submit():
        try:
            messaging.save_account(
                db.session,
                shop,
                provider,
                {f.name: form[f.name].data or "" for f in spec.fields},
                sealer=runtime.sealer(current_app),
                actor=current_user,
                now=utcnow(),
            )
        except FieldError as exc:
            flash(exc.message, "danger")
        else:
            flash(f"{spec.label}账号已加密保存。", "success")
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "danger")
    return redirect(url_for("admin.shop_contact", shop_id=shop.id))


@bp.route("/shops/<int:shop_id>/templates", methods=["POST"])
def add_template(shop_id: int) -> Response | tuple[str, int]:
    shop = shop_or_404(shop_id)
    form = _template_form(shop)
    if not form.validate_on_submit():
        return _page(shop, form, 400)
    draft = messaging.TemplateDraft(
        provider=form.provider.data,
        name=form.name.data or "",
        sign_name=form.sign_name.data or "",
        template_code=form.template_code.data or "",
        body=form.body.data or "",
        purpose=MessagePurpose(form.purpose.data),
        announces=_announces(form.announces.data),
    )
    try:
        messaging.save_template(db.session, shop, draft, actor=current_user, now=utcnow())
    except FieldError as exc:
        attach_error(form, exc)
        return _page(shop, form, 400)
    flash(f"模板“{draft.name}”已登记，客服可在案件页选用。", "success")
    return redirect(url_for("admin.shop_contact", shop_id=shop.id))


def _announces(value: str | None) -> RemedyNotice | None:
    return RemedyNotice(value) if value else None


@bp.route("/templates/<int:template_id>/announces", methods=["POST"])
def template_announces(template_id: int) -> Response:
    template = db.session.get(MessageTemplate, template_id) or abort(404)
    shop_or_404(template.shop_id)
    form = TemplateAnnouncesForm(prefix=f"announces-{template.id}")
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash("；".join(form.announces.errors), "danger")
        return redirect(url_for("admin.shop_contact", shop_id=template.shop_id))
    try:
        messaging.set_announces(
            db.session,
            template,
            _announces(form.announces.data),
            actor=current_user,
            now=utcnow(),
        )
    except FieldError as exc:
        flash(exc.message, "danger")
    else:
        flash(f"模板“{template.name}”通知的补偿已保存。", "success")
    return redirect(url_for("admin.shop_contact", shop_id=template.shop_id))


@bp.route("/templates/<int:template_id>/retire", methods=["POST"])
def retire_template(template_id: int) -> Response:
    template = db.session.get(MessageTemplate, template_id) or abort(404)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if messaging.retire_template(db.session, template, actor=current_user, now=utcnow()):
        flash(
            f"模板“{template.name}”已停用；满意度回访用的是它，已停发，可另选回访模板。", "warning"
        )
    else:
        flash(f"模板“{template.name}”已停用。", "success")
    return redirect(url_for("admin.shop_contact", shop_id=template.shop_id))


@bp.route("/shops/<int:shop_id>/survey-template", methods=["POST"])
def survey_template(shop_id: int) -> Response:
    shop = shop_or_404(shop_id)
    form = SurveyTemplateForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash("；".join(form.survey_template.errors), "danger")
        return redirect(url_for("admin.shop_contact", shop_id=shop.id))
    try:
        chosen = form.survey_template.data
        surveys.set_template(db.session, shop, chosen, actor=current_user, now=utcnow())
    except FieldError as exc:
        flash(exc.message, "danger")
    else:
        flash("满意度回访设置已保存。", "success")
    return redirect(url_for("admin.shop_contact", shop_id=shop.id))
