"""Aliyun SMS (``dysmsapi`` 2017-05-25: SendSms, QuerySendDetails) and 号码隐私保护
(``dyplsapi`` 2017-05-25: BindAxb, UnbindSubscription), over Aliyun's documented RPC
signature (HMAC-SHA1 over the percent-encoded, sorted query).

Why not the official SDK: ``alibabacloud-dysmsapi20170525`` brings its own HTTP stack
(darabonba, alibabacloud-credentials, aiohttp) beside the one every adapter shares, with
its own retry and timeout rules; the signature is one documented function, tested against
a stand-in that checks it independently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tracker.providers.contract import (
    Binding,
    Delivery,
    ProviderError,
    ProviderSpec,
    Receipt,
    Sms,
)
from tracker.sources.contract import CredentialField, SourceError, SourceOptions
from tracker.sources.http import JsonHttp

SMS_URL = "https://dysmsapi.aliyuncs.com/"
AXB_URL = "https://dyplsapi.aliyuncs.com/"
VERSION = "2017-05-25"
GMT8 = ZoneInfo("Asia/Shanghai")


def pushed_time(text: Any) -> datetime | None:
    """A time in what Aliyun pushes (call records, SMS replies): Beijing time as
    ``2026-11-23 10:01:08``; None when absent or unreadable."""
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
    except ValueError:
        return None


# Codes that may succeed later; everything else is refused for good.
RETRYABLE = {
    "isv.BUSINESS_LIMIT_CONTROL",  # per-number / per-minute rate limit
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError",
    "isv.NO_AVAILABLE_NUMBER",  # the pool is busy for now
}
WHY = {
    "isv.SMS_TEMPLATE_ILLEGAL": "模板未审核通过或已停用",
    "isv.SMS_SIGNATURE_ILLEGAL": "短信签名未审核通过",
    "isv.MOBILE_NUMBER_ILLEGAL": "号码格式不对",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板参数不全",
    "isv.BUSINESS_LIMIT_CONTROL": "触发发送频率限制",
    "isv.AMOUNT_NOT_ENOUGH": "短信账户余额不足",
    "isv.DAY_LIMIT_CONTROL": "已达当日发送上限",
    "SignatureDoesNotMatch": "AccessKey Secret 不对（签名不符）",
    "InvalidAccessKeyId.NotFound": "AccessKey ID 不存在",
    "isv.NO_AVAILABLE_NUMBER": "号码池暂无可用号码",
}


def percent(value: str) -> str:
    """RFC 3986 encoding as Aliyun signs it: space %20, * %2A, ~ kept."""
    return quote(value, safe="~")


def sign(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent(k)}={percent(params[k])}" for k in sorted(params))
    text = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunRpc:
    def __init__(self, credentials: Mapping[str, str], options: SourceOptions, url: str) -> None:
        self.key_id = credentials["access_key_id"]
        self.secret = credentials["access_key_secret"]
        self.url = options.url or url
        self.clock = options.clock
        self.http = JsonHttp(options)

    def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        body = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
            **params,
        }
        body["Signature"] = sign(body, self.secret)
        try:
            answer = self.http.request("POST", self.url, data=body, json_errors=True)
        except SourceError as exc:
            sent = exc.code == "timeout"  # the request may have arrived
            raise ProviderError(exc.code, exc.message, retryable=True, uncertain=sent) from exc
        code = str(answer.get("Code") or "")
        if code != "OK":
            message = WHY.get(code) or str(answer.get("Message") or "")
            raise ProviderError(code or "malformed", message, retryable=code in RETRYABLE)
        return answer


class AliyunSms:
    def __init__(self, credentials: Mapping[str, str], options: SourceOptions) -> None:
        self.rpc = AliyunRpc(credentials, options, SMS_URL)

    def send(self, sms: Sms) -> str:
        answer = self.rpc.call(
            "SendSms",
            {
                "PhoneNumbers": sms.phone,
                "SignName": sms.sign_name,
                "TemplateCode": sms.template_code,
                "TemplateParam": json.dumps(dict(sms.params), ensure_ascii=False),
                "OutId": sms.out_id,
            },
        )
        return str(answer.get("BizId") or "")

    def _details(self, phone: str, sent_on: date, biz_id: str = "") -> list[dict[str, Any]]:
        params = {
            "PhoneNumber": phone,
            "SendDate": sent_on.strftime("%Y%m%d"),
            "PageSize": "50",
            "CurrentPage": "1",
        }
        if biz_id:
            params["BizId"] = biz_id
        answer = self.rpc.call("QuerySendDetails", params)
        found = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        if not isinstance(found, list):
            raise ProviderError("malformed", "SmsSendDetailDTO is not a list")
        return found

    def receipt(self, ref: str, phone: str, sent_on: date) -> Receipt | None:
        details = self._details(phone, sent_on, ref)
        if not details:
            return None
        detail = details[0]
        status = int(detail.get("SendStatus") or 1)  # 1 waiting, 2 failed, 3 delivered
        at = _gmt8(detail.get("ReceiveDate"))
        if status == 3:
            return Receipt(Delivery.DELIVERED, at=at)
        if status == 2:
            return Receipt(Delivery.FAILED, error=str(detail.get("ErrCode") or ""), at=at)
        return Receipt(Delivery.WAITING)

    def find(self, out_id: str, phone: str, sent_on: date) -> str | None:
        for detail in self._details(phone, sent_on):
            if detail.get("OutId") == out_id:
                return str(detail.get("BizId") or out_id)
        return None


class AliyunPrivacyNumbers:
    def __init__(self, credentials: Mapping[str, str], options: SourceOptions) -> None:
        self.rpc = AliyunRpc(credentials, options, AXB_URL)
        self.pool_key = credentials["pool_key"]

    def bind(self, phone_a: str, phone_b: str, expires_at: datetime, out_id: str) -> Binding:
        answer = self.rpc.call(
            "BindAxb",
            {
                "PoolKey": self.pool_key,
                "PhoneNoA": phone_a,
                "PhoneNoB": phone_b,
                "Expiration": expires_at.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S"),
                "OutId": out_id,
                "IsRecordingEnabled": "false",
            },
        )
        dto = answer.get("SecretBindDTO") or {}
        if not dto.get("SubsId") or not dto.get("SecretNo"):
            raise ProviderError("malformed", "BindAxb 应答缺少 SubsId / SecretNo")
        return Binding(str(dto["SubsId"]), str(dto["SecretNo"]), dto.get("Extension") or None)

    def unbind(self, binding: Binding) -> None:
        self.rpc.call(
            "UnbindSubscription",
            {"PoolKey": self.pool_key, "SubsId": binding.subs_id, "SecretNo": binding.secret_no},
        )


def _gmt8(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
    except ValueError:
        return None


SMS = ProviderSpec(
    name="aliyun-sms",
    label="阿里云短信服务",
    fields=(
        CredentialField("access_key_id", "AccessKey ID", secret=False),
        CredentialField("access_key_secret", "AccessKey Secret"),
    ),
    build=AliyunSms,
)
AXB = ProviderSpec(
    name="aliyun-axb",
    label="阿里云号码隐私保护（AXB）",
    fields=(
        CredentialField("access_key_id", "AccessKey ID", secret=False),
        CredentialField("access_key_secret", "AccessKey Secret"),
        CredentialField("pool_key", "号码池 Key（PoolKey）", secret=False),
    ),
    build=AliyunPrivacyNumbers,
)
PROVIDERS = {spec.name: spec for spec in (SMS, AXB)}
