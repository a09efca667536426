"""Local stand-ins for the JD, Kuaishou and WeChat gateways, written for the tests.

Each checks every request the way its platform documents it (signature, common
parameters), serves reviews filtered by time and paged, and can be told to misbehave, one
fault per request: "502", "api", "malformed", "slow", "duplicate" (the previous page once
more). The signing here is written from the platforms' documents, independently of
tracker.sources.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time as time_module
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


class Fake:
    """What every stand-in shares: faults, the requests seen, what a gateway would refuse."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.faults: list[str | None] = []
        self.problems: list[str] = []
        self.url = ""
        self.replies: list[tuple[str, str]] = []

    def next_fault(self) -> str | None:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "slow":
            time_module.sleep(1.0)
        return fault

    def handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, content_type: str
    ) -> tuple[int, str]:
        raise NotImplementedError


def _page(rows: list[dict[str, Any]], start: int, size: int, fault: str | None) -> list[Any]:
    chunk = rows[start : start + size]
    if fault == "duplicate" and start >= size:
        chunk = rows[start - size : start] + chunk
    return chunk


# -- JD (JOS) ---------------------------------------------------------------------------
def jd_reference_sign(params: dict[str, str], secret: str) -> str:
    text = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5((secret + text + secret).encode()).hexdigest().upper()


class FakeJd(Fake):
    METHOD = "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos"

    def __init__(self, app_key: str = "jdkey", secret: str = "jdsecret", token: str = "jdtok"):
        super().__init__()
        self.app_key, self.secret, self.token = app_key, secret, token
        self.comments: list[dict[str, Any]] = []

    def add(
        self, comment_id: str, created: str, score: int = 1, content: str = "太差了", **extra: Any
    ) -> None:
        self.comments.append(
            {
                "commentId": comment_id,
                "skuid": "100012",
                "skuName": "京东自营 赣南脐橙",
                "content": content,
                "creationTime": created,
                "score": score,
                "nickName": "j***n",
                "open_id_buyer": f"open-{comment_id}",
                "orderId": int(comment_id) * 10,
                "replies": [],
                **extra,
            }
        )

    def handle(self, method, path, query, body, content_type):  # type: ignore[no-untyped-def]
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        self.requests.append(form)
        fault = self.next_fault()
        if fault == "502":
            return 502, "Bad Gateway"
        if fault == "malformed":
            return 200, '{"jingdong_pop_'
        problem = self._check(form)
        if problem:
            self.problems.append(problem)
            return 200, json.dumps({"error_response": {"code": "19", "zh_desc": problem}})
        if fault == "limited":  # the gateway's App Call Limited
            error = {
                "code": "2",
                "zh_desc": "限制时间内调用失败次数",
                "en_desc": "App Call Limited",
            }
            return 200, json.dumps({"error_response": error}, ensure_ascii=False)
        if fault == "api" or form["access_token"] != self.token:
            return 200, json.dumps({"error_response": {"code": "19", "zh_desc": "token失效"}})
        params = json.loads(form["360buy_param_json"])
        key = form["method"].replace(".", "_") + "_responce"
        if form["method"].endswith("saveReply"):
            self.replies.append((params["commentId"], params["content"]))
            return 200, json.dumps({key: {"code": "0", "resultCode": "1"}})
        start = datetime.strptime(params["beginTime"], "%Y-%m-%d %H:%M:%S")
        end = datetime.strptime(params["endTime"], "%Y-%m-%d %H:%M:%S")
        rows = sorted(
            (
                c
                for c in self.comments
                if start <= datetime.strptime(c["creationTime"], "%Y-%m-%d %H:%M:%S") < end
            ),
            key=lambda c: c["creationTime"],
        )
        page, size = int(params["page"]), int(params["pageSize"])
        if not 1 <= size <= 50:
            self.problems.append("pageSize out of range")
        chunk = _page(rows, (page - 1) * size, size, fault)
        return 200, json.dumps(
            {key: {"code": "0", "comments": chunk, "totalItem": len(rows), "page": page}},
            ensure_ascii=False,
        )

    def _check(self, form: dict[str, str]) -> str | None:
        for name, want in (("app_key", self.app_key), ("v", "2.0")):
            if form.get(name) != want:
                return f"{name}={form.get(name)!r}"
        if form.get("method") not in (self.METHOD, "jingdong.pop.PopCommentJsfService.saveReply"):
            return "unknown method"
        try:
            datetime.strptime(form["timestamp"], "%Y-%m-%d %H:%M:%S")
            json.loads(form["360buy_param_json"])
        except (KeyError, ValueError):
            return "bad timestamp or 360buy_param_json"
        if form.get("sign") != jd_reference_sign(form, self.secret):
            return "signature mismatch"
        return None


