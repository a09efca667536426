"""Which reviews become cases, how urgent they are, and their deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tracker.domain.working_hours import PolicyError, WorkingHours
from tracker.models.enums import MembershipLevel, Rating

VERY_UNHAPPY = 0.1  # a score below this raises a case's priority


@dataclass(frozen=True)
class ScoreBands:
    """Where a good rating's score is read. Below ``case`` its words are clearly unhappy
    and a case opens; from ``case`` up to ``confirm`` the model is unsure and a person
    decides (待确认), with no deadline running; above, the buyer is happy. Each model
    carries the bands set on texts it was not trained on (README "Sentiment")."""

    case: float = 0.3
    confirm: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.case <= self.confirm < 1:
            raise ValueError(f"score bands need 0 < case <= confirm < 1, not {self}")


# A shop's own bands (本店校准), from the scores of its own good ratings: the lowest 1% open a
# case, the next ones up to 4% wait in 待确认. Below 1,000 good ratings a quantile that low
# is too noisy (the 10th lowest of 1,000 still wanders by a third); the model's bands stand.
CALIBRATION_CASE_SHARE = 0.01
CALIBRATION_CONFIRM_SHARE = 0.04
CALIBRATION_MIN_REVIEWS = 1000


def calibrated_bands(
    good_scores: Sequence[float],
    *,
    happy_scores: Sequence[float] | None = None,
    case_share: float = CALIBRATION_CASE_SHARE,
    confirm_share: float = CALIBRATION_CONFIRM_SHARE,
    minimum: int = CALIBRATION_MIN_REVIEWS,
) -> ScoreBands | None:
    """Bands that flag a chosen share of the shop's own good ratings, whatever its goods:
    a model's bands, set on the categories it was trained on, flag 0.2–1% of happy texts
    in a category it never saw, so a fixed threshold either floods one shop or misses
    complaints in another. A rating is the platform's, not a person's label: a quantile
    of good ratings needs no one to label anything. None when too few to tell.

    ``happy_scores``: those of ``good_scores`` staff did not judge complaints (是差评 in
    待确认, a correction); None: all of them. The lowest good ratings are mostly such hidden
    complaints, so the case band's 1% is taken of the happy ones — the happy texts the
    target speaks of —, never above the 待确认 band set on all of them: however many are
    judged, at most that share of the good ratings opens a case."""
    ordered = sorted(s for s in good_scores if s is not None)
    happy = ordered if happy_scores is None else sorted(happy_scores)
    if len(happy) < minimum:
        return None

    def below(scores: list[float], share: float) -> float:
        """Halfway between the lowest score spared and the next one down: at most
        ``share`` of ``scores`` score under it."""
        spared = scores[int(share * len(scores))]
        lower = [s for s in scores[: int(share * len(scores))] if s < spared]
        return (spared + lower[-1]) / 2 if lower else spared

    confirm = min(max(below(ordered, confirm_share), 0.001), 0.99)
    return ScoreBands(case=min(max(below(happy, case_share), 0.001), confirm), confirm=confirm)


class CaseKind(StrEnum):
    """Why a review needs a case; each kind has its own first-contact deadline."""

    BAD = "bad"
    NEUTRAL = "neutral"
    HIDDEN_NEGATIVE = "hidden_negative"


@dataclass(frozen=True)
class DeadlinePolicy:
    """Working hours allowed until the first contact, per kind of case."""

    bad_hours: float = 2
    neutral_hours: float = 4
    hidden_negative_hours: float = 8

    def hours_for(self, kind: CaseKind) -> float:
        return {
            CaseKind.BAD: self.bad_hours,
            CaseKind.NEUTRAL: self.neutral_hours,
            CaseKind.HIDDEN_NEGATIVE: self.hidden_negative_hours,
        }[kind]

    def to_dict(self) -> dict[str, float]:
        return {
            "bad_hours": self.bad_hours,
            "neutral_hours": self.neutral_hours,
            "hidden_negative_hours": self.hidden_negative_hours,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DeadlinePolicy:
        policy = cls(
            **{
                k: float(v)
                for k, v in (data or {}).items()
                if k in ("bad_hours", "neutral_hours", "hidden_negative_hours")
            }
        )
        for kind in CaseKind:
            hours = policy.hours_for(kind)
            if not 0 < hours <= 240:
                raise PolicyError(
                    f"first-contact hours for {kind.value} must be 0-240, not {hours}"
                )
        return policy


def case_kind(
    rating: Rating,
    score: float | None,
    *,
    is_system_default: bool,
    threshold: float,
) -> CaseKind | None:
    """The kind of case a review needs, or None.

    Neutral and bad ratings always need one. A good rating needs one only when its own
    words are clearly unhappy (a scored, non-default text below the threshold).
    """
    if rating is Rating.BAD:
        return CaseKind.BAD
    if rating is Rating.NEUTRAL:
        return CaseKind.NEUTRAL
    if is_system_default or score is None:
        return None
    return CaseKind.HIDDEN_NEGATIVE if score < threshold else None


def needs_confirmation(
    rating: Rating, score: float | None, *, is_system_default: bool, bands: ScoreBands
) -> bool:
    """A good rating whose words the model is unsure about: a person confirms (a case
    opens) or dismisses it (误报)."""
    return (
        rating is Rating.GOOD
        and not is_system_default
        and score is not None
        and bands.case <= score < bands.confirm
    )


@dataclass(frozen=True)
class BuyerValue:
    order_count: int = 0
    total_spent: Decimal = Decimal("0")
    membership: MembershipLevel = MembershipLevel.NONE


def priority(
    kind: CaseKind, score: float | None, buyer: BuyerValue, order_value: Decimal | None
) -> int:
    """1 (most urgent) to 4, from the rating, how unhappy the text is, and what is at stake."""
    points = {CaseKind.BAD: 3, CaseKind.NEUTRAL: 2, CaseKind.HIDDEN_NEGATIVE: 1}[kind]
    if score is not None and score < VERY_UNHAPPY:
        points += 1
    if buyer.membership in (MembershipLevel.GOLD, MembershipLevel.DIAMOND):
        points += 1
    if buyer.order_count >= 5 or buyer.total_spent >= 2000:
        points += 1
    if order_value is not None and order_value >= 300:
        points += 1
    # 6+ -> 1, 5 -> 2, 3-4 -> 3, 1-2 -> 4
    if points >= 6:
        return 1
    if points == 5:
        return 2
    return 3 if points >= 3 else 4


def first_contact_due(
    opened_at: datetime, kind: CaseKind, policy: DeadlinePolicy, hours: WorkingHours
) -> datetime:
    return hours.add(opened_at, timedelta(hours=policy.hours_for(kind)))


NEUTRAL_UP_TO = 0.6  # a score below this (and above the bands) reads as 中性


def score_in_words(score: float, bands: ScoreBands) -> str:
    """What a score means for the person reading it, in the bands the model acts on."""
    if score < bands.case:
        return "明显负面"
    if score < bands.confirm:
        return "偏负面"
    if score < max(NEUTRAL_UP_TO, bands.confirm):
        return "中性"
    return "正面"
