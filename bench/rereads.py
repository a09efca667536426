"""What the hourly re-read of open cases' reviews costs a pull (tracker.services.rereads).

    python bench/rereads.py [--open-cases N] [--database-url URL]

A Tmall shop with N open cases (bad reviews over the last 25 days, pulled through the TOP
adapter from the local stand-in), a tenth of whose buyers then add a happy 追评. The pull an
hour later asks TOP for each open case's review by order and for its 追评 from the review
feed; the pull an hour after that finds nothing new. Both are timed end to end (the
stand-in answers on this machine, so a real gateway's latency — tens of milliseconds a
call — comes on top of these figures). Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.stack import migrated_app  # noqa: E402
from tests.top_server import FakeTop, serve  # noqa: E402
from tracker import runtime  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Case, Shop  # noqa: E402
from tracker.models.enums import CaseOutcome, Platform  # noqa: E402
from tracker.services.pulls import pull_shop  # noqa: E402
from tracker.sources.contract import SourceOptions  # noqa: E402
from tracker.sources.top import TopSource  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, tzinfo=SH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-cases", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    fake = FakeTop()
    step = timedelta(days=25) / args.open_cases
    for i in range(args.open_cases):
        posted = NOW - timedelta(days=25) + i * step
        fake.add_rate(str(100_000 + i), f"{posted.astimezone(SH):%Y-%m-%d %H:%M:%S}")
    with migrated_app(args.database_url) as app, serve(fake):
        shop = Shop(
            code="bench", name="压测店", platform=Platform.TMALL, created_at=datetime.now(UTC)
        )
        db.session.add(shop)
        db.session.commit()
        scorer, settings = runtime.scorer(app), runtime.settings(app, shop)
        options = SourceOptions(clock=lambda: NOW, url=fake.url, backoff=0.0)
        credentials = {"app_key": fake.app_key, "app_secret": fake.secret, "session": fake.session}

        def pull(now: datetime) -> tuple[float, int, int]:
            calls = len(fake.requests)
            started = time.perf_counter()
            run = pull_shop(
                db.session,
                shop,
                TopSource(credentials, options),
                source_name="top",
                now=now,
                scorer=scorer,
                settings=settings,
            )
            if run.status != "ok":
                sys.exit(f"pull failed: {run.error_code} {run.error_message}")
            return time.perf_counter() - started, len(fake.requests) - calls, run.reread

        pull(NOW)
        opened = db.session.scalar(sa.select(sa.func.count(Case.id)))
        happy = range(0, args.open_cases, 10)
        follow_up = ("客服很负责，补发的收到了，很满意", "2026-11-23 10:30:00")
        for i in happy:
            fake.feeds[str(100_000 + i)] = follow_up
        first_s, first_calls, first_reread = pull(NOW + timedelta(hours=1))
        closed = db.session.scalar(
            sa.select(sa.func.count(Case.id)).where(Case.outcome == CaseOutcome.POSITIVE_FOLLOW_UP)
        )
        second_s, second_calls, second_reread = pull(NOW + timedelta(hours=2))
    result = {
        "database": "postgresql" if args.database_url else "sqlite",
        "open_cases": opened,
        "reread": first_reread,
        "calls": first_calls,
        "seconds": round(first_s, 2),
        "ms_per_review": round(1000 * first_s / max(first_reread, 1), 2),
        "follow_ups_added": len(happy),
        "cases_closed": closed,
        "unchanged_run_seconds": round(second_s, 2),
        "unchanged_run_calls": second_calls,
        "unchanged_run_reread": second_reread,
        "problems_seen_by_stand_in": len(fake.problems),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
