"""Flask-Login wiring: load the user behind a session cookie."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import joinedload

from tracker.extensions import db, login_manager
from tracker.models import User


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    # A stolen cookie from another browser/network is refused.
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # With the user's shops in the same query: every page's navigation bar lists them.
        user = (
            db.session.get(User, int(user_id), options=[joinedload(User.shops)])
            if user_id.isdigit()
            else None
        )
        return user if user is not None and user.is_active else None
