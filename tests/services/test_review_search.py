"""Searching a shop's reviews by what they say (text and 追评): through the text index (every
character and pair of characters), kept whatever writes a review, and checked with LIKE."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tracker.database import query_plans
from tracker.models import Review, Shop
from tracker.models.enums import Rating
from tracker.services import browse
from tracker.text_index import (
    POSTGRES_FOLLOW_UP_INDEX,
    POSTGRES_INDEX,
    SQLITE_TABLE,
    in_models,
    index_tokens,
    query_grams,
    review_ids_containing,
    text_grams,
)

TEXTS = [
    "电池漏液了！",  # oldest
    "Apple 手机壳很好",
    "发霉",
    "100%_好评",
    "霉干菜很香",  # newest
]


def _review(shop: Shop, key: str, text: str, minutes: int, rating: Rating = Rating.GOOD) -> dict:
    at = NOW + timedelta(minutes=minutes)
    return {
        "shop_id": shop.id,
        "platform_key": key,
        "rating": rating,
        "text": text,
        "posted_at": at,
        "first_posted_at": at,
        "received_at": at,
        "updated_at": at,
    }


def _reviews(session: Session, shop: Shop, texts: list[str]) -> None:
    """Written as intake's bulk paths write them: a Core insert."""
    rows = [_review(shop, f"{shop.id}-{i}", text, i) for i, text in enumerate(texts)]
    session.execute(sa.insert(Review), rows)
    session.flush()


def _found(session: Session, shop: Shop, q: str, rating: Rating | None = None) -> list[str]:
    search = browse.reviews(session, shop.id, q=q, rating=rating)
    return [r.text for r in session.scalars(search.stmt)]


def _indexed(session: Session, q: str) -> set[str]:
    """What the index alone says may hold ``q`` (no LIKE), over every shop."""
    probe = review_ids_containing(session.get_bind().dialect.name, q)
    ids = session.scalars(probe).all()
    return set(session.scalars(sa.select(Review.text).where(Review.id.in_(ids))))


def test_grams_are_each_character_and_each_pair() -> None:
    assert text_grams("漏液A!") == {"漏", "液", "a", "!", "漏液", "液a", "a!"}
    assert query_grams("漏液了") == {"漏液", "液了"}  # the pairs bring their characters
    assert query_grams("霉") == {"霉"} and query_grams("") == set()
    tokens = index_tokens("霉霉 ")
    assert tokens.split() == sorted({"e99c89", "e99c89e99c89", "e99c8920", "20"})
    assert index_tokens(None) == "" and index_tokens("") == ""
    # a review's texts (its words, 追评) each cut alone: no pair spans the two
    assert index_tokens("霉", "霉") == index_tokens("霉") and index_tokens("霉", None) == "e99c89"
    assert "e99c89e99c89" not in index_tokens("霉", "霉")


