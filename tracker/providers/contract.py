"""What a message or call provider offers, whoever runs it.

A provider is a company the shop holds an account with (Aliyun SMS, Aliyun 号码隐私保护),
apart from the review platforms in ``tracker.sources``. Every failure is a
:class:`ProviderError` that says whether trying again can help.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tracker.sources.contract import CredentialField, SourceOptions


class ProviderError(RuntimeError):
    """``code`` is the provider's (or ``timeout``/``network``); ``retryable`` says whether
    the same request may succeed later (a rate limit, a timeout) or never will (a template
    the provider rejects, a wrong number). ``uncertain``: the request may have gone through
    (a timeout after sending), so look before sending again."""

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, uncertain: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message
        self.retryable, self.uncertain = retryable, uncertain


@dataclass(frozen=True)
class Sms:
    phone: str
    sign_name: str
    template_code: str
    params: Mapping[str, str]
    out_id: str  # ours: comes back in the provider's records of the send


class Delivery(StrEnum):
    WAITING = "waiting"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Receipt:
    delivery: Delivery
    error: str = ""  # the carrier's code when it failed
    at: datetime | None = None


@runtime_checkable
class SmsProvider(Protocol):
    def send(self, sms: Sms) -> str:
        """Hand the message over; the provider's reference (Aliyun's BizId)."""
        ...

    def receipt(self, ref: str, phone: str, sent_on: date) -> Receipt | None:
        """What became of a send; None when the provider has no record of it yet."""
        ...

    def find(self, out_id: str, phone: str, sent_on: date) -> str | None:
        """The reference of a send carrying ``out_id``, if one went out."""
        ...


@dataclass(frozen=True)
class Binding:
    subs_id: str
    secret_no: str  # X: the number the agent dials
    extension: str | None = None


@runtime_checkable
class PrivacyCalls(Protocol):
    def bind(self, phone_a: str, phone_b: str, expires_at: datetime, out_id: str) -> Binding:
        """Bind A (the agent) and B (the buyer) to an X from the shop's pool until then."""
        ...

    def unbind(self, binding: Binding) -> None: ...


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    label: str
    fields: tuple[CredentialField, ...]
    build: Callable[[Mapping[str, str], SourceOptions], object]

    def problems(self, values: Mapping[str, str]) -> list[tuple[str, str]]:
        return [(f.name, f"请填写{f.label}。") for f in self.fields if not values.get(f.name)]
