"""An open board learns of the cases opened since it was drawn (cases/news)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import login
from tests.factories import add_sale, open_case
from tracker.clock import utcnow
from tracker.models import Notification, Shop, User
from tracker.models.enums import Rating, Role


def _recent(session: Session, shop: Shop, key: str, **kw):  # type: ignore[no-untyped-def]
    return open_case(session, shop, key=key, at=utcnow() - timedelta(days=3, hours=1), **kw)


def _news_url(client: FlaskClient, board: str = "/cases") -> str:
    page = client.get(board).get_data(as_text=True)
    return html.unescape(re.search(r'data-news-url="([^"]+)"', page).group(1))


def test_new_cases_matching_the_board_are_counted_and_nothing_else(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    agent: User = make_user(Role.AGENT, shops=[shop])
    colleague: User = make_user(Role.AGENT, shops=[shop])
    _recent(session, shop, "0", nick="早就有的")
    login(client, agent)
    url = _news_url(client)
    assert "after=" in url
    first = client.get(url)
    assert first.get_json() == {"new_cases": 0, "waiting": 0, "unread": 0}
    assert first.headers["Cache-Control"] == "no-store"

    _recent(session, shop, "1", nick="新来的")  # unassigned: on this agent's board
    theirs = _recent(session, shop, "2", nick="同事的")  # a colleague's: not on it
    theirs.owner_id = colleague.id
    other_shop = Shop(code="other", name="别的店", platform=shop.platform, created_at=utcnow())
    session.add(other_shop)
    session.flush()
    _recent(session, other_shop, "3", nick="别的店的")
    review = add_sale(
        session, shop, nick="犹豫", key="w", text="还行吧", rating=Rating.GOOD, at=utcnow()
    )
    review.sentiment_score, review.sentiment_model = 0.2, "test"
    review.awaiting_confirmation_at = utcnow()
    session.add(
        Notification(
            user_id=agent.id,
            kind="assigned",
            dedupe_key="n1",
            title="分给你一个案件",
            body="",
            created_at=utcnow(),
        )
    )
    session.commit()

    assert client.get(url).get_json() == {"new_cases": 1, "waiting": 1, "unread": 1}
    # a board drawn now has nothing new; the news follows the board's filter (scope, search)
    assert client.get(_news_url(client)).get_json()["new_cases"] == 0
    after = re.search(r"after=(\d+)", url).group(1)
    assert client.get(f"/cases/news?after={after}&scope=all").get_json()["new_cases"] == 2
    assert client.get(f"/cases/news?after={after}&scope=all&q=同事").get_json()["new_cases"] == 1
    assert client.get(f"/cases/news?after={after}&scope=mine").get_json()["new_cases"] == 0


def test_the_home_page_asks_for_the_same_news(
    client: FlaskClient, session: Session, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    """An agent whose home page stays open learns of a case opened meanwhile there too."""
    login(client, make_user(Role.AGENT, shops=[shop]))
    url = _news_url(client, "/")
    assert 'data-page="首页"' in client.get("/").get_data(as_text=True)
    _recent(session, shop, "1", nick="新来的")
    assert client.get(url).get_json()["new_cases"] == 1


def test_a_bad_watermark_is_refused_and_a_visitor_must_log_in(
    client: FlaskClient, shop: Shop, make_user
) -> None:  # type: ignore[no-untyped-def]
    assert "/login" in client.get("/cases/news?after=1").headers["Location"]
    login(client, make_user(Role.AGENT, shops=[shop]))
    for bad in ("abc", "-1", "１２", "99999999999"):
        answer = client.get(f"/cases/news?after={bad}")
        assert answer.status_code == 400
        assert "after" in answer.get_json()["message"]
    assert client.get("/cases/news?after=0").status_code == 200
