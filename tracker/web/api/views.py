"""The push API for shops' own systems: ``POST /api/v1/reviews`` with a shop token."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from tracker import runtime
from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import csrf, db
from tracker.models import Shop
from tracker.services import buyer_replies, calls
from tracker.services.api_tokens import shop_for_token
from tracker.services.pulls import request_pull
from tracker.services.pushes import receive_push
from tracker.sources import registry
from tracker.sources.contract import SourceError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # machine clients authenticate with a token, not a session


def _token() -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Tracker-Token", "").strip()


@bp.errorhandler(HTTPException)
def _json_error(exc: HTTPException) -> tuple[Response, int]:
    code = exc.code or 500
    return jsonify(error=exc.name, message=exc.description), code


@bp.route("/reviews", methods=["POST"])
def push_reviews() -> tuple[Response, int]:
    shop = shop_for_token(db.session, _token())
    if shop is None:
        return jsonify(
            error="unauthorized",
            message="a valid shop token is required (Authorization: Bearer <token>)",
        ), 401
    request.max_content_length = current_app.config["TRACKER_API_MAX_BYTES"]
    body = request.get_json(silent=True)  # 413 above the limit, None for broken JSON
    if body is None:
        return jsonify(
            error="bad_request",
            message="body must be JSON",
            errors=[{"index": None, "field": "", "message": "invalid JSON"}],
        ), 400
    config = current_app.config
    outcome = receive_push(
        db.session,
        shop,
        body,
        tz=local_zone(config),
        now=utcnow(),
        settings=runtime.settings(current_app, shop),
    )
    if outcome.result is None:
        return jsonify(
            error="bad_request",
            message="nothing was stored; fix these fields",
            errors=[p.as_dict() for p in outcome.problems],
        ), 400
    result = outcome.result
    return jsonify(
        received=result.received,
        new=result.new,
        revised=result.revised,
        unchanged=result.unchanged,
        cases_opened=result.cases_opened,
        cases_closed=result.cases_closed,
        set_aside=result.set_aside,  # kept aside with their error, listed under 数据源
    ), 200


EVENT_MAX_BYTES = 64 * 1024


@bp.route("/platform-events/<shop_code>", methods=["GET", "POST"])
def platform_event(shop_code: str) -> tuple[Response | str, int]:
    """Where a platform pushes news of reviews (set this URL in its console); a verified
    event makes the scheduler pull the shop at once."""
    shop = db.session.scalar(sa.select(Shop).where(Shop.code == shop_code))
    adapter = registry.for_platform(shop.platform) if shop is not None else None
    if shop is None or adapter is None or adapter.events is None:
        abort(404)
    try:
        found = runtime.shop_credentials(current_app, db.session, shop)
    except SourceError:
        found = None
    query = request.args.to_dict()
    if found is None or not adapter.events.verify(found.values, query):
        return jsonify(error="forbidden", message="signature does not match"), 403
    if request.method == "GET":  # the platform's URL check: its token echoed, as plain text
        return Response(adapter.events.handshake(query) or "", mimetype="text/plain"), 200
    request.max_content_length = EVENT_MAX_BYTES
    if adapter.events.wants_pull(request.get_data(), request.content_type or ""):
        request_pull(db.session, shop, now=utcnow())
    return Response("success", mimetype="text/plain"), 200


PUSHED_MAX_BYTES = 256 * 1024


def _pushed(shop_id: int, token: str, purpose: str) -> tuple[Shop, list[dict[str, Any]] | None]:
    """What a provider pushes to a shop's URL (call records, SMS replies): the shop, and the
    JSON list of records (one object is taken as a list of one; anything else: None). The
    provider signs nothing, so the token in the URL is the secret: a wrong one is a 404."""
    if not calls.token_matches(current_app.config["SECRET_KEY"], shop_id, token, purpose):
        abort(404)
    shop = db.session.get(Shop, shop_id) or abort(404)
    request.max_content_length = PUSHED_MAX_BYTES
    records = request.get_json(silent=True)
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return shop, None
    return shop, records


@bp.route("/call-records/<int:shop_id>/<token>", methods=["POST"])
def call_records(shop_id: int, token: str) -> tuple[Response, int]:
    """Where Aliyun 号码隐私保护 pushes its call records (set in its console, HTTP 推送);
    each one for a call placed from a case fills in its attempt."""
    shop, records = _pushed(shop_id, token, "axb-calls")
    if records is None:
        return jsonify(code=400, msg="expected a JSON list of call records"), 400
    updated = calls.record_reports(
        db.session,
        shop.id,
        records,
        now=utcnow(),
        hours=runtime.settings(current_app, shop).working_hours,
    )
    return jsonify(code=0, msg="成功", updated=updated), 200


@bp.route("/sms-replies/<int:shop_id>/<token>", methods=["POST"])
def sms_replies(shop_id: int, token: str) -> tuple[Response, int]:
    """Where Aliyun pushes buyers' replies to the shop's SMS (上行短信, HTTP 推送): a reply
    to a case's message lands on the case; R (拒收, TD, 退订) stops every further campaign
    message to that number."""
    shop, replies = _pushed(shop_id, token, "sms-replies")
    if replies is None:
        return jsonify(code=400, msg="expected a JSON list of replies"), 400
    taken = buyer_replies.take_in(
        db.session,
        shop.id,
        replies,
        now=utcnow(),
        hours=runtime.settings(current_app, shop).working_hours,
    )
    answer = {"unsubscribed": taken.unsubscribed, "on_cases": taken.on_cases}
    return jsonify(code=0, msg="成功", **answer), 200
