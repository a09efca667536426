"""Open cases' reviews read again: a listing by posting time never brings a later revision,
deletion or 追评, so a pull asks for those reviews themselves (tracker.services.rereads)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.fakes import KeywordScorer
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, PullRun, Review, ReviewRevision, Shop
from tracker.models.enums import CaseOutcome, CaseStatus, Platform, Rating
from tracker.services import rereads
from tracker.services.intake import IntakeSettings
from tracker.services.promises import close_broken
from tracker.services.pulls import pull_shop
from tracker.sources.contract import SourceError, StoredReview, Window, reread_by_time
from tracker.sources.records import ReviewRecord

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
SETTINGS = IntakeSettings(WorkingHours(tz=SH, periods=((time(9), time(22)),)), DeadlinePolicy())


@dataclass
class ListedByTime:
    """A platform double that lists as platforms do: the reviews *posted* in the window
    asked for, as they are now (a revision keeps its first posting time)."""

    reviews: dict[str, ReviewRecord] = field(default_factory=dict)
    asked: list[tuple[datetime, datetime]] = field(default_factory=list)
    fail: bool = False

    def post(self, key: str, rating: Rating, text: str, posted: datetime) -> None:
        self.reviews[key] = ReviewRecord(key, f"买家{key}", rating, text, posted, oid=key)

    def change(self, key: str, **fields: object) -> None:
        self.reviews[key] = dataclasses.replace(self.reviews[key], **fields)  # type: ignore[arg-type]

    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        self.asked.append((start, end))
        if self.fail:
            raise SourceError("27", "SessionKey非法或已过期")
        yield Window(start, end, [r for r in self.reviews.values() if start <= r.posted_at < end])

    def check(self) -> None:
        pass


@pytest.fixture
def pull(session: Session, shop: Shop) -> Callable[..., PullRun]:
    """A pull of ``shop`` (or another) from a platform double at a time."""

    def run(source: ListedByTime, now: datetime, of: Shop = shop) -> PullRun:
        return pull_shop(
            session,
            of,
            source,
            source_name="listed",
            now=now,
            scorer=KeywordScorer(),
            settings=SETTINGS,
        )

    return run


def _case(session: Session) -> Case:
    return session.scalars(sa.select(Case)).one()


def test_a_revision_the_listing_never_brings_again_closes_its_case_within_the_hour(
    session: Session, pull: Callable[..., PullRun]
) -> None:
    platform = ListedByTime()
    first = NOW - timedelta(days=1, seconds=13)  # platforms give times to the second
    platform.post("1", Rating.BAD, "橙子坏了好几个", first)
    pull(platform, NOW)
    case = _case(session)
    platform.change("1", rating=Rating.GOOD, text="商家补发了，橙子很甜")

    soon = pull(platform, NOW + timedelta(minutes=30))
    assert (soon.reread, soon.revised) == (0, 0) and case.closed_at is None

    hour = pull(platform, NOW + timedelta(hours=1))
    assert (hour.reread, hour.pulled, hour.revised, hour.cases_closed) == (1, 0, 1, 1)
    assert case.outcome is CaseOutcome.REVIEW_REVISED and case.status is CaseStatus.RECOVERED
    # the platform kept the first posting time: the change is dated when it was seen
    assert case.closed_at == NOW + timedelta(hours=1)
    revision = session.scalars(sa.select(ReviewRevision)).one()
    assert (revision.rating, revision.recorded_at) == (Rating.BAD, NOW + timedelta(hours=1))
    # asked about by its own posting time, not by listing the month again
    assert platform.asked[-1] == (first - timedelta(seconds=1), first + timedelta(seconds=1))


def test_a_promise_kept_on_the_platform_closes_as_recovered_not_broken(
    session: Session, pull: Callable[..., PullRun]
) -> None:
    platform = ListedByTime()
    platform.post("1", Rating.NEUTRAL, "一般般，有点小", NOW - timedelta(days=20))
    pull(platform, NOW)
    case = _case(session)
    case.promised_at = NOW
    session.commit()
    platform.change("1", rating=Rating.GOOD, text="换了合适的尺码，好评")
    pull(platform, NOW + timedelta(days=3))
    assert close_broken(session, now=NOW + timedelta(days=11)) == 0
    assert case.outcome is CaseOutcome.REVIEW_REVISED


def test_a_review_the_platform_no_longer_lists_is_not_taken_for_deleted(
    session: Session, pull: Callable[..., PullRun]
) -> None:
    platform = ListedByTime()
    platform.post("1", Rating.BAD, "质量太差", NOW - timedelta(days=3))
    pull(platform, NOW)
    listed = platform.reviews.pop("1")
    run = pull(platform, NOW + timedelta(hours=2))
    assert (run.reread, run.revised, run.cases_closed) == (1, 0, 0)
    review = session.scalars(sa.select(Review)).one()
    assert not review.is_deleted and _case(session).closed_at is None
    assert review.unseen_since == NOW + timedelta(hours=2)  # staff are told, nothing closes
    pull(platform, NOW + timedelta(hours=3))
    assert review.unseen_since == NOW + timedelta(hours=2)  # since the first time
    platform.reviews["1"] = listed  # it was hidden for a while
    pull(platform, NOW + timedelta(hours=4))
    assert review.unseen_since is None


def test_a_deletion_the_platform_reports_closes_the_case(
    session: Session, pull: Callable[..., PullRun]
) -> None:
    platform = ListedByTime()
    platform.post("1", Rating.BAD, "质量太差", NOW - timedelta(days=3))
    pull(platform, NOW)
    platform.change("1", is_deleted=True)
    pull(platform, NOW + timedelta(hours=2))
    assert _case(session).outcome is CaseOutcome.REVIEW_DELETED


def test_a_failed_reread_keeps_the_listing_and_tries_again_next_pull(
    session: Session, shop: Shop, pull: Callable[..., PullRun]
) -> None:
    platform = ListedByTime()
    platform.post("1", Rating.BAD, "质量太差", NOW - timedelta(days=3))
    pull(platform, NOW)
    platform.change("1", rating=Rating.GOOD, text="解决了，满意")
    platform.post("2", Rating.BAD, "发货太慢", NOW + timedelta(minutes=50))
    real_fetch = platform.fetch

    def fetch_fails_on_old(start: datetime, end: datetime) -> Iterator[Window]:
        if end - start <= timedelta(minutes=2):  # the re-read, not the listing
            raise SourceError("timeout", "平台没有应答")
        return real_fetch(start, end)

    platform.fetch = fetch_fails_on_old  # type: ignore[method-assign]
    failed = pull(platform, NOW + timedelta(hours=1))
    assert failed.status == "error" and failed.error_code == "timeout"
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 2  # the listing was kept
    assert shop.reread_at == NOW  # not moved: the next pull asks again
    platform.fetch = real_fetch  # type: ignore[method-assign]
    again = pull(platform, NOW + timedelta(hours=1, minutes=10))
    assert (again.reread, again.cases_closed) == (1, 1)


def test_which_reviews_are_asked_for(
    session: Session, shop: Shop, pull: Callable[..., PullRun]
) -> None:
    platform = ListedByTime()
    ages = {"old": 20, "late": 25, "soon": 28, "closed": 5, "just": 0, "past": 15}
    for key, days in ages.items():
        platform.post(key, Rating.BAD, "不好", NOW - timedelta(days=days, minutes=1))
    pull(platform, NOW)
    for case in session.scalars(sa.select(Case)):
        if case.review.platform_key == "closed":
            case.closed_at, case.status = NOW, CaseStatus.UNRECOVERED
        if case.review.platform_key == "old":  # beyond what TOP answers for
            case.review.first_posted_at = NOW - timedelta(days=181)
        if case.review.platform_key == "past":  # the buyer's window is over: only a 追评
            case.revision_window_ends_at = NOW - timedelta(days=1)
    session.commit()
    listed_since = NOW - timedelta(hours=1)
    asked = rereads.open_case_reviews(session, shop, now=NOW, listed_since=listed_since)
    # soonest-lapsing first, past their window last; never a closed case, one just listed,
    # or one past TOP's 180 days
    assert [r.platform_key for r in asked] == ["soon", "late", "past"]


def test_reading_by_time_asks_once_for_reviews_posted_together() -> None:
    platform = ListedByTime()
    at = NOW - timedelta(days=4) + timedelta(seconds=7)
    for key, moment in (
        ("a", at),
        ("b", at + timedelta(seconds=1)),
        ("c", at + timedelta(hours=3)),
    ):
        platform.post(key, Rating.BAD, "差", moment)
    platform.post("other", Rating.GOOD, "好", at + timedelta(days=1))
    stored = [
        StoredReview(key, r.posted_at, r.posted_at)
        for key, r in platform.reviews.items()
        if key != "other"
    ]
    found = reread_by_time(platform, stored)
    assert sorted(r.platform_key for r in found) == ["a", "b", "c"]
    second = timedelta(seconds=1)
    assert platform.asked == [
        (at - second, at + 2 * second),
        (at + timedelta(hours=3) - second, at + timedelta(hours=3) + second),
    ]


def test_a_review_stored_to_the_minute_is_read_over_that_minute() -> None:
    """A file gives 10:23 for what the platform holds at 10:23:45: asking around 10:23:00
    alone would not find it, and the case page would say the platform no longer has it."""
    platform = ListedByTime()
    minute = datetime(2026, 11, 20, 10, 23, tzinfo=SH)
    platform.post("a", Rating.BAD, "差", minute + timedelta(seconds=45))
    found = reread_by_time(platform, [StoredReview("a", minute, minute)])
    assert [r.platform_key for r in found] == ["a"]
    assert platform.asked == [(minute - timedelta(seconds=1), minute + timedelta(minutes=1))]


def test_a_follow_up_once_seen_is_not_lost_to_a_listing_without_follow_ups(
    session: Session, shop: Shop, pull: Callable[..., PullRun]
) -> None:
    """TOP's and Kuaishou's lists carry no 追评: a record without one says nothing of it."""
    platform = ListedByTime()
    platform.post("1", Rating.GOOD, "还不错", NOW - timedelta(days=2))
    platform.change("1", follow_up_text="用了三天就坏了", follow_up_at=NOW - timedelta(hours=5))
    pull(platform, NOW)
    review = session.scalars(sa.select(Review)).one()
    assert review.follow_up_text == "用了三天就坏了" and _case(session).closed_at is None
    platform.change("1", follow_up_text=None, follow_up_at=None)
    shop.pulled_until = NOW - timedelta(days=3)  # list that day again, without its 追评
    session.commit()
    again = pull(platform, NOW + timedelta(minutes=10))
    assert (again.pulled, again.revised) == (1, 0)
    assert review.follow_up_text == "用了三天就坏了"
    assert review.follow_up_at == NOW - timedelta(hours=5)
    assert session.scalar(sa.select(sa.func.count(ReviewRevision.id))) == 0


def test_a_platform_the_tracker_cannot_ask_per_review_still_rereads_by_time(
    session: Session, make_shop: Callable[..., Shop], pull: Callable[..., PullRun]
) -> None:
    """Kuaishou, JD and WeChat have no per-review call here: their listing is asked."""
    kuaishou = make_shop(platform=Platform.KUAISHOU)
    platform = ListedByTime()
    platform.post("ks:1", Rating.BAD, "质量差", NOW - timedelta(days=1))
    pull(platform, NOW, of=kuaishou)
    platform.change("ks:1", rating=Rating.GOOD, text="已解决")
    assert pull(platform, NOW + timedelta(hours=1), of=kuaishou).reread == 1
    assert _case(session).outcome is CaseOutcome.REVIEW_REVISED
