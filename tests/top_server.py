"""A local stand-in for the TOP gateway, written for the tests.

It checks every request the way TOP does (signature, common and business parameters),
serves ``taobao.traderates.get`` from a list of rates filtered by time (or by order) and
paged, ``tmall.traderate.feeds.get`` (a Tmall review's 追评, by 子订单), and can be told to
misbehave: HTTP errors, API errors, malformed JSON, slow answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time as time_module
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs

from tests.platform_servers import serve as serve_locally

REQUIRED_FIELDS = {"tid", "oid", "role", "nick", "result", "created", "content", "num_iid"}


def reference_sign(params: dict[str, str], secret: str, method: str) -> str:
    """Written from TOP's documentation independently of tracker.sources.top."""
    pairs = sorted((k, v) for k, v in params.items() if k != "sign")
    text = "".join(k + v for k, v in pairs)
    if method == "hmac":
        return hmac.new(secret.encode(), text.encode(), "md5").hexdigest().upper()
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()


OTHER_METHODS = {
    "tmall.traderate.feeds.get",
    "taobao.top.oaid.decrypt",
    "taobao.top.secret.extend",
    "taobao.jst.sms.oaid.message.send",
    "taobao.crm.grade.set",
    "taobao.crm.memberinfo.update",
    "taobao.crm.memberinfo.update.privy",
}


def _error(code: int, msg: str, sub_msg: str, sub_code: str = "") -> str:
    error: dict[str, Any] = {"code": code, "msg": msg, "sub_msg": sub_msg}
    if sub_code:
        error["sub_code"] = sub_code
    return json.dumps({"error_response": error}, ensure_ascii=False)


