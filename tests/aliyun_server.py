"""A local stand-in for Aliyun's SMS (dysmsapi) and privacy-number (dyplsapi) RPC APIs,
written for the tests.

It checks each request as Aliyun documents its RPC signature (HMAC-SHA1 over the sorted,
percent-encoded parameters, key = secret + "&"), the common parameters and a fresh
SignatureNonce, then serves SendSms / QuerySendDetails / BindAxb / UnbindSubscription from
memory. Faults, one per request: "throttle" (a rate limit), "500", "lost" (the message is
taken, then the answer comes too late for the client).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time as time_module
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

from tests.platform_servers import Fake

COMMON = {
    "Format": "JSON",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureVersion": "1.0",
    "Version": "2017-05-25",
}
NEEDED = {
    "SendSms": {"PhoneNumbers", "SignName", "TemplateCode"},
    "QuerySendDetails": {"PhoneNumber", "SendDate", "PageSize", "CurrentPage"},
    "BindAxb": {"PoolKey", "PhoneNoA", "PhoneNoB", "Expiration"},
    "UnbindSubscription": {"PoolKey", "SubsId", "SecretNo"},
}


def reference_signature(params: dict[str, str], secret: str) -> str:
    """From Aliyun's RPC signature document, apart from tracker.providers.aliyun."""

    def encode(text: str) -> str:
        return quote(text.encode("utf-8"), safe="").replace("%7E", "~")

    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(encode(k) + "=" + encode(v) for k, v in pairs)
    to_sign = "POST&%2F&" + encode(canonical)
    mac = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


class FakeAliyun(Fake):
    def __init__(self, key_id: str = "LTAIlocal", secret: str = "aliyun-secret") -> None:
        super().__init__()
        self.key_id, self.secret = key_id, secret
        self.signs = {"好店"}
        self.templates = {"SMS_1", "SMS_2"}
        self.pools = {"FC100"}
        self.sent: list[dict[str, Any]] = []
        self.bindings: dict[str, dict[str, Any]] = {}
        self.unbound: list[str] = []
        self.nonces: set[str] = set()

    # -- what a test does to the provider -------------------------------------------------
    def deliver(self, biz_id: str, *, ok: bool = True, error: str = "") -> None:
        for sms in self.sent:
            if sms["BizId"] == biz_id:
                sms["SendStatus"], sms["ErrCode"] = (3, "DELIVERED") if ok else (2, error)
                sms["ReceiveDate"] = "2026-11-29 10:00:05"

    # -- the gateway ----------------------------------------------------------------------
    def handle(self, method, path, query, body, content_type):  # type: ignore[no-untyped-def]
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        self.requests.append(form)
        fault = self.next_fault()
        if fault == "500":
            return 500, '{"Code": "InternalError", "Message": "busy"}'
        problem = self._check(form)
        if problem:
            self.problems.append(problem)
            code = "SignatureDoesNotMatch" if "signature" in problem else "MissingParameter"
            return 400, json.dumps({"Code": code, "Message": problem})
        if fault == "throttle":
            return 200, json.dumps({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控"})
        action = form["Action"]
        answer = getattr(self, "_" + action)(form)
        if fault == "lost":
            time_module.sleep(1.5)  # done, but the client has stopped waiting
        return 200, json.dumps(answer, ensure_ascii=False)

    def _check(self, form: dict[str, str]) -> str | None:
        for key, want in COMMON.items():
            if form.get(key) != want:
                return f"{key}={form.get(key)!r}, expected {want!r}"
        if form.get("AccessKeyId") != self.key_id:
            return "unknown AccessKeyId"
        try:
            datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return "Timestamp is not ISO 8601 UTC"
        nonce = form.get("SignatureNonce", "")
        if not nonce or nonce in self.nonces:
            return "SignatureNonce missing or used before"
        self.nonces.add(nonce)
        if form.get("Action") not in NEEDED:
            return f"unknown Action {form.get('Action')!r}"
        missing = NEEDED[form["Action"]] - {k for k, v in form.items() if v}
        if missing:
            return f"missing {sorted(missing)}"
        if form.get("Signature") != reference_signature(form, self.secret):
            return "signature does not match"
        return None

    def _SendSms(self, form: dict[str, str]) -> dict[str, Any]:
        if form["SignName"] not in self.signs:
            return {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "签名不合法"}
        if form["TemplateCode"] not in self.templates:
            return {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法"}
        json.loads(form.get("TemplateParam") or "{}")
        biz_id = f"BIZ{len(self.sent) + 1:04d}"
        self.sent.append({**form, "BizId": biz_id, "SendStatus": 1, "ErrCode": ""})
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "r"}

    def _QuerySendDetails(self, form: dict[str, str]) -> dict[str, Any]:
        found = [
            {
                "PhoneNum": s["PhoneNumbers"],
                "SendStatus": s["SendStatus"],
                "ErrCode": s["ErrCode"],
                "TemplateCode": s["TemplateCode"],
                "ReceiveDate": s.get("ReceiveDate", ""),
                "OutId": s.get("OutId", ""),
                "BizId": s["BizId"],
            }
            for s in self.sent
            if s["PhoneNumbers"] == form["PhoneNumber"]
            and (not form.get("BizId") or s["BizId"] == form["BizId"])
        ]
        return {
            "Code": "OK",
            "TotalCount": len(found),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": found},
        }

    def _BindAxb(self, form: dict[str, str]) -> dict[str, Any]:
        if form["PoolKey"] not in self.pools:
            return {"Code": "isv.INVALID_PARAMETERS", "Message": "PoolKey 不存在"}
        datetime.strptime(form["Expiration"], "%Y-%m-%d %H:%M:%S")
        subs_id = f"S{len(self.bindings) + 1}"
        self.bindings[subs_id] = {**form, "SecretNo": f"1700000{len(self.bindings) + 1:04d}"}
        return {
            "Code": "OK",
            "SecretBindDTO": {"SubsId": subs_id, "SecretNo": self.bindings[subs_id]["SecretNo"]},
        }

    def _UnbindSubscription(self, form: dict[str, str]) -> dict[str, Any]:
        binding = self.bindings.get(form["SubsId"])
        if binding is None or binding["SecretNo"] != form["SecretNo"]:
            return {"Code": "isv.NO_NOT_EXIST", "Message": "绑定关系不存在"}
        self.unbound.append(form["SubsId"])
        return {"Code": "OK", "Chargeid": None}
