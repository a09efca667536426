"""Member levels pushed to the platform's member API (淘宝 店铺会员管理): the shop's level
rules first, then every buyer whose computed level the platform has not confirmed yet.

Only what the platform accepted is recorded as its level; a buyer it turned down keeps
the reason. A run commits every batch, so one cut short (a rate limit, a dead worker, a
timeout) continues where it stopped; setting a level twice changes nothing, so a batch
repeated after a crash is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Buyer, BuyerSegment, Shop, User
from tracker.services.audit import record_shop_change
from tracker.services.errors import FieldError
from tracker.services.segments import levels_of
from tracker.services.transaction import transaction
from tracker.sources.contract import (
    Adapter,
    Capability,
    PlatformMember,
    RateLimited,
    Refused,
    SourceError,
    SyncsMemberLevels,
)

BATCH = 50  # buyers a transaction (and between lease renewals)


STORED = ("rules", "confirmed", "refused", "unreachable", "waiting", "error")  # on the shop


@dataclass(frozen=True)
class SyncReport:
    rules: str  # "pushed", "unchanged", "failed"; "not-started" (no usable member API)
    confirmed: int  # buyers whose level the platform accepted in this run
    refused: int  # buyers it turned down (each keeps why)
    unreachable: int  # masked nick and no OUID: the platform cannot be asked about them
    waiting: int  # still to push when the run stopped early
    error: str | None = None
    throttled: RateLimited | None = None

    def to_dict(self, at: datetime) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STORED} | {"at": at.isoformat()}


def set_enabled(
    session: Session, shop: Shop, on: bool, *, adapter: Adapter | None, actor: User, now: datetime
) -> None:
    """Turn syncing on or off (audited); on asks for a run at once."""
    if on and (adapter is None or Capability.SYNC_LEVELS not in adapter.capabilities):
        raise FieldError("level_sync", "本店的平台接口不提供会员等级同步；请用“导出会员等级”导入。")
    levels = levels_of(shop)
    if on and not levels.thresholds:
        raise FieldError("level_sync", "请先设置会员等级门槛。")
    refusal = adapter.level_refusal(levels) if on and adapter is not None else None
    if refusal is not None:
        raise FieldError("level_sync", f"{refusal}，请先在上面的会员等级里补上。")
    with transaction(session):
        record_shop_change(
            session,
            shop.id,
            now=now,
            actor_id=actor.id,
            field="level_sync",
            old=shop.level_sync,
            new=on,
        )
        shop.level_sync = on
        shop.level_sync_requested_at = now if on else None


def request(session: Session, shop: Shop, *, now: datetime) -> None:
    with transaction(session):
        shop.level_sync_requested_at = now


def unreachable(member: PlatformMember) -> bool:
    """A masked nick (t**1) names nobody to the platform; without an OUID we cannot ask."""
    return not member.ouid and (not member.nick or "*" in member.nick)


# The platform has confirmed the buyer's current level (NULL-safe: never confirmed is not).
CONFIRMED = sa.and_(Buyer.platform_grade.is_not(None), Buyer.platform_grade == BuyerSegment.level)


def _members(shop: Shop, *columns: Any) -> sa.Select[Any]:
    """``columns`` of the shop's buyers at level 1–4: the ones the member API can set."""
    return (
        sa.select(*columns)
        .select_from(Buyer)
        .join(BuyerSegment, BuyerSegment.buyer_id == Buyer.id)
        .where(BuyerSegment.shop_id == shop.id, BuyerSegment.level >= 1)
    )


def _to_push(session: Session, shop: Shop) -> list[tuple[int, str, str | None, int]]:
    """Buyers at level 1–4 whose level the platform has not confirmed: new ones first, the
    ones it turned down before last (so a run continued after a rate limit gets on)."""
    return [
        (buyer_id, nick, ouid, level)
        for buyer_id, nick, ouid, level in session.execute(
            _members(
                shop, Buyer.id, Buyer.platform_nick, Buyer.platform_buyer_id, BuyerSegment.level
            )
            .where(sa.not_(CONFIRMED))
            .order_by(Buyer.platform_grade_error.is_not(None), BuyerSegment.level.desc(), Buyer.id)
        )
    ]


