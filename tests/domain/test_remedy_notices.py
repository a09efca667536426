"""Which remedies a notice's words name, and when a case may send a notice announcing one."""

from __future__ import annotations

from tracker.domain.remedy_notices import awaited, named_in, refusal, undecided, unrecorded
from tracker.models.enums import RemedyKind, RemedyNotice


def test_the_words_that_name_a_remedy() -> None:
    assert named_in("${name}您好，您的${product}已安排补发，请留意查收。") == [RemedyNotice.RESEND]
    assert named_in("您的退款已原路退回，换货单号稍后告知") == [
        RemedyNotice.EXCHANGE,
        RemedyNotice.REFUND,
    ]
    assert named_in("关于您购买的商品遇到的问题，我们已在处理，稍后客服与您联系。") == []


def test_a_notice_is_true_only_with_its_remedy_recorded() -> None:
    assert unrecorded(RemedyNotice.RESEND, [])
    assert unrecorded(RemedyNotice.RESEND, [RemedyKind.FULL_REFUND])
    assert not unrecorded(RemedyNotice.RESEND, [RemedyKind.COUPON, RemedyKind.RESEND])
    assert not unrecorded(RemedyNotice.REFUND, [RemedyKind.PARTIAL_REFUND])
    assert not unrecorded(RemedyNotice.REFUND, [RemedyKind.FULL_REFUND])
    assert unrecorded(RemedyNotice.REFUND, [RemedyKind.EXCHANGE])
    assert not unrecorded(RemedyNotice.NOTHING, [])  # the admin said it announces none
    assert not unrecorded(None, [])  # registered before the question: nothing held back
    assert "还没有登记退款（部分或全额）" in refusal(RemedyNotice.REFUND, "退款已办理")


def test_the_admin_is_asked_only_when_the_words_are_there_and_nothing_is_said() -> None:
    question = undecided("${name}您好，您的赠品已补发", None)
    assert question is not None
    assert question.startswith("模板内容提到补发、小礼品：") and "请选“补发”" in question
    assert undecided("${name}您好，您的赠品已补发", RemedyNotice.NOTHING) is None
    assert undecided("${name}您好，问题已在处理", None) is None


def test_the_buyer_waits_for_one_notice_per_remedy_recorded() -> None:
    two = [RemedyKind.RESEND, RemedyKind.COUPON, RemedyKind.RESEND]
    assert awaited(RemedyNotice.RESEND, two, 0) and awaited(RemedyNotice.RESEND, two, 1)
    assert not awaited(RemedyNotice.RESEND, two, 2)
    assert not awaited(RemedyNotice.EXCHANGE, two, 0)
    assert awaited(RemedyNotice.REFUND, [RemedyKind.FULL_REFUND], 0)
    assert not awaited(RemedyNotice.NOTHING, two, 0) and not awaited(None, two, 0)
