"""The web layer: blueprints, login gate, error pages and template helpers."""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.web import errors, filters
from tracker.web.inputs import RowIdConverter, TrackerRequest

# Endpoints reachable without logging in.
# survey.page: a buyer's 满意度回访, reached only through the signed link in its SMS.
PUBLIC_ENDPOINTS = {"auth.login", "static", "bootstrap.static", "favicon", "survey.page"}


def init_app(app: Flask) -> None:
    # before any route is added: every <int:…> is a row id, every form field cleaned
    app.url_map.converters["int"] = RowIdConverter
    # /cases and /cases/ are one page: a typed or bookmarked slash is no 404
    app.url_map.strict_slashes = False
    app.request_class = TrackerRequest
    from tracker.web.admin import contact as _admin_contact  # noqa: F401  (registers routes)
    from tracker.web.admin import intake as _admin_intake  # noqa: F401
    from tracker.web.admin import recommend as _admin_recommend  # noqa: F401
    from tracker.web.admin import sentiment as _admin_sentiment  # noqa: F401
    from tracker.web.admin.views import bp as admin_bp
    from tracker.web.api.views import bp as api_bp
    from tracker.web.auth.views import bp as auth_bp
    from tracker.web.cases import contact as _case_contact  # noqa: F401
    from tracker.web.cases.views import bp as cases_bp
    from tracker.web.home.views import bp as home_bp
    from tracker.web.notifications.views import bp as notifications_bp
    from tracker.web.reports.views import bp as reports_bp
    from tracker.web.scripts.views import bp as scripts_bp
    from tracker.web.shift_requests.views import bp as shift_requests_bp
    from tracker.web.shop import campaigns as _shop_campaigns  # noqa: F401
    from tracker.web.shop import segments as _shop_segments  # noqa: F401
    from tracker.web.shop.views import bp as shop_bp
    from tracker.web.survey.views import bp as survey_bp

    blueprints = (
        auth_bp,
        home_bp,
        cases_bp,
        scripts_bp,
        shop_bp,
        reports_bp,
        notifications_bp,
        shift_requests_bp,
    )
    for bp in (*blueprints, admin_bp, api_bp, survey_bp):
        app.register_blueprint(bp)

    app.add_url_rule("/favicon.ico", "favicon", _favicon)  # what browsers ask for unprompted
    app.before_request(_require_login)
    app.context_processor(_navigation)
    errors.init_app(app)
    filters.init_app(app)

    from tracker.web.auth.session import init_login

    init_login(app)


def compile_templates(app: Flask) -> list[str]:
    """Compile every template now (a gunicorn worker, at boot): compiled on first use, the
    first pages a fresh worker served each waited a few hundred milliseconds for Jinja."""
    names = app.jinja_env.list_templates(extensions=["html"])
    for name in names:
        app.jinja_env.get_template(name)
    return names


def _navigation() -> dict[str, object]:
    from tracker.web.access import current_shop, nav_shop, nav_switch_next, switcher_shops
    from tracker.web.notifications.views import unread

    return {
        "nav_shops": switcher_shops,
        "nav_shop": nav_shop,
        "chosen_shop": current_shop,
        "nav_switch_next": nav_switch_next,
        "nav_unread": unread,
    }


def _favicon() -> Response:
    return redirect(url_for("static", filename="favicon.svg"), code=301)


OPEN_WITH_TEMPORARY_PASSWORD = {"auth.account", "auth.change_password", "auth.logout"}


def _require_login() -> Response | None:
    """Every page needs login: enforced once here, not remembered per view. A user whose
    password an admin chose replaces it first (the admin knows it, and may have sent it
    over chat)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if current_user.temporary_password_at is None or request.blueprint == "api":
            return None
        if request.endpoint in OPEN_WITH_TEMPORARY_PASSWORD or request.endpoint is None:
            return None
        return redirect(url_for("auth.account"))
    if request.blueprint == "api":
        return None  # the API authenticates each request with a shop token
    if request.endpoint is None:
        return None  # let the 404 handler answer
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
