"""Does the weekly job promote a shop's own model only when it is really better?

    .venv/bin/python bench/shop_model_promotion.py --data ../shared/data/reviews-dev.csv

For each category, as a shop selling what the installation's model never saw: the
installation's model is trained without the category (as ``sentiment_loco.py`` trains it).
Half of the category's reviews are the shop's history, the other half its later reviews.
From the history, shops of 250, 500, 1,000 and 2,000 reviews with 8% complaints (at least
20, the minimum) are drawn several times, and one shop takes the whole half (about half
complaints; once, as its held-back fifth is fixed by its texts). Each trains a candidate
with ``shop_models``' recipe and is judged by ``shop_models.judge`` on its held-back fifth
(``split_for_judging``), as the weekly job judges it. The truth is the candidate's and the
installation's complaints caught at 1.5% false alarms on the later half. ``ahead``:
promoted by the rule before 2026-12-03 (ahead on the held-back reviews by half a point, at
most 1.5% flagged at its case threshold); ``promoted``: by the app's rule (also ranking
complaints better in 95% of the held-back reviews' bootstrap resamples).
Prints a row per category and size, and one JSON object as the last line.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sentiment_loco import (  # noqa: E402
    MOSTLY_HAPPY,
    halves,
    mostly_happy,
    shop_runs,
    without_category,
)

from tracker.services.shop_models import (  # noqa: E402
    KEY,
    MIN_PER_CLASS,
    judge,
    split_for_judging,
    train_candidate,
)
from tracker.services.training import Example, measure  # noqa: E402

SIZES = (250, 500, 1000, 2000, 0)  # 0: the whole half, as the file has it
WHOLE = 0


def one_category(args: tuple[str, list[Example], int]) -> list[dict[str, object]]:
    category, examples, draws = args
    unseen, _, report = without_category(category, examples)
    installation = report.model
    history, later = halves(unseen, seed=category)
    theirs = measure(installation, later, installation.thresholds)[KEY]
    pool = mostly_happy(history, seed=category)
    complaints = [e for e in pool if e.label == 0]
    happy = [e for e in pool if e.label == 1]
    runs = []
    for size in SIZES:
        # the whole half is one shop, and its held-back fifth is fixed by text: one run
        for draw in range(1 if size == WHOLE else draws):
            rng = random.Random(f"{category}/{size}/{draw}")
            wanted = max(MIN_PER_CLASS, round(size * MOSTLY_HAPPY))
            if size == WHOLE:
                shop = list(history)
            elif wanted > len(complaints) or size - wanted > len(happy):
                continue  # the category's half is too small for this shop
            else:
                shop = rng.sample(complaints, wanted) + rng.sample(happy, size - wanted)
            rest, judged_on = split_for_judging(shop)
            candidate = train_candidate(
                rest,
                judged_on,
                now=datetime.now(UTC),
                source=f"{category} as a shop",
                version_prefix="shop",
                never_train_on=[e.text for e in later],
            )
            verdict = judge(candidate, installation, judged_on, seed=draw)
            truth = measure(candidate, later, candidate.thresholds)
            runs.append(
                {
                    "category": category,
                    "size": size or len(shop),
                    "whole_half": size == WHOLE,
                    "held_back_complaints": sum(1 for e in judged_on if e.label == 0),
                    "ahead": verdict.ahead and verdict.safe,
                    "sure": verdict.sure,
                    "promoted": verdict.promoted,
                    "gain": round(truth[KEY] - theirs, 4),
                    "false_alarm_rate": truth["false_alarm_rate"],
                }
            )
    return runs


def summary(runs: list[dict[str, object]]) -> dict[str, object]:
    """What each rule did with these candidates; ``gain`` in points of complaints caught at
    1.5% false alarms on the shop's later reviews, against keeping the installation's model."""

    def by(rule: str) -> dict[str, object]:
        taken = [r for r in runs if r[rule]]
        return {
            "promoted": len(taken),
            "worse_promoted": sum(1 for r in taken if r["gain"] < 0),
            "worst_promoted": round(100 * min((r["gain"] for r in taken), default=0.0), 1),
            "gain_sum": round(100 * sum(r["gain"] for r in taken), 1),
            "better_kept_out": sum(1 for r in runs if r["gain"] > 0 and not r[rule]),
        }

    return {"runs": len(runs), "better": sum(1 for r in runs if r["gain"] > 0)} | {
        rule: by(rule) for rule in ("ahead", "promoted")
    }


def main() -> None:
    runs = shop_runs(one_category, description=__doc__.splitlines()[0], draws=5, per="size")
    print(
        "| unseen | shop's reviews | held-back complaints | truly better"
        " | ahead: promoted (worse) | app: promoted (worse) | gains of those promoted |"
    )
    groups: dict[tuple[object, object], list[dict[str, object]]] = {}
    for run in runs:
        size = "whole half" if run["whole_half"] else run["size"]
        groups.setdefault((run["category"], size), []).append(run)
    for (category, size), group in groups.items():
        s = summary(group)
        gains = ", ".join(f"{100 * r['gain']:+.1f}" for r in group if r["promoted"])
        print(
            f"| {category} | {size} | {group[0]['held_back_complaints']}"
            f" | {s['better']} of {s['runs']}"
            f" | {s['ahead']['promoted']} ({s['ahead']['worse_promoted']})"
            f" | {s['promoted']['promoted']} ({s['promoted']['worse_promoted']}) | {gains or '—'} |"
        )
    print(json.dumps({"overall": summary(runs), "runs": runs}, ensure_ascii=False))


if __name__ == "__main__":
    main()
