"""Error pages in the app's own layout."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from tracker.extensions import db

MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回重试。"),
    403: ("无权访问", "您的账号没有访问此页面的权限。如需开通，请联系店铺管理员。"),
    404: ("页面不存在", "您要找的页面不存在或已被删除。"),
    405: ("操作不允许", "此页面不支持该操作。"),
    413: ("内容过大", "上传的内容超过了允许的大小。"),
    429: ("操作太频繁", "短时间内尝试次数过多，请一分钟后再试。"),
    500: ("系统出错了", "服务器处理时出错，已记录。请稍后重试；如持续出现，请联系管理员。"),
    503: ("数据库暂时无法响应", "刚才的操作没有保存。请稍等片刻后刷新页面重试。"),
}
STALE_FORM = (
    "这个页面的安全校验已失效（可能已在别处退出或重新登录）。刚才提交的内容没有保存，"
    "请刷新页面后重新填写提交。"
)
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        title, message = MESSAGES.get(code, (exc.name, exc.description or ""))
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def stale_form(_exc: CSRFError) -> tuple[str, int]:
        """A form whose token no longer matches the session (signed out or in again in
        another tab, the session cookie gone): going back and sending it again fails the
        same way, so say to reload."""
        return render_template(
            "errors/error.html", code=400, title="页面已过期", message=STALE_FORM
        ), 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(IntegrityError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc: DBAPIError | PoolTimeout) -> tuple[object, int, dict[str, str]]:
        """The database went away (restart, failover), a query stalled or waited too long
        for a lock (statement and lock timeouts), or no connection was free in time: say so,
        quickly, and keep nothing.

        The pool's pre-ping replaces the dead connections on the next request, so no
        restart of the app is needed.
        """
        if isinstance(exc, IntegrityError):  # a conflict left after the service's retries
            log.error("conflict after retries: %s", exc.orig)
        else:
            log.warning("database unavailable: %s", getattr(exc, "orig", exc))
        # a dead connection cannot roll back: the teardown's close hands it in to be discarded
        with contextlib.suppress(DBAPIError):
            db.session.rollback()
        retry = {"Retry-After": "10"}
        if request.blueprint == "api":  # machine clients: nothing stored, retry the batch
            body = jsonify(error="unavailable", message="database unavailable; nothing stored")
            return body, 503, retry
        # rendered without the context processors: they read the signed-in user and the
        # navigation from the very database that is down
        title, message = MESSAGES[503]
        template = current_app.jinja_env.get_template("errors/unavailable.html")
        return template.render(code=503, title=title, message=message), 503, retry

    @app.errorhandler(500)
    def server_error(_exc: Exception) -> tuple[str, int]:
        db.session.rollback()  # nothing half-written survives an error
        title, message = MESSAGES[500]
        return render_template("errors/error.html", code=500, title=title, message=message), 500
