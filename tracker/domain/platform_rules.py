"""Each platform's review rules in one table: what a buyer may change and until when, how
long the seller may explain, whether a 追评 closes that window, and what "recovered" means
there. Intake, the case page, deadlines and reports read this table and nothing else. It
also names what each platform's staff call its chat with the buyer, the buyer's account
and the seller console, so that a JD shop's pages say 京东咚咚 and 京麦, not 旺旺 and 千牛.

``confirmed`` says where a row comes from: True for rules stated in the platform's own
rules as quoted in issue 18 (Taobao, Tmall, Kuaishou; WeChat's 和解); False for rows that
are the trade's common understanding and must be checked against the platform's current
rules before a shop relies on them (README "Platform rules"). ``follow_up_days`` (淘宝,
天猫: 180 days from 交易成功) is the trade's understanding too, not quoted in issue 18.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from tracker.models.enums import AttemptOutcome, Channel, Platform, Rating


class BuyerChange(StrEnum):
    """What a buyer may do to a neutral or bad review after posting it."""

    REVISE_TO_GOOD = "revise_to_good"  # change the rating, to 好评 only
    REVISE = "revise"  # change the rating to any better one
    DELETE = "delete"
    FOLLOW_UP = "follow_up"  # add a 追评
    RECONCILE = "reconcile"  # accept the shop's 和解 (WeChat mini-programs): review withdrawn


class Recovery(StrEnum):
    """What the platform can show that counts as recovered (verified by intake)."""

    REVISED_TO_GOOD = "revised_to_good"
    DELETED = "deleted"
    POSITIVE_FOLLOW_UP = "positive_follow_up"  # where the review itself cannot change


@dataclass(frozen=True, kw_only=True)
class ReviewRules:
    platform: Platform
    buyer_changes: frozenset[BuyerChange]
    recovered_by: frozenset[Recovery]
    summary: str  # one line for the case page
    confirmed: bool = False  # stated in the platform's rules (see the module's docstring)
    changes_allowed: int | None = None  # how many times a buyer may change it (None: no limit)
    change_window: timedelta = timedelta(days=30)  # from the first posting: the outer deadline
    # the seller's 解释/回复, from the first posting (None: the platform sets no end)
    explanation_window: timedelta | None = timedelta(days=30)
    explanation_max_chars: int = 500
    follow_up_closes_explanation: bool = False
    reply_to_first_review_only: bool = False
    # the platform lets a buyer add their one 追评 this many days after 交易成功 (None: not
    # known). Words only: the tracker follows a review for ``change_window`` from posting
    # whatever it can still get, as the trade works a review in its first month.
    follow_up_days: int | None = None
    # the platform's own chat between buyer and shop, as its staff call it: the channel the
    # tracker stores as ``Channel.WANGWANG`` (旺旺 is Taobao's; a JD agent works in 咚咚)
    chat: str = "平台消息"
    nick: str = "昵称"  # what its staff call a buyer's account name (旺旺 on Taobao)
    console: str = "平台商家后台"  # where its staff post by hand what the tracker cannot

    @property
    def review_can_change(self) -> bool:
        return bool(
            self.buyer_changes
            & {BuyerChange.REVISE, BuyerChange.REVISE_TO_GOOD, BuyerChange.DELETE}
        )

    @property
    def buyer_can_delete(self) -> bool:
        """Whether a review the platform stops showing may be the buyer's own deletion."""
        return BuyerChange.DELETE in self.buyer_changes

    @property
    def promise(self) -> str:
        """What a buyer who says yes on the call promises to do, in the staff's words: a
        Tmall review cannot change, so there they promise a 追评; on WeChat, to accept the
        shop's 和解."""
        if BuyerChange.RECONCILE in self.buyer_changes:
            return "和解"
        return "修改" if self.review_can_change else "追评"

    @property
    def update_request(self) -> str:
        """What a script asks of a satisfied buyer (the {更新评价} of 话术), as the platform
        allows it: a Tmall review cannot change, a WeChat one is withdrawn by 和解."""
        if BuyerChange.RECONCILE in self.buyer_changes:
            return "同意我们提交的和解"
        if self.review_can_change:
            return "在订单里把评价改一下"
        return "在订单里追评说一下现在的情况"

    @property
    def window_label(self) -> str:
        """The buyer's window by name: a revision's end is the platform's; where the buyer
        can only add a 追评 it is the tracker's horizon, since the platform allows one
        for longer (:attr:`follow_up_days`)."""
        return "买家可修改评价至" if self.review_can_change else "挽回跟进至"

    @property
    def follow_up_rule(self) -> str:
        """The platform's 追评 rule in words ('' where it is not known)."""
        if self.follow_up_days is None:
            return ""
        return f"{self.platform.label}买家在交易成功后 {self.follow_up_days} 天内可追评一次"

    @property
    def window_note(self) -> str:
        """What the window means, for a tooltip beside it."""
        days = self.change_window.days
        if self.review_can_change:
            return f"{self.platform.label}买家可在评价发布后 {days} 天内修改评价"
        rule = f"{self.follow_up_rule}；" if self.follow_up_rule else ""
        return (
            f"{rule}本店从评价发布起跟进 {days} 天：之后不再为它开案，"
            "买家承诺的追评到期未见按“承诺未兑现”结案"
        )

    def attempt_label(self, outcome: AttemptOutcome) -> str:
        """A contact attempt's result as this platform's staff would say it."""
        if outcome is AttemptOutcome.AGREED:
            return f"已接通-同意{self.promise}"
        return outcome.label

    def channel_label(self, channel: Channel) -> str:
        """A contact channel as this platform's staff would say it: its own chat by name."""
        return self.chat if channel is Channel.WANGWANG else channel.label

    def change_window_end(self, first_posted_at: datetime) -> datetime:
        return first_posted_at + self.change_window

    def explanation_closes(
        self, first_posted_at: datetime, follow_up_at: datetime | None
    ) -> datetime | None:
        """When the seller can no longer explain (None: the platform sets no end). A 追评
        ends it at once where the platform says so."""
        ends = (
            first_posted_at + self.explanation_window
            if self.explanation_window is not None
            else None
        )
        if self.follow_up_closes_explanation and follow_up_at is not None:
            return min(ends, follow_up_at) if ends is not None else follow_up_at
        return ends

    def for_rating(self, rating: Rating) -> ReviewRules:
        """The rules as they bear on a review of this rating. A 好评 whose words are
        unhappy (a hidden negative) is not revised (it is one already) nor withdrawn by
        和解: its buyer can add a 追评, and a happy one is its recovery on every platform."""
        if rating is not Rating.GOOD:
            return self
        return replace(
            self,
            buyer_changes=self.buyer_changes & {BuyerChange.FOLLOW_UP},
            recovered_by=frozenset({Recovery.POSITIVE_FOLLOW_UP}),
            changes_allowed=0,
        )

    def can_still_change(self, *, has_follow_up: bool) -> bool:
        """Whether the buyer can still change what the platform shows. A buyer adds one
        追评 to a review (淘宝/天猫's rule, assumed elsewhere): once it is there, only a
        revision, a deletion or a 和解 remains, which a Tmall review never gets (nor a
        good rating, see :meth:`for_rating`)."""
        return not has_follow_up or bool(self.recovered_by - {Recovery.POSITIVE_FOLLOW_UP})

    def counts_as_revision(self, old: Rating, new: Rating) -> bool:
        """Whether a rating change the platform shows is one its rules allow (anything else
        is data to keep, not a recovery to credit)."""
        if new is not Rating.GOOD or old is Rating.GOOD:
            return False
        return bool(self.buyer_changes & {BuyerChange.REVISE, BuyerChange.REVISE_TO_GOOD})


