"""What every review source provides, and the one error type they all raise.

A source turns a platform's API into plain :class:`ReviewRecord` values for a time window.
Capabilities beyond reading (posting the seller's reply, decrypting a buyer's contact,
sending a platform message, syncing member levels) are declared on the :class:`Adapter`
so that a page can tell what a shop's platform offers without building a client or
touching the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from tracker.domain.segments import MemberLevels
from tracker.models.enums import Platform
from tracker.sources.records import ReviewRecord


class SourceError(RuntimeError):
    """An answer that is not data: the platform's error, a transport failure, a malformed
    or refused answer. ``code`` is short and stable (``timeout``, ``malformed``, the
    platform's own code); ``message`` is for the 数据源 page."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RateLimited(SourceError):
    """The platform refused the call because the *app* (one app key serves many shops)
    called too often: every shop on that app waits, none of them is failing.
    ``retry_after``: the seconds the platform named, when it named any."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Refused(SourceError):
    """The platform answered and turned down this one item by a business rule (a buyer who
    is not a member of the shop): the call itself works, the next item may go through."""


class Capability(StrEnum):
    REPLY = "reply"  # post the seller's reply / explanation on a review
    RECONCILE = "reconcile"  # tell the platform the buyer and shop settled (WeChat 和解)
    DECRYPT_CONTACT = "decrypt_contact"  # a number to call, for the after-sales scene
    EXTEND_CONTACT = "extend_contact"  # a virtual number kept longer, for the same scene
    MESSAGE = "message"  # a platform message or SMS by order
    SYNC_LEVELS = "sync_levels"  # set the shop's member level rules and each buyer's level


@dataclass(frozen=True)
class Window:
    """Every review posted in [start, end), complete: the pull mark may move to ``end``."""

    start: datetime
    end: datetime
    records: list[ReviewRecord]


@runtime_checkable
class ReviewSource(Protocol):
    def fetch(self, start: datetime, end: datetime) -> Iterator[Window]:
        """Complete windows in time order covering [start, end)."""
        ...

    def check(self) -> None:
        """One cheap authenticated call; raises :class:`SourceError` when it fails."""
        ...


@dataclass(frozen=True)
class StoredReview:
    """A review we hold and want to read again (its case is open): a listing only brings
    reviews posted since the last pull, so a later change — 修改评价, 删除, 追评 — reaches us
    only by asking for the review itself."""

    platform_key: str
    posted_at: datetime  # as the platform first gave it
    latest_posted_at: datetime  # the latest version's time, where the platform moved it
    has_follow_up: bool = False  # a 追评 is held: the platform allows one, none is to come


@runtime_checkable
class RereadsReviews(Protocol):
    def reread(self, reviews: Sequence[StoredReview], platform: Platform) -> list[ReviewRecord]:
        """These reviews as the platform shows them now (with what it knows more by asking
        one at a time, such as Tmall's 追评); one it no longer lists is simply absent."""
        ...


REREAD_MARGIN = timedelta(seconds=1)


def _span(moment: datetime) -> tuple[datetime, datetime]:
    """Where a review stored as posted at ``moment`` is on the platform: within a second,
    or within the minute when the time holds none (a file's 2026-11-20 10:23 is any second
    of that minute on the platform; a real :00 only costs a wider listing)."""
    if moment.second == 0 and moment.microsecond == 0:
        return moment - REREAD_MARGIN, moment + timedelta(minutes=1)
    return moment - REREAD_MARGIN, moment + REREAD_MARGIN


def reread_by_time(source: ReviewSource, reviews: Sequence[StoredReview]) -> list[ReviewRecord]:
    """Any source's way to read reviews again: its own listing, over a two-second window
    around each time the review was posted (the minute, for a time stored without seconds;
    windows that touch are read once)."""
    spans = sorted(
        _span(moment)
        for review in reviews
        for moment in {review.posted_at, review.latest_posted_at}
    )
    merged: list[list[datetime]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    found: list[ReviewRecord] = []
    for low, high in merged:
        for window in source.fetch(low, high):
            found.extend(window.records)
    return found


@runtime_checkable
class PostsReplies(Protocol):
    def post_reply(self, platform_key: str, text: str) -> None:
        """Publish the seller's reply on the review ``platform_key`` names."""
        ...


@runtime_checkable
class Reconciles(Protocol):
    def reconcile(self, platform_key: str, text: str) -> None:
        """Report that the problem behind a bad review was settled with the buyer."""
        ...


@dataclass(frozen=True)
class DecryptedContact:
    """A number to call, as the platform's decrypt answered for the after-sales scene."""

    number: str  # as written by the platform: 18400913965-7576, or a real mobile
    protected: bool  # a virtual number (privacy protection), which lapses
    expires_at: datetime | None
    source: str  # the adapter's name


@runtime_checkable
class DecryptsContacts(Protocol):
    def decrypt_contact(self, tid: str, oaid: str) -> DecryptedContact:
        """A number to call the buyer of order ``tid`` about an after-sales problem."""
        ...


@runtime_checkable
class ExtendsContacts(Protocol):
    def extend_contact(self, tid: str, oaid: str, days: int) -> DecryptedContact:
        """Keep the virtual number of order ``tid`` ``days`` longer: the number and its new
        expiry as the platform answers (a case outlives the number it was given)."""
        ...


@dataclass(frozen=True)
class PlatformMessage:
    """A platform SMS by order and OAID: an approved signature and template, parameters."""

    tid: str
    oaid: str
    sign_name: str
    template_code: str
    params: Mapping[str, str]
    out_id: str  # ours, sent along so the send can be recognised


@runtime_checkable
class SendsMessages(Protocol):
    def send_message(self, message: PlatformMessage) -> str:
        """Send; the platform's reference for the message."""
        ...


@dataclass(frozen=True)
class PlatformMember:
    """A buyer as the platform's member API names one: the open id (OUID) where we have
    it, else the nick, which only works where the platform has not masked it."""

    nick: str
    ouid: str | None = None


@runtime_checkable
class SyncsMemberLevels(Protocol):
    def set_level_rules(self, levels: MemberLevels) -> None:
        """Make the platform's member level rules the shop's own (thresholds, discounts)."""
        ...

    def set_member_level(self, member: PlatformMember, level: int) -> None:
        """Set one buyer's member level (1–4); returns only once the platform accepted."""
        ...


class PushedEvents(Protocol):
    """A platform that pushes news of reviews to an endpoint of ours (WeChat's bad-review
    event): how to verify a push and what it asks for."""

    def verify(self, credentials: Mapping[str, str], query: Mapping[str, str]) -> bool:
        """Whether the request is signed by the platform with this shop's settings."""
        ...

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """What to answer the platform's URL check (a GET), or None."""
        ...

    def wants_pull(self, body: bytes, content_type: str) -> bool:
        """Whether the pushed event names a review to fetch now."""
        ...


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    secret: bool = True
    choices: tuple[str, ...] = ()  # a fixed set (a signing method); the first is the default

    def default(self) -> str:
        return self.choices[0] if self.choices else ""


@dataclass(frozen=True)
class SourceOptions:
    """Per-process settings for building a client: where the gateway is and the clock."""

    clock: Callable[[], datetime]
    url: str | None = None  # None: the platform's production gateway
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5


@dataclass(frozen=True)
class Adapter:
    """One platform's entry in the registry: what it needs and what it can do."""

    name: str  # stable key stored with credentials and on each pull run
    label: str  # shown on 数据源
    platforms: frozenset[Platform]
    fields: tuple[CredentialField, ...]
    build: Callable[[Mapping[str, str], SourceOptions], ReviewSource]
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    events: PushedEvents | None = None  # None: the platform pushes nothing to us
    # why the platform would turn these member level rules down (None: it would take them),
    # asked before syncing is turned on or the levels change while it is on
    refuses_levels: Callable[[MemberLevels], SourceError | None] | None = None

    def problems(self, values: Mapping[str, str]) -> list[tuple[str, str]]:
        """(field, what is wrong) for each value missing or not among its choices."""
        found = []
        for f in self.fields:
            value = str(values.get(f.name) or "")
            if not value and not f.choices:
                found.append((f.name, f"请填写{f.label}。"))
            elif f.choices and value and value not in f.choices:
                found.append((f.name, f"{f.label}只能是 {' / '.join(f.choices)}。"))
        return found

    def level_refusal(self, levels: MemberLevels) -> str | None:
        """Why the platform would turn these member level rules down, asked before a sync
        finds out (and is retried every run until someone looks); None: no known reason."""
        refusal = self.refuses_levels(levels) if self.refuses_levels is not None else None
        return None if refusal is None else refusal.message

    def complete(self, values: Mapping[str, str]) -> dict[str, str]:
        """The values with choices defaulted; :class:`SourceError` says what is wrong."""
        problems = self.problems(values)
        if problems:
            raise SourceError(
                "credentials", f"{self.label}的凭据不完整：" + "".join(m for _, m in problems)
            )
        return {f.name: str(values.get(f.name) or f.default()) for f in self.fields}


def rows_and_total(answer: Mapping[str, Any], rows: str, total: str) -> tuple[list[Any], int]:
    """One page of a listing: its rows and the platform's count of all of them."""
    found = answer.get(rows) or []
    if not isinstance(found, list):
        raise SourceError("malformed", f"{rows} is not a list")
    try:
        return found, int(answer.get(total) or 0)
    except (TypeError, ValueError) as exc:
        raise SourceError("malformed", f"{total} {answer.get(total)!r}") from exc


def read_pages(page: Callable[[int], tuple[list[Any], int]], size: int) -> list[Any]:
    """Every row of a paged listing; ``page(offset)`` answers the page starting there. The
    offset moves by the page size asked for, so a page the platform serves twice skips
    nothing (intake drops the repeats)."""
    found: list[Any] = []
    offset = 0
    while True:
        rows, total = page(offset)
        found.extend(rows)
        offset += size
        if not rows or offset >= total:
            return found


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    while cursor < end:
        upper = min(cursor + size, end)
        yield cursor, upper
        cursor = upper


class WindowTooLarge(RuntimeError):
    """The platform would cut a window's results off: fetch it again in halves."""


def fetch_in_windows(
    read: Callable[[datetime, datetime], list[ReviewRecord]],
    start: datetime,
    end: datetime,
    *,
    size: timedelta,
    smallest: timedelta = timedelta(minutes=1),
) -> Iterator[Window]:
    """Complete windows in time order; one that ``read`` finds over-full is split in two
    until it fits (or is ``smallest``, which is an error: reviews would be lost)."""
    pending = list(windows(start, end, size))
    pending.reverse()
    while pending:
        low, high = pending.pop()
        try:
            records = read(low, high)
        except WindowTooLarge:
            if high - low <= smallest:
                raise SourceError(
                    "too-many", f"too many reviews within {smallest} at {low.isoformat()}"
                ) from None
            middle = low + (high - low) / 2
            pending.extend([(middle, high), (low, middle)])
            continue
        yield Window(low, high, records)