def test_a_review_is_found_by_any_part_of_its_text(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop, other = make_shop(), make_shop()
    _reviews(session, shop, TEXTS)
    _reviews(session, other, ["别家的电池也漏液"])
    assert _found(session, shop, "漏液") == ["电池漏液了！"]
    assert _found(session, shop, "霉") == ["霉干菜很香", "发霉"]  # one character, newest first
    assert _found(session, shop, "aPPLE 手机") == ["Apple 手机壳很好"]  # any case, a space
    assert _found(session, shop, "液了！") == ["电池漏液了！"]  # punctuation
    assert _found(session, shop, "100%_") == ["100%_好评"]
    assert _found(session, shop, "0%") == ["100%_好评"]  # LIKE's wildcards are literal
    assert _found(session, shop, "%") == ["100%_好评"]
    assert _found(session, shop, "液漏") == []  # both characters, not side by side
    assert _found(session, shop, "电池漏液了！也") == []
    search = browse.reviews(session, shop.id, q="漏液")
    assert search.total == 1 and not search.broad  # counted as found, not again


def test_the_index_alone_tells_pairs_apart(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    """What the index returns without LIKE: the reviews holding every pair, so a search
    reads them, not every review of the shop."""
    _reviews(session, make_shop(), TEXTS)
    assert _indexed(session, "漏液") == {"电池漏液了！"}
    assert _indexed(session, "液漏") == set()
    assert _indexed(session, "霉") == {"发霉", "霉干菜很香"}
    assert _indexed(session, "APPLE") == {"Apple 手机壳很好"}
    # every pair held, though not in that order: the index's superset, which LIKE trims
    shop = make_shop()
    _reviews(session, shop, ["一直看好好看的"])
    assert _indexed(session, "好看好") == {"一直看好好看的"}
    assert _found(session, shop, "好看好") == [] and _found(session, shop, "看好好看") != []
    with pytest.raises(ValueError):
        review_ids_containing(session.get_bind().dialect.name, "")


def test_every_kind_of_write_keeps_the_index(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    _reviews(session, shop, ["原来的话"])  # Core insert
    review = Review(**_review(shop, "orm", "用 ORM 写的", 10))
    session.add(review)
    session.flush()
    assert _indexed(session, "ORM") == {"用 ORM 写的"}
    review.text = "追加了新内容"  # an ORM update of the words
    session.flush()
    assert _indexed(session, "ORM") == set() and _indexed(session, "新内容") == {"追加了新内容"}
    review.sentiment_score = 0.3  # an update that leaves the words alone leaves them
    session.flush()
    assert _indexed(session, "新内容") == {"追加了新内容"}
    session.execute(
        sa.update(Review).where(Review.platform_key == f"{shop.id}-0").values(text="改过的话")
    )
    assert _indexed(session, "原来") == set() and _indexed(session, "改过") == {"改过的话"}
    session.execute(sa.delete(Review).where(Review.platform_key == f"{shop.id}-0"))
    session.delete(review)
    session.flush()
    assert _indexed(session, "的话") == set() and _indexed(session, "内容") == set()
    if session.get_bind().dialect.name == "sqlite":  # the FTS5 table is whole
        session.execute(
            sa.text(f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}) VALUES ('integrity-check')")
        )


def test_a_review_is_found_by_its_follow_up(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    """追评 often hold the complaint: found by the index and by the broad walk alike, and
    kept whether a 追评 arrives, changes or goes."""
    shop = make_shop()
    rows = [_review(shop, "a", "挺好的，先给好评", 1), _review(shop, "b", "东西不错", 2)]
    rows[0]["follow_up_text"] = "用了一周就漏液了"
    session.execute(sa.insert(Review), rows)
    assert _found(session, shop, "漏液") == ["挺好的，先给好评"]
    assert _indexed(session, "漏液") == {"挺好的，先给好评"}
    assert _found(session, shop, "好评用") == []  # the two texts are not one
    assert _indexed(session, "评用") == set()
    later = session.scalars(sa.select(Review).where(Review.platform_key == "b")).one()
    later.follow_up_text = "第二天就发霉了"  # a 追评 arrives (intake updates the review)
    session.flush()
    assert _found(session, shop, "发霉") == ["东西不错"]
    later.follow_up_text = "第二天就坏了"
    session.flush()
    assert _indexed(session, "发霉") == set() and _found(session, shop, "就坏") == ["东西不错"]
    session.execute(sa.update(Review).where(Review.platform_key == "a").values(follow_up_text=None))
    assert _indexed(session, "漏液") == set() and _indexed(session, "先给") == {"挺好的，先给好评"}
    later.follow_up_text = "又漏液了"
    session.flush()
    assert _found(session, shop, "漏液") == ["东西不错"]
    session.delete(later)
    session.flush()
    assert _indexed(session, "漏液") == set()
    if session.get_bind().dialect.name == "sqlite":  # the FTS5 table is whole
        session.execute(
            sa.text(f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}) VALUES ('integrity-check')")
        )


def test_a_broad_search_reads_follow_ups_too(
    session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(browse, "SEARCH_LIMIT", 1)
    shop = make_shop()
    rows = [
        _review(shop, "a", "很好", 1),
        _review(shop, "b", "霉干菜", 2),
        _review(shop, "c", "好", 3),
    ]
    rows[0]["follow_up_text"] = "后来发霉了"
    session.execute(sa.insert(Review), rows)
    assert browse.reviews(session, shop.id, q="霉").broad
    assert _found(session, shop, "霉") == ["霉干菜", "很好"]


def test_a_search_with_the_rating_reads_both(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    session.execute(
        sa.insert(Review),
        [
            _review(shop, "a", "快递太慢了", 1, Rating.BAD),
            _review(shop, "b", "快递太慢了点，东西不错", 2, Rating.GOOD),
        ],
    )
    assert _found(session, shop, "快递太慢", Rating.BAD) == ["快递太慢了"]
    assert _found(session, shop, "快递太慢") == ["快递太慢了点，东西不错", "快递太慢了"]


def test_a_search_matching_more_than_the_limit_walks_the_newest_reviews(
    session: Session, make_shop, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(browse, "SEARCH_LIMIT", 1)
    shop = make_shop()
    _reviews(session, shop, TEXTS)
    search = browse.reviews(session, shop.id, q="霉")
    assert search.broad and search.total is None
    assert _found(session, shop, "霉") == ["霉干菜很香", "发霉"]
    assert not browse.reviews(session, shop.id, q="漏液").broad


def test_the_search_reads_the_index(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    """SQLite reads the FTS5 table first and each review it names by id. PostgreSQL's
    planner weighs a near-empty table's indexes alike (it picks the shop's here), so it is
    shown the index's own question with scans ruled out: the expression must be the
    index's, or it could never be used (the plan on two million reviews: README)."""
    shop = make_shop()
    _reviews(session, shop, TEXTS)
    if session.get_bind().dialect.name == "sqlite":
        plans = query_plans(session, lambda: browse.reviews(session, shop.id, q="漏液"), "LIMIT")
        assert len(plans) == 1 and "VIRTUAL TABLE INDEX" in plans[0], plans
        assert plans[0].index("VIRTUAL TABLE") < plans[0].index("INTEGER PRIMARY KEY"), plans
        return
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    probe = review_ids_containing("postgresql", "漏液")
    plans = query_plans(session, lambda: session.scalars(probe).all(), "text_grams")
    assert len(plans) == 1, plans
    assert POSTGRES_INDEX in plans[0] and POSTGRES_FOLLOW_UP_INDEX in plans[0], plans


def test_the_index_is_left_out_of_the_models_comparison() -> None:
    assert not in_models(SQLITE_TABLE, "table", {})
    assert not in_models(f"{SQLITE_TABLE}_data", "table", {})
    assert not in_models(POSTGRES_INDEX, "index", {})
    assert not in_models(POSTGRES_FOLLOW_UP_INDEX, "index", {})
    assert in_models("reviews", "table", {}) and in_models("ix_reviews_buyer_id", "index", {})


def test_the_database_cuts_a_text_as_python_does(session: Session) -> None:
    """PostgreSQL's ``text_grams`` and ``query_grams`` (migration 0034) and this module's
    are one definition written twice; SQLite calls Python's."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's index calls tracker.text_index itself")
    for text in ["电池漏液了！", "Apple 手机壳", "霉", "", "aa aa"]:
        grams = session.scalar(sa.select(sa.func.text_grams(text)))
        assert set(grams) == text_grams(text), text
        if text:
            assert set(session.scalar(sa.select(sa.func.query_grams(text)))) == query_grams(text)
