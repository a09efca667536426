"""Intake: idempotent upsert, revisions, triage, deadlines, cases closing themselves."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import count
from tests.fakes import KeywordScorer, statements_seen
from tracker.domain.triage import DeadlinePolicy, ScoreBands
from tracker.domain.working_hours import WorkingHours
from tracker.models import (
    AuditEvent,
    Buyer,
    Case,
    Notification,
    Order,
    Product,
    Review,
    ReviewRevision,
    Shop,
    User,
)
from tracker.models.enums import CaseOutcome, CaseStatus, Rating, Reason, RevisionKind, Role
from tracker.services.intake import IntakeSettings, ingest, rows_by_key, score_pending
from tracker.services.shop_settings import update_policy
from tracker.sources.records import ReviewRecord

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # Monday 10:00
HOURS = WorkingHours(tz=SH, periods=((time(9), time(12)), (time(13, 30), time(22))))
SETTINGS = IntakeSettings(working_hours=HOURS, deadline_policy=DeadlinePolicy())


def record(
    key: str = "1001",
    *,
    rating: Rating = Rating.BAD,
    text: str = "橙子坏了好几个，太差了",
    posted: datetime = NOW - timedelta(hours=1),
    **extra: object,
) -> ReviewRecord:
    return ReviewRecord(
        platform_key=f"{key}:buyer",
        buyer_nick=extra.pop("nick", "小鱼"),  # type: ignore[arg-type]
        rating=rating,
        text=text,
        posted_at=posted,
        oid=key,
        tid=f"T{key}",
        item_id="5001",
        item_title="赣南脐橙 5斤装",
        item_price=Decimal("39.90"),
        **extra,
    )  # type: ignore[arg-type]


def run(
    session: Session,
    shop: Shop,
    records: list[ReviewRecord],
    *,
    now: datetime = NOW,
    scorer: KeywordScorer | None = None,
    settings: IntakeSettings = SETTINGS,
):  # type: ignore[no-untyped-def]
    result = ingest(
        session,
        shop,
        records,
        now=now,
        scorer=scorer if scorer is not None else KeywordScorer(),
        settings=settings,
    )
    session.commit()
    return result


def test_bad_review_opens_a_case_with_deadlines_reasons_and_priority(
    session: Session, shop: Shop
) -> None:
    result = run(session, shop, [record(text="快递太慢了，橙子还烂了好几个")])
    assert (result.new, result.cases_opened) == (1, 1)
    case = session.scalars(sa.select(Case)).one()
    review = session.get(Review, case.review_id)
    assert review is not None
    assert case.status is CaseStatus.NEW and case.kind == "bad"
    assert case.first_contact_due_at == datetime(2026, 11, 23, 12, 0, tzinfo=SH)  # 2 working h
    assert case.revision_window_ends_at == review.first_posted_at + timedelta(days=30)
    assert {r.reason for r in case.reasons} == {Reason.LOGISTICS, Reason.FRESHNESS}
    assert 1 <= case.priority <= 4
    assert review.sentiment_model == "keyword-test-1" and review.sentiment_score == 0.05
    # buyer and product were created from the record
    assert session.scalars(sa.select(Buyer.platform_nick)).all() == ["小鱼"]
    assert session.scalars(sa.select(Product.title)).all() == ["赣南脐橙 5斤装"]
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.case_id == case.id))


def test_the_same_batch_twice_changes_nothing(session: Session, shop: Shop) -> None:
    batch = [
        record("1"),
        record("2", rating=Rating.NEUTRAL, text="一般般"),
        record("3", rating=Rating.GOOD, text="很甜，好吃"),
    ]
    first = run(session, shop, batch)
    assert (first.new, first.cases_opened) == (3, 2)
    scorer = KeywordScorer()
    second = run(session, shop, batch, scorer=scorer, now=NOW + timedelta(hours=1))
    assert (second.new, second.revised, second.unchanged, second.cases_opened) == (0, 0, 3, 0)
    assert scorer.calls == []  # nothing re-scored
    assert (count(session, Review), count(session, Case), count(session, Buyer)) == (3, 2, 1)
    assert count(session, ReviewRevision) == 0


def test_new_reviews_are_written_with_their_scores_and_never_updated_after(
    session: Session, shop: Shop
) -> None:
    """A review goes in with its score in its INSERT. Written first and scored after, every
    new review cost an UPDATE (on PostgreSQL each rewrites its text indexes), and a second
    one set its 待确认 time to the NULL it already held."""
    batch = [
        record("1"),
        record("2", rating=Rating.NEUTRAL, text="一般般"),
        record("3", rating=Rating.GOOD, text="很甜，好吃"),
        record("4", rating=Rating.GOOD, text="还行吧"),  # unsure: 待确认 sets its time
    ]
    with statements_seen(session, lambda s: s.startswith("UPDATE reviews")) as updates:
        result = run(session, shop, batch)
    assert (result.new, result.scored, result.cases_opened) == (4, 4, 2)
    assert [" ".join(u.split()[:4]) for u in updates] == [
        "UPDATE reviews SET awaiting_confirmation_at=?"
        if session.get_bind().dialect.paramstyle == "qmark"
        else "UPDATE reviews SET awaiting_confirmation_at=%(awaiting_confirmation_at)s::TIMESTAMP"
    ]
    scored = session.execute(
        sa.select(Review.platform_key, Review.sentiment_score, Review.sentiment_model).order_by(
            Review.platform_key
        )
    ).all()
    assert [(k, s, m) for k, s, m in scored] == [
        ("1:buyer", 0.05, "keyword-test-1"),
        ("2:buyer", 0.95, "keyword-test-1"),
        ("3:buyer", 0.95, "keyword-test-1"),
        ("4:buyer", 0.4, "keyword-test-1"),
    ]
    waiting = session.scalars(
        sa.select(Review.platform_key).where(Review.awaiting_confirmation_at.is_not(None))
    ).all()
    assert waiting == ["4:buyer"]


def test_a_batchs_lookups_are_planned_for_their_keys_and_nothing_after(
    session: Session, shop: Shop
) -> None:
    """PostgreSQL's one plan for any values compared a lookup's 500 keys one by one against
    every review of the shop (80 ms, not 3): the lookups are planned for their keys. The
    writes after them are not: planned row by row, the nightly segments ran 60% slower."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    with statements_seen(
        session,
        lambda s: (
            "plan_cache_mode" in s
            or s.startswith(("SELECT reviews.", "INSERT INTO reviews", "INSERT INTO cases"))
        ),
    ) as seen:
        run(session, shop, [record("1"), record("2", rating=Rating.GOOD, text="很甜")])
    shapes = [s if "plan_cache_mode" in s else " ".join(s.split()[:2]) for s in seen]
    lookup = shapes.index(next(s for s in shapes if s.startswith("SELECT reviews.")))
    if not postgresql:
        assert not any("plan_cache_mode" in s for s in shapes)
        return
    assert shapes[lookup - 1] == "SET LOCAL plan_cache_mode = force_custom_plan"
    settled = shapes.index("SET LOCAL plan_cache_mode TO DEFAULT")
    assert lookup < settled < shapes.index(next(s for s in shapes if s.startswith("INSERT")))
    assert session.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"


