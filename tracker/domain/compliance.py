"""The compliance guard: words that offer something for a review, or press a buyer.

Since 2024-09-01 the 网络反不正当竞争暂行规定 art. 9(5) bans obtaining a specified good review
with cash back, red packets, coupons or gifts; carriers reject "邀请好评" in notification SMS.
Remedies here are unconditional — they answer the problem, never the review — and the texts
staff write (scripts, SMS templates, explanation drafts, remedy notes) are read for the two
things the playbook forbids: an inducement (a benefit tied to a review change) and pressure.

Sentences are read one by one: a benefit and a review change in the same sentence is an
inducement unless the sentence says they are unrelated (与评价无关, 无论是否…); a few set
phrases (好评返现, 追评有礼) are caught on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracker.domain.privacy import personal_data_in, phone_numbers_in

RULE = "《网络反不正当竞争暂行规定》第九条：不得以返现、红包、卡券、赠品等利诱用户作出指定好评"
PRESSURE_RULE = "售后规范：不得向买家施压、反复要求改评或以投诉相威胁"
PRIVACY_RULE = "《个人信息保护法》：公开的解释不写买家的姓名、地址、昵称（如旺旺名）或订单号"
NUMBER_RULE = "公开的解释不写电话号码：看不出是谁的，买家的号码写出来就是泄露"

# Set phrases, caught on their own.
SET_PHRASES = re.compile(
    r"好评返[现钱款红]|好评(有|送|得|领|返|给)[礼奖红券钱现]|五星(返|送|有礼)|晒图(返|送|有礼)"
    r"|追评(返|送|有礼)|返现.{0,4}好评|好评.{0,3}[0-9一二三四五六七八九十两]+元"
)
# What asks for a review change in so many words…
CHANGE_ASKED = re.compile(
    r"(改|修改|追加|补|给|打|点亮|换)(个|成|为|一下|一个)?(好评|五星|5星)|删(除|掉)?(一下)?(差评|中评|评价)"
    r"|撤(销|回)?(差评|评价)"
    # 修改评价, 改下评价, 把评价改一下, 评价改了以后 (but 评价里的问题我们会改进)
    r"|(改|修改|删|删除|撤|撤销|撤回|更新)(一下|下|个|掉|了)?(评价|评论|评分|差评|中评)"
    r"|(评价|评论|评分|差评|中评).{0,3}(修改|改(?![进善正])|删|撤|更新)"
    r"|(好评|五星|追评)(之后|以后|后|了?就)"  # 好评后给您补发: the review as the condition
)
# …or names the good review at all (a gift beside 好评 is an offer for it).
REVIEW_CHANGE = re.compile(CHANGE_ASKED.pattern + r"|好评|五星|追评")
# What is offered for it.
BENEFIT = re.compile(
    r"返现|返[你您]?[0-9一二三四五六七八九十两]+|红包|现金|优惠券|代金券|无门槛券|[0-9一二三四五六七八九十两]+元券"
    r"|赠品|礼品|礼物|送[你您]?(一|个|份)?|补贴|奖励|好处|辛苦费|感谢费|退[你您]?[0-9一二三四五六七八九十两]+元?"
    r"|转账|转[你您]|免单|打折|折扣|优惠|积分|话费"
)
# A remedy made conditional on the change is an inducement too (您把评价改一下，我们再给您补发),
# but beside a thanks for a review already given it is just news (感谢好评，补发的货已发出).
REMEDY = re.compile(r"补发|寄.{0,3}新的|换.{0,2}新|重发|退[你您]?运费|退款|退钱")
# Said plainly that the two are unrelated: not an inducement.
UNRELATED = re.compile(
    r"(与|和|跟)(是否)?(评价|好评|改评|评分)(无关|没有关系|没关系)"
    r"|无论(您)?是否(修改|改|追评|评价)|不需要您(做|改)|不要求您"
)
# (不改…投诉 is a threat: THREATS, read first, holds it.)
PRESSURE = re.compile(
    r"(必须|务必|一定要|赶紧|马上|尽快|立即|立刻).{0,8}(改|修改|删|删除|撤)"
    r"|否则.{0,10}(投诉|起诉|报警|曝光)"
)
# Calling again and again until the buyer gives in, or a threat for not changing it:
# pressure whatever the words name (再不删我们就上门找你, 不改评价售后就不处理了).
THREATS = re.compile(
    r"(再|每天|反复|一直)(打|联系|找).{0,6}直到.{0,4}(改|删)"
    r"|不(改|删|撤).{0,12}(投诉|起诉|报警|曝光|后果|法律|律师|上门|找你|找您|一直打|天天打|每天打"
    r"|不给|不处理|不退|不管|不补|拉黑)"
)
SENTENCE = re.compile(r"[。！？!?；;\n]+")


def sentences(text: str | None) -> Iterator[str]:
    """The text's sentences, each stripped, the empty ones left out: what every check reads
    one by one (a finding quotes the sentence it is about)."""
    return (part for part in (s.strip() for s in SENTENCE.split(text or "")) if part)


@dataclass(frozen=True)
class Finding:
    # inducement, pressure; in a public text also privacy (the buyer named), number, and
    # remedy (one said to be given that the case does not record)
    kind: str
    sentence: str  # where, as written
    rule: str

    def describe(self) -> str:
        what = {
            "inducement": "涉嫌诱导好评",
            "pressure": "涉嫌施压",
            "privacy": "写出了买家的个人信息",
            "number": "写了电话号码",
            "remedy": "说了本案件没有登记的补偿",
        }[self.kind]
        return f"“{self.sentence}”{what}（{self.rule}）"


def check(text: str) -> list[Finding]:
    """Every sentence of ``text`` that offers something for a review or presses the buyer."""
    findings = []
    for sentence in sentences(text):
        unrelated = UNRELATED.search(sentence) is not None
        if THREATS.search(sentence):  # 不改评价就不给你退款 withholds, it offers nothing
            findings.append(Finding("pressure", sentence, PRESSURE_RULE))
        elif SET_PHRASES.search(sentence) or (
            not unrelated
            and (
                (REVIEW_CHANGE.search(sentence) and BENEFIT.search(sentence))
                or (CHANGE_ASKED.search(sentence) and REMEDY.search(sentence))
            )
        ):
            findings.append(Finding("inducement", sentence, RULE))
        elif PRESSURE.search(sentence) and "评" in sentence:
            findings.append(Finding("pressure", sentence, PRESSURE_RULE))
    return findings


def check_public(text: str, identifiers: Sequence[str]) -> list[Finding]:
    """:func:`check`, and, for a text posted where everyone reads it (a 商家解释 under the
    review), each sentence that names the buyer (one of ``identifiers``: their name,
    address, nick, order number) or writes a phone number."""
    findings = check(text)
    for sentence in sentences(text):
        if personal_data_in(sentence, identifiers):
            findings.append(Finding("privacy", sentence, PRIVACY_RULE))
        elif phone_numbers_in(sentence):
            findings.append(Finding("number", sentence, NUMBER_RULE))
    return findings


CARRIER_RULE = "运营商短信规范：通知类短信不得邀请评价（好评邀请属营销，需按营销短信报备）"
OPT_OUT = "拒收请回复R"
INVITE = re.compile(r"(好评|差评|中评|五星|5星|评价|晒图|追评|删评|改评)")


def check_message(body: str, *, marketing: bool) -> list[str]:
    """What keeps an SMS template from being used: inducement or pressure (as for scripts),
    a review invitation in a notice (carriers refuse those), a marketing text without the
    opt-out. Each entry names the rule."""
    problems = [finding.describe() for finding in check(body)]
    if not marketing:
        for sentence in sentences(body):
            if INVITE.search(sentence):
                problems.append(f"“{sentence}”提到评价（{CARRIER_RULE}）")
    elif OPT_OUT not in (body or ""):
        problems.append(f"营销短信须带“{OPT_OUT}”（运营商营销短信规范），且只在白天发送")
    return problems
