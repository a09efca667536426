"""JD 京东开放平台 (JOS): ``jingdong.pop.PopCommentJsfService.getVenderCommentsForJos``,
the reviews of a POP shop, and ``...saveReply``, the shop's reply.

JOS signs like TOP's md5 scheme: the system parameters and the business parameters, the
latter as one JSON string in ``360buy_param_json``, sorted by name and joined key+value,
wrapped in the app secret, MD5, upper-case hex. Pages hold at most 50 reviews; the
buyer's identity is ``open_id_buyer`` (JD no longer hands out a buyer's pin).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.models.enums import Platform, Rating
from tracker.sources.contract import (
    Adapter,
    Capability,
    CredentialField,
    RateLimited,
    SourceError,
    SourceOptions,
    Window,
    fetch_in_windows,
    read_pages,
    rows_and_total,
)
from tracker.sources.http import JsonHttp
from tracker.sources.records import ReviewRecord

DEFAULT_URL = "https://api.jd.com/routerjson"
GMT8 = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
LIST_METHOD = "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos"
REPLY_METHOD = "jingdong.pop.PopCommentJsfService.saveReply"
PAGE_SIZE = 50
WINDOW = timedelta(days=1)
# The JOS gateway's "App Call Limited" (限制时间内调用…): the app key's quota, not the
# shop's failure. Code 2 in the gateway error table ERP vendors republish from
# jos.jd.com (whose own page needs a developer login); it names no ban length.
APP_CALL_LIMITED = "2"


def sign(params: Mapping[str, str], secret: str) -> str:
    joined = "".join(
        f"{key}{params[key]}" for key in sorted(params) if key != "sign" and params[key] != ""
    )
    return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()


def rating_for(score: int) -> Rating:
    """JD's stars: 4–5 好评, 2–3 中评, 1 差评 (the seller centre's own grouping)."""
    if score >= 4:
        return Rating.GOOD
    return Rating.NEUTRAL if score >= 2 else Rating.BAD


def _time(value: Any) -> datetime:
    """JOS answers dates as epoch milliseconds or as Beijing-time text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return datetime.strptime(str(value), TIME_FORMAT).replace(tzinfo=GMT8)


class JdSource:
    def __init__(self, credentials: Mapping[str, str], options: SourceOptions) -> None:
        self.app_key = credentials["app_key"]
        self.app_secret = credentials["app_secret"]
        self.access_token = credentials["access_token"]
        self.url = options.url or DEFAULT_URL
        self.clock = options.clock
        self.http = JsonHttp(options)

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "method": method,
            "app_key": self.app_key,
            "access_token": self.access_token,
            "timestamp": self.clock().astimezone(GMT8).strftime(TIME_FORMAT),
            "v": "2.0",
            "format": "json",
            "360buy_param_json": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        }
        body["sign"] = sign(body, self.app_secret)
        payload = self.http.request("POST", self.url, data=body)
        if "error_response" in payload:
            error = payload["error_response"] or {}
            code = str(error.get("code", "unknown"))
            message = str(error.get("zh_desc") or error.get("en_desc") or "")
            if code == APP_CALL_LIMITED:
                raise RateLimited(code, message)
            raise SourceError(code, message)
        key = method.replace(".", "_") + "_responce"  # sic: JOS spells it so
        answer = payload.get(key)
        if not isinstance(answer, dict):
            raise SourceError("malformed", f"answer has no {key}")
        if str(answer.get("code", "0")) != "0":
            raise SourceError(str(answer["code"]), str(answer.get("resultMsg") or ""))
        return answer

    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        return fetch_in_windows(self.comments, start, end, size=WINDOW)

    def check(self) -> None:
        now = self.clock()
        self._page(now - timedelta(minutes=1), now, page=1, size=1)

    def post_reply(self, platform_key: str, text: str) -> None:
        comment_id = platform_key.removeprefix("jd:")
        answer = self.call(REPLY_METHOD, {"commentId": comment_id, "content": text})
        if str(answer.get("resultCode", "1")) not in ("1", "0", "200"):
            raise SourceError("not-success", str(answer.get("resultMsg") or "回复未被接受"))

    def comments(self, start: datetime, end: datetime) -> list[ReviewRecord]:
        rows = read_pages(
            lambda offset: self._page(start, end, page=offset // PAGE_SIZE + 1, size=PAGE_SIZE),
            PAGE_SIZE,
        )
        return [parse_comment(row) for row in rows]

    def _page(
        self, start: datetime, end: datetime, *, page: int, size: int
    ) -> tuple[list[Any], int]:
        answer = self.call(
            LIST_METHOD,
            {
                "beginTime": start.astimezone(GMT8).strftime(TIME_FORMAT),
                "endTime": end.astimezone(GMT8).strftime(TIME_FORMAT),
                "score": 0,  # all ratings
                "page": page,
                "pageSize": size,
            },
        )
        return rows_and_total(answer, "comments", "totalItem")


def parse_comment(row: Any) -> ReviewRecord:
    try:
        comment_id = str(row["commentId"])
        score = int(row["score"])
        posted = _time(row["creationTime"])
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        raise SourceError("malformed", f"unreadable comment {str(row)[:120]}: {exc!r}") from exc
    replies = row.get("replies") or []
    reply = next(
        (str(r.get("content")) for r in replies if isinstance(r, dict) and r.get("content")),
        None,
    )
    order_id = str(row["orderId"]) if row.get("orderId") is not None else None
    return ReviewRecord(
        platform_key=f"jd:{comment_id}",
        buyer_nick=str(row.get("open_id_buyer") or row.get("nickName") or ""),
        rating=rating_for(score),
        text=str(row.get("content") or ""),
        posted_at=posted,
        tid=order_id,
        item_id=str(row["skuid"]) if row.get("skuid") else None,
        item_title=row.get("skuName") or None,
        reply=reply,
    )


ADAPTER = Adapter(
    name="jd",
    label="京东开放平台（JOS）",
    platforms=frozenset({Platform.JD}),
    fields=(
        CredentialField("app_key", "App Key", secret=False),
        CredentialField("app_secret", "App Secret"),
        CredentialField("access_token", "授权 Access Token"),
    ),
    build=JdSource,
    capabilities=frozenset({Capability.REPLY}),
)
