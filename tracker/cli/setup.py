"""Setting up: the demo shop and staff accounts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from tracker.cli.limits import job_limits
from tracker.clock import to_local, utcnow
from tracker.database import analyze_after_bulk_load
from tracker.extensions import db
from tracker.models import Shop, User
from tracker.models.enums import Role
from tracker.services.accounts import UserDraft, create_user
from tracker.services.errors import FieldError


@click.command("demo")
@with_appcontext
@click.option("--seed", default=2026, show_default=True, help="Random seed: same seed, same shop.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Multiply buyers and orders (10 for benchmarks).",
)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last day + 1 of the generated year (default: today, Beijing time).",
)
@click.option("--code", default="demo", show_default=True, help="Shop code of the demo shop.")
@click.option("--name", default="晨光优选旗舰店", show_default=True)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the database already has a shop (used by the setup script).",
)
@click.option(
    "--sister",
    is_flag=True,
    help="Also a second, smaller shop of the brand with the same staff (各店对比, 切换店铺).",
)
@job_limits
def demo_command(
    seed: int, scale: float, end_date: object, code: str, name: str, if_empty: bool, sister: bool
) -> None:
    """Generate and load a realistic demo shop (deterministic for a seed and end date)."""
    from tracker.demo.generator import as_of
    from tracker.demo.loader import DEMO_PASSWORD, DEMO_STAFF, shop_exists

    if if_empty and db.session.scalar(sa.select(sa.func.count(Shop.id))):
        click.echo("数据库中已有店铺，保留现有数据，不导入演示数据。")
        _print_demo_logins(DEMO_STAFF, DEMO_PASSWORD)
        return
    shops = [(code, name, seed, scale)]
    if sister:
        shops.append((f"{code}-2", SISTER_NAME, seed + 1, scale * SISTER_SCALE))
    for shop_code, _, _, _ in shops:
        if shop_exists(db.session, shop_code):
            raise click.ClickException(
                f"店铺 {shop_code} 已存在，演示数据不会重复导入（换一个 --code）。"
            )
    if hasattr(end_date, "date"):
        # a shop as of that day: triage, the month's work, models and segments all stand on
        # its first moment, so the same seed and date give the same shop whenever loaded
        end = end_date.date()
        now = as_of(end)
    else:
        now = utcnow()
        end = to_local(now, "Asia/Shanghai").date()
    for shop_code, shop_name, shop_seed, shop_scale in shops:
        _load_demo_shop(shop_code, shop_name, shop_seed, shop_scale, end, now)
    # every table the month of work and the segments wrote: the board's plans need fresh
    # statistics (the loader refreshed those it filled, for the steps in between)
    analyze_after_bulk_load(db.session, None)
    _print_demo_logins(DEMO_STAFF, DEMO_PASSWORD)


SISTER_NAME = "晨光优选直营店"  # sorts after the flagship: the flagship opens first
SISTER_SCALE = 0.3  # a smaller store of the same brand


def _load_demo_shop(
    code: str, name: str, seed: int, scale: float, end: date, now: datetime
) -> None:
    """One demo shop, as a month of use would leave it."""
    from tracker.demo.generator import generate
    from tracker.demo.loader import DemoExists, load_demo

    click.echo(f"生成演示店铺 {code}（seed={seed}, scale={scale:g}, 截至 {end}）...")
    shop = generate(seed=seed, scale=scale, end=end)
    try:
        summary = load_demo(db.session, shop, code=code, name=name, now=now)
    except DemoExists as exc:
        raise click.ClickException(str(exc)) from exc
    _run_demo_campaign(code, now, seed)  # 40 days back: before the month's cases exist
    _triage_demo(code, now)
    _build_demo_recommender(code, now)
    _work_demo_cases(code, now, seed, summary.hidden_negatives)
    _survey_demo_buyers(code, now, seed)
    _calibrate_demo(code, now)  # as the last night did, staff's 待确认 decisions included
    _segment_demo(code, now)
    click.echo(
        f"已导入 {name}：商品 {summary.products}，买家 {summary.buyers}，订单 {summary.orders}，"
        f"订单行 {summary.order_lines}，评价 {summary.reviews}（修改记录 {summary.revisions}）。"
    )


def _triage_demo(code: str, now: datetime) -> None:
    """Score the demo's history and open cases where buyers can still revise, as intake
    would have done had it pulled these reviews live."""
    from flask import current_app

    from tracker import runtime
    from tracker.services.intake import score_pending

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    result = score_pending(
        db.session,
        shop,
        scorer=runtime.scorer(current_app, shop),
        now=now,
        settings=runtime.settings(current_app, shop),
        limit=None,
    )
    db.session.commit()
    click.echo(f"情感评分 {result.scored} 条，为 30 天内的中差评开案 {result.cases_opened} 个。")


def _calibrate_demo(code: str, now: datetime) -> None:
    """The demo's own score bands at once, as the first night's calibration would set
    them (a real shop waits for 03:30 or 立即训练): the demo shows what a shop runs on."""
    from flask import current_app

    from tracker.domain.triage import CALIBRATION_MIN_REVIEWS
    from tracker.jobs import calibrate_shop

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    calibrated = calibrate_shop(current_app, shop, now=now)
    if calibrated is None:  # scored by snownlp's own model: nothing to calibrate
        return
    if calibrated.bands is None:
        click.echo(f"本店校准：好评不足 {CALIBRATION_MIN_REVIEWS:,} 条，沿用模型自带的分数线。")
        return
    bands = calibrated.bands
    click.echo(f"本店校准：低于 {bands.case:.3f} 开案件，低于 {bands.confirm:.3f} 进待确认。")
    if calibrated.opened:
        click.echo(f"待确认中 {calibrated.opened} 条评价低于新的开案线，已开案件。")


def _build_demo_recommender(code: str, now: datetime) -> None:
    from tracker.services.recommendations import build_model

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    stored = build_model(db.session, shop, now=now)
    click.echo(f"推荐模型已构建：{stored.products} 个商品，用时 {stored.build_seconds} 秒。")


def _run_demo_campaign(code: str, now: datetime, seed: int) -> None:
    """A reactivation campaign in the demo's past, with its measured uplift."""
    from flask import current_app

    from tracker.config import local_zone
    from tracker.demo.campaign import DAYS_AGO, run_campaign

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    ran = run_campaign(db.session, shop, now=now, tz=local_zone(current_app.config), seed=seed)
    if ran is not None:
        click.echo(
            f"客户运营活动（{DAYS_AGO} 天前）：沉睡客户入选 {ran.chosen} 人，"
            f"发送 {ran.sent}、对照 {ran.control}，收到短信后下单 {ran.came_back} 人。"
        )


