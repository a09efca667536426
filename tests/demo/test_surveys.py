"""How the demo's buyers answer 满意度回访: the answer to 问题解决了吗 follows what came of
the case first, then the score (by score alone, a third of the demo's 买家满意但未改评
answered 还没有解决)."""

from __future__ import annotations

import pytest

from tracker.demo.surveys import SATISFIED, SOLVED, UNSOLVED, solved_weights


def expected(kind: str, scores: tuple[int, ...]) -> tuple[float, float, float]:
    """The shares of 已经解决了, 解决了一部分, 还没有解决 over the kind's score weights."""
    total = [0.0, 0.0, 0.0]
    for score, weight in zip((5, 4, 3, 2, 1), scores, strict=True):
        said = solved_weights(kind, score)
        for i, w in enumerate(said):
            total[i] += weight / sum(scores) * w / sum(said)
    return tuple(total)  # type: ignore[return-value]


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_the_outcome_decides_before_the_score(score: int) -> None:
    recovered, satisfied, other = (
        solved_weights(kind, score) for kind in ("recovered", "satisfied", "other")
    )
    assert recovered == (recovered[0], 0, 0)  # changed the review (追评 问题解决了): solved

    def yes(w: tuple[int, ...]) -> float:
        return w[0] / sum(w)

    assert yes(recovered) >= yes(satisfied) > yes(other)


def test_over_a_month_most_content_buyers_say_solved_and_few_others_do() -> None:
    recovered = expected("recovered", SOLVED[1])
    satisfied = expected("satisfied", SATISFIED[1])
    other = expected("other", UNSOLVED[1])
    assert recovered == pytest.approx((1.0, 0.0, 0.0))
    assert satisfied[0] > 0.85 and satisfied[2] < 0.02
    assert other[0] < 0.3 and other[2] > 0.3
