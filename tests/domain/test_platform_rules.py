"""The platform-rules table: what each platform lets a buyer and a seller do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain.platform_rules import RULES, BuyerChange, Recovery, rules_for
from tracker.models.enums import AttemptOutcome, Platform, Rating

POSTED = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_every_platform_has_its_rules() -> None:
    assert set(RULES) == set(Platform)
    for platform, rules in RULES.items():
        assert rules.platform is platform and rules.summary
        assert rules.recovered_by  # each says what "recovered" means there


def test_taobao_buyers_may_change_a_bad_review_once_only_to_good_or_by_deleting() -> None:
    rules = rules_for(Platform.TAOBAO)
    assert rules.changes_allowed == 1 and rules.confirmed
    assert rules.counts_as_revision(Rating.BAD, Rating.GOOD)
    assert rules.counts_as_revision(Rating.NEUTRAL, Rating.GOOD)
    assert not rules.counts_as_revision(Rating.BAD, Rating.NEUTRAL)  # only to 好评
    assert BuyerChange.DELETE in rules.buyer_changes and rules.buyer_can_delete
    assert rules.change_window_end(POSTED) == POSTED + timedelta(days=30)


def test_tmall_reviews_cannot_change_a_happy_follow_up_is_the_recovery() -> None:
    rules = rules_for(Platform.TMALL)
    assert not rules.review_can_change
    assert not rules.buyer_can_delete  # a review it stops showing is not the buyer's doing
    assert not rules.counts_as_revision(Rating.BAD, Rating.GOOD)
    assert rules.recovered_by == {Recovery.POSITIVE_FOLLOW_UP}


def test_the_window_of_a_follow_up_is_named_as_the_trackers_not_the_platforms() -> None:
    """Taobao and Tmall let a buyer add a 追评 180 days after the trade; the tracker follows
    a review for 30 from posting. Where a 追评 is all the buyer can give, the page must not
    present those 30 days as the platform's (买家可追评至 did)."""
    tmall, taobao = rules_for(Platform.TMALL), rules_for(Platform.TAOBAO)
    assert tmall.follow_up_days == taobao.follow_up_days == 180
    assert tmall.window_label == "挽回跟进至"
    assert tmall.window_note.startswith(
        "天猫买家在交易成功后 180 天内可追评一次；本店从评价发布起跟进 30 天"
    )
    assert taobao.window_label == "买家可修改评价至"  # the platform's own deadline
    assert taobao.window_note == "淘宝买家可在评价发布后 30 天内修改评价"
    hidden = taobao.for_rating(Rating.GOOD)  # a 好评 recovers by a 追评 alone
    assert hidden.window_label == "挽回跟进至" and "180 天内可追评" in hidden.window_note
    jd = rules_for(Platform.JD).for_rating(Rating.GOOD)  # its 追评 rule is not known here
    assert jd.follow_up_rule == "" and jd.window_note.startswith("本店从评价发布起跟进 30 天")


@pytest.mark.parametrize(
    ("platform", "rating", "after_follow_up"),
    [
        (Platform.TMALL, Rating.BAD, False),  # a Tmall review changes by its one 追评 only
        (Platform.TMALL, Rating.GOOD, False),
        (Platform.TAOBAO, Rating.BAD, True),  # may still be revised to 好评 or deleted
        (Platform.TAOBAO, Rating.GOOD, False),  # a hidden negative recovers by 追评 alone
        (Platform.WECHAT, Rating.NEUTRAL, True),  # 和解 withdraws it whatever was added
        (Platform.JD, Rating.GOOD, False),
    ],
)
def test_a_buyer_who_added_their_one_follow_up_may_have_nothing_left_to_change(
    platform: Platform, rating: Rating, after_follow_up: bool
) -> None:
    rules = rules_for(platform).for_rating(rating)
    assert rules.can_still_change(has_follow_up=False)
    assert rules.can_still_change(has_follow_up=True) is after_follow_up


@pytest.mark.parametrize("platform", list(Platform))
def test_a_hidden_negative_is_asked_for_a_happy_follow_up_on_every_platform(
    platform: Platform,
) -> None:
    rules = rules_for(platform).for_rating(Rating.GOOD)
    assert rules.recovered_by == {Recovery.POSITIVE_FOLLOW_UP}
    assert rules.promise == "追评" and "追评" in rules.update_request
    assert rules.attempt_label(AttemptOutcome.AGREED) == "已接通-同意追评"
    assert rules.summary == rules_for(platform).summary  # the platform's line is unchanged
    assert rules_for(platform).for_rating(Rating.BAD) is rules_for(platform)


@pytest.mark.parametrize(
    ("platform", "closed_by_follow_up"),
    [(Platform.TAOBAO, True), (Platform.TMALL, True), (Platform.KUAISHOU, False)],
)
def test_a_follow_up_closes_the_explanation_window_where_the_platform_says_so(
    platform: Platform, closed_by_follow_up: bool
) -> None:
    rules = rules_for(platform)
    assert rules.explanation_closes(POSTED, None) == POSTED + timedelta(days=30)
    follow_up = POSTED + timedelta(days=3)
    expected = follow_up if closed_by_follow_up else POSTED + timedelta(days=30)
    assert rules.explanation_closes(POSTED, follow_up) == expected


def test_kuaishou_replies_to_the_first_review_only_and_jd_sets_no_reply_end() -> None:
    assert rules_for(Platform.KUAISHOU).reply_to_first_review_only
    jd = rules_for(Platform.JD)
    assert jd.explanation_closes(POSTED, None) is None and not jd.confirmed


def test_wechat_recovers_through_the_shops_reconciliation() -> None:
    rules = rules_for(Platform.WECHAT)
    assert BuyerChange.RECONCILE in rules.buyer_changes
    assert rules.recovered_by == {Recovery.DELETED}  # the withdrawn review reads as deleted


@pytest.mark.parametrize(
    ("platform", "agreed"),
    [
        (Platform.TAOBAO, "已接通-同意修改"),
        (Platform.KUAISHOU, "已接通-同意修改"),
        (Platform.TMALL, "已接通-同意追评"),  # a Tmall review cannot change
        (Platform.WECHAT, "已接通-同意和解"),  # the buyer accepts the shop's 和解
    ],
)
def test_a_buyer_agrees_to_what_the_platform_lets_them_do(platform: Platform, agreed: str) -> None:
    rules = rules_for(platform)
    assert rules.attempt_label(AttemptOutcome.AGREED) == agreed
    assert agreed.endswith(rules.promise)
    assert rules.attempt_label(AttemptOutcome.NO_ANSWER) == "未接通"  # the rest as they are
