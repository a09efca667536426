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
    def load_user(session_id: str) -> User | None:
        """``<user id>.<generation>`` (User.get_id): a session or remember cookie of an
        earlier generation (before a logout, a password reset, "sign out everywhere") is
        void; so is any older form."""
        user_id, _, generation = session_id.partition(".")
        if not (user_id.isdigit() and generation.isdigit()) or len(user_id) > 18:
            return None
        # With the user's shops in the same query: every page's navigation bar lists them.
        user = db.session.get(User, int(user_id), options=[joinedload(User.shops)])
        if user is None or not user.is_active or user.session_generation != int(generation):
            return None
        return user
