"""待确认 and 误报: unsure good ratings wait for a person; a dismissed false alarm is a
correction and stays out of the recovery figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.fakes import KeywordScorer
from tests.services.test_intake import HOURS, NOW, SETTINGS, record, run
from tracker.domain.triage import CaseKind, ScoreBands
from tracker.models import AuditEvent, Case, Review, SentimentCorrection, Shop, User
from tracker.models.enums import CaseOutcome, CaseStatus, Rating, Role
from tracker.services import cases as case_service
from tracker.services import confirmations, corrections, reports
from tracker.services.errors import FieldError
from tracker.services.intake import score_pending


@pytest.fixture
def agent(make_user: Callable[..., User], shop: Shop) -> User:
    return make_user(Role.AGENT, [shop])


def _unsure(session: Session, shop: Shop, key: str = "2001") -> Review:
    run(session, shop, [record(key, rating=Rating.GOOD, text="还行吧，就那样")])
    return session.scalars(sa.select(Review).where(Review.platform_key == f"{key}:buyer")).one()


def _label(session: Session, review: Review) -> bool | None:
    return session.scalar(
        sa.select(SentimentCorrection.is_positive).where(SentimentCorrection.review_id == review.id)
    )


def test_an_unsure_good_rating_waits_without_a_case_or_deadline(
    session: Session, shop: Shop
) -> None:
    review = _unsure(session, shop)
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    assert review.awaiting_confirmation_at == NOW
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 1
    assert [w.review.id for w in confirmations.waiting(session, shop.id, now=NOW)] == [review.id]
    # clearly happy and clearly unhappy good ratings never wait
    run(session, shop, [record("2002", rating=Rating.GOOD, text="很好吃")])
    run(session, shop, [record("2003", rating=Rating.GOOD, text="好评，但是坏了一半")])
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 1
    # past the buyer's 30 days nothing is left to recover: it leaves the queue
    assert confirmations.count_waiting(session, shop.id, now=NOW + timedelta(days=31)) == 0


def test_confirming_opens_a_case_with_its_deadline_from_the_confirmation(
    session: Session, shop: Shop, agent: User
) -> None:
    review = _unsure(session, shop)
    later = NOW + timedelta(hours=3)
    [case] = confirmations.confirm(
        session, shop.id, review.id, actor=agent, now=later, settings=SETTINGS
    )
    assert case.kind == CaseKind.HIDDEN_NEGATIVE.value and case.is_hidden_negative
    assert case.opened_at == later
    assert case.first_contact_due_at == HOURS.add(later, timedelta(hours=8))
    assert _label(session, review) is False  # the model learns it was a complaint
    assert confirmations.count_waiting(session, shop.id, now=later) == 0
    with pytest.raises(confirmations.AlreadyDecided):  # a second click (or a colleague)
        confirmations.dismiss(session, shop.id, review.id, actor=agent, now=later)
    assert session.get(Case, case.id).status is CaseStatus.NEW


def test_dismissing_stores_a_correction_and_never_queues_the_words_again(
    session: Session, shop: Shop, agent: User
) -> None:
    review = _unsure(session, shop)
    confirmations.dismiss(session, shop.id, review.id, actor=agent, now=NOW)
    assert _label(session, review) is True
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 0
    # scored again (a new model, a re-run): the staff's word stands
    review.sentiment_model = None
    session.commit()
    score_pending(session, shop, scorer=KeywordScorer(), now=NOW, settings=SETTINGS)
    session.commit()
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 0
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0


def _copied(session: Session, shop: Shop, keys: Sequence[str], text: str) -> list[Review]:
    """Good ratings from several buyers with the same unsure words, oldest first."""
    run(
        session,
        shop,
        [
            record(
                k,
                rating=Rating.GOOD,
                text=text,
                nick=f"买家{k}",
                posted=NOW - timedelta(hours=9 - i),
            )
            for i, k in enumerate(keys)
        ],
    )
    return [
        session.scalars(sa.select(Review).where(Review.platform_key == f"{k}:buyer")).one()
        for k in keys
    ]


def test_reviews_with_the_same_words_wait_as_one_item(session: Session, shop: Shop) -> None:
    first, second, third = _copied(session, shop, ["3001", "3002", "3003"], "还行吧，就那样")
    other = _unsure(session, shop, "3004")
    other.text = "还行吧，就那样。"  # one more character: other words, judged apart
    session.commit()
    items = confirmations.waiting(session, shop.id, now=NOW)
    assert [(w.review.id, [r.id for r in w.alike], w.alike_waiting) for w in items] == [
        (first.id, [second.id, third.id], 3),
        (other.id, [], 1),
    ]
    # a page that ends before the copies still counts them, and the item says so
    [item] = confirmations.waiting(session, shop.id, now=NOW, limit=1)
    assert item.review.id == first.id and item.alike == [] and item.alike_waiting == 3
    # the same text under another 追评 is other words too
    third.follow_up_text = "用了一周，还是不行"
    session.commit()
    items = confirmations.waiting(session, shop.id, now=NOW)
    assert [(w.review.id, w.alike_waiting) for w in items] == [
        (first.id, 2),
        (third.id, 1),
        (other.id, 1),
    ]


def test_one_click_decides_every_review_waiting_with_the_same_words(
    session: Session, shop: Shop, agent: User
) -> None:
    copies = _copied(session, shop, ["3101", "3102", "3103"], "还行吧，就那样")
    different = _unsure(session, shop, "3104")
    different.text = "还行吧"
    session.commit()
    dismissed = confirmations.dismiss(
        session, shop.id, copies[1].id, actor=agent, now=NOW, alike=True
    )
    assert dismissed == 3
    assert [_label(session, r) for r in copies] == [True, True, True]
    assert _label(session, different) is None
    assert [w.review.id for w in confirmations.waiting(session, shop.id, now=NOW)] == [different.id]
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(
                AuditEvent.entity_type == "review",
                AuditEvent.new_value == "误报",
                AuditEvent.actor_id == agent.id,
            )
        )
        == 3
    )

    cases = _copied(session, shop, ["3201", "3202"], "凑合用吧，不想麻烦才给的好评")
    opened = confirmations.confirm(
        session, shop.id, cases[0].id, actor=agent, now=NOW, settings=SETTINGS, alike=True
    )
    assert [c.review_id for c in opened] == [cases[0].id, cases[1].id]
    assert all(c.is_hidden_negative and c.opened_at == NOW for c in opened)
    assert [_label(session, r) for r in cases] == [False, False]


def test_without_alike_only_the_one_review_is_decided(
    session: Session, shop: Shop, agent: User
) -> None:
    first, second = _copied(session, shop, ["3301", "3302"], "还行吧，就那样")
    assert confirmations.dismiss(session, shop.id, first.id, actor=agent, now=NOW) == 1
    assert [w.review.id for w in confirmations.waiting(session, shop.id, now=NOW)] == [second.id]


def test_a_copy_a_colleague_decided_meanwhile_is_left_to_them(
    session: Session,
    shop: Shop,
    agent: User,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, third = _copied(session, shop, ["3401", "3402", "3403"], "还行吧，就那样")
    colleague = make_user(Role.AGENT, [shop])
    real = confirmations._alike

    def colleague_takes_one(*args: object) -> list[int]:
        ids = real(*args)  # type: ignore[arg-type]
        if ids:  # between reading the copies and taking them, a colleague confirms one
            session.execute(
                sa.update(Review)
                .where(Review.id == second.id)
                .values(awaiting_confirmation_at=None)
            )
            corrections.store_correction(
                session, second.id, is_positive=False, user_id=colleague.id, now=NOW
            )
        return ids

    monkeypatch.setattr(confirmations, "_alike", colleague_takes_one)
    dismissed = confirmations.dismiss(session, shop.id, first.id, actor=agent, now=NOW, alike=True)
    assert dismissed == 2
    assert [_label(session, r) for r in (first, second, third)] == [True, False, True]


def test_another_shops_review_cannot_be_decided(
    session: Session, shop: Shop, make_shop: Callable[..., Shop], agent: User
) -> None:
    review = _unsure(session, shop)
    other = make_shop()
    with pytest.raises(confirmations.AlreadyDecided):
        confirmations.confirm(session, other.id, review.id, actor=agent, now=NOW, settings=SETTINGS)
    assert review.awaiting_confirmation_at is not None


def test_a_false_alarm_closes_apart_and_is_left_out_of_recovery(
    session: Session, shop: Shop, agent: User
) -> None:
    run(
        session,
        shop,
        [
            record("3001", rating=Rating.GOOD, text="用了一个月，差不多没坏"),  # hidden negative
            record("3002", rating=Rating.BAD, text="太差了"),
        ],
    )
    hidden, bad = session.scalars(sa.select(Case).order_by(Case.id)).all()
    assert hidden.is_hidden_negative and not bad.is_hidden_negative
    case_service.change_status(
        session,
        hidden,
        CaseStatus.DISMISSED,
        CaseOutcome.FALSE_ALARM,
        actor=agent,
        now=NOW,
        expected_version=hidden.version,
    )
    assert hidden.status is CaseStatus.DISMISSED and hidden.closed_at == NOW
    assert _label(session, hidden.review) is True
    with pytest.raises(FieldError, match="只有隐性差评"):
        case_service.change_status(
            session,
            bad,
            CaseStatus.DISMISSED,
            CaseOutcome.FALSE_ALARM,
            actor=agent,
            now=NOW,
            expected_version=bad.version,
        )
    case_service.change_status(
        session,
        bad,
        CaseStatus.UNRECOVERED,
        CaseOutcome.REFUSED,
        actor=agent,
        now=NOW,
        expected_version=bad.version,
    )
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), HOURS.tz)
    board = reports.dashboard(session, shop.id, period, now=NOW)
    assert board.totals.cases == 1  # the false alarm is not a case to recover
    assert board.totals.recovery_rate_closed == 0.0  # one closed, unrecovered; not 0 of 2
    assert board.false_alarms == 1
    assert board.triage == reports.Triage(hidden_opened=1, hidden_false_alarms=1)


def test_the_report_says_what_staff_made_of_the_triage(
    session: Session, shop: Shop, agent: User, make_shop: Callable[..., Shop]
) -> None:
    """Hidden negatives opened and their 误报, and the 待确认 decisions of the period: the
    supervisor sees how far the shop's staff trust the triage."""
    first, second, third = (_unsure(session, shop, key) for key in ("4001", "4002", "4003"))
    later = NOW + timedelta(hours=1)
    confirmations.confirm(session, shop.id, first.id, actor=agent, now=later, settings=SETTINGS)
    confirmations.dismiss(session, shop.id, second.id, actor=agent, now=later)
    confirmations.dismiss(session, shop.id, third.id, actor=agent, now=later)
    # and a complaint the triage let pass, found by a person in 评价: counted apart
    run(session, shop, [record("4004", rating=Rating.GOOD, text="发货挺快，就是尺码偏小一码")])
    missed = _review(session, "4004")
    confirmations.open_for_review(
        session, shop.id, missed.id, actor=agent, now=later, settings=SETTINGS
    )
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30), HOURS.tz)
    found = reports.triage(session, shop.id, period)
    assert found == reports.Triage(
        hidden_opened=2, hidden_false_alarms=0, confirmed=1, dismissed=2, found=1
    )
    # another period, or another shop, sees none of it
    before = reports.Period(date(2026, 10, 1), date(2026, 10, 31), HOURS.tz)
    assert reports.triage(session, shop.id, before) == reports.Triage()
    assert reports.triage(session, make_shop().id, period) == reports.Triage()


