"""Campaign pages (supervisors and admins): the list with progress and results, a new
campaign, its preview, launching it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.domain.campaigns import Audience, Exclusions, held_back
from tracker.domain.segments import BuyerClass
from tracker.extensions import db
from tracker.models import Campaign, CareRule, MessageTemplate, Shop
from tracker.models.enums import LEADS
from tracker.services import campaigns, care, messaging
from tracker.services.errors import FieldError
from tracker.web.access import roles_required
from tracker.web.admin.forms import CsrfOnlyForm
from tracker.web.fields import attach_error
from tracker.web.inputs import requested_page
from tracker.web.shop.campaign_forms import CampaignForm, CareRuleForm
from tracker.web.shop.views import _shop, bp


def _campaign_or_404(campaign_id: int) -> Campaign:
    shop = _shop()
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.shop_id != shop.id:
        abort(404)
    return campaign


CAMPAIGNS_PER_PAGE = 20


@bp.route("/campaigns")
@roles_required(*LEADS)
def campaign_list() -> str:
    return _campaign_list(_shop(), CareRuleForm())


def _campaign_list(shop: Shop, care_form: CareRuleForm) -> str:
    now = utcnow()
    # a page at a time: each care rule adds a campaign a day, and each row's results are
    # counted for it
    page = requested_page(
        sa.select(Campaign).where(Campaign.shop_id == shop.id).order_by(Campaign.id.desc()),
        per_page=CAMPAIGNS_PER_PAGE,
    )
    return render_template(
        "shop/campaigns.html",
        shop=shop,
        items=[(c, campaigns.results(db.session, c, now=now)) for c in page.items],
        page=page,
        rules=care.rules_of(db.session, shop.id),
        kinds=care.KINDS,
        # offered as for 收货后关怀, the one kind a notice may serve; saving checks the kind
        care_templates=campaigns.template_texts(db.session, shop, care="after_receipt"),
        form=CsrfOnlyForm(),
        care_form=care_form,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(*LEADS)
def campaign_new() -> Response | str:
    shop = _shop()
    form = CampaignForm()
    if form.validate_on_submit():
        low, high = form.days_from.data, form.days_to.data
        draft = campaigns.CampaignDraft(
            name=form.name.data or "",
            audience=Audience(
                classes=frozenset(BuyerClass(c) for c in form.classes.data or []),
                big={"1": True, "0": False}.get(form.big.data or ""),
                min_level=int(form.min_level.data) if form.min_level.data else None,
                days_since_order=(low or 0, high if high is not None else 36500)
                if low is not None or high is not None
                else None,
                birthday_within_days=form.birthday_days.data,
                delivered_late_days=form.late_days.data,
            ),
            exclusions=Exclusions(
                open_case=bool(form.exclude_open_case.data),
                unhappy_review_days=form.unhappy_days.data,
                refund_days=form.refund_days.data,
                contacted_days=form.contacted_days.data,
            ),
            template_id=form.template_id.data or 0,
            control_share=(form.control_percent.data or 0) / 100,
            coupon=form.coupon.data or "",
            coupon_value=form.coupon_value.data,
        )
        try:
            campaign = campaigns.create(db.session, shop, draft, actor=current_user, now=utcnow())
        except FieldError as exc:
            attach_error(form, exc)
        else:
            return redirect(url_for("shop.campaign_view", campaign_id=campaign.id))
    return render_template(
        "shop/campaign_form.html",
        shop=shop,
        form=form,
        templates=campaigns.template_texts(db.session, shop),
    )


@bp.route("/campaigns/<int:campaign_id>")
@roles_required(*LEADS)
def campaign_view(campaign_id: int) -> str:
    campaign = _campaign_or_404(campaign_id)
    preview = None
    if campaign.state == "draft":
        numbers, tally = campaigns.choose(
            db.session,
            campaign.shop_id,
            Audience.from_dict(campaign.audience),
            Exclusions.from_dict(campaign.exclusions),
            now=utcnow(),
        )
        preview = (len(numbers), tally, held_back(len(numbers), campaign.control_share))
    shop = _shop()
    template = db.session.get(MessageTemplate, campaign.template_id)
    return render_template(
        "shop/campaign.html",
        shop=shop,
        campaign=campaign,
        message=campaigns.campaign_text(template, shop) if template else None,
        preview=preview,
        found=campaigns.results(db.session, campaign, now=utcnow()),
        hold_days=campaigns.HOLD_WINDOW.days,
        resumes_at=campaigns.resumes_at(
            shop,
            campaign,
            now=utcnow(),
            tz=local_zone(current_app.config),
        ),
        form=CsrfOnlyForm(),
        # a campaign waits silently for the shop's SMS account: the page says so
        no_account=messaging.missing_account(db.session, shop.id, messaging.SMS)
        if campaign.state in ("draft", "sending")
        else None,
    )


@bp.route("/campaigns/<int:campaign_id>/launch", methods=["POST"])
@roles_required(*LEADS)
def campaign_launch(campaign_id: int) -> Response:
    campaign = _campaign_or_404(campaign_id)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        campaigns.launch(db.session, campaign, actor=current_user, now=utcnow())
    except FieldError as exc:
        flash(exc.message, "danger")
    else:
        missing = messaging.missing_account(db.session, campaign.shop_id, messaging.SMS)
        if missing:
            flash(f"活动已开始，但{missing}：设置之后才会发出。", "warning")
        else:
            started = "活动已开始：调度器在白天按服务商的速率逐条发送，进度和效果在本页更新。"
            flash(started, "success")
    return redirect(url_for("shop.campaign_view", campaign_id=campaign_id))


@bp.route("/care-rules", methods=["POST"])
@roles_required(*LEADS)
def care_rule_add() -> Response | tuple[str, int]:
    shop = _shop()
    form = CareRuleForm()
    if form.validate_on_submit():
        draft = care.RuleDraft(
            kind=form.kind.data or "",
            name=form.name.data or "",
            template_id=form.template_id.data or 0,
            days=form.days.data,
            holiday=(form.holiday.data or "").strip() or None,
            control_share=(form.control_percent.data or 0) / 100,
        )
        try:
            care.add_rule(db.session, shop, draft, actor=current_user, now=utcnow())
        except FieldError as exc:
            named = {"control_share": "control_percent"}.get(exc.field, exc.field)
            attach_error(form, FieldError(named, exc.message))
        else:
            flash("关怀规则已保存：每天 10:00 起按规则发送。", "success")
            return redirect(url_for("shop.campaign_list"))
    return _campaign_list(shop, form), 400


@bp.route("/care-rules/<int:rule_id>/retire", methods=["POST"])
@roles_required(*LEADS)
def care_rule_retire(rule_id: int) -> Response:
    shop = _shop()
    rule = db.session.get(CareRule, rule_id)
    if rule is None or rule.shop_id != shop.id:
        abort(404)
    if CsrfOnlyForm().validate_on_submit():
        care.retire_rule(db.session, rule, actor=current_user, now=utcnow())
        flash(f"已停用关怀规则“{rule.name}”。", "success")
    return redirect(url_for("shop.campaign_list"))
