"""Taobao / Tmall Open Platform (TOP): ``taobao.traderates.get``, the reviews buyers left.

Requests are signed as TOP documents it; transient failures (timeouts, 5xx) are retried
with backoff by urllib3; API errors (``error_response``) surface as :class:`TopApiError`.
A query returns at most 1,500 results, so long ranges are cut into windows, and a window
that is still too full is split in two until it fits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from tracker.models.enums import Rating
from tracker.sources.records import ReviewRecord

DEFAULT_URL = "https://eco.taobao.com/router/rest"
GMT8 = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
METHOD = "taobao.traderates.get"
FIELDS = (
    "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply,"
    "num_iid,valid_score"
)
PAGE_SIZE = 150
MAX_RESULTS = 1500  # per query window
MAX_WINDOW = timedelta(days=1)
MIN_WINDOW = timedelta(minutes=1)


def sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """TOP's signature: parameters (not ``sign``) sorted by name, joined as key+value."""
    joined = "".join(
        f"{key}{params[key]}"
        for key in sorted(params)
        if key != "sign" and params[key] not in (None, "")
    )
    if method == "md5":
        digest = hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest()
    elif method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), joined.encode("utf-8"), hashlib.md5).hexdigest()
    else:
        raise ValueError(f"unknown sign_method {method!r}")
    return digest.upper()


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_secret: str
    session: str
    sign_method: str = "md5"

    @classmethod
    def from_config(
        cls, shop_code: str, settings: Mapping[str, Mapping[str, str]]
    ) -> Credentials | None:
        entry = settings.get(shop_code)
        if not entry:
            return None
        missing = [k for k in ("app_key", "app_secret", "session") if not entry.get(k)]
        if missing:
            raise ValueError(f"credentials for shop {shop_code} lack {', '.join(missing)}")
        return cls(
            entry["app_key"], entry["app_secret"], entry["session"], entry.get("sign_method", "md5")
        )


class TopApiError(RuntimeError):
    """An answer that is not data: an ``error_response``, or a transport failure."""

    def __init__(self, code: str, message: str, sub_code: str | None = None) -> None:
        super().__init__(f"{code}{f'/{sub_code}' if sub_code else ''}: {message}")
        self.code = code
        self.sub_code = sub_code
        self.message = message


class WindowTooLarge(RuntimeError):
    pass


class TopClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        url: str = DEFAULT_URL,
        clock: Callable[[], datetime],
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.credentials = credentials
        self.url = url
        self.clock = clock
        self.timeout = timeout
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"POST"}),
            raise_on_status=False,
        )
        self.http = requests.Session()
        self.http.mount("http://", HTTPAdapter(max_retries=retry))
        self.http.mount("https://", HTTPAdapter(max_retries=retry))

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        c = self.credentials
        body = {
            "method": method,
            "app_key": c.app_key,
            "session": c.session,
            "timestamp": self.clock().astimezone(GMT8).strftime(TIME_FORMAT),
            "format": "json",
            "v": "2.0",
            "sign_method": c.sign_method,
            **{k: str(v) for k, v in params.items()},
        }
        body["sign"] = sign(body, c.app_secret, c.sign_method)
        try:
            response = self.http.post(self.url, data=body, timeout=self.timeout)
        except requests.Timeout as exc:
            raise TopApiError(
                "timeout", f"no answer within {self.timeout:g}s after retries"
            ) from exc
        except requests.RequestException as exc:
            # Retries exhausted on timeouts arrive as ConnectionError(MaxRetryError(...)).
            reason = getattr(exc.args[0] if exc.args else None, "reason", None)
            if isinstance(reason, TimeoutError | ReadTimeoutError | ConnectTimeoutError):
                raise TopApiError(
                    "timeout", f"no answer within {self.timeout:g}s after retries"
                ) from exc
            raise TopApiError("network", str(exc)) from exc
        if response.status_code >= 400:
            raise TopApiError(f"http-{response.status_code}", response.text[:200])
        try:
            payload = response.json()
        except (json.JSONDecodeError, requests.JSONDecodeError) as exc:
            raise TopApiError("malformed", f"answer is not JSON: {response.text[:120]!r}") from exc
        if not isinstance(payload, dict):
            raise TopApiError("malformed", "answer is not a JSON object")
        if "error_response" in payload:
            error = payload["error_response"] or {}
            raise TopApiError(
                str(error.get("code", "unknown")),
                str(error.get("sub_msg") or error.get("msg") or ""),
                error.get("sub_code"),
            )
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        if not isinstance(payload.get(key), dict):
            raise TopApiError("malformed", f"answer has no {key}")
        return payload[key]

    def add_explanation(self, oid: str, reply: str) -> None:
        """Post the seller's explanation (解释) on a review: ``taobao.traderate.explain.add``."""
        answer = self.call("taobao.traderate.explain.add", {"oid": oid, "reply": reply})
        if not answer.get("is_success"):
            raise TopApiError("not-success", "the platform did not accept the explanation")

    def traderates(self, start: datetime, end: datetime) -> list[ReviewRecord]:
        """Every review posted in [start, end); WindowTooLarge when TOP would cut it off."""
        records: list[ReviewRecord] = []
        page = 1
        while True:
            answer = self.call(
                METHOD,
                {
                    "fields": FIELDS,
                    "rate_type": "get",
                    "role": "buyer",
                    "use_has_next": "true",
                    "page_no": page,
                    "page_size": PAGE_SIZE,
                    "start_date": start.astimezone(GMT8).strftime(TIME_FORMAT),
                    "end_date": end.astimezone(GMT8).strftime(TIME_FORMAT),
                },
            )
            rates = (answer.get("trade_rates") or {}).get("trade_rate") or []
            if not isinstance(rates, list):
                raise TopApiError("malformed", "trade_rates.trade_rate is not a list")
            records.extend(parse_rate(rate) for rate in rates)
            if len(records) >= MAX_RESULTS:
                # At the cap we cannot tell whether TOP cut the rest off (it may say
                # has_next=false there): split the window rather than risk losing reviews.
                raise WindowTooLarge(f"{MAX_RESULTS}+ reviews in {start} .. {end}")
            if not answer.get("has_next"):
                return records
            page += 1


def parse_rate(rate: Any) -> ReviewRecord:
    try:
        oid = str(rate["oid"])
        result = Rating(rate["result"])
        created = datetime.strptime(rate["created"], TIME_FORMAT).replace(tzinfo=GMT8)
        price = (
            Decimal(str(rate["item_price"])) if rate.get("item_price") not in (None, "") else None
        )
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise TopApiError("malformed", f"unreadable trade_rate {str(rate)[:120]}: {exc!r}") from exc
    return ReviewRecord(
        platform_key=ReviewRecord.key_for(oid, str(rate.get("role") or "buyer")),
        buyer_nick=str(rate.get("nick") or ""),
        rating=result,
        text=str(rate.get("content") or ""),
        posted_at=created,
        tid=str(rate["tid"]) if rate.get("tid") is not None else None,
        oid=oid,
        item_id=str(rate["num_iid"]) if rate.get("num_iid") is not None else None,
        item_title=rate.get("item_title"),
        item_price=price,
        reply=rate.get("reply") or None,
    )


def windows(
    start: datetime, end: datetime, size: timedelta = MAX_WINDOW
) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    while cursor < end:
        upper = min(cursor + size, end)
        yield cursor, upper
        cursor = upper


def fetch_range(
    client: TopClient, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, list[ReviewRecord]]]:
    """Complete windows in time order; an over-full window is fetched again in halves."""
    pending = list(windows(start, end))
    pending.reverse()
    while pending:
        low, high = pending.pop()
        try:
            records = client.traderates(low, high)
        except WindowTooLarge:
            if high - low <= MIN_WINDOW:
                raise TopApiError(
                    "too-many",
                    f"over {MAX_RESULTS} reviews within {MIN_WINDOW} at {low.isoformat()}",
                ) from None
            middle = low + (high - low) / 2
            pending.extend([(middle, high), (low, middle)])
            continue
        yield low, high, records