# -- 是差评 from the 评价 list ----------------------------------------------------------------
def _review(session: Session, key: str) -> Review:
    return session.scalars(sa.select(Review).where(Review.platform_key == f"{key}:buyer")).one()


def test_a_person_opens_a_case_for_a_good_rating_the_model_read_as_happy(
    session: Session, shop: Shop, agent: User
) -> None:
    run(session, shop, [record("4001", rating=Rating.GOOD, text="发货挺快，就是尺码偏小一码")])
    review = _review(session, "4001")
    assert review.awaiting_confirmation_at is None
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    later = NOW + timedelta(hours=2)
    case = confirmations.open_for_review(
        session, shop.id, review.id, actor=agent, now=later, settings=SETTINGS
    )
    assert case.review_id == review.id and case.is_hidden_negative
    assert case.kind == CaseKind.HIDDEN_NEGATIVE.value
    assert case.first_contact_due_at == HOURS.add(later, timedelta(hours=8))
    assert _label(session, review) is False  # the next training learns the words
    said = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "review",
            AuditEvent.entity_id == review.id,
            AuditEvent.field == "confirmation",
        )
    ).one()
    assert (said.actor_id, said.old_value, said.new_value) == (agent.id, None, confirmations.FOUND)
    assert said.case_id == case.id  # the case's history says who called it a complaint
    with pytest.raises(confirmations.CannotOpen, match="已经有案件"):  # a second click
        confirmations.open_for_review(
            session, shop.id, review.id, actor=agent, now=later, settings=SETTINGS
        )
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 1


