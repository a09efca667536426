"""Every route, for every kind of visitor: anonymous, agent, supervisor, admin, and staff
of another shop. A route added without a rule here fails the first test."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import csrf_token, login
from tests.web.conftest import World, url_for_rule
from tracker.models import User
from tracker.models.enums import Role

# Who may use each part of the app (by endpoint prefix or name).
PUBLIC = {"auth.login", "static", "bootstrap.static", "favicon"}
TOKEN_ONLY = {"api.push_reviews"}  # the push API: a shop token, never a session
# A platform's pushes: signed with the shop's own settings, never a session. This world's
# shop is on Taobao, which pushes nothing: 404 (test_wechat checks the signature path).
# Signed by the platform, or a secret token in the URL (call records, SMS replies, a
# buyer's survey link): a wrong one is not found, whoever asks.
PLATFORM_SIGNED = {"api.platform_event", "api.call_records", "api.sms_replies", "survey.page"}
ADMIN_ONLY = ("admin.",)
SUPERVISORS = (
    "reports.",
    "scripts.",
    "cases.bulk_assign",
    "shop.segment_levels",
    "shop.segment_recompute",
    "shop.segment_grades",
    "shop.segment_sync",
    "shop.segment_sync_now",
    "shop.campaign",
    "shop.care_rule",
    "shop.erase_buyer",
    "shop.copy_buyer_data",
)
EVERYONE = (
    "home.",
    "cases.",
    "shop.",
    "notifications.",
    "auth.logout",
    "auth.account",
    "auth.change_",
    "shift_requests.",
)
# URL parts that name one shop's record: staff of another shop get 404 for them.
# (user_id: a colleague of another shop is not shown; admin pages say 403 before that)
SHOP_RECORDS = {
    "case_id",
    "buyer_id",
    "review_id",
    "script_id",
    "campaign_id",
    "rule_id",
    "user_id",
    "request_id",
}


def rule_for(endpoint: str) -> str:
    if endpoint in PUBLIC:
        return "public"
    if endpoint in TOKEN_ONLY:
        return "token"
    if endpoint in PLATFORM_SIGNED:
        return "signed"
    if endpoint.startswith(ADMIN_ONLY):
        return "admin"
    if endpoint.startswith(SUPERVISORS):
        return "supervisor"
    if endpoint.startswith(EVERYONE):  # (per-case assignment is refused by the service)
        return "everyone"
    raise AssertionError(f"no authorization rule for {endpoint}: add it to this test")


def test_every_route_has_a_rule(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        rule_for(rule.endpoint)


def expected(kind: str, who: str, user: User | None, names_a_record: bool) -> str:
    if kind == "public":
        return "ok"
    if kind == "token":
        return "401"
    if kind == "signed":
        return "404"
    if user is None:
        return "login"
    allowed = {
        "admin": {Role.ADMIN},
        "supervisor": {Role.SUPERVISOR, Role.ADMIN},
        "everyone": set(Role),
    }[kind]
    if user.role not in allowed:
        return "403"
    if who.startswith("other_") and names_a_record:
        return "404"
    return "ok"


@pytest.mark.parametrize(
    "who", ["anonymous", "agent", "supervisor", "admin", "other_agent", "other_supervisor"]
)
def test_each_route_answers_each_visitor_as_it_should(
    app: Flask, client: FlaskClient, world: World, who: str
) -> None:
    user = world.users[who]
    if user is not None:
        login(client, user)
    token = csrf_token(client, "/login" if user is None else "/notifications/")
    problems = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in ("static", "bootstrap.static"):
            continue
        kind = rule_for(rule.endpoint)
        in_url = rule.arguments - set(rule.defaults or {})
        want = expected(kind, who, user, bool(SHOP_RECORDS & in_url))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "auth.logout":
                continue  # would end this visitor's session; covered in test_auth
            url = url_for_rule(world, rule)
            if method == "GET":
                got = client.get(url)
            else:
                got = client.post(url, data={"csrf_token": token})
            status = got.status_code
            ok = {
                "ok": status < 400 if method == "GET" else status not in (401, 403, 404, 500),
                "login": status == 302 and "/login" in got.headers.get("Location", ""),
                "401": status == 401,
                "403": status == 403,
                "404": status == 404,
            }[want]
            if method == "GET" and want == "ok" and kind != "public":
                ok = ok and status == 200
            if not ok:
                problems.append(f"{who} {method} {url} ({rule.endpoint}): {status}, want {want}")
    assert problems == []


def test_another_shops_lists_never_show_this_shops_records(
    client: FlaskClient, session: Session, world: World
) -> None:
    world.case.review.text = "只有本店能看到的差评文字"
    session.commit()
    login(client, world.users["other_agent"])  # type: ignore[arg-type]
    for url in ("/", "/cases?scope=all&view=list", "/shop/reviews", "/shop/buyers", "/shop/orders"):
        html = client.get(url).get_data(as_text=True)
        assert "只有本店能看到的差评文字" not in html, url
        assert world.case.buyer.platform_nick not in html, url  # type: ignore[union-attr]
