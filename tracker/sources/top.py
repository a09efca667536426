"""Taobao / Tmall Open Platform (TOP): ``taobao.traderates.get``, the reviews buyers left
(by time, or by order to read a review again); ``tmall.traderate.feeds.get``, a Tmall
review's 追评 (the list does not carry it);
``taobao.traderate.explain.add``, the seller's explanation; ``taobao.top.oaid.decrypt`` for
the after-sales scene (a number to call, usually a virtual one that lapses); and
``taobao.jst.sms.oaid.message.send``, an SMS by order and OAID with an approved template;
``taobao.crm.grade.set`` and ``taobao.crm.memberinfo.update(.privy)``, the shop's member level
rules and each buyer's level (店铺会员管理).

Requests are signed as TOP documents it (md5 or hmac over the sorted parameters). A query
returns at most 1,500 results, so long ranges are cut into one-day windows, and a window
that is still too full is split in two until it fits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tracker.domain.segments import LevelBasis, MemberLevels
from tracker.domain.work_plan import ban_seconds
from tracker.models.enums import Platform, Rating
from tracker.sources.contract import (
    Adapter,
    Capability,
    CredentialField,
    DecryptedContact,
    PlatformMember,
    PlatformMessage,
    RateLimited,
    Refused,
    SourceError,
    SourceOptions,
    StoredReview,
    Window,
    WindowTooLarge,
    fetch_in_windows,
    reread_by_time,
)
from tracker.sources.http import JsonHttp
from tracker.sources.records import ReviewRecord

DEFAULT_URL = "https://eco.taobao.com/router/rest"
GMT8 = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
METHOD = "taobao.traderates.get"
FEED_METHOD = "tmall.traderate.feeds.get"
# TOP's "App Call Limited": the app key's call quota; sub_msg says how long the ban lasts.
APP_CALL_LIMITED = "7"
FIELDS = (
    "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply,"
    "num_iid,valid_score"
)
PAGE_SIZE = 150
MAX_RESULTS = 1500  # per query window
MAX_WINDOW = timedelta(days=1)
DECRYPT_SCENE = "2001"  # 客户售后服务: the scene an after-sales call is allowed under


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


class TopSource:
    """A shop's TOP session: reads reviews, posts explanations."""

    def __init__(self, credentials: Mapping[str, str], options: SourceOptions) -> None:
        self.app_key = credentials["app_key"]
        self.app_secret = credentials["app_secret"]
        self.session = credentials["session"]
        self.sign_method = credentials.get("sign_method") or "md5"
        self.url = options.url or DEFAULT_URL
        self.clock = options.clock
        self.http = JsonHttp(options)

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "method": method,
            "app_key": self.app_key,
            "session": self.session,
            "timestamp": self.clock().astimezone(GMT8).strftime(TIME_FORMAT),
            "format": "json",
            "v": "2.0",
            "sign_method": self.sign_method,
            **{k: str(v) for k, v in params.items()},
        }
        body["sign"] = sign(body, self.app_secret, self.sign_method)
        payload = self.http.request("POST", self.url, data=body)
        if "error_response" in payload:
            error = payload["error_response"] or {}
            code = str(error.get("code", "unknown"))
            if error.get("sub_code"):
                code = f"{code}/{error['sub_code']}"
            message = str(error.get("sub_msg") or error.get("msg") or "")
            if str(error.get("code")) == APP_CALL_LIMITED:
                raise RateLimited(code, message, ban_seconds(message))
            raise SourceError(code, message)
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        if not isinstance(payload.get(key), dict):
            raise SourceError("malformed", f"answer has no {key}")
        return payload[key]

    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        return fetch_in_windows(self.traderates, start, end, size=MAX_WINDOW)

    def check(self) -> None:
        now = self.clock()
        self._page(now - timedelta(minutes=1), now, page=1, size=1)

    def reread(self, reviews: Sequence[StoredReview], platform: Platform) -> list[ReviewRecord]:
        """Each review by its order (``tid`` takes a 子订单 number too); on Tmall, whose
        buyers cannot revise but only add a 追评, also its 追评 from the review feed (for
        those without one: a buyer adds one 追评)."""
        wanted = {review.platform_key for review in reviews if not review.has_follow_up}
        orders = {review.platform_key: _order_of(review.platform_key) for review in reviews}
        found = reread_by_time(self, [r for r in reviews if not orders[r.platform_key]])
        for oid in sorted(set(orders.values()) - {""}):
            found.extend(self._by_order(oid))
        if platform is not Platform.TMALL:
            return found
        return [
            self._with_follow_up(record) if record.platform_key in wanted else record
            for record in found
        ]

    def _by_order(self, oid: str) -> list[ReviewRecord]:
        records: list[ReviewRecord] = []
        page = 1
        while True:
            rates, has_next = self._query(page=page, size=PAGE_SIZE, tid=oid)
            records.extend(parse_rate(rate) for rate in rates)
            if not has_next:
                return records
            page += 1

    def _with_follow_up(self, record: ReviewRecord) -> ReviewRecord:
        """The record with its 追评 as ``tmall.traderate.feeds.get`` shows it. A review the
        feed does not know (TOP's business error, ``isv.…``) keeps what the list said."""
        try:
            answer = self.call(FEED_METHOD, {"child_trade_id": record.oid})
        except RateLimited:
            raise
        except SourceError as exc:
            if "/isv." in exc.code:
                return record
            raise
        info = answer.get("tmall_rate_info")
        if not isinstance(info, dict) or not info.get("append_content"):
            return record
        try:
            at = datetime.strptime(str(info["append_time"]), TIME_FORMAT).replace(tzinfo=GMT8)
        except (KeyError, ValueError) as exc:
            raise SourceError("malformed", f"append_time {info.get('append_time')!r}") from exc
        return dataclasses.replace(
            record, follow_up_text=str(info["append_content"]), follow_up_at=at
        )

    def post_reply(self, platform_key: str, text: str) -> None:
        oid = platform_key.split(":", 1)[0]
        answer = self.call("taobao.traderate.explain.add", {"oid": oid, "reply": text})
        if not answer.get("is_success"):
            raise SourceError("not-success", "the platform did not accept the explanation")

    def decrypt_contact(self, tid: str, oaid: str) -> DecryptedContact:
        answer = self.call(
            "taobao.top.oaid.decrypt",
            {"query_list": json.dumps([{"oaid": oaid, "tid": tid, "scene": DECRYPT_SCENE}])},
        )
        receivers = answer.get("receiver_list") or []
        if isinstance(receivers, dict):  # TOP wraps lists: {"receiver": [...]}
            receivers = receivers.get("receiver") or []
        if not isinstance(receivers, list) or not receivers:
            raise SourceError("not-found", "平台没有返回这笔订单的收件人")
        receiver = receivers[0]
        if receiver.get("matched") is False:
            raise SourceError("oaid-changed", "订单的 OAID 已变化，请重新导入这笔订单后再试")
        number = str(receiver.get("mobile") or receiver.get("phone") or "")
        if not number:
            raise SourceError("no-number", "平台没有返回可拨打的号码")
        expires = receiver.get("secret_no_expire_time")
        try:
            expires_at = (
                datetime.strptime(str(expires), TIME_FORMAT).replace(tzinfo=GMT8)
                if expires
                else None
            )
        except ValueError as exc:
            raise SourceError("malformed", f"secret_no_expire_time {expires!r}") from exc
        return DecryptedContact(
            number=number,
            protected=bool(receiver.get("privacy_protection")),
            expires_at=expires_at,
            source="top",
        )

    def extend_contact(self, tid: str, oaid: str, days: int) -> DecryptedContact:
        """taobao.top.secret.extend: one ``extend_request`` object (the order, its OAID, the
        scene, the days); the answer's ``result`` has the number and its new expiry."""
        request = {
            "oaid": oaid,
            "order_id": int(tid) if tid.isdigit() else tid,
            "scene": DECRYPT_SCENE,
            "extend_days": days,
        }
        answer = self.call("taobao.top.secret.extend", {"extend_request": json.dumps(request)})
        result = answer.get("result")
        if not isinstance(result, dict) or not result.get("expire_time"):
            raise SourceError("malformed", "平台没有返回延期后的有效期")
        try:
            expires_at = datetime.strptime(str(result["expire_time"]), TIME_FORMAT).replace(
                tzinfo=GMT8
            )
        except ValueError as exc:
            raise SourceError("malformed", f"expire_time {result['expire_time']!r}") from exc
        return DecryptedContact(
            number=str(result.get("secret_no") or ""),
            protected=True,
            expires_at=expires_at,
            source="top",
        )

    def send_message(self, message: PlatformMessage) -> str:
        request = {
            "order_id": message.tid,
            "oaid": message.oaid,
            "sms_free_sign_name": message.sign_name,
            "template_code": message.template_code,
            "params": json.dumps(dict(message.params), ensure_ascii=False),
            "extend": message.out_id,
        }
        answer = self.call(
            "taobao.jst.sms.oaid.message.send",
            {"param_send_message_by_o_a_i_d_request": json.dumps(request, ensure_ascii=False)},
        )
        result = answer.get("result") if isinstance(answer.get("result"), dict) else answer
        if result.get("success") is False:
            raise SourceError(
                str(result.get("code") or "not-success"),
                str(result.get("message") or "平台没有接受这条短信"),
            )
        return str(result.get("module") or answer.get("req_id") or "")

    def set_level_rules(self, levels: MemberLevels) -> None:
        answer = self.call("taobao.crm.grade.set", grade_rules(levels))
        if not answer.get("is_success"):
            raise SourceError("not-success", "平台没有接受会员等级规则")

    def set_member_level(self, member: PlatformMember, level: int) -> None:
        if not 1 <= level <= 4:
            raise SourceError("grade", f"会员等级只能设为 1–4，不是 {level}")
        if member.ouid:  # buyers named by their open id since nicks are masked
            method, who = "taobao.crm.memberinfo.update.privy", {"ouid": member.ouid}
        else:
            method, who = "taobao.crm.memberinfo.update", {"buyer_nick": member.nick}
        try:
            answer = self.call(method, {**who, "grade": level})
        except RateLimited:
            raise
        except SourceError as exc:
            if "/isv." in exc.code:  # a business refusal of this buyer, not of the call
                raise Refused(exc.code, exc.message) from exc
            raise
        if not answer.get("is_success"):
            raise Refused("not-success", "平台没有接受这位买家的会员等级")

    def traderates(self, start: datetime, end: datetime) -> list[ReviewRecord]:
        """Every review posted in [start, end); WindowTooLarge when TOP would cut it off."""
        records: list[ReviewRecord] = []
        page = 1
        while True:
            rates, has_next = self._page(start, end, page=page, size=PAGE_SIZE)
            records.extend(parse_rate(rate) for rate in rates)
            if len(records) >= MAX_RESULTS:
                # At the cap we cannot tell whether TOP cut the rest off (it may say
                # has_next=false there): split the window rather than risk losing reviews.
                raise WindowTooLarge(f"{MAX_RESULTS}+ reviews in {start} .. {end}")
            if not has_next:
                return records
            page += 1

    def _page(
        self, start: datetime, end: datetime, *, page: int, size: int
    ) -> tuple[list[Any], bool]:
        return self._query(
            page=page,
            size=size,
            start_date=start.astimezone(GMT8).strftime(TIME_FORMAT),
            end_date=end.astimezone(GMT8).strftime(TIME_FORMAT),
        )

    def _query(self, *, page: int, size: int, **where: str) -> tuple[list[Any], bool]:
        """One page of ``taobao.traderates.get``: the rates and whether more follow."""
        answer = self.call(
            METHOD,
            {
                "fields": FIELDS,
                "rate_type": "get",
                "role": "buyer",
                "use_has_next": "true",
                "page_no": page,
                "page_size": size,
                **where,
            },
        )
        rates = (answer.get("trade_rates") or {}).get("trade_rate") or []
        if not isinstance(rates, list):
            raise SourceError("malformed", "trade_rates.trade_rate is not a list")
        return rates, bool(answer.get("has_next"))