def test_opening_a_case_for_a_review_in_the_queue_takes_it_out(
    session: Session, shop: Shop, agent: User
) -> None:
    review = _unsure(session, shop)
    case = confirmations.open_for_review(
        session, shop.id, review.id, actor=agent, now=NOW, settings=SETTINGS
    )
    assert case.is_hidden_negative
    assert confirmations.count_waiting(session, shop.id, now=NOW) == 0
    assert _label(session, review) is False
    assert session.execute(
        sa.select(AuditEvent.old_value, AuditEvent.new_value, AuditEvent.case_id).where(
            AuditEvent.field == "confirmation"
        )
    ).all() == [("待确认", "是差评", case.id)]


def test_a_neutral_rating_intake_passed_by_gets_its_own_kind(
    session: Session, shop: Shop, agent: User
) -> None:
    run(session, shop, [record("4002", rating=Rating.NEUTRAL, text="一般")])
    review = _review(session, "4002")
    session.delete(session.scalars(sa.select(Case)).one())  # as if intake had never opened it
    session.commit()
    case = confirmations.open_for_review(
        session, shop.id, review.id, actor=agent, now=NOW, settings=SETTINGS
    )
    assert case.kind == CaseKind.NEUTRAL.value and not case.is_hidden_negative
    assert _label(session, review) is None  # the rating already says it: nothing to learn


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("deleted", "已被删除"),
        ("past", "已过买家可改评"),
        ("default", "系统默认好评"),
        ("other shop", "没有这条评价"),
    ],
)
def test_a_case_is_refused_in_words_where_intake_would_not_open_one(
    session: Session,
    shop: Shop,
    make_shop: Callable[..., Shop],
    agent: User,
    change: str,
    words: str,
) -> None:
    run(session, shop, [record("4003", rating=Rating.GOOD, text="很好吃")])
    review = _review(session, "4003")
    shop_id, now = shop.id, NOW
    if change == "deleted":
        review.is_deleted = True
    elif change == "past":
        now = review.first_posted_at + timedelta(days=30)
    elif change == "default":
        review.is_system_default = True
    else:
        shop_id = make_shop().id
    session.commit()
    with pytest.raises(confirmations.CannotOpen, match=words):
        confirmations.open_for_review(
            session, shop_id, review.id, actor=agent, now=now, settings=SETTINGS
        )
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    assert _label(session, review) is None
    assert (
        session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.field == "confirmation")
        )
        == 0
    )