def test_every_key_lookup_is_planned_for_its_keys(session: Session, shop: Shop) -> None:
    """Orders, buyers and products imports look their keys up the same way (rows_by_key)."""
    with statements_seen(
        session, lambda s: "plan_cache_mode" in s or s.startswith("SELECT orders.")
    ) as seen:
        assert rows_by_key(session, shop.id, Order, Order.tid, {"T1", "T2"}) == {}
    shapes = [s if "plan_cache_mode" in s else " ".join(s.split()[:2]) for s in seen]
    if session.get_bind().dialect.name != "postgresql":
        assert shapes == ["SELECT orders.id,"]
        return
    assert shapes == [
        "SET LOCAL plan_cache_mode = force_custom_plan",
        "SELECT orders.id,",
        "SET LOCAL plan_cache_mode TO DEFAULT",
    ]


def test_duplicates_inside_one_batch_keep_the_latest(session: Session, shop: Shop) -> None:
    early = record("7", text="差", posted=NOW - timedelta(hours=3))
    late = record("7", rating=Rating.GOOD, text="很好", posted=NOW - timedelta(hours=1))
    result = run(session, shop, [late, early])
    assert (result.received, result.new) == (1, 1)
    assert session.scalars(sa.select(Review.text)).one() == "很好"


def test_revised_to_good_closes_the_case_credited_to_its_owner(
    session: Session,
    shop: Shop,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    run(session, shop, [record()])
    case = session.scalars(sa.select(Case)).one()
    agent: User = make_user(Role.AGENT, shops=[shop])
    case.owner_id = agent.id
    session.commit()
    revised_at = NOW + timedelta(days=2)
    result = run(
        session,
        shop,
        [record(rating=Rating.GOOD, text="客服处理很及时，改好评", posted=revised_at)],
        now=revised_at + timedelta(hours=1),
    )
    assert (result.revised, result.cases_closed) == (1, 1)
    session.refresh(case)
    assert case.status is CaseStatus.RECOVERED
    assert case.outcome is CaseOutcome.REVIEW_REVISED
    assert case.closed_at == revised_at and case.closed_by_id == agent.id
    revision = session.scalars(sa.select(ReviewRevision)).one()
    assert (revision.kind, revision.rating, revision.text) == (
        RevisionKind.REVISED,
        Rating.BAD,
        "橙子坏了好几个，太差了",
    )
    review = session.get(Review, case.review_id)
    assert review is not None and review.rating is Rating.GOOD
    assert review.first_posted_at == NOW - timedelta(hours=1)  # the 30-day window stays


def test_a_buyers_new_case_goes_to_the_agent_already_working_them(
    session: Session,
    shop: Shop,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    """One buyer, one agent: the same buyer's second review is the agent's, told so; not
    when their case is closed, nor when the agent left the shop, was deactivated or is
    away."""
    run(session, shop, [record("1")])
    first = session.scalars(sa.select(Case)).one()
    agent: User = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    first.owner_id = agent.id
    session.commit()

    run(session, shop, [record("2", text="另一件也坏了")], now=NOW + timedelta(hours=1))
    second = session.scalars(sa.select(Case).where(Case.id != first.id)).one()
    assert second.owner_id == agent.id and second.status is CaseStatus.NEW
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == second.id, AuditEvent.field == "owner")
    ).one()
    assert (audit.actor_id, audit.new_value) == (None, "客服小林")
    note = session.scalars(sa.select(Notification).where(Notification.case_id == second.id)).one()
    assert note.user_id == agent.id and f"#{second.id}" in note.title
    others = run(session, shop, [record("3", nick="别人")], now=NOW + timedelta(hours=2))
    assert others.cases_opened == 1
    assert session.scalars(sa.select(Case).order_by(Case.id.desc())).first().owner_id is None

    def next_case(key: str) -> Case:
        run(session, shop, [record(key, text="还是坏的")], now=NOW + timedelta(hours=3))
        return session.scalars(sa.select(Case).order_by(Case.id.desc())).first()

    agent.shops = []  # moved to another shop
    session.commit()
    assert next_case("4").owner_id is None
    agent.shops, agent.is_active = [shop], False  # or left
    session.commit()
    assert next_case("5").owner_id is None
    agent.is_active = True
    agent.away_until = NOW + timedelta(hours=5)  # or is away (leave, sick) until then
    session.commit()
    assert next_case("7").owner_id is None
    agent.away_until = NOW + timedelta(hours=3)  # back by the time the review comes in
    session.commit()
    assert next_case("8").owner_id == agent.id
    for case in session.scalars(sa.select(Case).where(Case.owner_id == agent.id)):
        case.status, case.closed_at = CaseStatus.RECOVERED, NOW
    session.commit()
    assert next_case("6").owner_id is None  # their cases are closed: anyone may claim it


