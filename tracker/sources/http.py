"""The HTTP transport every adapter shares: retries with backoff on timeouts and 5xx,
and every failure turned into a :class:`SourceError` the pull run can record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from tracker.sources.contract import RateLimited, SourceError, SourceOptions


class JsonHttp:
    def __init__(self, options: SourceOptions) -> None:
        self.timeout, self.retries = options.timeout, options.retries
        retry = Retry(
            total=options.retries,
            connect=options.retries,
            read=options.retries,
            status=options.retries,
            backoff_factor=options.backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
        )
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        json_errors: bool = False,
    ) -> dict[str, Any]:
        """The answer as a JSON object; anything else raises :class:`SourceError`. With
        ``json_errors``, a 4xx answer that is a JSON object is returned too: some APIs
        (Aliyun's) explain a refusal in the body of a 400."""
        try:
            response = self.session.request(
                method, url, params=params, data=data, json=json_body, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise self._timeout() from exc
        except requests.RequestException as exc:
            # Retries exhausted on timeouts arrive as ConnectionError(MaxRetryError(...)).
            reason = getattr(exc.args[0] if exc.args else None, "reason", None)
            if isinstance(reason, TimeoutError | ReadTimeoutError | ConnectTimeoutError):
                raise self._timeout() from exc
            raise SourceError("network", f"连不上平台接口：{exc}") from exc
        if response.status_code == 429:  # HTTP's own "too many requests", on any gateway
            raise RateLimited("http-429", response.text[:200], _seconds(response))
        if response.status_code >= 400 and not (json_errors and response.status_code < 500):
            raise SourceError(f"http-{response.status_code}", response.text[:200])
        try:
            payload = response.json()
        except (json.JSONDecodeError, requests.JSONDecodeError) as exc:
            raise SourceError("malformed", f"平台应答不是 JSON：{response.text[:120]!r}") from exc
        if not isinstance(payload, dict):
            raise SourceError("malformed", "平台应答不是 JSON 对象")
        return payload

    def _timeout(self) -> SourceError:
        tried = f"（已重试 {self.retries} 次）" if self.retries else ""
        return SourceError("timeout", f"平台接口 {self.timeout:g} 秒内没有应答{tried}")


def _seconds(response: requests.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by these gateways)."""
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
