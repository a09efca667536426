"""End-to-end intake speed: parse a review export, upsert, score, triage, set deadlines.

    python bench/intake.py --reviews N [--database-url URL]

Builds an N-review export (CSV, as a shop would upload) from the demo shop's phrases,
imports it into a fresh database through the project's own import path, then imports the
same file again. Prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.stack import migrated_app  # noqa: E402
from tracker import runtime  # noqa: E402
from tracker.demo import review_texts as texts  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Case, Review, Shop  # noqa: E402
from tracker.models.enums import Platform  # noqa: E402
from tracker.services import import_jobs  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


def export(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    categories = list(texts.POSITIVE_BY_CATEGORY)
    start = datetime(2026, 11, 1, tzinfo=SH)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "订单编号",
            "子订单编号",
            "买家会员名",
            "评价结果",
            "评价内容",
            "评价时间",
            "宝贝名称",
            "宝贝ID",
        ]
    )
    for i in range(n):
        category = rng.choice(categories)
        roll = rng.random()
        if roll < 0.30:
            rating, text = "好评", texts.SYSTEM_DEFAULT_TEXTS[0]
        elif roll < 0.93:
            rating = "好评"
            text = "，".join(rng.sample(texts.POSITIVE_BY_CATEGORY[category], 2))
        else:
            rating = "差评" if roll < 0.965 else "中评"
            reason = rng.choice(list(texts.NEGATIVE))
            text = rng.choice(texts.negative(reason, category, family=""))
        posted = start + timedelta(seconds=i * 37)
        writer.writerow(
            [
                f"T{i // 2}",
                f"O{i}",
                f"buyer{rng.randint(1, n // 3 + 1)}",
                rating,
                text,
                f"{posted:%Y-%m-%d %H:%M:%S}",
                f"商品{i % 300}",
                620000 + i % 300,
            ]
        )
    return out.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=20000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = export(args.reviews)
    with migrated_app(args.database_url) as app:
        shop = Shop(
            code="bench", name="压测店", platform=Platform.TMALL, created_at=datetime.now(UTC)
        )
        db.session.add(shop)
        db.session.commit()
        scorer = runtime.scorer(app)
        settings = runtime.settings(app, shop)
        runtime.freeze_loaded()  # as the scheduler and a Celery worker do before any job
        now = datetime(2026, 11, 23, 10, tzinfo=SH)

        folder = Path(tempfile.mkdtemp(prefix="bench-intake-"))

        def run() -> tuple[float, object]:
            """The path every upload and `flask import` takes: an import job."""
            started = time.perf_counter()
            job = import_jobs.queue(
                db.session,
                shop,
                kind="reviews",
                filename="bench.csv",
                save=lambda path: path.write_bytes(data),
                folder=folder,
                mapping={},
                skip_bad_rows=False,
                actor_id=None,
                now=now,
            )
            job = import_jobs.run(
                db.session,
                job.id,
                now=now,
                clock=lambda: now,
                tz=SH,
                scorer=scorer,
                settings=settings,
            )
            if job.status != "done":
                sys.exit(f"import refused: {job.status} {job.problems[:5]}")
            return time.perf_counter() - started, job

        first_s, first = run()
        opened = first.cases_opened  # type: ignore[attr-defined]
        counts = (
            db.session.scalar(sa.select(sa.func.count(Review.id))),
            db.session.scalar(sa.select(sa.func.count(Case.id))),
        )
        second_s, _ = run()
        after = (
            db.session.scalar(sa.select(sa.func.count(Review.id))),
            db.session.scalar(sa.select(sa.func.count(Case.id))),
        )
        words = [row[4] for row in list(csv.reader(io.StringIO(data.decode())))[1:]]
        started = time.perf_counter()
        for i in range(0, len(words), 1000):
            scorer.score(words[i : i + 1000])
        scoring_s = time.perf_counter() - started
    result = {
        "reviews": args.reviews,
        "database": "postgresql" if args.database_url else "sqlite",
        "seconds": round(first_s, 2),
        "reviews_per_s": round(args.reviews / first_s, 1),
        "scoring_only_s": round(scoring_s, 2),
        "cases_opened": opened,
        "second_pass_seconds": round(second_s, 2),
        "second_pass_speedup": round(first_s / second_s, 1),
        "duplicates_created": (after[0] - counts[0]) + (after[1] - counts[1]),
        "model": scorer.version,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