def test_a_shop_that_assigns_automatically_gives_each_new_case_to_the_least_loaded_agent(
    session: Session,
    shop: Shop,
    make_shop,  # type: ignore[no-untyped-def]
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    """自动分配: fewest overdue, then fewest open (in every shop); never someone away,
    deactivated, of another shop, or a supervisor; the buyer's own agent first; off by
    default."""
    run(session, shop, [record("0", nick="先来的")])
    assert session.scalars(sa.select(Case.owner_id)).one() is None  # off: 未分配
    lin = make_user(Role.AGENT, shops=[shop], display_name="客服小林")
    chen = make_user(Role.AGENT, shops=[shop, make_shop()], display_name="客服小陈")
    make_user(Role.SUPERVISOR, shops=[shop], display_name="主管")
    make_user(Role.AGENT, shops=[make_shop()], display_name="别店客服")
    make_user(Role.AGENT, shops=[shop], display_name="已离职", is_active=False)
    make_user(Role.AGENT, shops=[shop], display_name="休假中", away_until=NOW + timedelta(days=2))
    shop.auto_assign = True
    session.commit()

    def owner_of(key: str, nick: str, at: datetime) -> str:
        run(session, shop, [record(key, nick=nick)], now=at)
        case = session.scalars(sa.select(Case).order_by(Case.id.desc())).first()
        return session.get(User, case.owner_id).display_name if case.owner_id else "未分配"

    t = NOW + timedelta(minutes=1)
    assert [owner_of(str(i), f"买家{i}", t) for i in range(1, 5)] == [
        "客服小林",  # equal loads: the older account
        "客服小陈",
        "客服小林",
        "客服小陈",
    ]
    newest = session.scalars(sa.select(Case).order_by(Case.id.desc())).first()
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == newest.id, AuditEvent.field == "owner")
    ).one()
    assert (audit.actor_id, audit.new_value) == (None, "客服小陈（自动分配）")
    note = session.scalars(sa.select(Notification).where(Notification.case_id == newest.id)).one()
    assert note.user_id == chen.id and note.title == f"新案件 #{newest.id} 已自动分配给你"
    # 客服小林 lets a first contact run late: the next case goes to 客服小陈, busier but on time
    late = session.scalars(sa.select(Case).where(Case.owner_id == lin.id)).first()
    late.first_contact_due_at = t
    session.commit()
    assert owner_of("5", "买家5", t + timedelta(minutes=1)) == "客服小陈"
    # the buyer's own agent comes first, whatever the loads
    assert owner_of("6", "买家1", t + timedelta(minutes=2)) == "客服小林"
    # 客服小陈's cases in another shop count: one person's load
    other_shop = next(s for s in chen.shops if s.id != shop.id)
    for i in range(5):
        run(session, other_shop, [record(f"x{i}", nick=f"别店{i}")], now=t)
    for case in session.scalars(sa.select(Case).where(Case.shop_id == other_shop.id)):
        case.owner_id = chen.id
    late.first_contact_due_at = t + timedelta(days=1)
    session.commit()
    assert owner_of("7", "买家7", t + timedelta(minutes=3)) == "客服小林"
    # nobody at work: it waits in 未分配
    lin.away_until = chen.away_until = NOW + timedelta(days=1)
    session.commit()
    assert owner_of("8", "买家8", t + timedelta(minutes=4)) == "未分配"


