"""The plain review record every source produces and intake consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.models.enums import Rating


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

    @staticmethod
    def key_for(oid: str, role: str = "buyer") -> str:
        return f"{oid}:{role}"
