from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import count
from tracker.models import Order, Review, Shop, User
from tracker.models.enums import Role


def test_demo_if_empty_loads_once_and_keeps_data(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    args = ["demo", "--if-empty", "--scale", "0.01", "--end-date", "2026-11-23"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "kefu1" in first.output and "demo1234" in first.output
    orders, reviews = count(session, Order), count(session, Review)
    assert orders == 400

    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "保留现有数据" in again.output and "kefu1" in again.output
    assert (count(session, Order), count(session, Review)) == (orders, reviews)

    clash = runner.invoke(args=["demo", "--scale", "0.01"])
    assert clash.exit_code != 0 and "已存在" in clash.output
    assert count(session, Shop) == 1


def test_create_user_command(app: Flask, session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    make_shop(code="tm1")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "lead",
            "--name",
            "组长",
            "--role",
            "supervisor",
            "--shop",
            "tm1",
            "--password",
            "abc12345",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(sa.select(User).where(User.username == "lead"))
    assert user is not None and user.role is Role.SUPERVISOR
    assert [s.code for s in user.shops] == ["tm1"]


def test_create_user_command_reports_bad_input(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    before = count(session, User)
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "xyz1",
            "--name",
            "甲",
            "--role",
            "agent",
            "--shop",
            "nope",
            "--password",
            "abc12345",
        ]
    )
    assert result.exit_code == 2 and "unknown shop code(s): nope" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "xyz1",
            "--name",
            "甲",
            "--role",
            "agent",
            "--password",
            "short",
        ]
    )
    assert result.exit_code == 2 and "--password" in result.output and "8" in result.output
    assert count(session, User) == before


def test_check_finds_an_unmigrated_database_and_passes_a_ready_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from tests.databases import fresh_database
    from tracker import PROJECT_ROOT

    def check(url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tracker", "check"],
            cwd=PROJECT_ROOT,
            env=os.environ | {"DATABASE_URL": url, "TRACKER_ENV": "development"},
            capture_output=True,
            text=True,
            timeout=120,
        )

    with fresh_database(tmp_path) as url:
        empty = check(url)
        assert empty.returncode == 1 and "flask --app tracker db upgrade" in empty.stderr
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tracker", "db", "upgrade"],
            cwd=PROJECT_ROOT,
            env=os.environ | {"DATABASE_URL": url},
            capture_output=True,
            check=True,
            timeout=120,
        )
        ready = check(url)
        assert ready.returncode == 0, ready.stderr
        assert "configuration OK" in ready.stdout and "TRACKER_ENV" in ready.stdout  # a warning
