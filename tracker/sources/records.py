"""The plain review record every source produces and intake consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.domain.plain_text import clean_text
from tracker.models.enums import Rating

_TEXT_FIELDS = (
    "platform_key",
    "buyer_nick",
    "text",
    "tid",
    "oid",
    "item_id",
    "item_title",
    "reply",
    "follow_up_text",
)


@dataclass(frozen=True)
class ReviewRecord:
    platform_key: str  # the platform's identity of the review, e.g. "<oid>:buyer"
    buyer_nick: str
    rating: Rating
    text: str
    posted_at: datetime  # aware
    tid: str | None = None
    oid: str | None = None
    item_id: str | None = None
    item_title: str | None = None
    item_price: Decimal | None = None
    reply: str | None = None  # the seller's explanation, if the source reports it
    follow_up_text: str | None = None  # 追评
    follow_up_at: datetime | None = None
    is_deleted: bool = False

    def __post_init__(self) -> None:
        """Every path makes its records here, so text is cleaned here once: no NUL, no
        control characters, no lone surrogates reach the database (tracker.domain.plain_text)."""
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, clean_text(value))

    @staticmethod
    def key_for(oid: str, role: str = "buyer") -> str:
        return f"{oid}:{role}"