def _segment_demo(code: str, now: datetime) -> None:
    """The demo's buyers segmented at once (a real shop waits for the nightly run)."""
    from tracker.services.segments import recompute

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    click.echo(f"客户分层已计算：{recompute(db.session, shop, now=now)} 位买家。")


def _work_demo_cases(code: str, now: datetime, seed: int, hidden: frozenset[int]) -> None:
    from flask import current_app

    from tracker import runtime
    from tracker.demo.history import simulate
    from tracker.services.recommendations import record_conversions

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    settings = runtime.settings(current_app, shop)
    work = simulate(
        db.session, shop.id, now=now, settings=settings, seed=seed, hidden_negatives=hidden
    )
    converted = record_conversions(db.session, now=now, shop_id=shop.id)
    click.echo(
        f"模拟了一个月的售后工作：待确认判为差评 {work.confirmed} 条、误报 {work.dismissed} 条，"
        f"模型漏判、客服在评价里发现 {work.found} 条，"
        f"处理案件 {work.worked} 个，联系 {work.attempts} 次，"
        f"挽回 {work.recovered} 个，未挽回 {work.unrecovered} 个，推荐转化 {converted} 个。"
    )


def _survey_demo_buyers(code: str, now: datetime, seed: int) -> None:
    """满意度回访 through the simulated month, as the scheduler would have sent them."""
    from flask import current_app

    from tracker.config import local_zone
    from tracker.demo.surveys import run_surveys

    shop = db.session.scalar(sa.select(Shop).where(Shop.code == code))
    assert shop is not None
    done = run_surveys(
        db.session,
        shop,
        start=now - timedelta(days=30),
        now=now,
        tz=local_zone(current_app.config),
        seed=seed,
        secret_key=current_app.config["SECRET_KEY"],
        base_url=current_app.config["TRACKER_BASE_URL"],
    )
    if done is not None and done.sent:
        average = f"，平均 {done.average:.1f} 分" if done.average is not None else ""
        click.echo(f"满意度回访：结案后发出 {done.sent} 条，买家答复 {done.answered} 条{average}。")


def _print_demo_logins(staff: tuple[tuple[str, str, Role], ...], password: str) -> None:
    existing = set(
        db.session.scalars(sa.select(User.username).where(User.username.in_([s[0] for s in staff])))
    )
    if not existing:
        return
    click.echo(f"演示登录（密码 {password}，除非已修改）：")
    for username, display_name, role in staff:
        if username in existing:
            click.echo(f"  {role.label}（{display_name}）：{username}")


@click.command("create-user")
@with_appcontext
@click.option("--username", prompt="用户名")
@click.option("--name", "display_name", prompt="姓名")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    prompt="角色",
    default=Role.AGENT.value,
    show_default=True,
)
@click.option("--shop", "shop_codes", multiple=True, help="Shop code; repeat for several.")
@click.password_option("--password", prompt="密码", confirmation_prompt=True)
def create_user_command(
    username: str, display_name: str, role: str, shop_codes: tuple[str, ...], password: str
) -> None:
    """Create a staff account (agent, supervisor or admin)."""
    shops = list(db.session.scalars(sa.select(Shop).where(Shop.code.in_(shop_codes))))
    missing = sorted(set(shop_codes) - {s.code for s in shops})
    if missing:
        raise click.BadParameter(f"unknown shop code(s): {', '.join(missing)}", param_hint="--shop")
    draft = UserDraft(
        username=username,
        display_name=display_name,
        role=Role(role),
        shop_ids=frozenset(s.id for s in shops),
        password=password,
    )
    try:
        user = create_user(db.session, draft, actor_id=None, now=utcnow())
    except FieldError as exc:
        raise click.BadParameter(
            exc.message, param_hint=f"--{exc.field.replace('_', '-')}"
        ) from exc
    click.echo(f"已创建 {user.role.label} {user.username}。")
