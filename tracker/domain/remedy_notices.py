"""Notices that tell a buyer a remedy is under way: true only once it is.

A shop's approved 补发已安排 SMS ("您的…已安排补发，请留意查收") was offered on every case, so an
agent could tell a buyer a reissue was on its way before anyone had arranged one, and the
case's 补偿 (what recovery cost) missed it. A template says what it announces; a case sends
it only when it records such a remedy. Which words make an admin say so when registering a
template: a body naming a remedy may merely mention one (如需补发请联系客服), so the admin
decides, and is asked to whenever the words are there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tracker.domain.compliance import sentences
from tracker.models.enums import RemedyKind, RemedyNotice

# The recorded remedies that make each notice true.
REMEDIES: dict[RemedyNotice, frozenset[RemedyKind]] = {
    RemedyNotice.NOTHING: frozenset(),
    RemedyNotice.RESEND: frozenset({RemedyKind.RESEND}),
    RemedyNotice.EXCHANGE: frozenset({RemedyKind.EXCHANGE}),
    RemedyNotice.REFUND: frozenset({RemedyKind.PARTIAL_REFUND, RemedyKind.FULL_REFUND}),
    RemedyNotice.COUPON: frozenset({RemedyKind.COUPON}),
    RemedyNotice.GIFT: frozenset({RemedyKind.GIFT}),
}

# The words by which a template's body names a remedy (the admin then says whether the
# notice announces it).
WORDS: dict[RemedyNotice, tuple[str, ...]] = {
    RemedyNotice.RESEND: ("补发", "重新发货", "重发"),
    RemedyNotice.EXCHANGE: ("换货", "换新", "调换"),
    RemedyNotice.REFUND: ("退款", "退还", "退回", "返还", "差价"),
    RemedyNotice.COUPON: ("优惠券", "券"),
    RemedyNotice.GIFT: ("礼品", "礼物", "赠品", "小礼"),
}


# A remedy said to be done or under way, in words anyone reads as news (已为您补发, 差价已经
# 退了, 退款已到账): not an offer (如需补发请联系客服), a condition (如已退款) or a plan in doubt.
_PAUSE = r"[^，,。！？!?；;\n]"  # within one clause
_DONE = r"(?<![如若果])(?:已经?|都已)"
_ACTS = r"(?:发出|寄出|安排|到账|退|办理|处理|完成|发放|送出|寄|给)"


def _claim(words: tuple[str, ...]) -> re.Pattern[str]:
    named = "|".join(re.escape(w) for w in words)
    return re.compile(
        rf"{_DONE}{_PAUSE}{{0,8}}?(?:{named})|(?:{named}){_PAUSE}{{0,6}}?{_DONE}{_ACTS}"
    )


CLAIMS: dict[RemedyNotice, re.Pattern[str]] = {
    notice: _claim(tuple(w for w in words if len(w) > 1))  # 券 alone: 已领券 is not ours
    for notice, words in WORDS.items()
}


def claimed_in(sentence: str) -> list[RemedyNotice]:
    """The remedies a sentence says were given or arranged, in the enum's order. A 商家解释
    stands under the review for every shopper to read: such a sentence is true only when
    the case records the remedy (:func:`unrecorded`)."""
    return [notice for notice, claim in CLAIMS.items() if claim.search(sentence)]


def announces_remedy(notice: RemedyNotice | None) -> bool:
    """Whether a template set to ``notice`` tells the buyer a remedy was arranged (not set,
    or 不通知补偿, tells them none)."""
    return notice is not None and bool(REMEDIES[notice])


def named_in(body: str) -> list[RemedyNotice]:
    """The remedies a template's text names, in the enum's order."""
    return [notice for notice, words in WORDS.items() if any(w in body for w in words)]


def unrecorded(notice: RemedyNotice | None, recorded: Iterable[RemedyKind]) -> bool:
    """Whether a notice announcing ``notice`` would tell the buyer something the case does
    not record (no template setting, or 不通知补偿, announces nothing)."""
    if notice is None or not announces_remedy(notice):
        return False
    return REMEDIES[notice].isdisjoint(recorded)


def awaited(notice: RemedyNotice | None, recorded: Iterable[RemedyKind], announced: int) -> bool:
    """Whether the buyer is waiting for this notice: the case records more such remedies
    than notices announcing them were sent. Agreed on the call, the reissue's notice goes
    right after it; the contact policy's gap and caps, meant against pressing a buyer,
    would hold it two hours or to tomorrow (quiet hours and 勿扰 still hold it)."""
    if notice is None or not announces_remedy(notice):
        return False
    return sum(1 for kind in recorded if kind in REMEDIES[notice]) > announced


def unrecorded_claims(text: str, recorded: Iterable[RemedyKind]) -> list[tuple[str, str]]:
    """Each sentence of a public text that says a remedy was given which the case does not
    record, with what to do: (sentence, 本案件还没有登记补发：先在“补偿”里登记，再发布)."""
    kinds = list(recorded)
    found = []
    for sentence in sentences(text):
        for notice in claimed_in(sentence):
            if unrecorded(notice, kinds):
                found.append(
                    (sentence, f"本案件还没有登记{_what(notice)}：先在“补偿”里登记，再发布")
                )
    return found


def _what(notice: RemedyNotice) -> str:
    return "退款（部分或全额）" if notice is RemedyNotice.REFUND else notice.label


def refusal(notice: RemedyNotice, template_name: str) -> str:
    """Why the case cannot send it yet, and what makes it sendable."""
    return (
        f"“{template_name}”告诉买家{notice.label}已安排，本案件还没有登记{_what(notice)}："
        "先在下方“补偿”里登记，再发。"
    )


def undecided(body: str, notice: RemedyNotice | None) -> str | None:
    """The admin's question when a notice names a remedy and its setting is not chosen."""
    named = named_in(body)
    if notice is not None or not named:
        return None
    words = "、".join(n.label for n in named)
    first = named[0].label
    return (
        f"模板内容提到{words}：它若告诉买家{first}已安排，请选“{first}”"
        f"（登记了{first}的案件才能发）；只是提到（如“如需{first}请联系客服”），"
        "请选“不通知补偿”。"
    )