# -- Kuaishou ---------------------------------------------------------------------------
def ks_reference_sign(params: dict[str, str], sign_secret: str) -> str:
    order = ["access_token", "appkey", "method", "param", "signMethod", "timestamp", "version"]
    text = "&".join(f"{k}={params[k]}" for k in order) + "&signSecret=" + sign_secret
    if params["signMethod"] == "MD5":
        return hashlib.md5(text.encode()).hexdigest()
    mac = hmac.new(sign_secret.encode(), text.encode(), "sha256").digest()
    return base64.b64encode(mac).decode()


LIMITED_MESSAGES = {
    "qps": "Exceed qps limit, KEY [apiId:open.comment.list.get;appkey:ks000123], MAX_QPS [300.0]",
    "quota": "Exceed quota limit, KEY [appkey:ks000123]",
    "test-user": "Exceed quota limit, KEY [appkey:ks000123;primaryUserId:20009988843]",
}


class FakeKuaishou(Fake):
    def __init__(self, app_key: str = "ks_app", sign_secret: str = "ks_sign", token: str = "kstok"):
        super().__init__()
        self.app_key, self.sign_secret, self.token = app_key, sign_secret, token
        self.comments: list[dict[str, Any]] = []

    def add(
        self,
        comment_id: int,
        created: datetime,
        stars: int = 1,
        content: str = "太差了",
        **extra: Any,
    ) -> None:
        self.comments.append(
            {
                "commentId": comment_id,
                "itemId": 7001,
                "orderId": comment_id * 10,
                "content": content,
                "qualityScore": stars,
                "serviceScore": stars,
                "logisticsScore": stars,
                "createTime": int(created.timestamp() * 1000),
                **extra,
            }
        )

    def handle(self, method, path, query, body, content_type):  # type: ignore[no-untyped-def]
        if method == "POST":
            query = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        self.requests.append(query)
        fault = self.next_fault()
        if fault == "502":
            return 502, "Bad Gateway"
        if fault == "malformed":
            return 200, "<html>"
        problem = self._check(path, query)
        if problem:
            self.problems.append(problem)
            return 200, json.dumps({"result": 0, "code": "sign", "error_msg": problem})
        if fault in LIMITED_MESSAGES:  # the messages of Kuaishou's FAQ K1008; no code is named
            return 200, json.dumps({"result": 0, "error_msg": LIMITED_MESSAGES[fault]})
        if fault == "api" or query["access_token"] != self.token:
            return 200, json.dumps({"result": 28, "error_msg": "access_token已过期"})
        param = json.loads(query["param"])
        if query["method"] == "open.comment.add":
            self.replies.append((str(param["replyToCommentId"]), param["content"]))
            return 200, json.dumps({"result": 1, "data": {}})
        low, high = param["createTimeFrom"], param["createTimeTo"]
        rows = sorted(
            (c for c in self.comments if low <= c["createTime"] <= high),
            key=lambda c: c["createTime"],
        )
        offset, limit = int(param["offset"]), int(param["limit"])
        if not 1 <= limit <= 100:
            self.problems.append("limit out of range")
        chunk = _page(rows, offset, limit, fault)
        return 200, json.dumps(
            {"result": 1, "data": {"rootComment": chunk, "total": len(rows)}}, ensure_ascii=False
        )

    def _check(self, path: str, query: dict[str, str]) -> str | None:
        if path != "/" + query.get("method", "").replace(".", "/"):
            return f"path {path} does not match method {query.get('method')}"
        if query.get("appkey") != self.app_key or query.get("version") != "1":
            return "appkey or version"
        if query.get("signMethod") not in ("MD5", "HMAC_SHA256"):
            return "signMethod"
        if not query.get("timestamp", "").isdigit() or len(query["timestamp"]) != 13:
            return "timestamp must be milliseconds"
        param = json.loads(query.get("param") or "{}")
        if list(param) != sorted(param):
            return "param keys must be sorted"
        if query.get("sign") != ks_reference_sign(query, self.sign_secret):
            return "signature mismatch"
        return None


