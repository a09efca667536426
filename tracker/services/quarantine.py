"""One bad review never stops a shop's intake: it is set aside with its error, the rest of
its batch is stored, and an admin can retry it from 数据源.

A record is set aside when it breaks the limits the tables keep (a key or name too long, a
price out of range, a date in the future), or when the database still refuses it. Failures
that say nothing about the record (the database down, a lock wait, a unique race) are not
the record's fault: they are raised, and the whole batch is tried again later.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.clock import FUTURE_SLACK
from tracker.database import lock_shop_intake
from tracker.models import QuarantinedRecord, Shop
from tracker.models.enums import Rating
from tracker.sentiment import Scorer
from tracker.services.intake import IntakeResult, IntakeSettings, ingest
from tracker.services.transaction import transaction
from tracker.sources.records import ReviewRecord

log = logging.getLogger(__name__)

# The widths of the columns a record fills (tracker.models): checked before the database.
LIMITS = {"platform_key": 100, "buyer_nick": 64, "tid": 64, "oid": 64, "item_id": 64}
MAX_PRICE = Decimal("9999999999.99")  # Numeric(12, 2)

# Errors that belong to the record: the database refused its values.
RECORD_ERRORS = (sa.exc.DataError, sa.exc.StatementError, ValueError, UnicodeError)
NOT_THE_RECORD = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.IntegrityError)


def record_problem(record: ReviewRecord, *, now: datetime) -> str | None:
    """Why the record cannot be stored as it is, or None."""
    for name, limit in LIMITS.items():
        value = getattr(record, name)
        if value is not None and len(value) > limit:
            return f"{name} 超过 {limit} 个字符（{len(value)}）"
    if not record.buyer_nick:
        return "buyer_nick 为空"
    if record.item_price is not None and not -MAX_PRICE <= record.item_price <= MAX_PRICE:
        return f"item_price {record.item_price} 超出范围"
    for name in ("posted_at", "follow_up_at"):
        moment = getattr(record, name)
        if moment is not None and moment > now + FUTURE_SLACK:
            return f"{name} {moment.isoformat()} 在未来"
    return None


def to_json(record: ReviewRecord) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Decimal | Rating):
            return str(value)
        return value

    return json.dumps(
        {k: plain(v) for k, v in dataclasses.asdict(record).items()}, ensure_ascii=False
    )


def from_json(payload: str) -> ReviewRecord:
    data = json.loads(payload)
    for name in ("posted_at", "follow_up_at"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    if data.get("item_price") is not None:
        data["item_price"] = Decimal(data["item_price"])
    data["rating"] = Rating(data["rating"])
    return ReviewRecord(**data)


def ingest_guarded(
    session: Session,
    shop: Shop,
    records: Iterable[ReviewRecord],
    *,
    source: str,
    now: datetime,
    scorer: Scorer | None,
    settings: IntakeSettings,
) -> IntakeResult:
    """:func:`ingest` what can be stored and set the rest aside (``set_aside`` counts them).
    Runs inside the caller's transaction, with savepoints within it."""
    lock_shop_intake(session, shop.id)
    good: list[ReviewRecord] = []
    aside = 0
    for record in records:
        problem = record_problem(record, now=now)
        if problem is None:
            good.append(record)
        else:
            _set_aside(session, shop, record, source=source, error=problem, now=now)
            aside += 1
    try:
        with session.begin_nested():
            result = ingest(session, shop, good, now=now, scorer=scorer, settings=settings)
        result.set_aside += aside
        return result
    except NOT_THE_RECORD:
        raise
    except RECORD_ERRORS as exc:
        log.warning("shop %s: a batch was refused (%s); storing it one by one", shop.code, exc)
        session.expire_all()  # rows read inside the savepoint may be gone, their ids reused
    # One by one: each in its own savepoint, so only the records the database refuses
    # are set aside.
    total = IntakeResult()
    for record in good:
        try:
            with session.begin_nested():
                total.add(
                    ingest(session, shop, [record], now=now, scorer=scorer, settings=settings)
                )
        except NOT_THE_RECORD:
            raise
        except RECORD_ERRORS as exc:
            session.expire_all()
            _set_aside(session, shop, record, source=source, error=_describe(exc), now=now)
            aside += 1
    total.set_aside += aside
    return total


def _describe(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return f"{type(original).__name__}: {original}"[:2000]


def _set_aside(
    session: Session, shop: Shop, record: ReviewRecord, *, source: str, error: str, now: datetime
) -> None:
    existing = session.scalar(
        sa.select(QuarantinedRecord).where(
            QuarantinedRecord.shop_id == shop.id,
            QuarantinedRecord.platform_key == record.platform_key[:200],
        )
    )
    if existing is not None:  # the same review again (an overlapping pull): one row
        existing.payload, existing.error = to_json(record), error
        existing.attempts += 1
        existing.last_tried_at = now
        return
    session.add(
        QuarantinedRecord(
            shop_id=shop.id,
            source=source,
            platform_key=record.platform_key[:200],
            payload=to_json(record),
            error=error,
            quarantined_at=now,
            attempts=1,
            last_tried_at=now,
        )
    )


def waiting(session: Session, shop_ids: list[int], limit: int = 50) -> list[QuarantinedRecord]:
    return list(
        session.scalars(
            sa.select(QuarantinedRecord)
            .where(QuarantinedRecord.shop_id.in_(shop_ids))
            .order_by(QuarantinedRecord.last_tried_at.desc(), QuarantinedRecord.id.desc())
            .limit(limit)
        )
    )


def retry(
    session: Session,
    row: QuarantinedRecord,
    *,
    now: datetime,
    settings: IntakeSettings,
) -> bool:
    """Try the record again (after a fix, or when its error was passing); True when it is
    stored now. Stored unscored: the scheduler scores it and finishes its triage."""
    shop = session.get(Shop, row.shop_id)
    assert shop is not None
    with transaction(session):
        # the same guarded path as every intake: on failure it updates this very row
        # (error, attempts, last try), found by the review's key
        result = ingest_guarded(
            session,
            shop,
            [from_json(row.payload)],
            source=row.source,
            now=now,
            scorer=None,
            settings=settings,
        )
        if result.set_aside:
            return False
        session.delete(row)
        return True
