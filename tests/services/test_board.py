"""The board's queries without HTTP: each kanban column ranked and counted in one pass,
cards read as plain values in the order asked for."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tests.factories import answered_survey, logged_attempt, open_case
from tracker.models import Case, CaseReason, Shop, User
from tracker.models.enums import AttemptOutcome, CaseOutcome, CaseStatus, Rating, Reason, Role
from tracker.services import board, browse

TZ = ZoneInfo("Asia/Shanghai")
LATER = NOW + timedelta(days=4)  # the factory posts each review 3 days after its ``at``


@pytest.fixture
def agent(make_user, shop: Shop) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.AGENT, shops=[shop], display_name="客服小林")


def make_case(
    session: Session, shop: Shop, n: int, reasons: tuple[Reason, ...] = (), **fields
) -> Case:  # type: ignore[no-untyped-def]
    """Case ``n`` ("买家n", "文字n"), tagged with ``reasons`` (intake's guess: other)."""
    case = open_case(session, shop, key=str(n), nick=f"买家{n}", text=f"文字{n}", at=NOW)
    for name, value in fields.items():
        setattr(case, name, value)
    if reasons:
        case.reasons = [CaseReason(reason=reason) for reason in reasons]
    session.commit()
    return case


def kanban(session: Session, shop: Shop, user: User, **criteria) -> board.Kanban:  # type: ignore[no-untyped-def]
    f = board.BoardFilter(shop_ids=(shop.id,), **criteria)
    return board.kanban(session, f, user_id=user.id, now=LATER, tz=TZ, per_column=3)


def test_each_column_keeps_its_first_cards_in_order_and_counts_them_all(
    session: Session, shop: Shop, agent: User
) -> None:
    due = [
        make_case(session, shop, n, first_contact_due_at=LATER + timedelta(hours=n))
        for n in (4, 1, 3, 2)
    ]
    waiting = make_case(session, shop, 5, status=CaseStatus.WAITING)
    closed = [
        make_case(
            session,
            shop,
            n,
            status=CaseStatus.RECOVERED,
            outcome=CaseOutcome.REVIEW_REVISED,
            closed_at=LATER - timedelta(days=days),
        )
        for n, days in ((6, 3), (7, 1), (8, 10))
    ]
    result = kanban(session, shop, agent, scope="all")
    by_deadline = sorted(due, key=lambda c: c.first_contact_due_at)
    assert [c.id for c in result.columns[CaseStatus.NEW]] == [c.id for c in by_deadline[:3]]
    assert result.counts[CaseStatus.NEW] == 4  # all of them, not the three shown
    assert [c.id for c in result.columns[CaseStatus.WAITING]] == [waiting.id]
    # closed columns: the last week only, last closed first
    assert [c.id for c in result.columns[CaseStatus.RECOVERED]] == [closed[1].id, closed[0].id]
    assert result.counts[CaseStatus.RECOVERED] == 2
    assert result.columns[CaseStatus.CONTACTING] == [] and result.counts[CaseStatus.CONTACTING] == 0

    newest = kanban(session, shop, agent, scope="all", sort="newest")
    by_opening = sorted(due, key=lambda c: (c.opened_at, c.id), reverse=True)
    assert [c.id for c in newest.columns[CaseStatus.NEW]] == [c.id for c in by_opening[:3]]
    # the sort picked for open columns leaves the closed ones by closing time
    assert [c.id for c in newest.columns[CaseStatus.RECOVERED]] == [closed[1].id, closed[0].id]


def test_default_scope_puts_mine_first_and_leaves_out_other_agents_cases(
    session: Session, shop: Shop, agent: User, make_user
) -> None:  # type: ignore[no-untyped-def]
    other = make_user(Role.AGENT, shops=[shop])
    free = make_case(session, shop, 1, first_contact_due_at=LATER)
    mine = make_case(
        session, shop, 2, owner_id=agent.id, first_contact_due_at=LATER + timedelta(hours=5)
    )
    make_case(session, shop, 3, owner_id=other.id)
    result = kanban(session, shop, agent)
    assert [c.id for c in result.columns[CaseStatus.NEW]] == [mine.id, free.id]
    assert result.counts[CaseStatus.NEW] == 2


def test_filters_narrow_the_counts_as_well_as_the_cards(
    session: Session, shop: Shop, agent: User
) -> None:
    quality = make_case(session, shop, 1, reasons=(Reason.QUALITY,))
    make_case(session, shop, 2)
    result = kanban(session, shop, agent, scope="all", reason=Reason.QUALITY)
    assert [c.id for c in result.columns[CaseStatus.NEW]] == [quality.id]
    assert result.counts[CaseStatus.NEW] == 1
    result = kanban(session, shop, agent, scope="all", q="文字2")
    assert result.counts[CaseStatus.NEW] == 1 and result.columns[CaseStatus.NEW][0].text == "文字2"
    quality.review.follow_up_text = "用了一周就坏了"  # 追评 are searched too
    session.commit()
    result = kanban(session, shop, agent, scope="all", q="就坏")
    assert [c.id for c in result.columns[CaseStatus.NEW]] == [quality.id]


def test_cards_carry_what_a_card_shows_in_the_order_asked(
    session: Session, shop: Shop, agent: User
) -> None:
    first = make_case(
        session, shop, 1, reasons=(Reason.LOGISTICS, Reason.QUALITY), owner_id=agent.id
    )
    second = make_case(session, shop, 2)
    cards = board.cards(session, [second.id, first.id])
    assert [c.id for c in cards] == [second.id, first.id]
    card = cards[1]
    assert (card.nick, card.text, card.rating, card.owner_name) == (
        "买家1",
        "文字1",
        Rating.BAD,
        "客服小林",
    )
    assert card.product_title == "赣南脐橙 5斤装" and card.is_open and card.status is CaseStatus.NEW
    assert card.reasons == (Reason.QUALITY, Reason.LOGISTICS)  # in the enum's order
    assert cards[0].owner_name is None and cards[0].reasons == (Reason.OTHER,)
    assert board.cards(session, []) == []
    assert [c.id for c in board.cards(session, [first.id, 999_999])] == [first.id]  # gone
    second.reasons = []  # untagged (all tags removed by hand)
    session.commit()
    assert board.cards(session, [second.id])[0].reasons == ()


def test_survey_unsolved_lists_the_cases_whose_buyer_said_not_solved_and_cards_say_so(
    session: Session, shop: Shop, agent: User
) -> None:
    """A buyer's 还没有解决 / 解决了一部分 stays findable after the notice was read: with
    全部 the closed cases nobody reopened, without it the reopened ones being worked."""
    closed = {
        resolved: make_case(
            session,
            shop,
            n,
            status=CaseStatus.UNRECOVERED,
            outcome=CaseOutcome.REFUSED,
            closed_at=LATER - timedelta(days=n),
        )
        for n, resolved in ((1, "no"), (2, "partly"), (3, "yes"), (4, None))
    }
    reopened = make_case(session, shop, 5, status=CaseStatus.CONTACTING)
    make_case(session, shop, 6)  # never surveyed
    for resolved, case in [*closed.items(), ("no", reopened)]:
        answered_survey(session, case, resolved, at=NOW)
    session.commit()

    def listed(**criteria) -> list[int]:  # type: ignore[no-untyped-def]
        f = board.BoardFilter(shop_ids=(shop.id,), scope="all", survey_unsolved=True, **criteria)
        return list(
            session.scalars(board.listing(session, f, user_id=agent.id, now=LATER, tz=TZ).stmt)
        )

    everyone = listed(include_closed=True, sort="closed")
    assert everyone == [closed["no"].id, closed["partly"].id, reopened.id]
    assert listed() == [reopened.id]  # 进行中: the reopened one only
    assert listed(status=CaseStatus.UNRECOVERED) == [closed["no"].id, closed["partly"].id]
    said = {c.id: c.survey_said for c in board.cards(session, [*everyone, closed["yes"].id])}
    assert said == {
        closed["no"].id: "还没有解决",
        closed["partly"].id: "解决了一部分",
        reopened.id: "还没有解决",
        closed["yes"].id: None,  # solved is no news on a card
    }
    closed_at = {c.id: c.closed_at for c in board.cards(session, everyone)}
    assert closed_at == {
        closed["no"].id: closed["no"].closed_at,
        closed["partly"].id: closed["partly"].closed_at,
        reopened.id: None,
    }
    columns = kanban(session, shop, agent, scope="all", survey_unsolved=True).columns
    assert [c.id for c in columns[CaseStatus.CONTACTING]] == [reopened.id]
    assert [c.id for c in columns[CaseStatus.UNRECOVERED]] == [closed["no"].id, closed["partly"].id]
    # closed nine days ago, answered since: the filtered kanban goes back that far, the
    # plain one keeps to the last week
    old = make_case(
        session, shop, 7, status=CaseStatus.UNRECOVERED, outcome=CaseOutcome.REFUSED,
        closed_at=LATER - timedelta(days=9),
    )  # fmt: skip
    answered_survey(session, old, "no", at=NOW, score=1)
    session.commit()
    columns = kanban(session, shop, agent, scope="all", survey_unsolved=True).columns
    assert [c.id for c in columns[CaseStatus.UNRECOVERED]] == [
        closed["no"].id,
        closed["partly"].id,
        old.id,
    ]
    plain = kanban(session, shop, agent, scope="all").columns[CaseStatus.UNRECOVERED]
    assert old.id not in [c.id for c in plain] and closed["no"].id in [c.id for c in plain]


def test_survey_unheeded_lists_the_cases_nobody_went_back_to_and_home_shows_them(
    session: Session, shop: Shop, agent: User, make_user, make_shop
) -> None:  # type: ignore[no-untyped-def]
    """还没有解决 said after the closing waits on a person until someone talks to the buyer,
    or the case is closed again after it; reopening it, a failed try or the buyer's own
    message is not that. The agent's and the supervisor's home pages list them."""
    closed_at = LATER - timedelta(days=3)
    answered = LATER - timedelta(days=2)

    def closed(n: int, resolved: str | None, owner: User | None = agent, **fields) -> Case:  # type: ignore[no-untyped-def]
        fields = {"closed_at": closed_at, **fields}
        case = make_case(
            session, shop, n, status=CaseStatus.UNRECOVERED, outcome=CaseOutcome.REFUSED,
            owner_id=owner.id if owner else None, **fields,
        )  # fmt: skip
        survey(case, resolved)
        return case

    def survey(case: Case, resolved: str | None, at=answered) -> None:  # type: ignore[no-untyped-def]
        answered_survey(session, case, resolved, at=at)
        session.commit()

    def talked(case: Case, outcome: AttemptOutcome, at=answered + timedelta(hours=1)) -> None:  # type: ignore[no-untyped-def]
        logged_attempt(session, case.id, agent.id, at, outcome=outcome)
        session.commit()

    waiting = closed(1, "no")
    partly = closed(2, "partly", owner=None)
    tried = closed(3, "no")
    talked(tried, AttemptOutcome.NO_ANSWER)  # not got through: still waiting
    chased = closed(4, "no")
    talked(chased, AttemptOutcome.BUYER_REPLIED)  # the buyer chasing us: still waiting
    heard = closed(5, "no")
    talked(heard, AttemptOutcome.HANDLING)
    before = closed(6, "no")
    talked(before, AttemptOutcome.REFUSED, at=answered - timedelta(hours=1))  # before they said
    closed(7, "yes")
    closed(8, None)  # asked, not answered
    closed(9, "no", closed_at=answered + timedelta(days=1))  # closed again since
    reopened = make_case(session, shop, 10, status=CaseStatus.CONTACTING, owner_id=agent.id)
    survey(reopened, "no")  # reopened, nobody has reached them yet: still waiting
    reached = make_case(session, shop, 12, status=CaseStatus.CONTACTING, owner_id=agent.id)
    survey(reached, "no")
    talked(reached, AttemptOutcome.CALL_CONNECTED)
    asked_again = closed(11, "no")
    survey(asked_again, "yes", at=answered + timedelta(hours=5))  # the buyer's last word
    elsewhere = open_case(session, make_shop(), key="x", nick="别家", at=NOW)
    elsewhere.status, elsewhere.closed_at = CaseStatus.UNRECOVERED, closed_at
    survey(elsewhere, "no")
    unheeded = [waiting.id, partly.id, tried.id, chased.id, before.id, reopened.id]
    assert waiting.id < partly.id < tried.id < chased.id < before.id < reopened.id

    def listed(**criteria) -> list[int]:  # type: ignore[no-untyped-def]
        f = board.BoardFilter((shop.id,), survey_unheeded=True, sort="oldest", **criteria)
        return list(
            session.scalars(board.listing(session, f, user_id=agent.id, now=LATER, tz=TZ).stmt)
        )

    assert listed(scope="all") == unheeded  # closed ones too, with the status left at 进行中
    assert listed(scope="all", include_closed=True) == unheeded
    assert listed(scope="mine") == [waiting.id, tried.id, chased.id, before.id, reopened.id]
    assert listed(scope="all", status=CaseStatus.CONTACTING) == [reopened.id]
    shown = kanban(session, shop, agent, scope="all", survey_unheeded=True)
    assert shown.counts[CaseStatus.UNRECOVERED] == 5
    assert [c.id for c in shown.columns[CaseStatus.CONTACTING]] == [reopened.id]

    mine = board.my_day(session, (shop.id,), user_id=agent.id, now=LATER, tz=TZ)[-1]
    assert (mine.label, mine.count, mine.shows, mine.hide_empty) == (
        "回访说没解决、还没跟进", 5, "survey", True,
    )  # fmt: skip
    assert [c.id for c in mine.cards] == [before.id, chased.id, tried.id, waiting.id, reopened.id]
    assert [c.survey_said for c in mine.cards] == ["还没有解决"] * 5  # last closed, reopened last
    assert mine.query == {
        "scope": "mine", "view": "list", "survey_unheeded": "y", "status": "all", "sort": "closed",
    }  # fmt: skip
    boss = make_user(Role.SUPERVISOR, shops=[shop])
    team = board.team_day(session, (shop.id,), user_id=boss.id, now=LATER, tz=TZ)[-1]
    assert team.count == 6 and team.query["scope"] == "all"
    assert "解决了一部分" in [c.survey_said for c in team.cards]
    other = make_user(Role.AGENT, shops=[shop])
    assert board.my_day(session, (shop.id,), user_id=other.id, now=LATER, tz=TZ)[-1].count == 0


def test_follow_up_missed_lists_the_open_cases_whose_call_back_has_passed(
    session: Session, shop: Shop, agent: User
) -> None:
    """跟进已过: a 下次跟进 gone by with no contact since (a contact sets the next one), in
    the order they were due; not one still to come, none on a closed case."""
    later = make_case(
        session, shop, 1, status=CaseStatus.CONTACTING, next_follow_up_at=LATER - timedelta(hours=1)
    )
    earlier = make_case(
        session, shop, 2, status=CaseStatus.WAITING, next_follow_up_at=LATER - timedelta(days=1)
    )
    planned = make_case(
        session, shop, 3, status=CaseStatus.CONTACTING, next_follow_up_at=LATER + timedelta(hours=2)
    )
    make_case(session, shop, 4, status=CaseStatus.CONTACTING)  # none agreed
    make_case(
        session, shop, 5, status=CaseStatus.UNRECOVERED, outcome=CaseOutcome.REFUSED,
        closed_at=LATER - timedelta(days=2), next_follow_up_at=LATER - timedelta(days=3),
    )  # fmt: skip

    def listed(**criteria) -> list[int]:  # type: ignore[no-untyped-def]
        f = board.BoardFilter(
            shop_ids=(shop.id,), scope="all", follow_up_missed=True, sort="follow_up", **criteria
        )
        return list(
            session.scalars(board.listing(session, f, user_id=agent.id, now=LATER, tz=TZ).stmt)
        )

    assert listed() == [earlier.id, later.id]
    assert listed(include_closed=True) == [earlier.id, later.id]
    # sorted by 下次跟进 without the box, the cases that have one come first on both
    # databases (SQLite put the ones with none first: the home page's 我今天要跟进 link
    # opened on cases with nothing to follow up)
    f = board.BoardFilter(shop_ids=(shop.id,), scope="all", sort="follow_up")
    every = list(
        session.scalars(board.listing(session, f, user_id=agent.id, now=LATER, tz=TZ).stmt)
    )
    assert every[:3] == [earlier.id, later.id, planned.id] and len(every) == 4
    columns = kanban(session, shop, agent, scope="all", follow_up_missed=True).columns
    assert [c.id for c in columns[CaseStatus.CONTACTING]] == [later.id]
    assert [c.id for c in columns[CaseStatus.WAITING]] == [earlier.id]


def test_a_search_in_the_list_reads_its_matches_once_and_says_when_they_are_too_many(
    session: Session, shop: Shop, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list view's search is read once, in board order, and its page by id; one that
    matches more than ``SEARCH_LIMIT`` lists that many, in board order, not counted."""
    cases = [
        make_case(session, shop, n, first_contact_due_at=LATER + timedelta(hours=10 - n))
        for n in range(1, 5)
    ]
    cases[0].status, cases[0].closed_at = CaseStatus.UNRECOVERED, LATER  # 全部: closed too
    cases[0].outcome = CaseOutcome.REFUSED
    session.commit()

    def listing(q: str) -> browse.Search[int]:
        f = board.BoardFilter(shop_ids=(shop.id,), scope="all", include_closed=True, q=q)
        return board.listing(session, f, user_id=agent.id, now=LATER, tz=TZ)

    found = listing("文字")
    by_deadline = [c.id for c in sorted(cases, key=lambda c: c.first_contact_due_at)]
    assert (found.total, found.broad) == (4, False)
    assert list(session.scalars(found.stmt)) == by_deadline
    assert (listing("文字3").total, listing("买家2").total, listing("没有这句").total) == (1, 1, 0)
    monkeypatch.setattr(browse, "SEARCH_LIMIT", 3)
    broad = listing("文字")
    assert broad.broad and broad.total is None
    assert list(session.scalars(broad.stmt)) == by_deadline[:3]  # the first three, in order
    assert listing("文字3").total == 1
    assert listing("").total is None and not listing("").broad  # no search: counted as ever
