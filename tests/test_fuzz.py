"""Fuzzed input (Hypothesis) for the file parsers, the import and the push endpoint: never
an unhandled error or a 500, never a partial write."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.conftest import NOW, count
from tests.fakes import KeywordScorer
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import Case, Order, Review
from tracker.services.api_tokens import issue_token
from tracker.services.imports import import_parsed
from tracker.services.intake import IntakeSettings
from tracker.sources.files import FIELDS, KINDS, parse_file

SH = ZoneInfo("Asia/Shanghai")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "好评",
            "差评",
            "bad",
            "2026-11-22 10:00:00",
            "2026-13-45",
            "-1",
            "1e9",
            "=1+1",
            "<script>",
            "39.90",
            "NaN",
            "\u0000",
            "１２３",
        ]
    ),
)


def table(draw_rows: list[list[str]], headers: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(draw_rows)
    return out.getvalue().encode("utf-8")


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    data=st.binary(max_size=400),
    name=st.sampled_from(["x.csv", "x.xlsx", "x.txt", "评价.CSV"]),
)
def test_any_bytes_are_parsed_or_reported_never_raised(kind: str, data: bytes, name: str) -> None:
    parsed = parse_file(kind, data, name, tz=SH)
    if any(p.row is None for p in parsed.problems):
        assert parsed.rows == []  # a file-level problem leaves no rows
    for problem in parsed.problems:
        assert problem.describe()  # says what and where


@FUZZ
@given(data=st.data())
def test_fuzzed_review_files_import_all_or_nothing(session: Session, make_shop, data) -> None:  # type: ignore[no-untyped-def]
    headers = [f.aliases[0] for f in FIELDS["reviews"]]  # the Chinese column names
    headers = data.draw(
        st.lists(st.sampled_from(headers), min_size=1, max_size=len(headers), unique=True)
    )
    rows = data.draw(
        st.lists(st.lists(CELL, min_size=len(headers), max_size=len(headers)), max_size=6)
    )
    shop = make_shop()
    parsed = parse_file("reviews", table(rows, headers), "fuzz.csv", tz=SH)
    before = (count(session, Review), count(session, Case), count(session, Order))
    report = import_parsed(
        session,
        shop,
        parsed,
        now=NOW,
        skip_bad_rows=False,
        scorer=KeywordScorer(),
        settings=IntakeSettings(WorkingHours(tz=SH), DeadlinePolicy()),
    )
    after = (count(session, Review), count(session, Case), count(session, Order))
    if report.problems:
        assert after == before  # a file with any bad row writes nothing
    else:
        assert after[0] - before[0] == len(parsed.rows)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
REVIEW_KEYS = [
    "oid",
    "tid",
    "buyer_nick",
    "rating",
    "text",
    "posted_at",
    "item_id",
    "item_title",
    "item_price",
]
ITEM = st.dictionaries(st.sampled_from(REVIEW_KEYS), st.one_of(CELL, JSON), max_size=9)


@FUZZ
@given(body=st.one_of(JSON, st.fixed_dictionaries({"reviews": st.lists(ITEM, max_size=4)})))
def test_the_push_endpoint_never_fails_and_never_half_writes(
    client: FlaskClient, session: Session, make_shop, body: object
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    token = issue_token(session, shop, actor_id=None, now=NOW)
    before = count(session, Review)
    response = client.post(
        "/api/v1/reviews",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}"},
        content_type="application/json",
    )
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert count(session, Review) == before
        assert response.get_json()["errors"]


@FUZZ
@given(raw=st.binary(max_size=200))
def test_the_push_endpoint_refuses_garbage_bodies_cleanly(
    client: FlaskClient, session: Session, make_shop, raw: bytes
) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    token = issue_token(session, shop, actor_id=None, now=NOW)
    response = client.post(
        "/api/v1/reviews",
        data=raw,
        headers={"Authorization": f"Bearer {token}"},
        content_type="application/json",
    )
    assert response.status_code in (200, 400)
