"""The suggestions an agent saw travel with the attempt form, signed: what is recorded is
exactly what was on screen, not a list recomputed after a rebuild, and cannot be forged."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from tracker.models.enums import SuggestionKind
from tracker.services.errors import FieldError
from tracker.services.recommendations import Shown


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="case-suggestions")


def dump(case_id: int, shown: Sequence[Shown]) -> str:
    lines = [[s.product_id, s.rank, s.kind.value, s.reason] for s in shown]
    return str(_serializer().dumps({"case": case_id, "lines": lines}))


def load(case_id: int, text: str | None) -> tuple[Shown, ...]:
    if not text:
        return ()
    try:
        data = _serializer().loads(text)
        if data["case"] != case_id:
            raise ValueError(case_id)
        return tuple(
            Shown(int(product), int(rank), SuggestionKind(kind), str(reason))
            for product, rank, kind, reason in data["lines"]
        )
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise FieldError("mentioned", "推荐列表已失效，请刷新页面后重新填写。") from exc