def _order_of(platform_key: str) -> str:
    """The 子订单 number in one of our TOP keys (``<oid>:buyer``), else ""."""
    oid, _, role = platform_key.partition(":")
    return oid if oid.isdigit() and role == "buyer" else ""


def refused_levels(levels: MemberLevels) -> SourceError | None:
    """Why ``taobao.crm.grade.set`` would turn these rules down, known before asking: TOP
    needs at least one level and a member price (discount) for each."""
    if not levels.thresholds:
        return SourceError("no-levels", "本店还没有设置会员等级")
    if len(levels.discounts) != len(levels.thresholds):
        return SourceError("no-discounts", "淘宝的会员等级规则须为每个等级填写会员折扣")
    return None


def grade_rules(levels: MemberLevels) -> dict[str, str]:
    """``taobao.crm.grade.set``'s parameters: one entry per level the shop uses, in
    parallel lists. ``amount`` (fen) or ``count`` is what reaching each level takes;
    ``discount`` is each level's member price in thousandths (950 = 9.5 折), required by TOP
    and lower as the level rises; ``hierarchy`` says the level is reached by that amount."""
    refusal = refused_levels(levels)
    if refusal is not None:
        raise refusal
    used = range(1, len(levels.thresholds) + 1)
    if levels.basis is LevelBasis.SPEND:
        reach = {"amount": ",".join(str(int(t * 100)) for t in levels.thresholds)}
    else:
        reach = {"count": ",".join(str(int(t)) for t in levels.thresholds)}
    return {
        "grade": ",".join(str(i) for i in used),
        "discount": ",".join(str(int(d * 100)) for d in levels.discounts),
        "hierarchy": ",".join("true" for _ in used),
        **reach,
    }


def parse_rate(rate: Any) -> ReviewRecord:
    try:
        oid = str(rate["oid"])
        result = Rating(rate["result"])
        created = datetime.strptime(rate["created"], TIME_FORMAT).replace(tzinfo=GMT8)
        price = (
            Decimal(str(rate["item_price"])) if rate.get("item_price") not in (None, "") else None
        )
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise SourceError("malformed", f"unreadable trade_rate {str(rate)[:120]}: {exc!r}") from exc
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


ADAPTER = Adapter(
    name="top",
    label="淘宝开放平台（TOP）",
    platforms=frozenset({Platform.TAOBAO, Platform.TMALL}),
    fields=(
        CredentialField("app_key", "App Key", secret=False),
        CredentialField("app_secret", "App Secret"),
        CredentialField("session", "授权 Session（SessionKey）"),
        CredentialField("sign_method", "签名方式", secret=False, choices=("md5", "hmac")),
    ),
    build=TopSource,
    capabilities=frozenset(
        {
            Capability.REPLY,
            Capability.DECRYPT_CONTACT,
            Capability.EXTEND_CONTACT,
            Capability.MESSAGE,
            Capability.SYNC_LEVELS,
        }
    ),
    refuses_levels=refused_levels,
)