D = timedelta
B, R = BuyerChange, Recovery
RULES: dict[Platform, ReviewRules] = {
    Platform.TAOBAO: ReviewRules(
        platform=Platform.TAOBAO,
        chat="旺旺/千牛",
        console="千牛",
        nick="旺旺",
        buyer_changes=frozenset({B.REVISE_TO_GOOD, B.DELETE, B.FOLLOW_UP}),
        changes_allowed=1,
        follow_up_closes_explanation=True,
        follow_up_days=180,
        recovered_by=frozenset({R.REVISED_TO_GOOD, R.DELETED}),
        confirmed=True,
        summary="买家可在发布后 30 天内把中差评改为好评或删除，仅限一次；"
        "商家解释 30 天内、最多 500 字，买家追评后不能再解释。",
    ),
    Platform.TMALL: ReviewRules(
        platform=Platform.TMALL,
        chat="旺旺/千牛",
        console="千牛",
        nick="旺旺",
        buyer_changes=frozenset({B.FOLLOW_UP}),
        changes_allowed=0,
        follow_up_closes_explanation=True,
        follow_up_days=180,
        recovered_by=frozenset({R.POSITIVE_FOLLOW_UP}),
        confirmed=True,
        summary="天猫评价发布后不能修改，买家只能追评：挽回指买家追评转为满意；"
        "商家解释 30 天内、最多 500 字，追评后不能再解释。",
    ),
    Platform.KUAISHOU: ReviewRules(
        platform=Platform.KUAISHOU,
        chat="快手小店客服消息",
        console="快手小店商家后台",
        buyer_changes=frozenset({B.REVISE, B.DELETE, B.FOLLOW_UP}),
        changes_allowed=1,
        reply_to_first_review_only=True,
        recovered_by=frozenset({R.REVISED_TO_GOOD, R.DELETED}),
        confirmed=True,
        summary="商家可在 30 天内回复，只能回复首次评价；买家可修改或删除评价。",
    ),
    Platform.WECHAT: ReviewRules(
        platform=Platform.WECHAT,
        chat="小程序客服消息",
        console="小程序管理后台",
        buyer_changes=frozenset({B.RECONCILE, B.FOLLOW_UP}),
        changes_allowed=1,
        recovered_by=frozenset({R.DELETED}),
        confirmed=True,
        summary="小程序由店铺提交“和解”，买家同意后差评撤下（数据源显示为删除）；商家可回复。",
    ),
    Platform.JD: ReviewRules(
        platform=Platform.JD,
        chat="京东咚咚",
        console="京麦",
        buyer_changes=frozenset({B.REVISE, B.FOLLOW_UP}),
        changes_allowed=1,
        explanation_window=None,
        recovered_by=frozenset({R.REVISED_TO_GOOD}),
        summary="（待核实）买家可修改一次评价并追评；商家可随时回复。",
    ),
    Platform.DOUYIN: ReviewRules(
        platform=Platform.DOUYIN,
        chat="抖店飞鸽",
        console="抖店后台",
        buyer_changes=frozenset({B.DELETE, B.FOLLOW_UP}),
        recovered_by=frozenset({R.DELETED}),
        summary="（待核实）买家可删除评价或追评；商家 30 天内可回复。",
    ),
    Platform.PINDUODUO: ReviewRules(
        platform=Platform.PINDUODUO,
        chat="拼多多客服消息",
        console="拼多多商家后台",
        buyer_changes=frozenset({B.REVISE, B.DELETE, B.FOLLOW_UP}),
        changes_allowed=1,
        recovered_by=frozenset({R.REVISED_TO_GOOD, R.DELETED}),
        summary="（待核实）买家可修改或删除评价一次；商家 30 天内可回复。",
    ),
    Platform.OTHER: ReviewRules(
        platform=Platform.OTHER,
        buyer_changes=frozenset({B.REVISE, B.DELETE, B.FOLLOW_UP}),
        recovered_by=frozenset({R.REVISED_TO_GOOD, R.DELETED}),
        summary="其他渠道：按淘宝的 30 天习惯处理。",
    ),
}  # fmt: skip


def rules_for(platform: Platform) -> ReviewRules:
    return RULES[platform]
