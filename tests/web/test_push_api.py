"""POST /api/v1/reviews: token auth, size limit, field-level errors, idempotence."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, DatabaseDown, count, lately, local_text
from tracker.models import Case, PullRun, Review, Shop
from tracker.services.api_tokens import issue_token

URL = "/api/v1/reviews"


@pytest.fixture
def shop_token(make_shop, session: Session) -> tuple[Shop, str]:  # type: ignore[no-untyped-def]
    shop = make_shop()
    return shop, issue_token(session, shop, actor_id=None, now=NOW)


def review(oid: str = "9001", **changes: object) -> dict[str, object]:
    return {
        "oid": oid,
        "tid": "T9",
        "buyer_nick": "小鱼",
        "rating": "bad",
        "text": "快递太慢，东西还坏了",
        "posted_at": local_text(lately(10)),  # 20:00 yesterday
        "item_id": "620001",
        "item_title": "赣南脐橙",
        "item_price": "39.90",
    } | changes


def post(client: FlaskClient, token: str | None, body: object) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(URL, data=json.dumps(body), headers=headers, content_type="application/json")


def test_a_batch_is_stored_once_and_opens_cases(
    client: FlaskClient, session: Session, shop_token: tuple[Shop, str]
) -> None:
    _, token = shop_token
    body = {"reviews": [review("1"), review("2", rating="good", text="很好")]}
    response = post(client, token, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "received": 2,
        "new": 2,
        "revised": 0,
        "unchanged": 0,
        "cases_opened": 1,
        "cases_closed": 0,
        "set_aside": 0,
    }
    again = post(client, token, body)
    assert again.get_json()["unchanged"] == 2
    assert count(session, Review) == 2 and count(session, Case) == 1
    # stored unscored: web workers load no model; the scheduler scores later
    assert all(r.sentiment_model is None for r in session.scalars(sa.select(Review)))
    assert count(session, PullRun) == 2


def test_a_database_outage_is_a_503_to_retry_and_nothing_is_stored(
    client: FlaskClient, session: Session, shop_token: tuple[Shop, str]
) -> None:
    _, token = shop_token
    body = {"reviews": [review("1")]}
    session.expunge_all()
    with DatabaseDown(session):
        response = post(client, token, body)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"] == "unavailable"
    assert count(session, Review) == 0
    assert post(client, token, body).get_json()["new"] == 1  # the retry goes through


def test_the_token_header_variant_works(client: FlaskClient, shop_token: tuple[Shop, str]) -> None:
    _, token = shop_token
    response = client.post(URL, json={"reviews": [review()]}, headers={"X-Tracker-Token": token})
    assert response.status_code == 200


@pytest.mark.parametrize("token", [None, "", "trk_wrong", "x" * 500])
def test_without_a_valid_token_401(
    client: FlaskClient, session: Session, shop_token: tuple[Shop, str], token: str | None
) -> None:
    response = post(client, token, {"reviews": [review()]})
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert count(session, Review) == 0


def test_a_replaced_token_stops_working(
    client: FlaskClient, session: Session, shop_token: tuple[Shop, str]
) -> None:
    shop, old = shop_token
    issue_token(session, shop, actor_id=None, now=NOW)
    assert post(client, old, {"reviews": [review()]}).status_code == 401


def test_field_level_errors_and_nothing_written(
    client: FlaskClient, session: Session, shop_token: tuple[Shop, str]
) -> None:
    _, token = shop_token
    body = {
        "reviews": [
            review("1"),
            review("2", rating="great"),
            review("3", posted_at="soon"),
            review("4", buyer_nick=""),
            {"rating": "bad"},
            "nonsense",
            review("5", deleted="yes"),
            review("6", text="x" * 6000),
        ]
    }
    response = post(client, token, body)
    assert response.status_code == 400
    errors = {(e["index"], e["field"]) for e in response.get_json()["errors"]}
    assert errors == {
        (1, "rating"),
        (2, "posted_at"),
        (3, "buyer_nick"),
        (4, "buyer_nick"),
        (4, "posted_at"),
        (4, "oid"),
        (5, ""),
        (6, "deleted"),
        (7, "text"),
    }
    assert count(session, Review) == 0


@pytest.mark.parametrize("body", [[], {}, {"reviews": []}, {"reviews": "x"}])
def test_bad_bodies(client: FlaskClient, shop_token: tuple[Shop, str], body: object) -> None:
    _, token = shop_token
    assert post(client, token, body).status_code == 400


def test_broken_json_is_400(client: FlaskClient, shop_token: tuple[Shop, str]) -> None:
    _, token = shop_token
    response = client.post(
        URL,
        data=b'{"reviews": [',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400


def test_oversized_bodies_are_413(
    client: FlaskClient,
    app: Flask,
    session: Session,
    shop_token: tuple[Shop, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, token = shop_token
    monkeypatch.setitem(app.config, "TRACKER_API_MAX_BYTES", 2000)
    body = {"reviews": [review(str(i)) for i in range(30)]}
    response = post(client, token, body)
    assert response.status_code == 413 and response.is_json
    assert count(session, Review) == 0


def test_no_session_or_csrf_needed_and_html_pages_still_need_login(
    client: FlaskClient, shop_token: tuple[Shop, str]
) -> None:
    assert client.get("/").status_code == 302
    assert client.get(URL).status_code == 405


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ("2099-01-01 10:00:00", "is in the future"),
        ("9999-12-31T23:59:59+14:00", "超出范围"),
        ("0001-01-01T00:00:00-12:00", "超出范围"),
    ],
)
def test_reviews_dated_in_the_future_or_out_of_range_are_refused(
    client: FlaskClient, session: Session, shop_token: tuple[Shop, str], posted: str, message: str
) -> None:
    _, token = shop_token
    response = post(client, token, {"reviews": [review("1", posted_at=posted)]})
    assert response.status_code == 400  # type: ignore[attr-defined]
    errors = response.get_json()["errors"]  # type: ignore[attr-defined]
    assert errors[0]["field"] == "posted_at" and message in errors[0]["message"]
    assert count(session, Review) == 0