# -- 中性好评 · 可能漏判 ------------------------------------------------------------------------
class _ReadsHappy(KeywordScorer):
    """Intake reads every text as happy (no case, no queue); each test sets the score."""

    def score(self, texts: Sequence[str]) -> list[float]:
        return [0.95] * len(texts)


def _neutral(session: Session, shop: Shop, key: str, text: str, score: float = 0.55) -> Review:
    """A good rating the model read as 中性 (above the 待确认 band, below 0.6)."""
    run(session, shop, [record(key, rating=Rating.GOOD, text=text)], scorer=_ReadsHappy())
    review = _review(session, key)
    review.sentiment_score = score
    session.commit()
    return review


def test_a_second_look_lists_neutral_good_ratings_that_name_a_problem_lowest_first(
    session: Session, shop: Shop, agent: User, make_shop: Callable[..., Shop]
) -> None:
    def bands(version: str) -> ScoreBands:
        return SETTINGS.bands

    late = _neutral(session, shop, "5001", "挺好的，就是物流太慢了，等了一周", 0.58)
    stale = _neutral(session, shop, "5002", "默认给好评，但是日期都快过期了", 0.52)
    _neutral(session, shop, "5003", "温和不刺激，敏感肌友好")  # 中性, names no problem
    _neutral(session, shop, "5004", "物流太慢了", 0.7)  # 正面: not 中性
    _neutral(session, shop, "5005", "包装破了", 0.45)  # 偏负面: that is 待确认's, not this list's
    fine = _neutral(session, shop, "5006", "快递有点慢，不过东西不错")
    opened = _neutral(session, shop, "5007", "快递太慢，等了好久")
    old = _neutral(session, shop, "5008", "快递太慢了")
    old.first_posted_at = NOW - timedelta(days=31)  # past the buyer's window
    waiting = _unsure(session, shop, "5009")
    waiting.sentiment_score = 0.55  # still in 待确认 (an older band): that queue has it
    other = make_shop()
    _neutral(session, other, "5010", "快递太慢了")
    session.commit()
    confirmations.open_for_review(
        session, shop.id, opened.id, actor=agent, now=NOW, settings=SETTINGS
    )
    corrections.correct_sentiment(session, fine, is_positive=True, user_id=agent.id, now=NOW)
    found = confirmations.second_look(session, shop.id, now=NOW, bands_of=bands)
    assert found.ids == [stale.id, late.id] and not found.stopped
    assert found.read == 3  # the 中性 good ratings read for reasons
    page = session.scalars(found.page).all()
    assert page == [stale, late]
    # one opened meanwhile drops out of the page at once
    confirmations.open_for_review(
        session, shop.id, stale.id, actor=agent, now=NOW, settings=SETTINGS
    )
    assert session.scalars(found.page).all() == [late]


