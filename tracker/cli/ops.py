"""Operations: ``check`` finds configuration mistakes before the app starts serving and tries
each shop's platform credentials; key rotations; the retention period's erasure on demand."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from tracker.config import REDIS_SCHEMES
from tracker.extensions import db
from tracker.models import Shop


def problems_and_warnings() -> tuple[list[str], list[str]]:
    """What would stop the tracker working (problems) or weaken it (warnings). The app
    already refused to start on invalid settings; this checks what needs the outside world."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate

    config = current_app.config
    problems: list[str] = []
    warnings: list[str] = []
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        problems.append(f"database unreachable ({db.engine.url.render_as_string()}): {exc}")
        current = None
    schema_ready = False
    if current is not None:
        migrate: Migrate = current_app.extensions["migrate"].migrate
        heads = set(ScriptDirectory.from_config(migrate.get_config()).get_heads())
        schema_ready = current == heads
        if not schema_ready:
            problems.append(
                f"database schema at {sorted(current) or 'nothing'}, code expects {sorted(heads)}: "
                "run `flask --app tracker db upgrade`"
            )
    warnings += _redis_warnings(config)
    if schema_ready:
        problems += source_problems()
        queue_problems, queue_warnings = queue_report()
        problems += queue_problems
        warnings += queue_warnings
    production = config["TRACKER_ENV"] == "production"
    if not production:
        warnings.append("TRACKER_ENV is 'development': set it to 'production' on a server")
    if production and db.engine.url.get_backend_name() == "sqlite":
        warnings.append("SQLite in production: use PostgreSQL (DATABASE_URL)")
    if production and str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        warnings.append(
            "login throttling counts per worker (memory://); with several gunicorn workers "
            "set TRACKER_RATELIMIT_STORAGE_URI=redis://…"
        )
    if production and config["CACHE_TYPE"] == "SimpleCache":
        warnings.append(
            "report figures are cached per worker; set TRACKER_CACHE_REDIS_URL=redis://… "
            "to compute them once for all workers"
        )
    if production and not config["TRACKER_PROXY_HOPS"]:
        warnings.append("TRACKER_PROXY_HOPS=0: behind nginx set it to 1 (real client addresses)")
    if not config["TRACKER_SMTP_HOST"] and not config["TRACKER_WEBHOOK_URL"]:
        warnings.append("no e-mail or chat-robot alerts configured (in-app notifications only)")
    if config["TRACKER_BASE_URL"].startswith("http://127.0.0.1") and production:
        warnings.append("TRACKER_BASE_URL still points at 127.0.0.1: links in alerts won't work")
    return problems, warnings


def source_problems() -> list[str]:
    """Each active shop's platform credentials, tried with one cheap call."""
    from tracker import runtime
    from tracker.sources.contract import SourceError

    problems = []
    shops = list(db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))))
    connected_ids = runtime.pulled_shops(current_app, db.session, shops)  # one query for all
    for shop in shops:
        if shop.id not in connected_ids:
            continue
        try:
            connected = runtime.review_source(current_app, db.session, shop)
            if connected is not None:
                connected.source.check()
        except SourceError as exc:
            problems.append(f"shop {shop.code}: platform credentials refused ({exc})")
    return problems


def queue_report() -> tuple[list[str], list[str]]:
    """The broker answers, workers answer, nothing is parked and the queue keeps up."""
    from tracker.clock import utcnow
    from tracker.jobs import executor
    from tracker.services import background_work

    problems: list[str] = []
    warnings: list[str] = []
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    work = executor(app)
    if work.mode == "celery":
        depth = work.depth()
        if depth is None:
            problems.append(f"queue: the broker does not answer ({work.describe()})")
        else:
            answering = work.ping()
            if not answering:
                problems.append(
                    f"queue: {depth} tasks waiting and no Celery worker answers "
                    "(start: celery -A tracker.worker:celery worker …)"
                )
            click.echo(
                f"队列 queue: {work.describe()}, {depth} waiting, "
                f"{len(answering)} workers answering"
            )
    now = utcnow()
    state = background_work.health(db.session, now=now)
    db.session.rollback()
    warnings += [f"queue: {text}" for text in state.problems()]
    if state.late_pulls:
        warnings.append(f"queue: {state.late_pulls} shops' pulls are late (the queue is behind)")
    lag = f"{state.lag_seconds:.0f} s" if state.lag_seconds is not None else "none"
    click.echo(
        f"后台任务 work: {state.waiting} waiting (oldest {lag}), {state.running} running, "
        f"{len(state.workers)} workers seen in 3 min, {len(state.parked)} parked"
    )
    return problems, warnings


