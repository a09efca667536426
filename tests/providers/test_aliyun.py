"""The Aliyun adapters against the local stand-in, which checks the RPC signature."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.aliyun_server import FakeAliyun
from tests.platform_servers import serve
from tracker.providers.aliyun import AliyunPrivacyNumbers, AliyunSms, sign
from tracker.providers.contract import Delivery, ProviderError, Sms
from tracker.sources.contract import SourceOptions

CREDS = {"access_key_id": "LTAIlocal", "access_key_secret": "aliyun-secret", "pool_key": "FC100"}


def options(fake: FakeAliyun) -> SourceOptions:
    return SourceOptions(clock=lambda: datetime.now(UTC), url=fake.url, timeout=1.0, retries=0)


def sms(**kw: str) -> Sms:
    values = {"phone": "13812345678", "sign_name": "好店", "template_code": "SMS_1"} | kw
    return Sms(
        values["phone"],
        values["sign_name"],
        values["template_code"],
        {"name": "李先生/女士"},
        "out-1",
    )


def test_the_signature_matches_aliyuns_documented_example() -> None:
    """The worked example of Aliyun's RPC signature document (secret testsecret)."""
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert sign(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_a_message_is_sent_and_its_receipt_read_back() -> None:
    with serve(FakeAliyun()) as fake:
        client = AliyunSms(CREDS, options(fake))
        ref = client.send(sms())
        assert client.receipt(ref, "13812345678", date.today()).delivery is Delivery.WAITING
        fake.deliver(ref)
        assert client.receipt(ref, "13812345678", date.today()).delivery is Delivery.DELIVERED
        assert client.find("out-1", "13812345678", date.today()) == ref
        assert client.find("out-2", "13812345678", date.today()) is None
    assert fake.problems == []
    assert (
        fake.sent[0]["TemplateParam"] == '{"name": "李先生/女士"}'
        and fake.sent[0]["OutId"] == "out-1"
    )


def test_refusals_say_whether_to_try_again() -> None:
    with serve(FakeAliyun()) as fake:
        client = AliyunSms(CREDS, options(fake))
        with pytest.raises(ProviderError) as rejected:
            client.send(sms(template_code="SMS_999"))
        assert rejected.value.code == "isv.SMS_TEMPLATE_ILLEGAL" and not rejected.value.retryable
        assert "模板" in rejected.value.message
        fake.faults = ["throttle"]
        with pytest.raises(ProviderError) as throttled:
            client.send(sms())
        assert throttled.value.retryable and not throttled.value.uncertain
        fake.faults = ["lost"]
        with pytest.raises(ProviderError) as lost:
            client.send(sms())
        assert lost.value.uncertain  # it may have gone out: look before sending again
        assert len(fake.sent) == 1
        wrong = AliyunSms(CREDS | {"access_key_secret": "other"}, options(fake))
        with pytest.raises(ProviderError) as forged:
            wrong.send(sms())
        assert forged.value.code == "SignatureDoesNotMatch" and not forged.value.retryable
    assert fake.problems == ["signature does not match"]


def test_a_privacy_binding_is_made_and_released() -> None:
    with serve(FakeAliyun()) as fake:
        client = AliyunPrivacyNumbers(CREDS, options(fake))
        until = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)
        binding = client.bind("13900000000", "13812345678", until, "a7")
        bound = fake.bindings[binding.subs_id]
        assert (bound["PhoneNoA"], bound["PhoneNoB"], bound["OutId"]) == (
            "13900000000",
            "13812345678",
            "a7",
        )
        assert bound["Expiration"] == "2026-11-29 10:30:00"  # Beijing time, as documented
        client.unbind(binding)
        assert fake.unbound == [binding.subs_id]
        with pytest.raises(ProviderError):
            AliyunPrivacyNumbers(CREDS | {"pool_key": "nope"}, options(fake)).bind(
                "13900000000", "13812345678", until + timedelta(hours=1), "a8"
            )
    assert fake.problems == []
