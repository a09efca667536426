"""How many complaints the reason tags leave without a reason, on a rated file of reviews
(``label,review`` and optionally ``cat``, as ``train-sentiment`` reads it).

    .venv/bin/python bench/reasons_coverage.py --data ../shared/data/reviews-dev.csv \
        [--cat 水果 ...]

No reason (其他) on a complaint means no fitting script on the case page; a reason on a
happy text is mostly a real aside (偶尔卡顿), sometimes a misreading. Prints a row per
category and one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.domain.reasons import tag_reasons  # noqa: E402
from tracker.models.enums import Reason  # noqa: E402
from tracker.services.training import Example, read_labelled_csv  # noqa: E402


def coverage(examples: list[Example]) -> dict[str, float | int]:
    reasoned = [tag_reasons(e.text) != [Reason.OTHER] for e in examples]
    complaints = [r for r, e in zip(reasoned, examples, strict=True) if e.label == 0]
    happy = [r for r, e in zip(reasoned, examples, strict=True) if e.label == 1]
    return {
        "complaints": len(complaints),
        "complaints_without_reason": round(1 - sum(complaints) / max(1, len(complaints)), 4),
        "happy": len(happy),
        "happy_with_reason": round(sum(happy) / max(1, len(happy)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cat", action="append", default=[], help="only these categories")
    args = parser.parse_args()
    examples = read_labelled_csv(args.data)
    categories = args.cat or sorted({e.category for e in examples})
    rows = {c: coverage([e for e in examples if e.category == c]) for c in categories}
    chosen = [e for e in examples if e.category in categories]
    for category, figures in rows.items():
        print(category or "(no category)", figures)
    print(json.dumps({"categories": rows, "all": coverage(chosen)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
