from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, csrf_token, login
from tracker.models.enums import Role


def test_every_page_needs_login(client: FlaskClient) -> None:
    for url in (
        "/",
        "/shop/products",
        "/shop/buyers",
        "/shop/orders",
        "/shop/reviews",
        "/admin/users",
        "/admin/shops",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/login?next="), url


def test_login_and_logout(client: FlaskClient, make_user, make_shop) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.AGENT, shops=[make_shop()])
    response = login(client, user)
    assert response.status_code == 302 and response.location == "/"
    assert user.display_name in client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_redirects_back_but_never_off_site(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.location == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client)
    response = client.post(
        "/login?next=/shop/orders",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.location == "/shop/orders"


def test_wrong_password_is_refused(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    response = login(client, user, password="wrong-password1")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_log_in_and_is_logged_out(
    client: FlaskClient,
    make_user,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    user = make_user(is_active=False)
    response = login(client, user)
    assert "已停用" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302

    active = make_user()
    login(client, active)
    assert client.get("/").status_code == 200
    active.is_active = False
    session.commit()
    assert client.get("/").status_code == 302  # deactivation takes effect at once


def test_post_without_csrf_token_is_refused(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "页面已过期" in page and "请刷新页面后重新填写提交" in page  # going back fails again
    assert client.get("/").status_code == 302
    login(client, user)
    assert client.post("/logout").status_code == 400


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user())
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.AGENT, 403), (Role.SUPERVISOR, 403), (Role.ADMIN, 200)],
)
def test_admin_pages_by_role(
    client: FlaskClient,
    make_user,
    make_shop,
    role: Role,  # type: ignore[no-untyped-def]
    expected: int,
) -> None:
    user = make_user(role, shops=[make_shop()])
    login(client, user)
    for url in (
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{user.id}",
        "/admin/shops",
        "/admin/shops/new",
    ):
        response = client.get(url)
        assert response.status_code == expected, url
        if expected == 403:
            assert "无权访问" in response.get_data(as_text=True)
    response = client.post("/admin/users/new", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == expected if expected == 403 else response.status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_shop_pages_for_every_role(client: FlaskClient, make_user, make_shop, role: Role) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user(role, shops=[make_shop()]))
    for url in ("/", "/shop/products", "/shop/buyers", "/shop/orders", "/shop/reviews"):
        assert client.get(url).status_code == 200, url


def test_navigation_shows_admin_links_only_to_admins(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    shop = make_shop()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    assert "用户管理" not in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.ADMIN))
    assert "用户管理" in client.get("/").get_data(as_text=True)


def test_error_pages_use_the_layout(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user())
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_a_user_changes_their_own_password_and_other_devices_are_signed_out(
    client: FlaskClient, make_user, session: Session
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import as_new_request, other_browser, post_form
    from tracker.models import AuditEvent

    user = make_user(Role.AGENT)
    phone = other_browser(client)
    login(phone, user)
    as_new_request()
    login(client, user)
    assert 'href="/account"' in client.get("/").get_data(as_text=True)

    def change(current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
        as_new_request()
        form = {"current": current, "password": new, "confirm": confirm or new}
        return post_form(client, "/account/password", form, form_url="/account")

    wrong = change("not-my-password-1", "newpass2026")
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    weak = change(PASSWORD, "12345678")
    assert weak.status_code == 400 and "同时包含字母和数字" in weak.get_data(as_text=True)
    mismatch = change(PASSWORD, "newpass2026", "newpass2027")
    assert "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    assert "不能与当前密码相同" in change(PASSWORD, PASSWORD).get_data(as_text=True)
    session.refresh(user)
    assert user.check_password(PASSWORD)  # nothing changed by the refusals
    done = change(PASSWORD, "newpass2026")
    assert done.status_code == 302 and done.location == "/"
    as_new_request()
    assert "密码已修改" in client.get("/").get_data(as_text=True)  # still signed in here
    as_new_request()
    assert phone.get("/").status_code == 302  # the other device is signed out
    session.refresh(user)
    assert user.check_password("newpass2026") and not user.check_password(PASSWORD)
    audited = session.query(AuditEvent).filter_by(entity_id=user.id, field="password").one()
    assert audited.new_value == "changed by the user"


def test_guessing_the_current_password_locks_the_name_as_a_login_would(
    client: FlaskClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import as_new_request, other_browser, post_form

    user = make_user(Role.AGENT)
    login(client, user)

    def change(current: str, new: str = "newpass2026"):  # type: ignore[no-untyped-def]
        as_new_request()
        form = {"current": current, "password": new, "confirm": new}
        return post_form(client, "/account/password", form, form_url="/account")

    for _ in range(6):  # the right current password with a weak new one: no lock
        assert "同时包含字母和数字" in change(PASSWORD, "12345678").get_data(as_text=True)
    for _ in range(4):
        assert "当前密码不正确" in change("guess-123").get_data(as_text=True)
    assert "暂时锁定" in change("guess-123").get_data(as_text=True)  # the fifth
    assert "暂时锁定" in change(PASSWORD).get_data(as_text=True)  # even the right one now
    other = other_browser(client)
    assert "暂时锁定" in login(other, user).get_data(as_text=True)  # the login form too


def test_a_user_keeps_their_own_e_mail_and_calling_phone(
    client: FlaskClient, make_user, session: Session
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import as_new_request, post_form
    from tracker.models import AuditEvent

    user = make_user(Role.AGENT)
    login(client, user)

    def save(**form: str):  # type: ignore[no-untyped-def]
        as_new_request()
        return post_form(client, "/account/contact", form, form_url="/account")

    bad = save(email="not-an-address", phone="13900001111")
    assert bad.status_code == 400 and "邮箱" in bad.get_data(as_text=True)
    session.refresh(user)
    assert user.email is None and user.phone_hint is None  # nothing half saved
    assert "分机" in save(email="", phone="18400001111-1234").get_data(as_text=True)
    assert save(email="lin@example.com", phone="139 0000 1111").status_code == 302
    session.refresh(user)
    assert user.email == "lin@example.com" and user.phone_hint == "139****1111"
    assert user.phone_sealed and "13900001111" not in user.phone_sealed
    as_new_request()
    page = client.get("/account").get_data(as_text=True)
    assert "已登记 139****1111" in page and "13900001111" not in page
    save(email="lin@example.com", phone="")  # blank: the phone on file stays
    session.refresh(user)
    assert user.phone_hint == "139****1111"
    save(email="", phone="", remove_phone="y")
    session.refresh(user)
    assert user.email is None and user.phone_hint is None and user.phone_sealed is None
    fields = {e.field for e in session.query(AuditEvent).filter_by(entity_id=user.id)}
    assert {"email", "phone"} <= fields
