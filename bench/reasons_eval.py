"""How right the reason tags are, on a labelled file (``text,reasons``; reasons separated by
``|``, ``other`` for none).

    .venv/bin/python bench/reasons_eval.py [--data bench/data/reasons-eval.csv]

Prints per-reason precision and recall, the texts tagged wrong (``--show-errors``), and one
JSON object as the last line with the micro-averaged F1.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.domain.reasons import tag_reasons  # noqa: E402
from tracker.models.enums import Reason  # noqa: E402


def read(path: Path) -> list[tuple[str, set[Reason]]]:
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                labels = {Reason(v.strip()) for v in row["reasons"].split("|") if v.strip()}
            except (KeyError, ValueError) as exc:
                sys.exit(f"{path}, row {number}, column reasons: {exc}")
            rows.append((row["text"], labels or {Reason.OTHER}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data" / "reasons-eval.csv")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    rows = read(args.data)
    tp, fp, fn = Counter(), Counter(), Counter()
    for text, truth in rows:
        predicted = set(tag_reasons(text))
        for reason in predicted & truth:
            tp[reason] += 1
        for reason in predicted - truth:
            fp[reason] += 1
        for reason in truth - predicted:
            fn[reason] += 1
        if args.show_errors and predicted != truth:
            want, got = sorted(r.value for r in truth), sorted(r.value for r in predicted)
            print(f"{text}  want {want} got {got}")
    per_reason = {}
    for reason in Reason:
        p = tp[reason] / (tp[reason] + fp[reason]) if tp[reason] + fp[reason] else None
        r = tp[reason] / (tp[reason] + fn[reason]) if tp[reason] + fn[reason] else None
        per_reason[reason.value] = {
            "label": reason.label,
            "support": tp[reason] + fn[reason],
            "precision": round(p, 3) if p is not None else None,
            "recall": round(r, 3) if r is not None else None,
        }
        figures = per_reason[reason.value]
        print(
            f"{reason.label}\tsupport {figures['support']}"
            f"\tP {figures['precision']}\tR {figures['recall']}"
        )
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = all_tp / (all_tp + all_fp)
    recall = all_tp / (all_tp + all_fn)
    micro_f1 = 2 * precision * recall / (precision + recall)
    exact = sum(set(tag_reasons(t)) == truth for t, truth in rows) / len(rows)
    print(
        json.dumps(
            {
                "texts": len(rows),
                "micro_f1": round(micro_f1, 4),
                "micro_precision": round(precision, 4),
                "micro_recall": round(recall, 4),
                "exact_match": round(exact, 4),
                "per_reason": per_reason,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
