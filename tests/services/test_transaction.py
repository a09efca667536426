"""The one transaction helper: all of a command's writes, or none of them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tracker.models import Shop
from tracker.services.transaction import ChangedMeanwhile, transaction


def test_commits_the_block_or_rolls_all_of_it_back(session: Session, shop: Shop) -> None:
    with transaction(session):
        shop.name = "改名一次"
    with pytest.raises(RuntimeError), transaction(session):
        shop.name = "改名两次"
        shop.pull_interval_minutes = 99
        session.flush()
        raise RuntimeError("half-way")
    stored = session.execute(
        sa.select(Shop.name, Shop.pull_interval_minutes).where(Shop.id == shop.id)
    ).one()
    assert tuple(stored) == ("改名一次", 10)


def test_a_stale_version_becomes_changed_meanwhile(session: Session, shop: Shop) -> None:
    with pytest.raises(ChangedMeanwhile), transaction(session):
        shop.name = "被别人先改了"
        raise StaleDataError("UPDATE statement on table 'cases' expected to update 1 row")
    assert session.scalar(sa.select(Shop.name).where(Shop.id == shop.id)) != "被别人先改了"
