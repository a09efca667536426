"""The compliance guard: what it must catch, and what it must leave alone."""

from __future__ import annotations

import pytest

from tracker.domain.compliance import check, check_message, check_public

INDUCEMENTS = [
    "好评返现5元，截图找客服领取",
    "亲，给个五星好评送您一张10元优惠券哦",
    "麻烦您改成好评，我们给您返20元红包",
    "删除差评后联系客服，返现30元",
    "追评有礼，晒图再送小礼物",
    "您把中评改一下，我们这边补贴您15元",
    "改个好评就给您退10元",
    "五星返现！",
    "给您发个红包，麻烦帮忙把评价改成好评",
    "好评10元，差评勿扰",
    # the review named as 评价 and changed in other words; a remedy made conditional
    "您把评价改一下，我们再给您补发一份",
    "修改评价后联系客服领取小礼品",
    "改好评后截图给客服，返您20",
    "麻烦改下评价，退您运费",
    "亲改个好评吧，下次给你打折",
    "麻烦您修改一下评价，我们给您寄一个新的过去",
    "评价改了以后我给您转账",
    "好评后给您补发",
]
PRESSURE = [
    "请您务必今天把差评删除",
    "差评不改的话我们只能去平台投诉您了",
    "我们会每天打电话直到您改为止",
    # a threat for not changing the review, whatever it threatens
    "你不删差评我就一直打电话",
    "不改评价我们就不给你退款",
    "您不改的话我们只能走法律程序",
    "再不删我们就上门找你",
    "如果不改评价，售后就不处理了",
]
INNOCENT = [
    "问题解决了您还满意的话，能否麻烦您在订单里把评价改一下？",  # asking, offering nothing
    "我们马上给您补发一件新的，或者直接退款，您看哪种更方便？",
    "给您申请了一张无门槛优惠券，与评价无关，下次购物可以直接用。",
    "补偿已经到账，无论您是否修改评价都不影响。",
    "为您补上差价，希望您以后继续支持我们。",
    "看到您对商品的评价，特地打电话来了解一下情况。",
    "非常感谢您的好评和支持！",  # thanks for a good review already given
    "客服态度很好，问题解决了，改个好评。",  # a buyer's own words
    "我们马上为您修改收货地址。",  # 马上…修改, but not the review
    # a remedy beside the review, not for changing it
    "评价里提到的问题我们会改进，给您补发一份",
    "看到您的评价，我们马上给您补发",
    "差评中提到的包装问题我们会改善，补发已经安排",
    "我们会根据您的评价改进包装，已为您办理退款",
    "感谢您的好评，补发的货已经发出",  # thanks for a review given, and news of a remedy
    "非常感谢您的五星好评，退款已原路退回",
    "您不改地址的话我们没法发货",  # 不改, but no threat
    "不删减内容的话字数太多，我们分两条发给您",
]


@pytest.mark.parametrize("text", INDUCEMENTS)
def test_inducements_are_caught_and_named(text: str) -> None:
    (finding,) = check(text)[:1]
    assert finding.kind == "inducement" and "第九条" in finding.describe()


@pytest.mark.parametrize("text", PRESSURE)
def test_pressure_is_caught(text: str) -> None:
    assert [f.kind for f in check(text)] == ["pressure"]


@pytest.mark.parametrize("text", INNOCENT)
def test_what_the_playbook_allows_does_not_trip_it(text: str) -> None:
    assert check(text) == []


def test_the_sentence_is_quoted_and_only_the_offending_one() -> None:
    text = "很抱歉让您久等了。我们给您补发一箱。好评返现10元哦！"
    (finding,) = check(text)
    assert finding.sentence == "好评返现10元哦"


@pytest.mark.parametrize(
    "body",
    [
        "亲，给个五星好评返现5元",  # inducement
        "${name}您好，您的${product}已补发，收到后麻烦给个好评哦",  # a review invitation in a notice
        "亲，追评晒图有礼",
        "${name}您好，请尽快删除差评，否则我们将投诉",  # pressure
    ],
)
def test_notice_messages_that_must_not_be_sent(body: str) -> None:
    assert check_message(body, marketing=False)


@pytest.mark.parametrize(
    "body",
    [
        "${name}您好，您的${product}我们已安排补发，单号稍后短信告知。",
        "${name}您好，关于${product}的问题，客服稍后来电，请留意。",
        "${name}您好，退款已原路退回，预计1-3个工作日到账。",
    ],
)
def test_plain_after_sales_notices_pass(body: str) -> None:
    assert check_message(body, marketing=False) == []


def test_marketing_needs_the_opt_out() -> None:
    assert any("拒收请回复R" in p for p in check_message("新品上市，老客九折", marketing=True))
    assert check_message("新品上市，老客九折，拒收请回复R", marketing=True) == []


def test_a_public_text_that_names_the_buyer_or_a_number_is_quoted_by_its_sentence() -> None:
    buyer = ["郑俊杰", "布丁橘子713"]
    found = check_public(
        "非常抱歉给您带来不便。郑俊杰先生，补发已寄出！客服电话 0571-88886666。感谢反馈", buyer
    )
    assert [(f.kind, f.sentence) for f in found] == [
        ("privacy", "郑俊杰先生，补发已寄出"),
        ("number", "客服电话 0571-88886666"),
    ]
    assert found[0].describe().startswith("“郑俊杰先生，补发已寄出”写出了买家的个人信息（")
    assert found[1].describe().startswith("“客服电话 0571-88886666”写了电话号码（")
    # an inducement is still one, beside what names the buyer
    kinds = [f.kind for f in check_public("布丁橘子713，改个好评送您红包", buyer)]
    assert kinds == ["inducement", "privacy"]
    assert check_public("亲，非常抱歉，已为您补发，郑**请查收。", buyer) == []