def test_deleted_review_closes_the_case(session: Session, shop: Shop) -> None:
    run(session, shop, [record()])
    result = run(session, shop, [record(is_deleted=True)], now=NOW + timedelta(days=1))
    assert result.cases_closed == 1
    case = session.scalars(sa.select(Case)).one()
    assert (case.status, case.outcome) == (CaseStatus.RECOVERED, CaseOutcome.REVIEW_DELETED)
    assert session.scalars(sa.select(ReviewRevision.kind)).one() is RevisionKind.DELETED


def test_neutral_turned_bad_keeps_the_case_open_and_records_the_revision(
    session: Session, shop: Shop
) -> None:
    run(session, shop, [record(rating=Rating.NEUTRAL, text="一般")])
    result = run(session, shop, [record(rating=Rating.BAD, text="越用越差")])
    assert (result.revised, result.cases_opened, result.cases_closed) == (1, 0, 0)
    assert session.scalars(sa.select(Case.status)).one() is CaseStatus.NEW


def test_hidden_negative_good_rating_opens_a_flagged_case(session: Session, shop: Shop) -> None:
    result = run(
        session, shop, [record(rating=Rating.GOOD, text="给个好评吧，但是橙子真的坏了一半")]
    )
    assert result.cases_opened == 1
    case = session.scalars(sa.select(Case)).one()
    assert case.is_hidden_negative and case.kind == "hidden_negative"
    assert case.first_contact_due_at == HOURS.add(NOW, timedelta(hours=8))


