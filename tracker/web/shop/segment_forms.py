"""The member-level form: the basis, and per level a threshold and an optional member price,
each refusal said under the box where it was typed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from wtforms import Field, SelectField, SubmitField
from wtforms.validators import Optional

from tracker.domain.segments import LEVEL_NAMES, LevelBasis, MemberLevels, level_problems
from tracker.web.choices import pairs
from tracker.web.fields import FiniteDecimalField, Form

LEVELS = range(1, len(LEVEL_NAMES))  # 1–4: 普通会员 … 至尊VIP; 0 (店铺客户) has no box


def _threshold(level: int) -> FiniteDecimalField:
    return FiniteDecimalField(
        LEVEL_NAMES[level], places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )


def _discount(level: int) -> FiniteDecimalField:
    return FiniteDecimalField(
        f"{LEVEL_NAMES[level]}折扣",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "placeholder": "折扣"},
    )


class MemberLevelsForm(Form):
    """One box per level, as the platform's 客户运营平台 has them. What the domain refuses
    (a skipped level, thresholds not rising, a discount out of 7–10 折…) is put under its box,
    and what was typed stays in the boxes."""

    basis = SelectField(
        "按",
        choices=pairs([(LevelBasis.SPEND, "累计消费金额"), (LevelBasis.ORDERS, "累计交易笔数")]),
        default=LevelBasis.SPEND.value,
    )
    threshold1 = _threshold(1)
    threshold2 = _threshold(2)
    threshold3 = _threshold(3)
    threshold4 = _threshold(4)
    discount1 = _discount(1)
    discount2 = _discount(2)
    discount3 = _discount(3)
    discount4 = _discount(4)
    submit = SubmitField("保存会员等级")

    @classmethod
    def showing(cls, levels: MemberLevels) -> MemberLevelsForm:
        """The form filled with the shop's levels as they are."""
        data: dict[str, Any] = {"basis": levels.basis.value}
        for level, value in enumerate(levels.thresholds, start=1):
            data[f"threshold{level}"] = value
        for level, value in enumerate(levels.discounts, start=1):
            data[f"discount{level}"] = value
        return cls(formdata=None, data=data)

    def boxes(self) -> list[tuple[Field, Field]]:
        """Each level's threshold and discount box, for the template."""
        return [(self[f"threshold{level}"], self[f"discount{level}"]) for level in LEVELS]

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        typed = self._typed("threshold"), self._typed("discount")
        for problem in level_problems(self._basis(), *typed):
            box = self[f"{problem.box}{problem.level}"]
            box.errors = [*box.errors, problem.message]
        return not self.errors

    def levels(self) -> MemberLevels:
        """The levels as typed; only after ``validate`` has passed."""
        thresholds = tuple(t for t in self._typed("threshold") if t is not None)
        discounts = tuple(d for d in self._typed("discount") if d is not None)
        return MemberLevels(self._basis(), thresholds, discounts)

    def _basis(self) -> LevelBasis:
        return LevelBasis(self.basis.data)

    def _typed(self, box: str) -> Sequence[Decimal | None]:
        return [self[f"{box}{level}"].data for level in LEVELS]
