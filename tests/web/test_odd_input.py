"""Odd but authenticated input never answers 500: every route, with every id in its URL,
every query parameter the views read and every field of every form set to values a real
user or a broken client sends (huge and odd numbers, sNaN, year 1 and 9999, control
characters), plus a Hypothesis run over random combinations. 400 or 404 with a message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from tests.conftest import csrf_token, login
from tests.web.conftest import World, url_for_rule

ROOT = Path(__file__).resolve().parents[2]

NASTY = [
    "99999999999999999999",
    "-1",
    "0",
    "²",
    "１２",
    "sNaN",
    "NaN",
    "-Infinity",
    "1e999",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31 23:59:59",
    "",
    "x" * 3000,
    "\x00",
    "<script>alert(1)</script>",
    "../../etc/passwd",
]
SKIP = {"auth.logout", "static", "bootstrap.static", "api.platform_event"}


def _query_names() -> list[str]:
    names: set[str] = set()
    for path in (ROOT / "tracker" / "web").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"request\.args\.get(?:list)?\(\s*\"(\w+)\"", text))
        names |= set(re.findall(r"_choice\(\s*\"(\w+)\"", text))
    return sorted(names | {"page", "per_page"})  # read by Flask-SQLAlchemy's paginate


def _form_fields() -> list[str]:
    import importlib

    # every blueprint's forms, and those kept apart (campaign_forms: campaigns, care rules)
    for path in (ROOT / "tracker" / "web").rglob("*forms.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        importlib.import_module(module)
    found: set[str] = set()
    by_class: dict[str, set[str]] = {}
    stack = list(FlaskForm.__subclasses__())
    while stack:
        form = stack.pop()
        stack.extend(form.__subclasses__())
        names = {
            name
            for klass in form.__mro__
            for name, value in vars(klass).items()
            if isinstance(value, UnboundField) and name not in ("csrf_token", "submit")
        }
        by_class[form.__name__] = names
        found |= names
    # a form the page draws with a prefix posts its fields as <prefix>-<name> (the case
    # page's many forms): those names are swept too
    for path in (ROOT / "tracker" / "web").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for form_name, prefix in re.findall(r"(\w+Form)\(\s*prefix=\"([\w-]+)\"", text):
            found |= {f"{prefix}-{name}" for name in by_class.get(form_name, ())}
    return sorted(found)


QUERY = _query_names()
FIELDS = _form_fields()


def test_the_sweep_covers_what_the_views_read() -> None:
    """The collectors find the parameters (so the sweep below is not empty by accident)."""
    assert {"page", "q"} <= set(QUERY) and len(QUERY) >= 8
    assert {"case_ids", "amount", "periods", "owner_id", "control_percent"} <= set(FIELDS)
    assert {"message-template", "remedy-amount", "attempt-duration_minutes"} <= set(FIELDS)


def _routes(app: Flask) -> list:  # type: ignore[type-arg]
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint not in SKIP),
        key=lambda r: (r.rule, r.endpoint),
    )


def _with_odd_ids(url: str, rule, odd: str) -> str:  # type: ignore[no-untyped-def]
    """``url`` with each id the rule takes (``<int:…>``) replaced by ``odd``."""
    pattern = rule.rule.split("/")
    return "/".join(
        odd if "<int:" in p else u for u, p in zip(url.split("/"), pattern, strict=True)
    )


@pytest.fixture
def admin(client: FlaskClient, world: World) -> FlaskClient:
    login(client, world.users["admin"])  # type: ignore[arg-type]
    return client


def _ok(status: int) -> bool:
    return status != 500


@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_no_route_fails_on_odd_values(
    app: Flask, admin: FlaskClient, world: World, value: str
) -> None:
    token = csrf_token(admin, "/notifications/")
    problems = []
    for rule in _routes(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = url_for_rule(world, rule)
            if method == "GET":  # forms read from the query string too (filters, periods)
                got = admin.get(url, query_string={name: value for name in QUERY + FIELDS})
            else:
                data = {name: value for name in FIELDS} | {"csrf_token": token}
                got = admin.post(url, data=data)
            if not _ok(got.status_code):
                problems.append(f"{method} {url} ({rule.endpoint}) -> {got.status_code}")
            if "<int:" in rule.rule and value in ("99999999999999999999", "²", "１２"):
                odd = _with_odd_ids(url, rule, value)
                got = (
                    admin.get(odd)
                    if method == "GET"
                    else admin.post(odd, data={"csrf_token": token})
                )
                if got.status_code not in (400, 404, 405):
                    problems.append(f"{method} {odd} ({rule.endpoint}) -> {got.status_code}")
    assert problems == []


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_random_combinations_of_parameters_never_fail(
    app: Flask,
    admin: FlaskClient,
    world: World,
    data,
) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(admin, "/notifications/")
    rule = data.draw(st.sampled_from(_routes(app)))
    values = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.integers().map(str))
    url = url_for_rule(world, rule)
    if "GET" in rule.methods:
        names = data.draw(st.lists(st.sampled_from(QUERY), max_size=6, unique=True))
        got = admin.get(url, query_string={n: data.draw(values) for n in names})
    else:
        names = data.draw(st.lists(st.sampled_from(FIELDS), max_size=8, unique=True))
        got = admin.post(url, data={n: data.draw(values) for n in names} | {"csrf_token": token})
    assert got.status_code != 500, f"{rule.endpoint} {names}"


def test_json_nested_50000_deep_is_a_400(client: FlaskClient, session, make_shop) -> None:  # type: ignore[no-untyped-def]
    from tracker.clock import utcnow
    from tracker.services.api_tokens import issue_token

    token = issue_token(session, make_shop(), actor_id=None, now=utcnow())
    body = '{"reviews": ' + "[" * 50_000 + "]" * 50_000 + "}"
    answer = client.post(
        "/api/v1/reviews",
        data=body,
        headers={"Authorization": f"Bearer {token}"},
        content_type="application/json",
    )
    assert answer.status_code == 400 and answer.get_json()["error"] == "bad_request"


def test_a_trailing_slash_is_the_same_page(app: Flask, admin: FlaskClient, world: World) -> None:
    """/cases/ typed or bookmarked is the board, not a 404 (and /reports is the reports)."""
    differ = []
    for rule in _routes(app):
        if "GET" not in rule.methods or "<" in rule.rule or rule.rule == "/":
            continue
        url = url_for_rule(world, rule)
        other = url[:-1] if url.endswith("/") else url + "/"
        a, b = admin.get(url), admin.get(other)
        if (a.status_code, a.headers.get("Location")) != (b.status_code, b.headers.get("Location")):
            differ.append(f"{url} {a.status_code} / {other} {b.status_code}")
    assert differ == []
    assert admin.get("/cases/").status_code == 200
