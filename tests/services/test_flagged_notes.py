"""Contact notes the compliance guard flags, as the supervisor's reports page lists them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from tests.conftest import NOW
from tests.factories import logged_attempt, open_case
from tracker.models import Shop, User
from tracker.models.enums import Role
from tracker.services import flagged_notes


def test_the_periods_flagged_notes_by_agent_newest_first(
    session: Session, shop: Shop, make_shop: Callable[..., Shop], make_user: Callable[..., User]
) -> None:
    lin = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    chen = make_user(Role.AGENT, shops=[shop], display_name="客服小陈")
    case = open_case(session, shop, at=NOW - timedelta(days=3))
    other = open_case(session, make_shop(code="other"), at=NOW - timedelta(days=3))
    for agent, hours, notes in (
        (lin, 1, "答应买家改好评后返20元"),  # an offer
        (lin, 2, "买家不接，说再打就投诉"),  # the buyer's words: nothing to flag
        (chen, 3, "跟买家说不删差评就一直打电话"),  # pressure
        (chen, 4, "买家说橙子很甜，已改评价"),  # a review changed, nothing offered
        (chen, 30 * 24, "改个好评送优惠券"),  # before the period
    ):
        logged_attempt(session, case.id, agent.id, NOW - timedelta(hours=hours), notes=notes)
    logged_attempt(session, other.id, lin.id, NOW - timedelta(hours=1), notes="好评返现5元")
    session.commit()

    found = flagged_notes.flagged_notes(session, shop.id, NOW - timedelta(days=7), NOW)
    assert [(n.agent, n.finding.kind, n.finding.sentence) for n in found.notes] == [
        ("客服小林", "inducement", "答应买家改好评后返20元"),
        ("客服小陈", "pressure", "跟买家说不删差评就一直打电话"),
    ]
    assert found.notes[0].case_id == case.id and found.notes[0].attempted_at == NOW - timedelta(
        hours=1
    )
    assert (found.total, found.by_agent, found.capped) == (
        2,
        [("客服小林", 1), ("客服小陈", 1)],
        False,
    )


def test_only_the_newest_notes_are_read_and_the_page_says_so(
    session: Session, shop: Shop, make_user: Callable[..., User], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    agent = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=NOW - timedelta(days=3))
    for minutes in range(4):
        logged_attempt(
            session, case.id, agent.id, NOW - timedelta(minutes=minutes), notes="好评返现5元"
        )
    session.commit()
    monkeypatch.setattr(flagged_notes, "SCAN_LIMIT", 3)
    found = flagged_notes.flagged_notes(
        session, shop.id, NOW - timedelta(days=1), NOW + timedelta(minutes=1)
    )
    assert (found.total, found.capped) == (3, True)