class FakeTop:
    def __init__(
        self, app_key: str = "12345678", secret: str = "s3cret", session: str = "sess-ok"
    ) -> None:
        self.app_key, self.secret, self.session = app_key, secret, session
        self.rates: list[dict[str, Any]] = []
        self.requests: list[dict[str, str]] = []
        # consumed one per request: "502", "api", "malformed", "slow", "duplicate", "shuffle",
        # "limited" (the app's call quota: TOP's code 7 and how long the ban lasts)
        self.faults: list[str | None] = []
        # called with each request's form before it is answered (a test may block in it)
        self.before_answer: Callable[[dict[str, str]], None] | None = None
        self.problems: list[str] = []  # what a real gateway would have refused
        self.url = ""
        # taobao.top.oaid.decrypt: (tid, oaid) -> the receiver TOP answers with
        self.receivers: dict[tuple[str, str], dict[str, Any]] = {}
        self.sms: list[dict[str, Any]] = []  # taobao.jst.sms.oaid.message.send requests
        self.approved_templates: set[str] = set()
        # 店铺会员管理: the rules taobao.crm.grade.set accepted last, and each member's grade
        # by nick or by OUID (a buyer not in it is not a member of the shop)
        self.grade_rules: dict[str, list[str]] | None = None
        self.members: dict[str, int] = {}
        # tmall.traderate.feeds.get: 子订单 -> (追评, its time); an oid not in it is unknown
        self.feeds: dict[str, tuple[str | None, str | None]] = {}

    def add_rate(
        self,
        oid: str,
        created: str,
        result: str = "bad",
        content: str = "太差了",
        nick: str = "买家",
        **extra: Any,
    ) -> None:
        self.rates.append(
            {
                "tid": f"T{oid}",
                "oid": oid,
                "role": "buyer",
                "nick": nick,
                "result": result,
                "created": created,
                "rated_nick": "店铺",
                "item_title": "赣南脐橙",
                "item_price": "39.90",
                "content": content,
                "num_iid": 620001,
                "valid_score": True,
                **extra,
            }
        )

    # -- the gateway --------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, content_type: str
    ) -> tuple[int, str]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        return self.answer(form)

    def answer(self, form: dict[str, str]) -> tuple[int, str]:
        self.requests.append(form)
        if self.before_answer is not None:
            self.before_answer(form)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "limited":
            return 200, _error(
                7,
                "App Call Limited",
                "This ban will last for 3 more seconds",
                "accesscontrol.limited-by-app-access-count",
            )
        if fault == "502":
            return 502, "Bad Gateway"
        if fault == "slow":
            time_module.sleep(1.0)
        if fault == "malformed":
            return 200, '{"traderates_get_response": {"trade_rates": '
        if form.get("method") in OTHER_METHODS:
            return self._other(form, fault)
        check = self._check(form)
        if check:
            self.problems.append(check)
            return 200, json.dumps(
                {"error_response": {"code": 25, "msg": "Invalid signature", "sub_msg": check}}
            )
        if fault == "api" or form["session"] != self.session:
            return 200, json.dumps(
                {
                    "error_response": {
                        "code": 27,
                        "msg": "Invalid session",
                        "sub_code": "invalid-sessionkey",
                        "sub_msg": "SessionKey非法或已过期",
                    }
                }
            )
        if form.get("tid"):  # an order, 父订单 or 子订单: every review of it, whenever posted
            matching = [r for r in self.rates if form["tid"] in (str(r["tid"]), str(r["oid"]))]
        else:
            start = datetime.strptime(form["start_date"], "%Y-%m-%d %H:%M:%S")
            end = datetime.strptime(form["end_date"], "%Y-%m-%d %H:%M:%S")
            matching = [
                r
                for r in self.rates
                if start <= datetime.strptime(r["created"], "%Y-%m-%d %H:%M:%S") < end
            ]
        matching.sort(key=lambda r: r["created"])
        page, size = int(form["page_no"]), int(form["page_size"])
        chunk = matching[(page - 1) * size : page * size]
        if fault == "duplicate" and page > 1:  # the previous page's rates once more
            chunk = matching[(page - 2) * size : (page - 1) * size] + chunk
        if fault == "shuffle":  # newest first, as some gateways answer
            chunk = list(reversed(chunk))
        has_next = page * size < len(matching)
        if page * size >= 1500:
            has_next = False  # TOP stops at 1,500 results: the rest are silently cut off
        return 200, json.dumps(
            {
                "traderates_get_response": {
                    "trade_rates": {"trade_rate": chunk},
                    "has_next": has_next,
                }
            },
            ensure_ascii=True,  # as gateways send it; a lone surrogate can only travel escaped
        )

    def _other(self, form: dict[str, str], fault: str | None) -> tuple[int, str]:
        """The after-sales calls: decrypt a receiver, send an SMS by OAID."""
        check = self._check_common(form)
        if check:
            self.problems.append(check)
            return 200, _error(25, "Invalid signature", check)
        if fault == "api" or form["session"] != self.session:
            return 200, _error(
                27, "Invalid session", "SessionKey非法或已过期", "invalid-sessionkey"
            )
        if form["method"] == "tmall.traderate.feeds.get":
            return self._feed(form)
        if form["method"] == "taobao.crm.grade.set":
            return self._grade_set(form)
        if form["method"].startswith("taobao.crm.memberinfo.update"):
            return self._member_update(form)
        if form["method"] == "taobao.top.secret.extend":
            return self._secret_extend(form)
        if form["method"] == "taobao.top.oaid.decrypt":
            queries = json.loads(form.get("query_list") or "[]")
            if not queries or any(q.get("scene") != "2001" for q in queries):
                self.problems.append("decrypt without the after-sales scene 2001")
                return 200, _error(40, "Missing scene", "scene 必须为售后场景", "isv.invalid-scene")
            found = [self.receivers.get((q.get("tid"), q.get("oaid"))) for q in queries]
            if not all(found):
                return 200, _error(
                    15, "Remote service error", "该订单不允许解密", "isv.decrypt-denied"
                )
            return 200, json.dumps(
                {"top_oaid_decrypt_response": {"receiver_list": {"receiver": found}}},
                ensure_ascii=False,
            )
        request = json.loads(form.get("param_send_message_by_o_a_i_d_request") or "{}")
        missing = {"order_id", "oaid", "sms_free_sign_name", "template_code"} - set(request)
        if missing:
            self.problems.append(f"sms request lacks {sorted(missing)}")
            return 200, _error(40, "Missing parameter", ",".join(sorted(missing)))
        json.loads(request.get("params") or "{}")  # a JSON object of template parameters
        if request["template_code"] not in self.approved_templates:
            result = {
                "success": False,
                "code": "isv.template-not-approved",
                "message": "模板未审核",
            }
        else:
            self.sms.append(request)
            result = {"success": True, "module": f"ext{len(self.sms)}"}
        return 200, json.dumps(
            {"jst_sms_oaid_message_send_response": {"result": result}}, ensure_ascii=False
        )

    def _feed(self, form: dict[str, str]) -> tuple[int, str]:
        """As TOP documents tmall.traderate.feeds.get: ``child_trade_id`` (a number) in,
        ``tmall_rate_info`` out with the review's ``content`` and, once the buyer added one,
        ``append_content`` and ``append_time``."""
        oid = form.get("child_trade_id", "")
        if not oid.isdigit():
            self.problems.append(f"feeds.get child_trade_id {oid!r}")
            return 200, _error(40, "Missing parameter", "child_trade_id", "isv.invalid-parameter")
        rate = next((r for r in self.rates if str(r["oid"]) == oid), None)
        if rate is None or oid not in self.feeds:
            return 200, _error(15, "Remote service error", "评价不存在", "isv.rate-not-exist")
        info: dict[str, Any] = {
            "user_nick": rate["nick"],
            "content": rate["content"],
            "comment_time": rate["created"],
        }
        append, at = self.feeds[oid]
        if append:
            info |= {"append_content": append, "append_time": at}
        return 200, json.dumps(
            {"tmall_traderate_feeds_get_response": {"tmall_rate_info": info}},
            ensure_ascii=False,
        )

    def _secret_extend(self, form: dict[str, str]) -> tuple[int, str]:
        """As TOP documents taobao.top.secret.extend: one ``extend_request`` object with the
        OAID, the order id (a number), the scene and 7, 15 or 30 days; the answer's
        ``result`` carries the virtual number and its new expiry."""
        request = json.loads(form.get("extend_request") or "{}")
        missing = {"oaid", "order_id", "scene", "extend_days"} - set(request)
        if missing:
            self.problems.append(f"extend request lacks {sorted(missing)}")
            return 200, _error(40, "Missing parameter", ",".join(sorted(missing)))
        if request["scene"] != "2001" or request["extend_days"] not in (7, 15, 30):
            self.problems.append(f"extend request {request}")
            return 200, _error(41, "Invalid arguments", "scene 或 extend_days 不合法")
        receiver = self.receivers.get((str(request["order_id"]), request["oaid"]))
        if receiver is None or not receiver.get("privacy_protection"):
            return 200, _error(
                15, "Remote service error", "该订单没有可延期的虚拟号", "isv.no-secret"
            )
        until = datetime.strptime(receiver["secret_no_expire_time"], "%Y-%m-%d %H:%M:%S")
        receiver["secret_no_expire_time"] = (
            until + timedelta(days=request["extend_days"])
        ).strftime("%Y-%m-%d %H:%M:%S")
        result = {
            "secret_no": receiver["mobile"],
            "expire_time": receiver["secret_no_expire_time"],
        }
        return 200, json.dumps(
            {"top_secret_extend_response": {"result": result, "request_id": "r1"}},
            ensure_ascii=False,
        )

    def _grade_set(self, form: dict[str, str]) -> tuple[int, str]:
        """As TOP's documentation for taobao.crm.grade.set states the rules: grade 1–4,
        discount required (700–1000, lower as the grade rises), hierarchy required, and
        amount (fen) or count, rising with the grade."""

        def listed(name: str) -> list[str]:
            return [v for v in form.get(name, "").split(",") if v != ""]

        grades, discounts, hierarchy = listed("grade"), listed("discount"), listed("hierarchy")
        amount, count = listed("amount"), listed("count")
        problem = None
        if not grades or not discounts or not hierarchy:
            problem = "grade, discount and hierarchy are required"
        elif max(len(grades), len(discounts), len(hierarchy), len(amount), len(count)) > 4:
            problem = "at most 4 entries per list"
        elif not all(v.isdigit() for v in grades + discounts + amount + count):
            problem = "grade, discount, amount and count are whole numbers"
        elif len({len(grades), len(discounts), len(hierarchy)}) != 1:
            problem = "grade, discount and hierarchy must name the same grades"
        elif any(not 1 <= int(g) <= 4 for g in grades) or grades != sorted(set(grades)):
            problem = "grade is 1–4, each once, rising"
        elif any(not 700 <= int(d) <= 1000 for d in discounts):
            problem = "discount is 700–1000"
        elif any(int(b) >= int(a) for a, b in pairwise(discounts)):
            problem = "discount must fall as the grade rises"
        elif any(h not in ("true", "false") for h in hierarchy):
            problem = "hierarchy is true or false"
        elif bool(amount) == bool(count) and "true" in hierarchy:
            problem = "one of amount and count"
        else:
            reach = [int(v) for v in amount or count]
            if len(reach) != hierarchy.count("true"):
                problem = "amount/count: one entry per hierarchy grade"
            elif any(b <= a for a, b in pairwise(reach)):
                problem = "amount/count must rise with the grade"
        if problem:
            self.problems.append(f"crm.grade.set: {problem}")
            return 200, _error(40, "Invalid arguments", problem, "isv.invalid-parameter")
        self.grade_rules = {
            "grade": grades,
            "discount": discounts,
            "hierarchy": hierarchy,
            "amount": amount,
            "count": count,
        }
        return 200, json.dumps({"crm_grade_set_response": {"is_success": True}})

    def _member_update(self, form: dict[str, str]) -> tuple[int, str]:
        privy = form["method"].endswith(".privy")
        who = form.get("ouid" if privy else "buyer_nick") or ""
        if not who or (privy and "buyer_nick" in form):
            self.problems.append(f"{form['method']} without its buyer key")
            return 200, _error(40, "Missing parameter", "ouid" if privy else "buyer_nick")
        if not form.get("grade", "").isdigit() or not 1 <= int(form["grade"]) <= 4:
            self.problems.append(f"grade {form.get('grade')!r}")
            return 200, _error(41, "Invalid arguments", "grade", "isv.invalid-parameter")
        if who not in self.members:
            return 200, _error(
                15, "Remote service error", "该买家不是本店会员", "isv.member-not-exist"
            )
        self.members[who] = int(form["grade"])
        answer = form["method"].removeprefix("taobao.").replace(".", "_") + "_response"
        return 200, json.dumps({answer: {"is_success": True}})

    def _check_common(self, form: dict[str, str]) -> str | None:
        for key, want in (("app_key", self.app_key), ("v", "2.0"), ("format", "json")):
            if form.get(key) != want:
                return f"parameter {key}={form.get(key)!r}, expected {want!r}"
        if form.get("sign_method") not in ("md5", "hmac"):
            return "bad sign_method"
        if form.get("sign") != reference_sign(form, self.secret, form["sign_method"]):
            return "signature mismatch"
        return None

    def _check(self, form: dict[str, str]) -> str | None:
        for key, want in (
            ("method", "taobao.traderates.get"),
            ("app_key", self.app_key),
            ("v", "2.0"),
            ("format", "json"),
            ("rate_type", "get"),
            ("role", "buyer"),
            ("use_has_next", "true"),
        ):
            if form.get(key) != want:
                return f"parameter {key}={form.get(key)!r}, expected {want!r}"
        if form.get("sign_method") not in ("md5", "hmac"):
            return "bad sign_method"
        try:
            datetime.strptime(form["timestamp"], "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError):
            return "bad timestamp"
        if not set(form.get("fields", "").split(",")) >= REQUIRED_FIELDS:
            return "fields incomplete"
        if not 1 <= int(form.get("page_size", "0")) <= 150:
            return "page_size out of range"
        if form.get("sign") != reference_sign(form, self.secret, form["sign_method"]):
            return "signature mismatch"
        return None


def serve(fake: FakeTop) -> AbstractContextManager[FakeTop]:
    """The gateway on a loopback port (the HTTP plumbing all stand-ins share)."""
    return serve_locally(fake)  # type: ignore[return-value]
