"""Recommendations from the command line: build the model now, count conversions."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from tracker.cli.limits import job_limits
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import Shop
from tracker.services import recommendations


@click.group("recommend")
def recommend_group() -> None:
    """Build the recommender and count conversions (the scheduler does both by itself)."""


@recommend_group.command("build")
@with_appcontext
@click.option("--shop", "shop_code", help="Shop code; default: every active shop.")
@job_limits
def build_command(shop_code: str | None) -> None:
    """Build the recommender model from all order lines and store it."""
    query = sa.select(Shop).order_by(Shop.id)
    query = query.where(Shop.code == shop_code) if shop_code else query.where(Shop.is_active)
    shops = list(db.session.scalars(query))
    if shop_code and not shops:
        raise click.BadParameter(f"unknown shop code: {shop_code}", param_hint="--shop")
    for shop in shops:
        stored = recommendations.build_model(db.session, shop, now=utcnow())
        click.echo(
            f"{shop.code}: 订单行 {stored.order_lines}，商品 {stored.products}，"
            f"用时 {stored.build_seconds} 秒"
        )


@recommend_group.command("conversions")
@with_appcontext
@job_limits
def conversions_command() -> None:
    """Count orders of suggested products placed within 30 days after the call."""
    click.echo(f"新增转化 {recommendations.record_conversions(db.session, now=utcnow())} 个")
