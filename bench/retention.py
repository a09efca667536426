"""The nightly retention run on a big shop (tracker.services.retention).

    python bench/retention.py [--database-url URL] [--buyers 200000] [--stale-share 0.5]

Fills a fresh database with one shop whose ``--buyers`` buyers each have a sealed name,
address and birthday, a sealed number and two orders; ``--stale-share`` of them last bought
400–700 days ago, the others within the last year; one buyer in twenty has a bad review and
a case closed long ago whose attempt note names a phone number. With a one-year period it
times what the policy page asks (how many are due), the first night after the period is set
(every stale buyer erased, a batch a transaction) and the next night (nothing left).
Targets (ours, not an issue's): the first night within the scheduler's two-hour lease with
room to spare, under 10 minutes; a later night and the page's count under 2 s. Prints one
JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.stack import insert_rows, migrated_app  # noqa: E402
from tracker.database import analyze_after_bulk_load  # noqa: E402
from tracker.domain.phone_numbers import parse_number  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import (  # noqa: E402
    Buyer,
    Case,
    ContactAttempt,
    ContactHandle,
    Order,
    Review,
    Shop,
    User,
)
from tracker.models.enums import (  # noqa: E402
    AttemptOutcome,
    CaseStatus,
    Channel,
    HandleKind,
    Platform,
    Rating,
    Role,
)
from tracker.services import buyer_profiles, retention  # noqa: E402
from tracker.services.buyer_profiles import Profile  # noqa: E402
from tracker.vault import personal_vault  # noqa: E402

NOW = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # 03:30 in Shanghai, the nightly run
BATCH = 20_000


def fill(session: sa.orm.Session, buyers: int, stale_share: float, rng: random.Random) -> Shop:
    shop = Shop(
        code="bench",
        name="压测店",
        platform=Platform.TMALL,
        created_at=NOW,
        personal_data_retention_days=365,
    )
    agent = User(username="kefu", display_name="客服", role=Role.AGENT, created_at=NOW)
    agent.set_password("bench-password")
    session.add_all([shop, agent])
    session.flush()
    # one sealed profile and number for all: sealing 200,000 of each would time the vault
    profile = buyer_profiles.columns(Profile("郑俊杰", "浙江省杭州市西湖区文三路 100 号"))
    vault = personal_vault()
    number = parse_number("13812345678")
    sealed_number = vault.seal({"number": number.number, "extension": number.extension})
    stale = [rng.random() < stale_share for _ in range(buyers)]
    insert_rows(
        session,
        Buyer,
        [
            {
                "id": i + 1,
                "shop_id": shop.id,
                "platform_nick": f"买家{i:07d}",
                "created_at": NOW - timedelta(days=800),
                "tags": [],
                "preferences": "喜欢下午送货" if i % 10 == 0 else "",
            }
            | profile
            for i in range(buyers)
        ],
        BATCH,
    )
    insert_rows(
        session,
        ContactHandle,
        [
            {
                "id": i + 1,
                "shop_id": shop.id,
                "buyer_id": i + 1,
                "kind": HandleKind.OWN,
                "source": "import",
                "sealed": sealed_number,
                "fingerprint": vault.fingerprint(number.written()),
                "hint": "138****5678",
                "created_at": NOW - timedelta(days=800),
            }
            for i in range(buyers)
        ],
        BATCH,
    )
    orders = []
    for i in range(buyers):
        for n in range(2):
            days = rng.randint(400, 700) if stale[i] else rng.randint(1, 364)
            orders.append(
                {
                    "id": 2 * i + n + 1,
                    "shop_id": shop.id,
                    "tid": f"{3_900_000_000_000 + 2 * i + n}",
                    "buyer_id": i + 1,
                    "payment": Decimal("59.90"),
                    "paid_at": NOW - timedelta(days=days + n),
                }
            )
    insert_rows(session, Order, orders, BATCH)
    with_cases = range(0, buyers, 20)

    def reviewed(i: int) -> datetime:  # a stale buyer's case is long over; another's, recent
        return NOW - timedelta(days=500 if stale[i] else 100)

    day = timedelta(days=1)
    insert_rows(
        session,
        Review,
        [
            {
                "id": k + 1,
                "shop_id": shop.id,
                "platform_key": f"R{i}",
                "buyer_id": i + 1,
                "rating": Rating.BAD,
                "text": "质量太差了",
                "posted_at": reviewed(i),
                "first_posted_at": reviewed(i),
                "received_at": reviewed(i),
                "updated_at": reviewed(i),
            }
            for k, i in enumerate(with_cases)
        ],
        BATCH,
    )
    insert_rows(
        session,
        Case,
        [
            {
                "id": k + 1,
                "shop_id": shop.id,
                "review_id": k + 1,
                "buyer_id": i + 1,
                "status": CaseStatus.UNRECOVERED,
                "kind": "bad",
                "priority": 2,
                "opened_at": reviewed(i),
                "first_contact_due_at": reviewed(i) + day,
                "revision_window_ends_at": reviewed(i) + 30 * day,
                "closed_at": reviewed(i) + 20 * day,
                "updated_at": reviewed(i) + 20 * day,
            }
            for k, i in enumerate(with_cases)
        ],
        BATCH,
    )
    insert_rows(
        session,
        ContactAttempt,
        [
            {
                "id": k + 1,
                "case_id": k + 1,
                "agent_id": agent.id,
                "channel": Channel.PHONE,
                "attempted_at": reviewed(i) + 5 * day,
                "outcome": AttemptOutcome.AGREED,
                "notes": "郑俊杰说改打 139 8765 4321，补发寄文三路 100 号",
                "created_at": reviewed(i) + 5 * day,
            }
            for k, i in enumerate(with_cases)
        ],
        BATCH,
    )
    session.commit()
    analyze_after_bulk_load(session, None)
    return shop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--buyers", type=int, default=200_000)
    parser.add_argument("--stale-share", type=float, default=0.5)
    args = parser.parse_args()
    rng = random.Random(11)
    with migrated_app(args.database_url) as app:
        session = db.session
        started = time.perf_counter()
        shop = fill(session, args.buyers, args.stale_share, rng)
        filled = time.perf_counter() - started

        started = time.perf_counter()
        due = retention.due(session, shop, NOW)
        count_s = time.perf_counter() - started

        started = time.perf_counter()
        first = retention.expire(session, shop, now=NOW)
        first_s = time.perf_counter() - started

        started = time.perf_counter()
        second = retention.expire(session, shop, now=NOW + timedelta(days=1))
        second_s = time.perf_counter() - started

        erased = session.scalar(
            sa.select(sa.func.count()).where(Buyer.personal_data_erased_why == "retention")
        )
        kept = session.scalar(
            sa.select(sa.func.count()).where(Buyer.shop_id == shop.id, Buyer.name_hint.is_not(None))
        )
        assert due == first.buyers == erased, (due, first, erased)
        assert kept == args.buyers - erased and second.buyers == 0
        result = {
            "database": db.engine.dialect.name,
            "buyers": args.buyers,
            "fill_s": round(filled, 1),
            "due": due,
            "count_s": round(count_s, 2),
            "first_night_s": round(first_s, 1),
            "first_night_buyers_per_s": round(first.buyers / first_s),
            "numbers_wiped": first.numbers,
            "notes_redacted": first.notes,
            "next_night_s": round(second_s, 2),
            "met": first_s < 600 and second_s < 2 and count_s < 2,
        }
        app.logger.info("%s", result)
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
