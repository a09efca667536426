"""Accuracy and speed of a sentiment model on a labelled CSV (label,review[,cat]).

    python bench/sentiment_eval.py --data FILE.csv [--model PATH|snownlp] [--cat 水果 ...]

Scores with the model the app would use (instance/ trained model, else the bundled one)
unless --model is given. Prints a per-category breakdown when the file has ``cat``, and
one JSON object as the last line: the usual figures at the model's decision threshold, and
at the app's case-opening threshold the share of positive texts below it
(``false_alarm_rate``), of negative texts below it (``caught``), and what a threshold
flagging 1% of positive texts would catch (``caught_at_1pct_false_alarms``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.domain.triage import ScoreBands  # noqa: E402
from tracker.sentiment.metrics import (  # noqa: E402
    caught_at_false_alarms,
    evaluate,
    operating_point,
)
from tracker.sentiment.store import ModelStore, load_scorer  # noqa: E402
from tracker.sources.files import read_text_table  # noqa: E402

BATCH = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="auto", help="model directory, 'snownlp' or 'auto'")
    parser.add_argument("--cat", action="append", default=[], help="only these categories")
    args = parser.parse_args()

    scorer = load_scorer(args.model, ModelStore(ROOT / "instance" / "models" / "sentiment"))
    header, rows = read_text_table(args.data)
    items = [
        (int(r["label"]), r["review"], r.get("cat", ""))
        for _, r in rows
        if r.get("label") in ("0", "1")
        and r.get("review", "").strip()
        and (not args.cat or r.get("cat") in args.cat)
    ]
    texts = [text for _, text, _ in items]
    started = time.perf_counter()
    scores: list[float] = []
    for start in range(0, len(texts), BATCH):
        scores.extend(scorer.score(texts[start : start + BATCH]))
    seconds = time.perf_counter() - started
    threshold = float(getattr(scorer, "threshold", 0.5))
    thresholds = getattr(scorer, "thresholds", None)
    case_threshold = float(thresholds.case if thresholds else ScoreBands().case)
    labels = [label for label, _, _ in items]
    if "cat" in header:
        by_cat: dict[str, list[int]] = defaultdict(list)
        for i, (_, _, cat) in enumerate(items):
            by_cat[cat].append(i)
        for cat, idx in sorted(by_cat.items()):
            m = evaluate([labels[i] for i in idx], [scores[i] for i in idx], threshold)
            print(
                f"{cat}: n={m['n']} accuracy={m['accuracy']} neg_f1={m['neg_f1']} "
                f"neg_recall={m['neg_recall']} auc={m['auc']}"
            )
    result = (
        evaluate(labels, scores, threshold)
        | {"case_threshold": round(case_threshold, 4)}
        | operating_point(labels, scores, case_threshold)
        | {
            "caught_at_1pct_false_alarms": round(caught_at_false_alarms(labels, scores, 0.01), 4),
            "reviews_per_s": round(len(texts) / seconds, 1),
            "model": scorer.version,
        }
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
