"""Admin forms: valid input is saved and audited; invalid input is refused next to the
field and writes nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, PASSWORD, count, login, post_form, words
from tests.factories import open_case
from tracker.models import AuditEvent, Shop, User
from tracker.models.enums import CaseStatus, Role


@pytest.fixture
def admin_client(client: FlaskClient, make_user, make_shop) -> FlaskClient:  # type: ignore[no-untyped-def]
    login(client, make_user(Role.ADMIN, username="boss"))
    return client


def _field_error(html: str, field: str) -> str:
    """The error text rendered right after the given field."""
    match = re.search(rf'id="{field}".*?class="invalid-feedback[^"]*"[^>]*>([^<]+)<', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1).strip()


def test_create_user_with_shops(admin_client: FlaskClient, make_shop, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    response = post_form(
        admin_client,
        "/admin/users/new",
        {
            "username": "kefu9",
            "display_name": "客服九",
            "role": "agent",
            "shop_ids": [str(shop.id)],
            "password": "abc12345",
            "confirm": "abc12345",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    user = session.scalar(sa.select(User).where(User.username == "kefu9"))
    assert user is not None and user.role is Role.AGENT and user.shops == [shop]
    assert user.check_password("abc12345")
    assert session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_id == user.id, AuditEvent.field == "created")
    )


GOOD_USER = {
    "username": "newbie",
    "display_name": "新人",
    "role": "agent",
    "password": "abc12345",
    "confirm": "abc12345",
    "is_active": "y",
}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": ""}, "username", "请填写用户名"),
        ({"username": "坏 名字"}, "username", "只能包含"),
        ({"username": "boss"}, "username", "已被使用"),
        ({"display_name": ""}, "display_name", "请填写姓名"),
        ({"role": "owner"}, "role", ""),
        ({"password": "short1", "confirm": "short1"}, "password", "至少 8 个字符"),
        ({"password": "abcdefgh", "confirm": "abcdefgh"}, "password", "字母和数字"),
        ({"confirm": "different1"}, "confirm", "不一致"),
        ({"shop_ids": ["99999"]}, "shop_ids", ""),
    ],
)
def test_create_user_rejects_bad_input(
    admin_client: FlaskClient,
    session: Session,  # type: ignore[no-untyped-def]
    changes: dict[str, object],
    field: str,
    message: str,
) -> None:
    users_before, audits_before = count(session, User), count(session, AuditEvent)
    response = post_form(admin_client, "/admin/users/new", GOOD_USER | changes)
    assert response.status_code == 200
    error = _field_error(response.get_data(as_text=True), field)
    assert message in error
    assert count(session, User) == users_before
    assert count(session, AuditEvent) == audits_before


def test_edit_user_role_shops_and_deactivate(
    admin_client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    shop_a, shop_b = make_shop(), make_shop()
    user = make_user(Role.AGENT, shops=[shop_a])
    response = post_form(
        admin_client,
        f"/admin/users/{user.id}",
        {"display_name": "改名了", "role": "supervisor", "shop_ids": [str(shop_b.id)]},
    )
    assert response.status_code == 302
    session.refresh(user)
    assert (user.display_name, user.role, user.is_active) == ("改名了", Role.SUPERVISOR, False)
    assert user.shops == [shop_b]
    fields = set(
        session.scalars(
            sa.select(AuditEvent.field).where(
                AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id
            )
        )
    )
    assert {"display_name", "role", "is_active", "shops"} <= fields
    # the history is shown on the user's page, in words, with who did it
    page = words(admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True))
    assert "角色：客服 → 主管" in page and "账号：启用 → 停用" in page
    assert "姓名：" in page and "→ 改名了" in page and "· 管理员" in page  # the admin did it


def test_a_leavers_and_a_moved_agents_open_cases_go_back_to_unassigned(
    admin_client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    shop_a, shop_b = make_shop(), make_shop()
    user = make_user(Role.AGENT, shops=[shop_a, shop_b], display_name="客服小王")
    in_a = open_case(session, shop_a, at=NOW, key="a", nick="甲")
    in_b = open_case(session, shop_b, at=NOW, key="b", nick="乙")
    done = open_case(session, shop_b, at=NOW, key="c", nick="丙")
    for case in (in_a, in_b, done):
        case.owner_id = user.id
    done.status, done.closed_at = CaseStatus.RECOVERED, NOW
    session.commit()
    version = in_a.version
    keep_a = {"display_name": "客服小王", "role": "agent", "shop_ids": [str(shop_a.id)]}
    post_form(admin_client, f"/admin/users/{user.id}", keep_a | {"is_active": "y"})
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "客服小王 的 1 个进行中的案件已回到未分配" in page
    for case in (in_a, in_b, done):
        session.refresh(case)
    assert (in_a.owner_id, in_b.owner_id, done.owner_id) == (user.id, None, user.id)
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.case_id == in_b.id, AuditEvent.field == "owner")
    ).one()
    assert (audit.old_value, audit.new_value) == ("客服小王", "未分配（不再负责该店铺）")

    post_form(admin_client, f"/admin/users/{user.id}", keep_a)  # deactivated: it leaves
    session.refresh(in_a)
    assert in_a.owner_id is None and in_a.version == version + 1  # an open page is stale
    assert "已回到未分配" in admin_client.get("/admin/users").get_data(as_text=True)
    post_form(admin_client, f"/admin/users/{user.id}", keep_a)  # nothing left to release
    assert "已回到未分配" not in admin_client.get("/admin/users").get_data(as_text=True)
    # an admin works every shop, assigned or not: their cases stay theirs
    admin = make_user(Role.ADMIN, shops=[shop_a], display_name="店长")
    in_b.owner_id = admin.id
    session.commit()
    edit = {"display_name": "店长", "role": "admin", "is_active": "y"}  # no shop ticked
    post_form(admin_client, f"/admin/users/{admin.id}", edit)
    session.refresh(in_b)
    assert in_b.owner_id == admin.id


def test_admin_cannot_demote_or_lock_out_themself(
    admin_client: FlaskClient,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    me = session.scalar(sa.select(User).where(User.username == "boss"))
    assert me is not None
    response = post_form(
        admin_client,
        f"/admin/users/{me.id}",
        {"display_name": "boss", "role": "agent", "is_active": "y"},
    )
    assert response.status_code == 200
    assert "不能修改自己的角色" in _field_error(response.get_data(as_text=True), "role")
    session.refresh(me)
    assert me.role is Role.ADMIN


def test_reset_password(
    admin_client: FlaskClient,
    make_user,
    session: Session,  # type: ignore[no-untyped-def]
    client: FlaskClient,
) -> None:
    user = make_user()
    url = f"/admin/users/{user.id}/password"
    form_url = f"/admin/users/{user.id}"
    response = post_form(
        admin_client, url, {"pw-password": "short", "pw-confirm": "short"}, form_url=form_url
    )
    assert response.status_code == 400
    assert "至少 8 个字符" in _field_error(response.get_data(as_text=True), "pw-password")
    session.refresh(user)
    assert user.check_password(PASSWORD)
    response = post_form(
        admin_client,
        url,
        {"pw-password": "newpass99", "pw-confirm": "newpass99"},
        form_url=form_url,
    )
    assert response.status_code == 302
    session.refresh(user)
    assert user.check_password("newpass99") and not user.check_password(PASSWORD)


def test_edit_unknown_user_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/users/987654").status_code == 404


def test_create_and_edit_shop(admin_client: FlaskClient, session: Session) -> None:
    response = post_form(
        admin_client,
        "/admin/shops/new",
        {"code": "jd-main", "name": "京东自营店", "platform": "jd", "is_active": "y"},
    )
    assert response.status_code == 302
    shop = session.scalar(sa.select(Shop).where(Shop.code == "jd-main"))
    assert shop is not None and shop.platform.value == "jd"
    response = post_form(
        admin_client,
        f"/admin/shops/{shop.id}",
        {"code": "jd-main", "name": "京东旗舰店", "platform": "jd", "platform_seller_id": "88"},
    )
    assert response.status_code == 302
    session.refresh(shop)
    assert (shop.name, shop.platform_seller_id, shop.is_active) == ("京东旗舰店", "88", False)
    page = words(admin_client.get(f"/admin/shops/{shop.id}").get_data(as_text=True))
    assert "变更记录" in page and "名称：京东自营店 → 京东旗舰店" in page
    assert "店铺：启用 → 停用" in page and "创建店铺：jd-main" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": ""}, "code", "请填写店铺代码"),
        ({"code": "Bad Code"}, "code", "只能包含"),
        ({"code": "taken"}, "code", "已被使用"),
        ({"name": ""}, "name", "请填写店铺名称"),
        ({"name": "   "}, "name", "请填写店铺名称"),
        ({"platform": "amazon"}, "platform", ""),
        ({"platform_seller_id": "x" * 65}, "platform_seller_id", ""),
    ],
)
def test_shop_form_rejects_bad_input(
    admin_client: FlaskClient,
    make_shop,
    session: Session,  # type: ignore[no-untyped-def]
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    make_shop(code="taken")
    shops_before = count(session, Shop)
    good = {"code": "fresh", "name": "新店", "platform": "taobao"}
    response = post_form(admin_client, "/admin/shops/new", good | changes)
    assert response.status_code == 200
    assert message in _field_error(response.get_data(as_text=True), field)
    assert count(session, Shop) == shops_before


def test_a_password_the_admin_chose_is_replaced_by_its_owner_before_anything_else(
    admin_client: FlaskClient, make_shop, session: Session
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import as_new_request, other_browser

    shop = make_shop()
    post_form(admin_client, "/admin/users/new", GOOD_USER | {"shop_ids": [str(shop.id)]})
    user = session.scalar(sa.select(User).where(User.username == "newbie"))
    assert user is not None and user.temporary_password_at is not None
    assert "临时密码" in admin_client.get("/admin/users").get_data(as_text=True)
    newbie = other_browser(admin_client)
    assert login(newbie, user, "abc12345").status_code == 302
    for url in ("/", "/cases", f"/shop/buyers?shop={shop.id}", "/notifications/"):
        as_new_request()
        answer = newbie.get(url)
        assert answer.status_code == 302 and answer.location == "/account", url
    as_new_request()
    page = newbie.get("/account").get_data(as_text=True)
    assert 'id="temporary-password"' in page and 'id="contact-form"' not in page
    form = {"current": "abc12345", "password": "mine2026x", "confirm": "mine2026x"}
    as_new_request()
    assert post_form(newbie, "/account/password", form, form_url="/account").location == "/"
    as_new_request()
    assert newbie.get("/").status_code == 200  # the tracker opens now
    session.refresh(user)
    assert user.temporary_password_at is None
    # a reset by the admin makes it temporary again
    as_new_request()
    post_form(
        admin_client,
        f"/admin/users/{user.id}/password",
        {"pw-password": "again2026x", "pw-confirm": "again2026x"},
        form_url=f"/admin/users/{user.id}",
    )
    session.refresh(user)
    assert user.temporary_password_at is not None
