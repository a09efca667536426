"""Does the weekly job promote a shop's own model only when it is really better?

    .venv/bin/python bench/shop_model_promotion.py --data ../shared/data/reviews-dev.csv

For each category, as a shop selling what the installation's model never saw: the
installation's model is trained without the category (as ``sentiment_loco.py`` trains it).
Half of the category's reviews are the shop's history, the other half its later reviews.
From the history, shops of 250, 500, 1,000 and 2,000 reviews with 8% complaints (at least
20, the minimum) are drawn several times, and one shop takes the whole half (about half
complaints; once). Each is judged two ways against the installation's model, by
``shop_models.judge``:

- ``fixed``, as the weekly job did until cross-fitting (2026-12-03): a candidate trained on
  four fifths (folds 1–4, ``shop_models.train_own``), judged on the fifth held back (fold 0);
- ``cross``, as the app does now (``shop_models.cross_fit``): every review judged by the
  model trained without its fold, and a candidate trained on every review.

The truth is each scheme's candidate measured on the later half: complaints caught at 1.5%
false alarms, against the installation's model; and the happy texts it flags at its own case
threshold there. Each verdict is also read as the false-alarm check read it until 2026-12-03
(``_point``: at most 1.5% of the judged happy texts, a point estimate) to show what
resampling it changed. Prints a row per category and size, and one
JSON object as the last line.
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
    OPERATING_FALSE_ALARMS,
    SURE,
    Scored,
    Verdict,
    cross_fit,
    fold_of,
    judge,
    train_own,
)
from tracker.services.training import Example, measure  # noqa: E402

SIZES = (250, 500, 1000, 2000, 0)  # 0: the whole half, as the file has it
WHOLE = 0


def one_category(args: tuple[str, list[Example], int]) -> list[dict[str, object]]:
    category, examples, draws = args
    unseen, _, report = without_category(category, examples)
    installation = report.model
    history, later = halves(unseen, seed=category)
    theirs = measure(installation, later, installation.thresholds)
    pool = mostly_happy(history, seed=category)
    complaints = [e for e in pool if e.label == 0]
    happy = [e for e in pool if e.label == 1]
    runs = []
    for size in SIZES:
        # the whole half is one shop, and its folds are fixed by text: one run
        for draw in range(1 if size == WHOLE else draws):
            rng = random.Random(f"{category}/{size}/{draw}")
            wanted = max(MIN_PER_CLASS, round(size * MOSTLY_HAPPY))
            if size == WHOLE:
                shop = list(history)
            elif wanted > len(complaints) or size - wanted > len(happy):
                continue  # the category's half is too small for this shop
            else:
                shop = rng.sample(complaints, wanted) + rng.sample(happy, size - wanted)
            now, never = datetime.now(UTC), [e.text for e in later]
            theirs_scores = installation.score([e.text for e in shop])
            truth = [e.label for e in shop]
            row: dict[str, object] = {
                "category": category,
                "size": size or len(shop),
                "whole_half": size == WHOLE,
            }
            # fixed: fold 0 held back, the candidate trained on the rest
            fifth = [i for i, e in enumerate(shop) if fold_of(e.text) == 0]
            rest = [e for i, e in enumerate(shop) if fold_of(e.text) != 0]
            fixed = train_own(
                rest,
                now=now,
                source=f"{category} as a shop",
                version_prefix="shop",
                never_train_on=[*(shop[i].text for i in fifth), *never],
            )
            verdict = judge(
                [truth[i] for i in fifth],
                Scored.of(fixed, fixed.score([shop[i].text for i in fifth])),
                Scored.of(installation, [theirs_scores[i] for i in fifth]),
                seed=draw,
            )
            row |= outcome("fixed", verdict, measure(fixed, later, fixed.thresholds), theirs)
            row["fixed_complaints"] = sum(1 for i in fifth if truth[i] == 0)
            # cross: every review, each scored by the model that did not learn it
            fitted = cross_fit(
                shop, now=now, source=f"{category} as a shop", version_prefix="shop",
                never_train_on=never,
            )  # fmt: skip
            verdict = judge(
                truth, fitted.scored(), Scored.of(installation, theirs_scores), seed=draw
            )
            model = fitted.model
            row |= outcome("cross", verdict, measure(model, later, model.thresholds), theirs)
            row["cross_complaints"] = truth.count(0)
            runs.append(row)
    return runs


def promoted_by_point_estimate(verdict: Verdict) -> bool:
    """The verdict as the false-alarm check read it until 2026-12-03: at most 1.5% of the
    judged happy texts, however few."""
    flagged = verdict.mine["false_alarm_rate"]
    return verdict.ahead and verdict.sure >= SURE and flagged <= OPERATING_FALSE_ALARMS


def outcome(
    scheme: str, verdict: Verdict, truth: dict[str, float], theirs: dict[str, float]
) -> dict[str, object]:
    """The verdict, and the same verdict had the false-alarm check read the point estimate
    (``_point``)."""
    return {
        f"{scheme}_sure": verdict.sure,
        f"{scheme}_flags_more": verdict.flags_more,
        f"{scheme}_promoted": verdict.promoted,
        f"{scheme}_point_promoted": promoted_by_point_estimate(verdict),
        f"{scheme}_gain": round(truth[KEY] - theirs[KEY], 4),
        f"{scheme}_judged_false_alarm_rate": verdict.mine["false_alarm_rate"],
        f"{scheme}_false_alarm_rate": truth["false_alarm_rate"],
        "installation_false_alarm_rate": theirs["false_alarm_rate"],
    }


def summary(runs: list[dict[str, object]]) -> dict[str, object]:
    """What each scheme did with these shops; ``gain`` in points of complaints caught at
    1.5% false alarms on the shop's later reviews, against keeping the installation's model."""

    def by(scheme: str, rule: str = "") -> dict[str, object]:
        gain, promoted = f"{scheme}_gain", f"{scheme}{rule}_promoted"
        taken = [r for r in runs if r[promoted]]
        return {
            "better": sum(1 for r in runs if r[gain] > 0),
            "promoted": len(taken),
            "worse_promoted": sum(1 for r in taken if r[gain] < 0),
            "worst_promoted": round(100 * min((r[gain] for r in taken), default=0.0), 1),
            "gain_sum": round(100 * sum(r[gain] for r in taken), 1),
            "better_kept_out": sum(1 for r in runs if r[gain] > 0 and not r[promoted]),
            # flags more of the later happy texts than 1.5% and than the installation's model
            "flagging_more_later": sum(1 for r in taken if flags_more_later(r, scheme)),
            "worst_false_alarms_later": max(
                (r[f"{scheme}_false_alarm_rate"] for r in taken), default=0.0
            ),
        }

    ways = [(scheme, rule) for scheme in ("fixed", "cross") for rule in ("", "_point")]
    return {"runs": len(runs)} | {f"{scheme}{rule}": by(scheme, rule) for scheme, rule in ways}


def flags_more_later(run: dict[str, object], scheme: str) -> bool:
    later = float(run[f"{scheme}_false_alarm_rate"])  # type: ignore[arg-type]
    theirs = float(run["installation_false_alarm_rate"])  # type: ignore[arg-type]
    return later > max(OPERATING_FALSE_ALARMS, theirs)


def pct(value: object) -> str:
    return f"{100 * float(value):.2f}%"  # type: ignore[arg-type]


def later(run: dict[str, object]) -> str:
    return f"{pct(run['cross_false_alarm_rate'])} ({pct(run['installation_false_alarm_rate'])})"


def main() -> None:
    runs = shop_runs(one_category, description=__doc__.splitlines()[0], draws=2, per="size")
    print(
        "| unseen | shop's reviews | complaints judged: fixed / cross | truly better: fixed / cross"
        " | fixed: promoted (worse) | cross, point estimate: promoted (worse)"
        " | cross: promoted (worse) | cross: judged false alarms"
        " | gains of those promoted: cross | their false alarms later (installation's) |"
    )
    groups: dict[tuple[object, object], list[dict[str, object]]] = {}
    for run in runs:
        size = "whole half" if run["whole_half"] else run["size"]
        groups.setdefault((run["category"], size), []).append(run)
    for (category, size), group in groups.items():
        s = summary(group)
        fixed, point, cross = s["fixed"], s["cross_point"], s["cross"]
        taken = [r for r in group if r["cross_promoted"]]
        gains = ", ".join(f"{100 * r['cross_gain']:+.1f}" for r in taken)
        print(
            f"| {category} | {size}"
            f" | {', '.join(str(r['fixed_complaints']) for r in group)}"
            f" / {', '.join(str(r['cross_complaints']) for r in group)}"
            f" | {fixed['better']} / {cross['better']} of {s['runs']}"
            f" | {fixed['promoted']} ({fixed['worse_promoted']})"
            f" | {point['promoted']} ({point['worse_promoted']})"
            f" | {cross['promoted']} ({cross['worse_promoted']})"
            f" | {', '.join(pct(r['cross_judged_false_alarm_rate']) for r in group)}"
            f" | {gains or '—'}"
            f" | {', '.join(later(r) for r in taken) or '—'} |"
        )
    print(json.dumps({"overall": summary(runs), "runs": runs}, ensure_ascii=False))


if __name__ == "__main__":
    main()
