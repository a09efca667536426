"""The push API for shops' own systems: ``POST /api/v1/reviews`` with a shop token."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from tracker.clock import utcnow
from tracker.extensions import csrf, db
from tracker.services.api_tokens import shop_for_token
from tracker.services.intake import ingest
from tracker.services.pulls import record_run
from tracker.services.shop_settings import intake_settings
from tracker.sources.push import parse_batch

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
    records, problems = parse_batch(body, ZoneInfo(config["TRACKER_TIMEZONE"]))
    if problems:
        return jsonify(
            error="bad_request",
            message="nothing was stored; fix these fields",
            errors=[p.as_dict() for p in problems],
        ), 400
    now = utcnow()
    settings = intake_settings(
        shop,
        timezone=config["TRACKER_TIMEZONE"],
        hidden_negative_threshold=config["TRACKER_HIDDEN_NEGATIVE_THRESHOLD"],
    )
    result = ingest(db.session, shop, records, now=now, scorer=None, settings=settings)
    record_run(db.session, shop, source="push", now=now, result=result)
    db.session.commit()
    return jsonify(
        received=result.received,
        new=result.new,
        revised=result.revised,
        unchanged=result.unchanged,
        cases_opened=result.cases_opened,
        cases_closed=result.cases_closed,
    ), 200
