"""Validating pushed review batches (JSON) into records, with an error per bad field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.clock import FUTURE_SLACK
from tracker.sources.files import CellError, parse_datetime, parse_money, parse_rating
from tracker.sources.records import ReviewRecord

MAX_BATCH = 1000
TEXT_LIMIT = 5000


@dataclass(frozen=True)
class FieldProblem:
    index: int | None  # position in "reviews", None for the body itself
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


def parse_batch(
    body: Any, tz: ZoneInfo, *, now: datetime | None = None
) -> tuple[list[ReviewRecord], list[FieldProblem]]:
    """Records, or every problem by index and field. With ``now``, a review dated after it
    (beyond the clocks' drift) is refused."""
    if not isinstance(body, dict) or not isinstance(body.get("reviews"), list):
        return [], [FieldProblem(None, "reviews", 'body must be {"reviews": [...]}')]
    items = body["reviews"]
    if not items:
        return [], [FieldProblem(None, "reviews", "must not be empty")]
    if len(items) > MAX_BATCH:
        return [], [FieldProblem(None, "reviews", f"at most {MAX_BATCH} reviews per request")]
    records, problems = [], []
    for index, item in enumerate(items):
        record = _item(index, item, tz, problems, now)
        if record is not None:
            records.append(record)
    return records, problems


def _item(
    index: int, item: Any, tz: ZoneInfo, problems: list[FieldProblem], now: datetime | None
) -> ReviewRecord | None:
    if not isinstance(item, dict):
        problems.append(FieldProblem(index, "", "each review must be an object"))
        return None
    before = len(problems)

    def text(name: str, limit: int, required: bool = False) -> str | None:
        value = item.get(name)
        if value is None or value == "":
            if required:
                problems.append(FieldProblem(index, name, "is required"))
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.append(FieldProblem(index, name, "must be a string"))
            return None
        value = str(value)
        if len(value) > limit:
            problems.append(FieldProblem(index, name, f"longer than {limit} characters"))
            return None
        return value

    def parsed(name: str, parse: Any, required: bool = False) -> Any:
        value = item.get(name)
        if value is None or value == "":
            if required:
                problems.append(FieldProblem(index, name, "is required"))
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.append(FieldProblem(index, name, "has the wrong type"))
            return None
        try:
            return parse(value)
        except CellError as exc:
            problems.append(FieldProblem(index, name, str(exc)))
            return None

    oid, tid = text("oid", 64), text("tid", 64)
    role = text("role", 16) or "buyer"
    nick = text("buyer_nick", 64, required=True)
    rating = parsed("rating", parse_rating, required=True)
    body = text("text", TEXT_LIMIT) or ""
    posted = parsed("posted_at", lambda v: parse_datetime(v, tz), required=True)
    follow_up_at = parsed("follow_up_at", lambda v: parse_datetime(v, tz))
    for name, moment in (("posted_at", posted), ("follow_up_at", follow_up_at)):
        if now is not None and moment is not None and moment > now + FUTURE_SLACK:
            problems.append(FieldProblem(index, name, "is in the future"))
    price = parsed("item_price", parse_money)
    deleted = item.get("deleted", False)
    if not isinstance(deleted, bool):
        problems.append(FieldProblem(index, "deleted", "must be true or false"))
    if not (oid or tid):
        problems.append(FieldProblem(index, "oid", "oid or tid is required"))
    fields = {
        "item_id": text("item_id", 64),
        "item_title": text("item_title", 200),
        "reply": text("reply", TEXT_LIMIT),
        "follow_up_text": text("follow_up_text", TEXT_LIMIT),
    }
    if len(problems) > before:
        return None
    return ReviewRecord(
        platform_key=ReviewRecord.key_for(oid or tid or "", role),
        buyer_nick=nick or "",
        rating=rating,
        text=body,
        posted_at=posted,
        tid=tid,
        oid=oid,
        item_price=price,
        follow_up_at=follow_up_at,
        is_deleted=bool(deleted),
        **fields,
    )
