"""Jinja filters: local time, money, masked phones."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app

from tracker.clock import to_local
from tracker.domain.privacy import mask_phone


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value, current_app.config["TRACKER_TIMEZONE"]).strftime(fmt)


def money(value: Decimal | float | None) -> str:
    if value is None:
        return ""
    return f"¥{Decimal(value):,.2f}"


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(money, "money")
    app.add_template_filter(mask_phone, "mask_phone")
