"""The bell in the navigation bar and the notifications page."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, login, post_form
from tracker.models import Notification, User
from tracker.models.enums import Role

PAYLOAD = '<img src=x onerror="alert(1)">'


def _notify(session: Session, user: User, n: int) -> Notification:
    note = Notification(
        user_id=user.id,
        kind="first_contact_overdue",
        dedupe_key=f"k{n}",
        title=f"提醒{n}{PAYLOAD}",
        body="正文",
        created_at=NOW,
    )
    session.add(note)
    session.commit()
    return note


def test_the_bell_shows_unread_and_the_page_marks_read(
    client: FlaskClient, session: Session, make_user
) -> None:  # type: ignore[no-untyped-def]
    me, other = make_user(Role.AGENT), make_user(Role.AGENT)
    first = _notify(session, me, 1)
    _notify(session, me, 2)
    theirs = _notify(session, other, 3)
    login(client, me)
    html = client.get("/").get_data(as_text=True)
    assert 'id="unread-count">2<' in html
    page = client.get("/notifications/").get_data(as_text=True)
    assert "提醒1" in page and "提醒3" not in page and PAYLOAD not in page
    post_form(client, "/notifications/read", {"id": str(theirs.id)}, form_url="/notifications/")
    post_form(client, "/notifications/read", {"id": str(first.id)}, form_url="/notifications/")
    assert 'id="unread-count">1<' in client.get("/").get_data(as_text=True)
    session.refresh(theirs)
    assert theirs.read_at is None
    post_form(client, "/notifications/read", {}, form_url="/notifications/")
    # nothing unread: the badge is hidden (kept, for the board's news to fill in)
    assert 'd-none" data-unread id="unread-count">0<' in client.get("/").get_data(as_text=True)


def test_opening_a_notice_reads_it_and_goes_to_its_case(
    client: FlaskClient, session: Session, make_user, make_shop
) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import open_case

    shop = make_shop()
    me = make_user(Role.AGENT, shops=[shop])
    case = open_case(session, shop, at=NOW)
    note = _notify(session, me, 1)
    note.case_id = case.id
    session.commit()
    login(client, me)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "现在：待联系 · 负责人 未分配 · 尚未联系" in page
    answer = post_form(client, f"/notifications/{note.id}/open", {}, form_url="/notifications/")
    assert answer.status_code == 302 and answer.location.endswith(f"/cases/{case.id}")
    session.refresh(note)
    assert note.read_at is not None


def test_a_notices_own_addresses_are_links_and_nothing_else_is(
    client: FlaskClient, session: Session, make_user, app
) -> None:  # type: ignore[no-untyped-def]
    """A digest's body is written for e-mail (whole addresses); in the inbox the tracker's
    own become links to the page, and the rest stays escaped text."""
    me = make_user(Role.SUPERVISOR)
    note = _notify(session, me, 1)
    base = app.config["TRACKER_BASE_URL"]
    note.body = (
        f"超时未联系 3 件。{base}/cases?view=list&overdue=y\n待确认 2 条：{base}/cases/confirm\n"
        f"别处 https://evil.example/{base}/x {PAYLOAD} {base}.evil.example/y"
    )
    session.commit()
    login(client, me)
    page = client.get("/notifications/").get_data(as_text=True)
    body = page.split('class="small review-text">')[1].split("</div>")[0]
    assert '<a href="/cases?view=list&amp;overdue=y"' in body
    assert '<a href="/cases/confirm"' in body
    assert body.count("<a ") == 2  # not the foreign address, nor one that only starts alike
    assert "https://evil.example/" in body and PAYLOAD not in body


def test_a_case_notice_opens_its_case_by_its_title_only(
    client: FlaskClient, session: Session, make_user, make_shop, app
) -> None:  # type: ignore[no-untyped-def]
    """The title opens the case and marks the notice read; the e-mail text's link to the
    same case is not offered again (it would open without marking), others still are."""
    from tests.factories import open_case

    shop = make_shop()
    me = make_user(Role.AGENT, shops=[shop])
    note = _notify(session, me, 1)
    note.case_id = open_case(session, shop, at=NOW).id
    base = app.config["TRACKER_BASE_URL"]
    note.body = f"鲜橙 · 截止 11-30 14:30\n{base}/cases/{note.case_id}\n看板：{base}/cases"
    session.commit()
    login(client, me)
    page = client.get("/notifications/").get_data(as_text=True)
    body = page.split('class="small review-text">')[1].split("</div>")[0]
    assert f"/cases/{note.case_id}" not in body and "截止 11-30 14:30" in body
    assert body.count("<a ") == 1 and '<a href="/cases"' in body


def test_every_page_can_ask_for_its_own_unread_count(
    client: FlaskClient, session: Session, make_user
) -> None:  # type: ignore[no-untyped-def]
    me, other = make_user(Role.AGENT), make_user(Role.AGENT)
    _notify(session, other, 1)
    login(client, me)
    page = client.get("/account").get_data(as_text=True)
    assert 'data-unread-url="/notifications/count"' in page  # what app.js polls
    first = client.get("/notifications/count")
    assert first.get_json() == {"unread": 0} and first.headers["Cache-Control"] == "no-store"
    _notify(session, me, 2)
    _notify(session, me, 3)
    assert client.get("/notifications/count").get_json() == {"unread": 2}
    post_form(client, "/notifications/read", {}, form_url="/notifications/")
    assert client.get("/notifications/count").get_json() == {"unread": 0}