def test_threshold_is_configurable(session: Session, shop: Shop) -> None:
    strict = IntakeSettings(
        working_hours=HOURS,
        deadline_policy=DeadlinePolicy(),
        bands=ScoreBands(case=0.01, confirm=0.02),
    )
    result = run(session, shop, [record(rating=Rating.GOOD, text="坏了")], settings=strict)
    assert result.cases_opened == 0


def test_system_default_and_empty_good_reviews_are_not_scored(session: Session, shop: Shop) -> None:
    scorer = KeywordScorer()
    result = run(
        session,
        shop,
        [
            record("1", rating=Rating.GOOD, text="评价方未及时做出评价,系统默认好评!"),
            record("2", rating=Rating.GOOD, text=""),
            record("3", rating=Rating.GOOD, text="此用户没有填写评价。"),
        ],
        scorer=scorer,
    )
    assert (result.new, result.scored, result.cases_opened) == (3, 0, 0)
    assert scorer.calls == []
    assert all(
        r.is_system_default and r.sentiment_score is None
        for r in session.scalars(sa.select(Review))
    )


def test_negative_follow_up_on_a_good_review_opens_a_case(session: Session, shop: Shop) -> None:
    run(session, shop, [record(rating=Rating.GOOD, text="很甜很好吃")])
    assert count(session, Case) == 0
    later = NOW + timedelta(days=5)
    result = run(
        session,
        shop,
        [
            record(
                rating=Rating.GOOD,
                text="很甜很好吃",
                follow_up_text="追评：后面几个全坏了，很失望",
                follow_up_at=later,
            )
        ],
        now=later,
    )
    assert (result.revised, result.cases_opened) == (1, 1)
    assert session.scalars(sa.select(ReviewRevision.kind)).one() is RevisionKind.FOLLOW_UP
    case = session.scalars(sa.select(Case)).one()
    assert case.is_hidden_negative and {r.reason for r in case.reasons} == {Reason.QUALITY}


def test_without_a_scorer_bad_opens_now_and_good_waits_for_scoring(
    session: Session, shop: Shop
) -> None:
    batch = [record("1"), record("2", rating=Rating.GOOD, text="好评，不过东西坏了")]
    result = ingest(session, shop, batch, now=NOW, scorer=None, settings=SETTINGS)
    session.commit()
    assert (result.new, result.scored, result.cases_opened) == (2, 0, 1)
    later = score_pending(
        session, shop, scorer=KeywordScorer(), now=NOW + timedelta(minutes=1), settings=SETTINGS
    )
    session.commit()
    assert (later.scored, later.cases_opened) == (2, 1)
    assert count(session, Case) == 2
    again = score_pending(session, shop, scorer=KeywordScorer(), now=NOW, settings=SETTINGS)
    assert (again.received, again.cases_opened) == (0, 0)


def test_seller_reply_is_recorded_once(session: Session, shop: Shop) -> None:
    run(session, shop, [record()])
    run(session, shop, [record(reply="亲，非常抱歉，已为您补发")])
    review = session.scalars(sa.select(Review)).one()
    assert review.explanation == "亲，非常抱歉，已为您补发" and review.explained_at is not None