def sync(
    session: Session,
    shop: Shop,
    syncer: SyncsMemberLevels,
    *,
    now: datetime,
    clock: Callable[[], datetime],
    renew: Callable[[], object] | None = None,
) -> SyncReport:
    """One run: the rules where they changed, then each buyer still to confirm. Stops at
    the first failure of the call itself (kept for the next run); a buyer's own refusal
    is recorded on the buyer and the run goes on."""
    levels = levels_of(shop)
    rules = "unchanged"
    if levels.to_dict() != shop.level_rules_synced:
        try:
            syncer.set_level_rules(levels)
        except SourceError as exc:
            session.rollback()
            return _finish(session, shop, now, SyncReport(
                "failed", 0, 0, 0, len(_to_push(session, shop)),
                error=f"等级规则未被平台接受 {exc.code}: {exc.message}",
                throttled=exc if isinstance(exc, RateLimited) else None,
            ))  # fmt: skip
        with transaction(session):
            shop.level_rules_synced = levels.to_dict()
        rules = "pushed"
    pending = _to_push(session, shop)
    session.rollback()  # no transaction stays open while the platform is called
    confirmed = refused = unreachable_count = done = 0
    error: str | None = None
    throttled: RateLimited | None = None
    for start in range(0, len(pending), BATCH):
        answers: list[tuple[int, int, str | None]] = []  # (buyer, level, refusal or None)
        for buyer_id, nick, ouid, level in pending[start : start + BATCH]:
            member = PlatformMember(nick, ouid)
            if unreachable(member):
                unreachable_count += 1
                done += 1
                continue
            try:
                syncer.set_member_level(member, level)
            except Refused as exc:
                answers.append((buyer_id, level, f"{exc.code}: {exc.message}"[:500]))
                refused += 1
            except SourceError as exc:  # the call failed: stop, keep what went through
                error = f"{exc.code}: {exc.message}"
                throttled = exc if isinstance(exc, RateLimited) else None
                break
            else:
                answers.append((buyer_id, level, None))
                confirmed += 1
            done += 1
        _record(session, answers, at=clock())
        if error is not None:
            break
        if renew is not None:
            renew()
    report = SyncReport(
        rules,
        confirmed,
        refused,
        unreachable_count,
        len(pending) - done,
        error=error,
        throttled=throttled,
    )
    return _finish(session, shop, now, report)


def _record(session: Session, answers: list[tuple[int, int, str | None]], *, at: datetime) -> None:
    """One batch's answers in one short transaction (a crash before it only means the
    batch is sent again: setting a level twice changes nothing)."""
    with transaction(session):
        for buyer_id, level, refusal in answers:
            buyer = session.get(Buyer, buyer_id)
            if buyer is None:  # deleted meanwhile
                continue
            if refusal is None:
                buyer.platform_grade, buyer.platform_grade_at = level, at
            buyer.platform_grade_error = refusal


def _finish(session: Session, shop: Shop, now: datetime, report: SyncReport) -> SyncReport:
    with transaction(session):
        shop.level_sync_report = report.to_dict(now)
        if report.error is None:
            shop.level_synced_at = now
            shop.level_sync_requested_at = None
    return report


def last_run(shop: Shop) -> tuple[datetime, SyncReport] | None:
    """The last run's report as stored on the shop, and when it ran."""
    stored = shop.level_sync_report
    if not stored:
        return None
    return datetime.fromisoformat(stored["at"]), SyncReport(**{k: stored.get(k) for k in STORED})


def record_unusable(session: Session, shop: Shop, *, now: datetime, error: str) -> None:
    """The run could not start (credentials unusable, no member API): say so on the page."""
    _finish(session, shop, now, SyncReport("not-started", 0, 0, 0, 0, error=error))


@dataclass(frozen=True)
class SyncState:
    confirmed: int  # buyers whose current level the platform confirmed
    pending: int  # level 1–4 and not confirmed yet
    refused: int  # of those, turned down by the platform last time


def state(session: Session, shop: Shop) -> SyncState:
    row = session.execute(
        _members(
            shop,
            sa.func.count().filter(CONFIRMED),
            sa.func.count().filter(sa.not_(CONFIRMED)),
            sa.func.count().filter(sa.not_(CONFIRMED), Buyer.platform_grade_error.is_not(None)),
        )
    ).one()
    return SyncState(int(row[0]), int(row[1]), int(row[2]))


def refused_examples(session: Session, shop: Shop, limit: int = 5) -> list[tuple[int, str, str]]:
    """A few buyers the platform turned down, with why: (buyer id, nick, reason)."""
    rows = session.execute(
        _members(shop, Buyer.id, Buyer.platform_nick, Buyer.platform_grade_error)
        .where(Buyer.platform_grade_error.is_not(None))
        .order_by(Buyer.id)
        .limit(limit)
    )
    return [(i, nick, error or "") for i, nick, error in rows]
