"""Which remedies a notice's words name, and when a case may send a notice announcing one."""

from __future__ import annotations

from tracker.domain.remedy_notices import (
    awaited,
    claimed_in,
    named_in,
    refusal,
    undecided,
    unrecorded,
)
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


def test_what_a_public_text_says_was_given_and_what_it_only_mentions() -> None:
    """A 商家解释 that says 已为您补发 claims a reissue; 如需补发请联系客服 offers one."""
    R = RemedyNotice
    claims = {
        "已为您补发一件新的": [R.RESEND],
        "我们已经安排换货": [R.EXCHANGE],
        "差价已经退给您了": [R.REFUND],
        "退款已到账，请查收": [R.REFUND],
        "已经为您办理了退款": [R.REFUND],
        "已安排重新发货": [R.RESEND],
        "已为您发放优惠券": [R.COUPON],
        "已补发，也已退还运费": [R.RESEND, R.REFUND],
    }
    mentions = (
        "如需补发请联系客服",
        "如已退款请查收",
        "已收到您的反馈，补发会尽快安排",  # 已 ends with its clause
        "商品已降价，差价可以申请",
        "您已领券",  # 券 alone is not the shop's coupon
        "感谢反馈，我们已经改进了包装",
    )
    for text, said in claims.items():
        assert claimed_in(text) == said, text
    for text in mentions:
        assert claimed_in(text) == [], text