def test_policy_change_moves_only_uncontacted_open_deadlines(session: Session, shop: Shop) -> None:
    run(session, shop, [record("1"), record("2")])
    contacted, waiting = session.scalars(sa.select(Case).order_by(Case.id)).all()
    contacted.first_attempt_at = NOW
    contacted.status = CaseStatus.CONTACTING
    session.commit()
    before = contacted.first_contact_due_at
    moved = update_policy(session, shop, HOURS, DeadlinePolicy(bad_hours=1), actor_id=None, now=NOW)
    assert moved == 1
    assert waiting.first_contact_due_at == datetime(2026, 11, 23, 11, 0, tzinfo=SH)
    assert contacted.first_contact_due_at == before
    assert shop.deadline_policy == {
        "bad_hours": 1.0,
        "neutral_hours": 4.0,
        "hidden_negative_hours": 8.0,
    }


def test_times_are_stored_in_utc(session: Session, shop: Shop) -> None:
    run(session, shop, [record()])
    session.expire_all()
    review = session.scalars(sa.select(Review)).one()
    assert review.posted_at.tzinfo is not None
    assert review.posted_at == (NOW - timedelta(hours=1)).astimezone(UTC)


def test_backfill_scores_history_but_opens_cases_only_in_the_revision_window(
    session: Session, shop: Shop
) -> None:
    old = record("1", posted=NOW - timedelta(days=60))
    recent_bad_without_words = record("2", text="")
    recent_hidden = record("3", rating=Rating.GOOD, text="好评，但是坏了")
    ingest(
        session,
        shop,
        [old, recent_bad_without_words, recent_hidden],
        now=NOW,
        scorer=None,
        settings=SETTINGS,
    )
    session.execute(sa.delete(Case))  # as if loaded in bulk without triage
    session.commit()
    result = score_pending(
        session, shop, scorer=KeywordScorer(), now=NOW, settings=SETTINGS, limit=None
    )
    session.commit()
    assert (result.scored, result.cases_opened) == (2, 2)
    keys = set(
        session.scalars(sa.select(Review.platform_key).join(Case, Case.review_id == Review.id))
    )
    assert keys == {"2:buyer", "3:buyer"}
    # the scheduler's run a minute later leaves the old bad review alone too
    again = score_pending(session, shop, scorer=KeywordScorer(), now=NOW, settings=SETTINGS)
    assert (again.received, again.cases_opened) == (0, 0)


def test_waiting_reviews_of_both_kinds_are_taken_in_key_order_across_chunks(
    session: Session, shop: Shop, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from tracker.services import intake

    monkeypatch.setattr(intake, "CHUNK", 2)
    batch = [
        record(str(i), rating=Rating.GOOD, text="好评，不过东西坏了") if i % 2 else record(str(i))
        for i in range(7)
    ]  # good ones wait for a score, bad ones for their case
    ingest(session, shop, batch, now=NOW, scorer=None, settings=SETTINGS)
    session.execute(sa.delete(Case))
    session.execute(  # the bad ones scored already: only their case is missing
        sa.update(Review).where(Review.rating == Rating.BAD).values(sentiment_model="earlier")
    )
    system_default = record("99", rating=Rating.GOOD, text="")
    ingest(session, shop, [system_default], now=NOW, scorer=None, settings=SETTINGS)
    session.execute(
        sa.update(Review).where(Review.platform_key == "99:buyer").values(is_system_default=True)
    )
    session.commit()
    result = score_pending(
        session, shop, scorer=KeywordScorer(), now=NOW, settings=SETTINGS, limit=None
    )
    session.commit()
    assert (result.received, result.scored, result.cases_opened) == (7, 3, 7)
    assert count(session, Case) == 7  # each once, the system's default review left alone


def test_a_review_past_its_revision_window_is_stored_without_a_case(
    session: Session, shop: Shop
) -> None:
    result = ingest(
        session,
        shop,
        [
            record("1", posted=NOW - timedelta(days=31)),
            record("2", posted=NOW - timedelta(days=29)),
        ],
        now=NOW,
        scorer=KeywordScorer(),
        settings=SETTINGS,
    )
    assert (result.new, result.cases_opened) == (2, 1)
    assert count(session, Review) == 2
