"""WeChat mini-program 交易评价: the review list (``/wxaapi/comment/mpcommentlist/get``),
the shop's reply (``/wxaapi/comment/reply/add``), the 和解 report
(``/wxaapi/comment/confirmcompromise``) and the ``wxa_comment_bad_score`` push event.

Calls carry an ``access_token`` that the adapter gets from ``/cgi-bin/stable_token`` with
the mini-program's AppID and AppSecret and keeps until shortly before it expires (an
expired or revoked token, errcode 40001/42001, is fetched again once). Pushed events are
verified as WeChat signs them: SHA-1 of the sorted token, timestamp and nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
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

DEFAULT_URL = "https://api.weixin.qq.com"
PAGE_SIZE = 50
WINDOW = timedelta(days=1)
ALL_RATINGS = 6  # filterType: every review, good, neutral and bad
TOKEN_EXPIRED = {"40001", "42001", "40014"}
# 45009: the API's daily quota is used up; 45011: its per-minute frequency limit.
QUOTA_REACHED = {"45009", "45011"}
BAD_SCORE_EVENT = "wxa_comment_bad_score"


def rating_for(score: int) -> Rating:
    """``score`` is 100 per star: 4–5 stars 好评, 3 中评, 1–2 差评 (the platform's filters)."""
    stars = round(score / 100)
    if stars >= 4:
        return Rating.GOOD
    return Rating.NEUTRAL if stars == 3 else Rating.BAD


def push_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def verify_push(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    return bool(token) and hmac.compare_digest(
        push_signature(token, timestamp, nonce), signature or ""
    )


def pushed_comment_id(body: bytes, content_type: str) -> str | None:
    """The review a ``wxa_comment_bad_score`` event names (JSON or XML), else None. Only
    called on a push whose signature checked out, with its size capped by the endpoint."""
    try:
        if "xml" in content_type or body.lstrip().startswith(b"<"):
            if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
                return None  # WeChat sends plain XML; a DTD could only be an attack
            root = ET.fromstring(body)
            event = (root.findtext("Event") or "").strip()
            comment = (root.findtext("result/comment_id") or "").strip()
        else:
            data = json.loads(body)
            if not isinstance(data, dict):
                return None
            event = str(data.get("Event") or "")
            result = data.get("result")
            comment = str(result.get("comment_id") or "") if isinstance(result, dict) else ""
    except (ET.ParseError, ValueError):
        return None
    return comment if event == BAD_SCORE_EVENT and comment else None


class WechatSource:
    def __init__(self, credentials: Mapping[str, str], options: SourceOptions) -> None:
        self.app_id = credentials["app_id"]
        self.app_secret = credentials["app_secret"]
        self.url = (options.url or DEFAULT_URL).rstrip("/")
        self.clock: Callable[[], datetime] = options.clock
        self.http = JsonHttp(options)
        self._token: tuple[str, datetime] | None = None

    # -- the access token ---------------------------------------------------------------
    def access_token(self) -> str:
        now = self.clock()
        if self._token is None or self._token[1] <= now:
            answer = self.http.request(
                "POST",
                f"{self.url}/cgi-bin/stable_token",
                json_body={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.app_secret,
                },
            )
            self._raise_for(answer)
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise SourceError("malformed", "stable_token answered no access_token")
            lifetime = int(answer.get("expires_in") or 7200)
            self._token = (token, now + timedelta(seconds=max(lifetime - 300, 60)))
        return self._token[0]

    def call(
        self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            params = {**(query or {}), "access_token": self.access_token()}
            answer = self.http.request(method, f"{self.url}{path}", params=params, json_body=body)
            if str(answer.get("errcode", 0)) in TOKEN_EXPIRED and attempt == 1:
                self._token = None  # revoked or expired early: fetch a new one, once
                continue
            self._raise_for(answer)
            return answer
        raise AssertionError("unreachable")

    @staticmethod
    def _raise_for(answer: Mapping[str, Any]) -> None:
        code = str(answer.get("errcode", 0))
        if code in QUOTA_REACHED:
            raise RateLimited(code, str(answer.get("errmsg") or ""))
        if code != "0":
            raise SourceError(code, str(answer.get("errmsg") or ""))

    # -- the contract ------------------------------------------------------------------
    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        return fetch_in_windows(self.comments, start, end, size=WINDOW)

    def check(self) -> None:
        now = self.clock()
        self._page(now - timedelta(minutes=1), now, offset=0, limit=1)

    def post_reply(self, platform_key: str, text: str) -> None:
        comment_id = platform_key.removeprefix("wx:")
        self.call(
            "POST",
            "/wxaapi/comment/reply/add",
            body={"commentId": comment_id, "replyContent": {"content": text}},
        )

    def reconcile(self, platform_key: str, text: str) -> None:
        comment_id = platform_key.removeprefix("wx:")
        self.call(
            "POST",
            "/wxaapi/comment/confirmcompromise",
            body={"commentId": comment_id, "picList": [], "content": text},
        )

    def comments(self, start: datetime, end: datetime) -> list[ReviewRecord]:
        rows = read_pages(
            lambda offset: self._page(start, end, offset=offset, limit=PAGE_SIZE), PAGE_SIZE
        )
        records = (parse_comment(row) for row in rows)
        # the platform's end second is inclusive: [start, end) keeps windows apart
        return [r for r in records if start <= r.posted_at < end]

    def _page(
        self, start: datetime, end: datetime, *, offset: int, limit: int
    ) -> tuple[list[Any], int]:
        answer = self.call(
            "GET",
            "/wxaapi/comment/mpcommentlist/get",
            query={
                "startTime": str(int(start.timestamp())),
                "endTime": str(int(end.timestamp())),
                "filterType": ALL_RATINGS,
                "offset": offset,
                "limit": limit,
            },
        )
        return rows_and_total(answer, "commentList", "total")


def _text(content: Any) -> str:
    if isinstance(content, dict):
        return str(content.get("content") or content.get("text") or "")
    return str(content or "")


def parse_comment(row: Any) -> ReviewRecord:
    try:
        comment_id = str(row["commentId"])
        score = int(row["score"])
        posted = datetime.fromtimestamp(int(row["createTime"]), UTC)
    except (KeyError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise SourceError("malformed", f"unreadable comment {str(row)[:120]}: {exc!r}") from exc
    user = row.get("userInfo") if isinstance(row.get("userInfo"), dict) else {}
    order = row.get("orderInfo") if isinstance(row.get("orderInfo"), dict) else {}
    tid = order.get("busiOrderId") or row.get("orderId")
    return ReviewRecord(
        platform_key=f"wx:{comment_id}",
        buyer_nick=str(user.get("openid") or user.get("nickName") or f"微信买家-{comment_id}"),
        rating=rating_for(score),
        text=_text(row.get("content")),
        posted_at=posted,
        tid=str(tid) if tid else None,
    )


class WechatEvents:
    """The 消息推送 endpoint: plaintext mode, signed with the shop's push Token."""

    def verify(self, credentials: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return verify_push(
            credentials.get("push_token", ""),
            query.get("signature", ""),
            query.get("timestamp", ""),
            query.get("nonce", ""),
        )

    def handshake(self, query: Mapping[str, str]) -> str | None:
        return query.get("echostr") or None

    def wants_pull(self, body: bytes, content_type: str) -> bool:
        return pushed_comment_id(body, content_type) is not None


ADAPTER = Adapter(
    name="wechat",
    label="微信小程序交易评价",
    platforms=frozenset({Platform.WECHAT}),
    fields=(
        CredentialField("app_id", "AppID", secret=False),
        CredentialField("app_secret", "AppSecret"),
        CredentialField("push_token", "消息推送 Token（差评通知验签）"),
    ),
    build=WechatSource,
    capabilities=frozenset({Capability.REPLY, Capability.RECONCILE}),
    events=WechatEvents(),
)