def test_a_second_look_groups_copied_words_and_one_word_calls_them_all_fine(
    session: Session, shop: Shop, agent: User, make_shop: Callable[..., Shop]
) -> None:
    """The same words (text and 追评) are one item with their count; 没问题 with ``alike``
    stores each copy as happy, and leaves words with another 追评 listed."""

    def bands(version: str) -> ScoreBands:
        return SETTINGS.bands

    copies = [_neutral(session, shop, f"53{n}", "快递太慢了，等了一周") for n in range(3)]
    followed = _neutral(session, shop, "539", "快递太慢了，等了一周")
    followed.follow_up_text = "后来补发了"
    session.commit()
    found = confirmations.second_look(session, shop.id, now=NOW, bands_of=bands)
    page = session.scalars(found.page).all()
    items = confirmations.second_look_items(session, shop.id, found, page)
    assert [(i.review.id, len(i.alike), i.alike_waiting) for i in items] == [
        (copies[0].id, 2, 3),
        (followed.id, 0, 1),
    ]
    other = make_shop()
    stranger = _neutral(session, other, "538", "快递太慢了，等了一周")
    with pytest.raises(confirmations.AlreadyDecided):  # not this shop's
        confirmations.looks_fine(
            session, shop.id, stranger.id, actor=agent, now=NOW, bands_of=bands, alike=True
        )
    assert (
        confirmations.looks_fine(
            session, shop.id, copies[1].id, actor=agent, now=NOW, bands_of=bands, alike=True
        )
        == 3
    )
    assert [_label(session, r) for r in (*copies, followed, stranger)] == [
        True, True, True, None, None,
    ]  # fmt: skip
    assert session.scalars(found.page).all() == [followed]
    assert (
        confirmations.looks_fine(
            session, shop.id, followed.id, actor=agent, now=NOW, bands_of=bands
        )
        == 1
    )


def test_a_second_look_says_when_it_stopped_reading(
    session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _neutral(session, shop, "5101", "快递太慢了", 0.51)
    _neutral(session, shop, "5102", "快递太慢了", 0.52)
    monkeypatch.setattr(confirmations, "SECOND_LOOK_READ", 1)
    found = confirmations.second_look(
        session, shop.id, now=NOW, bands_of=lambda version: SETTINGS.bands
    )
    assert found.ids == [first.id] and found.read == 1 and found.stopped


def test_a_second_look_reads_each_score_on_its_own_models_scale(
    session: Session, shop: Shop
) -> None:
    """After a promotion the window holds reviews scored by the model before: 0.55 is 中性
    for a model unsure below 0.5, and 偏负面 (待确认's) for one unsure below 0.59."""
    earlier = _neutral(session, shop, "5201", "快递太慢了", 0.55)
    later = _neutral(session, shop, "5202", "快递太慢了", 0.55)
    earlier.sentiment_model, later.sentiment_model = "before", "after"
    session.commit()
    scales = {"before": ScoreBands(0.3, 0.5), "after": ScoreBands(0.3, 0.59)}
    found = confirmations.second_look(session, shop.id, now=NOW, bands_of=scales.__getitem__)
    assert found.ids == [earlier.id]