# -- WeChat -----------------------------------------------------------------------------
class FakeWechat(Fake):
    def __init__(self, app_id: str = "wx123", app_secret: str = "wxsecret") -> None:
        super().__init__()
        self.app_id, self.app_secret = app_id, app_secret
        self.comments: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.valid_token = ""
        self.compromises: list[tuple[str, str]] = []

    def add(
        self,
        comment_id: str,
        created: datetime,
        stars: int = 1,
        content: str = "太差了",
        **extra: Any,
    ) -> None:
        self.comments.append(
            {
                "commentId": comment_id,
                "score": stars * 100,
                "content": {"content": content},
                "createTime": str(int(created.timestamp())),
                "orderId": f"payorder@_{comment_id}",
                "orderInfo": {"busiOrderId": f"B{comment_id}"},
                "userInfo": {"openid": f"o-{comment_id}", "nickName": "微信用户"},
                **extra,
            }
        )

    def expire_token(self) -> None:
        self.valid_token = "revoked"

    def handle(self, method, path, query, body, content_type):  # type: ignore[no-untyped-def]
        data = json.loads(body) if body else {}
        self.requests.append({"path": path, **query, **(data if isinstance(data, dict) else {})})
        fault = self.next_fault()
        if fault == "502":
            return 502, "Bad Gateway"
        if fault == "malformed":
            return 200, "{"
        if path == "/cgi-bin/stable_token":
            if (data.get("appid"), data.get("secret")) != (self.app_id, self.app_secret):
                return 200, json.dumps({"errcode": 40125, "errmsg": "invalid appsecret"})
            self.tokens_issued += 1
            self.valid_token = f"tok-{self.tokens_issued}"
            return 200, json.dumps({"access_token": self.valid_token, "expires_in": 7200})
        if query.get("access_token") != self.valid_token:
            return 200, json.dumps({"errcode": 42001, "errmsg": "access_token expired"})
        if fault == "api":
            return 200, json.dumps({"errcode": 61024, "errmsg": "no permission"})
        if fault == "limited":  # the API's per-minute frequency limit
            return 200, json.dumps({"errcode": 45011, "errmsg": "api minute-quota reach limit"})
        if path == "/wxaapi/comment/reply/add":
            self.replies.append((data["commentId"], data["replyContent"]["content"]))
            return 200, json.dumps({"errcode": 0, "success": True})
        if path == "/wxaapi/comment/confirmcompromise":
            if not isinstance(data.get("picList"), list):
                self.problems.append("picList is required")
            self.compromises.append((data["commentId"], data["content"]))
            return 200, json.dumps({"errcode": 0, "success": True})
        if path != "/wxaapi/comment/mpcommentlist/get" or method != "GET":
            self.problems.append(f"unknown call {method} {path}")
            return 404, "no such api"
        low, high = int(query["startTime"]), int(query["endTime"])
        rows = sorted(
            (c for c in self.comments if low <= int(c["createTime"]) <= high),
            key=lambda c: int(c["createTime"]),
        )
        offset, limit = int(query["offset"]), int(query["limit"])
        if query.get("filterType") != "6":
            self.problems.append("filterType should ask for every review")
        chunk = _page(rows, offset, limit, fault)
        return 200, json.dumps(
            {"errcode": 0, "success": True, "commentList": chunk, "total": len(rows)},
            ensure_ascii=False,
        )


def epoch(local: str) -> datetime:
    return datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SH).astimezone(UTC)


@contextmanager
def serve(fake: Fake) -> Iterator[Fake]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            status, text = fake.handle(
                self.command, parts.path, query, body, self.headers.get("Content-Type", "")
            )
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
