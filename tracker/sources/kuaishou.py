"""Kuaishou 快手小店 open platform: ``open.comment.list.get``, the shop's reviews, and
``open.comment.add``, the shop's reply (within 30 days, to the first review only).

Every call carries ``appkey, method, version, access_token, timestamp`` (milliseconds),
``signMethod`` and ``param`` (the business parameters as JSON with sorted keys); the sign
is over ``access_token=…&appkey=…&method=…&param=…&signMethod=…&timestamp=…&version=…``
followed by ``&signSecret=<sign secret>``: MD5 as lower-case hex, or HMAC-SHA256 keyed
with the sign secret, Base64. The method name is also the path (dots become slashes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

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

DEFAULT_URL = "https://openapi.kwaixiaodian.com"
LIST_METHOD = "open.comment.list.get"
REPLY_METHOD = "open.comment.add"
PAGE_SIZE = 100
WINDOW = timedelta(days=1)
SIGNED = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")


def sign(params: Mapping[str, str], sign_secret: str) -> str:
    text = "&".join(f"{key}={params[key]}" for key in SIGNED) + f"&signSecret={sign_secret}"
    if params["signMethod"] == "MD5":
        return hashlib.md5(text.encode()).hexdigest()
    if params["signMethod"] == "HMAC_SHA256":
        digest = hmac.new(sign_secret.encode(), text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()
    raise ValueError(f"unknown signMethod {params['signMethod']!r}")


def rating_for(stars: int) -> Rating:
    """Kuaishou has no 好/中/差 flag; the item-quality stars decide: 4–5, 3, 1–2."""
    if stars >= 4:
        return Rating.GOOD
    return Rating.NEUTRAL if stars == 3 else Rating.BAD


# Kuaishou names no throttling code; its FAQ (K1008 "API调用触发限流告警") quotes the
# messages: "Exceed quota limit, KEY [appkey:…]" is the app's daily quota and "Exceed qps
# limit, KEY [apiId:…;appkey:…]" the app's rate on one API — every shop on the app must
# wait. A KEY naming a primaryUserId is one shop's own quota (a test user's 2,000 calls a
# day, an API's per-user quota): that shop's failure, not the app's.
_LIMIT = re.compile(r"exceed (?:quota|qps) limit,\s*KEY \[(?P<key>[^\]]*)\]", re.IGNORECASE)


def app_throttled(message: str) -> bool:
    """Whether an error message is the app's limit (rest every shop), per the FAQ's KEYs."""
    found = _LIMIT.search(message)
    return bool(found) and "appkey:" in found["key"] and "primaryUserId" not in found["key"]


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class KuaishouSource:
    def __init__(self, credentials: Mapping[str, str], options: SourceOptions) -> None:
        self.app_key = credentials["app_key"]
        self.sign_secret = credentials["sign_secret"]
        self.access_token = credentials["access_token"]
        self.sign_method = credentials.get("sign_method") or "HMAC_SHA256"
        self.url = (options.url or DEFAULT_URL).rstrip("/")
        self.clock = options.clock
        self.http = JsonHttp(options)

    def call(self, method: str, params: Mapping[str, Any], *, http: str = "GET") -> Any:
        query = {
            "appkey": self.app_key,
            "method": method,
            "version": "1",
            "access_token": self.access_token,
            "timestamp": str(_millis(self.clock())),
            "signMethod": self.sign_method,
            "param": json.dumps(dict(sorted(params.items())), ensure_ascii=False),
        }
        query["sign"] = sign(query, self.sign_secret)
        url = f"{self.url}/{method.replace('.', '/')}"
        if http == "GET":
            payload = self.http.request("GET", url, params=query)
        else:
            payload = self.http.request("POST", url, data=query)
        if payload.get("result") != 1:
            code = str(payload.get("code") or payload.get("result") or "unknown")
            message = str(payload.get("error_msg") or payload.get("msg") or "")
            if app_throttled(message):
                raise RateLimited(code, message)
            raise SourceError(code, message)
        return payload.get("data")

    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        return fetch_in_windows(self.comments, start, end, size=WINDOW)

    def check(self) -> None:
        now = self.clock()
        self._page(now - timedelta(minutes=1), now, offset=0, limit=1)

    def post_reply(self, platform_key: str, text: str) -> None:
        comment_id = platform_key.removeprefix("ks:")
        self.call(REPLY_METHOD, {"replyToCommentId": int(comment_id), "content": text}, http="POST")

    def comments(self, start: datetime, end: datetime) -> list[ReviewRecord]:
        rows = read_pages(
            lambda offset: self._page(start, end, offset=offset, limit=PAGE_SIZE), PAGE_SIZE
        )
        return [parse_comment(row) for row in rows]

    def _page(
        self, start: datetime, end: datetime, *, offset: int, limit: int
    ) -> tuple[list[Any], int]:
        data = self.call(
            LIST_METHOD,
            {
                "createTimeFrom": _millis(start),
                "createTimeTo": _millis(end) - 1,  # inclusive on the platform: [start, end)
                "offset": offset,
                "limit": limit,
            },
        )
        if not isinstance(data, dict):
            raise SourceError("malformed", "data is not an object")
        return rows_and_total(data, "rootComment", "total")


def parse_comment(row: Any) -> ReviewRecord:
    try:
        comment_id = str(int(row["commentId"]))
        stars = int(row["qualityScore"])
        posted = datetime.fromtimestamp(int(row["createTime"]) / 1000, UTC)
    except (KeyError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise SourceError("malformed", f"unreadable comment {str(row)[:120]}: {exc!r}") from exc
    order_id = str(row["orderId"]) if row.get("orderId") is not None else None
    return ReviewRecord(
        platform_key=f"ks:{comment_id}",
        # The list names no buyer: the order stands for them (one buyer per order).
        buyer_nick=f"快手买家-{order_id}" if order_id else f"快手买家-{comment_id}",
        rating=rating_for(stars),
        text=str(row.get("content") or ""),
        posted_at=posted,
        tid=order_id,
        item_id=str(row["itemId"]) if row.get("itemId") is not None else None,
    )


ADAPTER = Adapter(
    name="kuaishou",
    label="快手电商开放平台",
    platforms=frozenset({Platform.KUAISHOU}),
    fields=(
        CredentialField("app_key", "App Key", secret=False),
        CredentialField("sign_secret", "Sign Secret（签名密钥）"),
        CredentialField("access_token", "授权 Access Token"),
        CredentialField("sign_method", "签名方式", secret=False, choices=("HMAC_SHA256", "MD5")),
    ),
    build=KuaishouSource,
    capabilities=frozenset({Capability.REPLY}),
)