def _redis_warnings(config: Mapping[str, Any]) -> list[str]:
    """Throttling and the cache fail at the first request if their Redis is unreachable."""
    import redis

    problems = []
    for setting, url in (
        ("TRACKER_RATELIMIT_STORAGE_URI", str(config["RATELIMIT_STORAGE_URI"])),
        ("TRACKER_CACHE_REDIS_URL", str(config.get("CACHE_REDIS_URL") or "")),
    ):
        if not url.startswith(REDIS_SCHEMES):
            continue
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
                client.ping()
        except redis.RedisError as exc:
            problems.append(
                f"{setting}: Redis at {url} does not answer ({exc}); the tracker keeps "
                "working with per-worker login counts and caches until it is back"
            )
    return problems


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Check settings, database and schema; exit 1 if the tracker cannot run."""
    problems, warnings = problems_and_warnings()
    for warning in warnings:
        click.echo(f"警告 warning: {warning}")
    for problem in problems:
        click.echo(f"错误 problem: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("配置检查通过 (configuration OK)")


@click.command("rotate-credentials")
@with_appcontext
def rotate_credentials_command() -> None:
    """Seal every stored platform credential again with the first TRACKER_CREDENTIALS_KEY
    (after putting a new key in front of the old one); then the old key can be removed."""
    from tracker import runtime
    from tracker.sealing import SealError
    from tracker.services import source_credentials

    try:
        count = source_credentials.reseal_all(db.session, sealer=runtime.sealer(current_app))
    except SealError as exc:
        raise click.ClickException(f"无法解密已保存的凭据：{exc}（旧密钥仍须在列表中）") from exc
    click.echo(f"已用新密钥重新加密 {count} 个店铺的凭据。")


@click.command("rotate-personal-data")
@with_appcontext
def rotate_personal_data_command() -> None:
    """Seal every stored phone number (buyers' and agents') and buyers' names, addresses
    and birthdays again with the first TRACKER_PERSONAL_DATA_KEY, fingerprints included;
    then the old key can be removed."""
    from tracker.sealing import SealError
    from tracker.services import contact_handles

    try:
        numbers, profiles = contact_handles.reseal_all(db.session)
    except SealError as exc:
        raise click.ClickException(
            f"无法解密已保存的个人信息：{exc}（旧密钥仍须在列表中）"
        ) from exc
    click.echo(f"已用新密钥重新加密 {numbers} 个号码、{profiles} 位买家的姓名地址。")


@click.command("expire-personal-data")
@with_appcontext
@click.option("--shop", "shop_code", help="Only this shop (default: every active shop).")
@click.option("--dry-run", is_flag=True, help="Count who would go; erase nothing.")
def expire_personal_data_command(shop_code: str | None, dry_run: bool) -> None:
    """Now, what the nightly run does: erase the personal data of buyers past their shop's
    retention period (数据源 → 工作时间与时限), each logged as 系统 in the access log."""
    from tracker.cli.intake import shop_by_code
    from tracker.clock import utcnow
    from tracker.services import retention

    if shop_code:
        shops = [shop_by_code(shop_code)]
    else:
        shops = list(db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))))
    for shop in shops:
        days = shop.personal_data_retention_days
        if days is None:
            click.echo(f"{shop.code}：不自动删除个人信息（未设保存期限）")
            continue
        now = utcnow()
        if dry_run:
            due = retention.due(db.session, shop, now)
            click.echo(f"{shop.code}：保存期限 {days} 天，将删除 {due} 位买家的个人信息（未执行）")
            continue
        done = retention.expire(db.session, shop, now=now)
        click.echo(
            f"{shop.code}：保存期限 {days} 天，已删除 {done.buyers} 位买家的个人信息"
            f"（号码 {done.numbers} 个，记录中写到的 {done.notes} 处）"
        )
