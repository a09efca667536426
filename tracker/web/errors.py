"""Error pages in the app's own layout."""

from __future__ import annotations

from flask import Flask, render_template
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
}


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        title, message = MESSAGES.get(code, (exc.name, exc.description or ""))
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(500)
    def server_error(_exc: Exception) -> tuple[str, int]:
        db.session.rollback()  # nothing half-written survives an error
        title, message = MESSAGES[500]
        return render_template("errors/error.html", code=500, title=title, message=message), 500
