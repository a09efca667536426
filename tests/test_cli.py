from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import count
from tracker import runtime
from tracker.clock import utcnow
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
    # too few good ratings for the shop's own bands: said, and the model's stand
    assert "本店校准：好评不足 1,000 条" in first.output
    assert session.scalar(sa.select(Shop.sentiment_calibration)) is None

    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "保留现有数据" in again.output and "kefu1" in again.output
    assert (count(session, Order), count(session, Review)) == (orders, reviews)

    clash = runner.invoke(args=["demo", "--scale", "0.01"])
    assert clash.exit_code != 0 and "已存在" in clash.output
    assert count(session, Shop) == 1


def test_demo_with_a_sister_shop_shares_its_staff(app: Flask, session: Session) -> None:
    """The setup script's demo: the flagship and a smaller store of the brand, the same five
    people working both (the shop switcher and 各店对比 have something to show); the
    flagship opens first."""
    args = ["demo", "--if-empty", "--sister", "--scale", "0.02", "--end-date", "2026-11-23"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    shops = session.scalars(sa.select(Shop).order_by(Shop.name, Shop.id)).all()
    assert [s.code for s in shops] == ["demo", "demo-2"]
    orders = dict(
        session.execute(sa.select(Order.shop_id, sa.func.count()).group_by(Order.shop_id)).all()
    )
    assert orders[shops[0].id] > orders[shops[1].id] > 0
    kefu1 = session.scalar(sa.select(User).where(User.username == "kefu1"))
    assert kefu1 is not None and {s.code for s in kefu1.shops} == {"demo", "demo-2"}
    assert "已导入 晨光优选直营店" in result.output


def test_demo_shop_runs_on_its_own_bands(app: Flask, session: Session) -> None:
    """A demo large enough for the nightly calibration gets it at once, as it gets its
    segments: the 情感模型 page and intake show what a shop would run on."""
    result = app.test_cli_runner().invoke(
        args=["demo", "--scale", "0.05", "--end-date", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    calibration = session.scalar(sa.select(Shop.sentiment_calibration))
    assert calibration is not None and calibration["good_reviews"] >= 1000
    bands = runtime.score_bands(app, session.scalar(sa.select(Shop.id)), session=session)
    assert bands.case == pytest.approx(calibration["case"])
    assert (
        f"本店校准：低于 {bands.case:.3f} 开案件，低于 {bands.confirm:.3f} 进待确认"
        in result.output
    )


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
    # typed at the server by whoever runs it: not a password an admin handed over
    assert user.temporary_password_at is None


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
        assert "后台任务 work: 0 waiting (oldest none), 0 running" in ready.stdout


def test_check_reports_a_broker_that_does_not_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    from tracker import create_app
    from tracker.cli.ops import problems_and_warnings

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'check.db'}",
            "TRACKER_BROKER_URL": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        },
        instance_path=str(tmp_path),
    )
    with app.app_context():
        upgrade()
        problems, _ = problems_and_warnings()
    assert [p for p in problems if p.startswith("queue: the broker does not answer")]


@pytest.fixture
def limiter_kept() -> Iterator[None]:
    """The login limiter is one object per process, bound to the app made last. An app on
    a dead Redis leaves it counting in its in-memory fallback; once a later app hands it
    a working store it switches back at a moment of its own, and a later test's tries were
    counted half in each store (a throttling test in the same worker passed a 4th try at
    random). Put it back as it was."""
    from tracker.extensions import limiter

    kept = dict(vars(limiter))
    yield
    vars(limiter).clear()
    vars(limiter).update(kept)


@pytest.mark.usefixtures("limiter_kept")
def test_check_reports_a_redis_that_does_not_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tracker import create_app
    from tracker.cli.ops import problems_and_warnings

    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'check.db'}",
            "RATELIMIT_STORAGE_URI": dead,
            "CACHE_REDIS_URL": dead,
        },
        instance_path=str(tmp_path),
    )
    assert app.config["CACHE_TYPE"] == "RedisCache"  # a Redis URL shares the cache
    with app.app_context():
        problems, warnings = problems_and_warnings()
    # the tracker keeps working without its Redis (per-worker counts and caches): a warning
    assert not [p for p in problems if "Redis" in p]
    redis_warnings = [w for w in warnings if "Redis" in w]
    assert len(redis_warnings) == 2
    assert redis_warnings[0].startswith("TRACKER_RATELIMIT_STORAGE_URI")
    assert redis_warnings[1].startswith("TRACKER_CACHE_REDIS_URL")
    # and the pages that use both answer, for everyone
    from tracker.extensions import db
    from tracker.models import Shop, User
    from tracker.models.enums import Platform, Role

    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        shop = Shop(code="s1", name="店", platform=Platform.TMALL, created_at=utcnow())
        user = User(username="boss", display_name="主管", role=Role.SUPERVISOR, created_at=utcnow())
        user.shops = [shop]
        user.set_password("secret123")
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "boss", "password": "secret123"}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    assert client.get("/").status_code == 200
    assert client.get("/reports/").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_expire_personal_data_counts_then_erases_now(
    app: Flask,
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import timedelta

    from tests.factories import add_sale
    from tracker.models import Buyer

    shop, keeps_all = make_shop(code="old1"), make_shop(code="keeps")
    keeps_all.personal_data_retention_days = None
    add_sale(session, shop, at=utcnow() - timedelta(days=1200), key="a")  # with a number
    runner = app.test_cli_runner()
    result = runner.invoke(args=["expire-personal-data", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "old1：保存期限 1095 天，将删除 1 位买家的个人信息（未执行）" in result.output
    assert "keeps：不自动删除个人信息" in result.output
    assert session.scalar(sa.select(Buyer.personal_data_erased_at)) is None
    result = runner.invoke(args=["expire-personal-data", "--shop", "old1"])
    assert "已删除 1 位买家的个人信息（号码 1 个，记录中写到的 0 处）" in result.output
    session.expire_all()
    assert session.scalar(sa.select(Buyer.personal_data_erased_why)) == "retention"
    wrong = runner.invoke(args=["expire-personal-data", "--shop", "nope"])
    assert wrong.exit_code != 0 and "no shop 'nope'" in wrong.output
