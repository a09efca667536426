from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, csrf_token, login
from tests.factories import add_sale, open_case
from tests.fakes import statements_seen
from tracker.clock import utcnow
from tracker.extensions import cache
from tracker.models import Review, Script, Shop
from tracker.models.enums import Rating, Role
from tracker.web.access import SWITCHER_LIMIT

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_user_text_is_escaped_everywhere(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    shop = make_shop()
    review = add_sale(
        session, shop, nick=PAYLOAD, text=PAYLOAD, rating=Rating.BAD, at=NOW, title=PAYLOAD
    )
    login(client, make_user(Role.AGENT, shops=[shop]))
    for url in (
        "/",
        "/shop/reviews",
        "/shop/buyers",
        f"/shop/buyers/{review.buyer_id}",
        "/shop/orders",
        "/shop/products",
    ):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert" in html, url


def test_phone_is_masked_for_staff_without_a_case(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    shop = make_shop()
    review = add_sale(session, shop, phone="13812345678", at=NOW)
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    html = client.get(f"/shop/buyers/{review.buyer_id}").get_data(as_text=True)
    assert "138****5678" in html and "13812345678" not in html
    assert "5678" not in client.get("/shop/buyers").get_data(as_text=True)  # numbers: buyer page


def test_name_and_address_are_masked_except_for_the_buyers_case_worker(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    from tests.factories import give_profile, open_case
    from tracker.models import AuditEvent
    from tracker.services import buyer_profiles

    shop = make_shop()
    case = open_case(session, shop, at=NOW, nick="橙子控")
    agent = make_user(Role.AGENT, shops=[shop])
    case.owner_id = agent.id
    give_profile(case.buyer)
    session.commit()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    for url in (f"/shop/buyers/{case.buyer_id}", "/shop/buyers", f"/cases/{case.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "郑**" in html and "俊杰" not in html and "文三路" not in html, url
        # the birth year, as dates are written (a bare "1990" can turn up in a random token)
        assert "1990-" not in html and "1990年" not in html, url
    assert "05-01" in client.get(f"/shop/buyers/{case.buyer_id}").get_data(as_text=True)
    found = client.get("/shop/buyers?q=郑俊杰").get_data(as_text=True)
    assert "橙子控" in found and "橙子控" not in client.get("/shop/buyers?q=郑").get_data(
        as_text=True
    )
    assert session.query(AuditEvent).filter_by(field=buyer_profiles.SHOWN).count() == 0
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, agent)
    for url in (f"/shop/buyers/{case.buyer_id}", f"/cases/{case.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "郑俊杰" in html and "浙江省杭州市西湖区文三路 100 号" in html, url
    assert "1990-05-01" in client.get(f"/shop/buyers/{case.buyer_id}").get_data(as_text=True)
    assert session.query(AuditEvent).filter_by(field=buyer_profiles.SHOWN).count() == 1


def test_another_shops_data_is_not_found(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    mine, theirs = make_shop(), make_shop()
    other = add_sale(session, theirs, nick="别家买家", text="别家的评价", at=NOW, key="2")
    add_sale(session, mine, nick="我的买家", text="我家的评价", at=NOW, key="1")
    login(client, make_user(Role.AGENT, shops=[mine]))
    assert client.get(f"/shop/buyers/{other.buyer_id}").status_code == 404
    html = client.get("/shop/reviews").get_data(as_text=True)
    assert "我家的评价" in html and "别家的评价" not in html
    # nor can the shop switcher be pointed at it
    response = client.post(
        "/shop/switch", data={"shop_id": theirs.id, "csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 404


@pytest.fixture
def two_shops(make_shop) -> tuple[Shop, Shop]:  # type: ignore[no-untyped-def]
    return make_shop(name="A店"), make_shop(name="B店")


def test_switching_between_assigned_shops(
    client: FlaskClient, make_user, two_shops: tuple[Shop, Shop], session: Session
) -> None:  # type: ignore[no-untyped-def]
    first, second = two_shops
    add_sale(session, second, text="乙店的评价", at=NOW, key="9")
    login(client, make_user(Role.AGENT, shops=[first, second]))
    assert "乙店的评价" not in client.get("/shop/reviews").get_data(as_text=True)
    client.post("/shop/switch", data={"shop_id": second.id, "csrf_token": csrf_token(client, "/")})
    assert "乙店的评价" in client.get("/shop/reviews").get_data(as_text=True)


def test_the_navigation_bar_names_the_shop_a_page_shows_and_switching_keeps_to_it(
    client: FlaskClient, make_user, two_shops: tuple[Shop, Shop], session: Session
) -> None:  # type: ignore[no-untyped-def]
    """Another shop's model page under the chosen shop's name read as the chosen shop's."""
    first, second = two_shops
    case = open_case(session, second, at=utcnow() - timedelta(hours=1))
    login(client, make_user(Role.ADMIN, shops=[first, second]))

    def selected(html: str) -> str:
        return html.split("selected>")[1].split("<")[0].strip()

    assert selected(client.get("/").get_data(as_text=True)) == "A店"  # the one chosen
    page = f"/admin/shops/{second.id}/sentiment"
    html = client.get(page).get_data(as_text=True)
    assert selected(html) == "B店" and 'name="next"' not in html
    # switching from it opens the same page of the shop switched to
    switched = client.post(
        "/shop/switch",
        data={"shop_id": first.id, "csrf_token": csrf_token(client, "/")},
        headers={"Referer": f"http://localhost{page}?x=1"},
    )
    assert switched.headers["Location"] == f"/admin/shops/{first.id}/sentiment"
    # a case page names its case's shop; switching from it opens the shop's home page
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert selected(html) == "B店" and 'name="next" value="/"' in html
    assert selected(client.get("/").get_data(as_text=True)) == "A店"  # still the one chosen
    # its 看板 link is B店's board: it switches there, as the case is not on A店's
    back_form = html.split('id="back-to-board"')[1].split("</form>")[0]
    assert f'name="shop_id" value="{second.id}"' in back_form and "B店的看板" in back_form
    to_board = client.post(
        "/shop/switch",
        data={"shop_id": second.id, "next": "/cases", "csrf_token": csrf_token(client, "/")},
    )
    assert to_board.headers["Location"] == "/cases"
    assert selected(client.get("/cases").get_data(as_text=True)) == "B店"
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)  # now the shop in use
    assert '<a class="btn btn-sm btn-link px-0" href="/cases" id="back-to-board">' in html
    # any other page is returned to as it was
    back = client.post(
        "/shop/switch",
        data={"shop_id": second.id, "csrf_token": csrf_token(client, "/")},
        headers={"Referer": "http://localhost/shop/reviews?q=1"},
    )
    assert back.headers["Location"] == "http://localhost/shop/reviews?q=1"


@pytest.fixture
def many_shops(make_shop) -> list[Shop]:  # type: ignore[no-untyped-def]
    """More shops than the navigation bar lists in its drop-down: 店000 … 店034."""
    return [make_shop(name=f"店{n:03d}") for n in range(SWITCHER_LIMIT + 5)]


def test_many_shops_are_picked_from_a_searchable_list(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
    many_shops: list[Shop],
) -> None:
    shops = many_shops
    target = make_shop(name="远方水果旗舰店", code="far-fruit")
    add_sale(session, target, text="远方的评价", at=NOW, key="7")
    login(client, make_user(Role.ADMIN))
    home = client.get("/").get_data(as_text=True)
    # no drop-down of every shop: a link to the list, naming the shop in use
    assert 'name="shop_id"' not in home and 'id="shop-picker"' in home
    assert '"text-truncate">店000</span>' in home and f"共 {SWITCHER_LIMIT + 6} 家" in home
    listing = client.get("/shop/switch").get_data(as_text=True).split('id="shop-list"')[1]
    assert "店000" in listing and "当前店铺" in listing and "远方水果旗舰店" not in listing
    assert f"共 {SWITCHER_LIMIT + 6} 家" in listing  # a page at a time, counted as shops
    found = client.get("/shop/switch?q=fruit").get_data(as_text=True).split('id="shop-list"')[1]
    assert "远方水果旗舰店" in found and "店000" not in found
    assert "没有符合条件的店铺" in client.get("/shop/switch?q=%25").get_data(as_text=True)
    picked = client.post(
        "/shop/switch",
        data={"shop_id": target.id, "csrf_token": csrf_token(client, "/shop/switch")},
        headers={"Referer": "http://localhost/shop/switch?q=fruit"},
    )
    assert picked.status_code == 302 and picked.headers["Location"] == "/"
    assert "远方的评价" in client.get("/shop/reviews").get_data(as_text=True)
    assert '"text-truncate">远方水果旗舰店</span>' in client.get("/").get_data(as_text=True)
    # an agent sees only the shops assigned, and with a few the drop-down stays
    agent = make_user(Role.AGENT, shops=shops[:2])
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, agent)
    home = client.get("/").get_data(as_text=True)
    assert 'name="shop_id"' in home and 'id="shop-picker"' not in home
    listing = client.get("/shop/switch?q=远方").get_data(as_text=True)
    assert "远方水果旗舰店" not in listing and "没有符合条件的店铺" in listing


def test_user_without_shops_is_told_so(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user(Role.AGENT))
    assert "还没有被分配到任何店铺" in client.get("/").get_data(as_text=True)
    assert client.get("/shop/reviews").status_code == 404


def test_filters_and_search(client: FlaskClient, make_user, make_shop, session: Session) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    add_sale(session, shop, nick="甲", text="橙子全坏了", rating=Rating.BAD, at=NOW, key="1")
    add_sale(session, shop, nick="乙", text="很甜很好吃", rating=Rating.GOOD, at=NOW, key="2")
    add_sale(session, shop, nick="丙", text="还行", rating=Rating.GOOD, at=NOW, key="3")
    add_sale(session, make_shop(), nick="丁", text="别家的", rating=Rating.BAD, at=NOW, key="4")
    login(client, make_user(Role.AGENT, shops=[shop]))
    assert "共 3 条" in client.get("/shop/reviews").get_data(as_text=True)
    html = client.get("/shop/reviews?rating=bad").get_data(as_text=True)
    assert "橙子全坏了" in html and "很甜很好吃" not in html and "共 1 条" in html
    assert "共 2 条" in client.get("/shop/reviews?rating=good").get_data(as_text=True)
    html = client.get("/shop/reviews?q=很甜").get_data(as_text=True)
    assert "很甜很好吃" in html and "橙子全坏了" not in html and "共 1 条" in html
    html = client.get("/shop/reviews?q=100%25_").get_data(as_text=True)  # wildcards are literal
    assert "没有符合条件的评价" in html
    html = client.get("/shop/orders?q=T1").get_data(as_text=True)
    # the order numbers' cells: a bare "T2" also turns up in a random CSRF token now and then
    assert ">T1</td>" in html and ">T2</td>" not in html
    assert client.get("/shop/reviews?rating=nonsense").status_code == 200


def test_home_counts_are_kept_for_minutes_the_unhappy_reviews_are_live(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    shop = make_shop()
    add_sale(session, shop, key="1", nick="甲", text="第一条差评", rating=Rating.BAD, at=utcnow())
    login(client, make_user(Role.AGENT, shops=[shop]))

    def products(html: str) -> str:
        return html.split("商品</div>", 1)[1].split("</div>", 1)[0]

    html = client.get("/").get_data(as_text=True)
    assert '<div class="stat-value">1' in products(html) and "统计于" in html
    add_sale(session, shop, key="2", nick="乙", text="第二条差评", rating=Rating.BAD, at=utcnow())
    html = client.get("/").get_data(as_text=True)
    assert '<div class="stat-value">1' in products(html)  # counted a moment ago
    assert "第二条差评" in html  # the latest unhappy reviews are never stale
    cache.clear()
    assert '<div class="stat-value">2' in products(client.get("/").get_data(as_text=True))


def test_orders_are_found_by_part_of_their_number_and_link_to_their_case(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    from tests.factories import open_case

    shop = make_shop()
    case = open_case(session, shop, at=NOW, key="20261129")
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    for q in ("T2026", "1129", "T20261129"):
        html = client.get(f"/shop/orders?q={q}").get_data(as_text=True)
        assert "T20261129" in html and f'href="/cases/{case.id}"' in html, q
    assert "T20261129" not in client.get("/shop/orders?q=T99").get_data(as_text=True)
    buyer_page = client.get(f"/shop/buyers/{case.buyer_id}").get_data(as_text=True)
    assert 'id="buyer-cases"' in buyer_page and f'href="/cases/{case.id}"' in buyer_page


def test_a_broad_order_or_buyer_search_says_so_and_lists_in_order(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A part of every nick is not counted to the end (1.7 s for 买家 on PostgreSQL in a big
    shop): the page says there are more than the limit and how to narrow it."""
    from tracker.services import browse

    monkeypatch.setattr(browse, "SEARCH_LIMIT", 2)
    shop = make_shop()
    for i in range(3):
        add_sale(session, shop, key=f"20261{i}", nick=f"橙子{i}", at=NOW + timedelta(hours=i))
    login(client, make_user(Role.AGENT, shops=[shop]))
    html = client.get("/shop/orders?q=橙子").get_data(as_text=True)
    assert 'id="broad-search"' in html and "超过 2 条" in html
    assert "只翻到" not in html  # the notice says what to do: search more narrowly
    assert html.index("T202612") < html.index("T202611")  # newest first
    html = client.get("/shop/orders?q=橙子1").get_data(as_text=True)
    assert 'id="broad-search"' not in html and "共 1 条" in html
    html = client.get("/shop/buyers?q=橙子").get_data(as_text=True)
    assert 'id="broad-search"' in html and "符合的买家超过 2 个" in html and "超过 2 个，" in html
    assert html.index("橙子0") < html.index("橙子1") < html.index("橙子2")  # by nick
    html = client.get("/shop/buyers?q=橙子1").get_data(as_text=True)
    assert 'id="broad-search"' not in html and "共 1 个" in html


def _counting_reviews(session: Session, client: FlaskClient, url: str) -> tuple[str, list[str]]:
    """The page, and the statements that counted reviews row by row to show it."""
    with statements_seen(session, lambda s: "count(" in s.lower() and "reviews" in s) as counts:
        return client.get(url).get_data(as_text=True), counts


def test_a_broad_review_search_says_so_and_lists_the_newest(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tracker.services import browse

    monkeypatch.setattr(browse, "SEARCH_LIMIT", 2)
    shop = make_shop()
    for i in range(3):
        at = NOW + timedelta(hours=i)
        add_sale(session, shop, key=f"{i}", nick=f"甲{i}", text=f"甜橙第{i}箱", at=at)
    login(client, make_user(Role.AGENT, shops=[shop]))
    html, counts = _counting_reviews(session, client, "/shop/reviews?q=甜橙")
    assert 'id="broad-search"' in html and "符合的评价超过 2 条" in html
    assert "超过 2 条，第 1 / 1 页" in html and counts == []  # known from the search
    assert html.index("甜橙第2箱") < html.index("甜橙第1箱") < html.index("甜橙第0箱")
    html = client.get("/shop/reviews?q=第1箱").get_data(as_text=True)
    assert 'id="broad-search"' not in html and "共 1 条" in html and "甜橙第1箱" in html


def test_the_reviews_list_can_leave_out_the_ones_without_words(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    """只看有文字: the 系统默认 reviews (a third of a shop's) are left out, and the hourly
    counts say how many are left, so no review is counted."""
    from tracker.domain.review_text import is_system_default

    shop = make_shop()
    texts = [
        ("系统默认好评", Rating.GOOD),
        ("橙子个头太小，有几个烂了", Rating.GOOD),
        ("此用户没有填写评价。", Rating.GOOD),
        ("物流太慢", Rating.BAD),
        ("", Rating.BAD),
    ]
    for i, (text, rating) in enumerate(texts):
        review = add_sale(
            session, shop, key=f"{i}", nick=f"买家{i}", text=text, rating=rating, at=NOW
        )
        review.is_system_default = is_system_default(text)
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    worded, counts = _counting_reviews(session, client, "/shop/reviews?words=1")
    assert "共 2 条" in worded and counts == []
    assert "橙子个头太小" in worded and "物流太慢" in worded
    default = '<div class="review-text">系统默认好评</div>'
    assert default not in worded and "没有填写评价" not in worded
    assert 'id="words-only" checked' in worded
    html = client.get("/shop/reviews").get_data(as_text=True)
    assert "共 5 条" in html and default in html and 'id="words-only" checked' not in html
    good = client.get("/shop/reviews?words=1&rating=good").get_data(as_text=True)
    assert "共 1 条" in good and "橙子个头太小" in good and "物流太慢" not in good
    found = client.get("/shop/reviews?words=1&q=评价").get_data(as_text=True)
    assert "没有符合条件的评价" in found
    assert "共 1 条" in client.get("/shop/reviews?q=评价").get_data(as_text=True)


def test_the_home_pages_30_day_figures_open_the_reviews_they_count(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    """近 30 天评价's 差评 2 opened a list of every 差评 the shop ever had; 近 30 天 on 评价
    lists the ones the figure counts (first posted in the period: a review revised
    yesterday but written 40 days ago is not), and says how many from the same counts."""
    shop = make_shop()
    now = utcnow()
    for key, days_ago, text in (
        ("1", 1, "昨天的差评"),
        ("2", 20, "二十天前的差评"),
        ("3", 40, "四十天前的差评"),
        ("4", 40, "四十天前写、昨天改过的差评"),
    ):
        sold = now - timedelta(days=days_ago + 3)  # add_sale posts the review 3 days on
        add_sale(session, shop, key=key, nick=f"买家{key}", text=text, rating=Rating.BAD, at=sold)
    revised = session.scalars(sa.select(Review).where(Review.platform_key == "O4:buyer")).one()
    revised.posted_at = now - timedelta(days=1)
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    home = client.get("/").get_data(as_text=True)
    link = home.split('href="/shop/reviews?rating=bad&amp;days=30"')[1].split("</a>")[0]
    assert link.endswith(" 2")  # the badge, then the figure
    listed = client.get("/shop/reviews?rating=bad&days=30").get_data(as_text=True)
    assert "共 2 条" in listed and "昨天的差评" in listed and "二十天前的差评" in listed
    assert "四十天前" not in listed
    assert '<option value="30" selected>近 30 天</option>' in listed
    assert "共 4 条" in client.get("/shop/reviews?rating=bad").get_data(as_text=True)
    week = client.get("/shop/reviews?days=7&q=差评").get_data(as_text=True)
    assert "共 1 条" in week and "昨天的差评" in week
    assert "共 4 条" in client.get("/shop/reviews?days=31").get_data(as_text=True)  # not offered


def test_a_list_pages_as_far_as_its_last_page_and_counts_no_further(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    app,  # type: ignore[no-untyped-def]
) -> None:
    from tracker.web import inputs

    monkeypatch.setattr(inputs, "MAX_PAGE", 2)
    monkeypatch.setitem(app.config, "TRACKER_PAGE_SIZE", 2)
    shop = make_shop()
    for i in range(5):
        add_sale(session, shop, key=f"{i}", nick=f"买家{i}", at=NOW + timedelta(hours=i))
    login(client, make_user(Role.AGENT, shops=[shop]))
    html = client.get("/shop/orders").get_data(as_text=True)
    assert "超过 4 条，第 1 / 2 页" in html and "只翻到第 2 页" in html
    assert "page=2" in html and "page=3" not in html
    assert client.get("/shop/orders?page=3").status_code == 404
    # the reviews' count is known exactly (hourly counts): said, and paged as far
    html = client.get("/shop/reviews").get_data(as_text=True)
    assert "共 5 条，第 1 / 2 页" in html and "只翻到第 2 页" in html
    html = client.get("/shop/orders?q=买家").get_data(as_text=True)  # found: counted already
    assert "共 5 条，第 1 / 2 页" in html and "只翻到第 2 页" in html
    monkeypatch.setattr(inputs, "MAX_PAGE", 3)
    html = client.get("/shop/orders").get_data(as_text=True)
    assert "共 5 条，第 1 / 3 页" in html and "只翻到" not in html


def test_with_many_shops_a_script_is_written_for_all_or_the_shop_in_use(
    client: FlaskClient,
    make_user,  # type: ignore[no-untyped-def]
    session: Session,
    many_shops: list[Shop],
) -> None:
    far = many_shops[-1]
    script = Script(shop_id=far.id, title="远店话术", body="您好", updated_at=utcnow())
    session.add(script)
    session.commit()
    login(client, make_user(Role.ADMIN))
    offered = client.get("/scripts/new").get_data(as_text=True)
    options = offered.split('name="shop_id"')[1].split("</select>")[0]
    # 所有店铺 and the shop in use (the first by name), not every shop
    assert options.count("<option") == 2 and "所有店铺" in options and "店000" in options
    editing = client.get(f"/scripts/{script.id}").get_data(as_text=True)
    options = editing.split('name="shop_id"')[1].split("</select>")[0]
    assert options.count("<option") == 3 and f"店{SWITCHER_LIMIT + 4:03d}" in options
    assert f'<option selected value="{far.id}">' in options


def test_the_shops_a_user_may_see_are_listed_once_per_page(
    client: FlaskClient,
    session: Session,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    """The navigation bar and the 话术 form offer the same shops: one query serves both."""
    shops = [make_shop(), make_shop()]
    login(client, make_user(Role.SUPERVISOR, shops=shops))
    with statements_seen(session, lambda s: "FROM shops" in s and "LIMIT" in s.upper()) as listed:
        page = client.get("/scripts/new").get_data(as_text=True)
    assert 'name="shop_id"' in page and shops[1].name in page
    assert len(listed) == 2  # the shop in use (LIMIT 1) and the one list of shops


def test_only_a_lead_erases_a_buyers_personal_data_and_a_missing_reason_is_said(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    from tests.factories import give_profile, open_case

    shop = make_shop()
    case = open_case(session, shop, at=NOW, nick="橙子控")
    give_profile(case.buyer)
    session.commit()
    url = f"/shop/buyers/{case.buyer_id}"
    login(client, make_user(Role.AGENT, shops=[shop]))
    assert 'id="erase-personal-data"' not in client.get(url).get_data(as_text=True)
    token = csrf_token(client, url)
    denied = client.post(f"{url}/erase", data={"csrf_token": token, "reason": "要求删除"})
    assert denied.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    token = csrf_token(client, url)
    missing = client.post(f"{url}/erase", data={"csrf_token": token, "reason": " "})
    assert missing.status_code == 400
    assert "请写明依据" in missing.get_data(as_text=True)
    assert "郑**" in client.get(url).get_data(as_text=True)  # nothing erased
    done = client.post(
        f"{url}/erase",
        data={"csrf_token": token, "reason": "买家来电要求删除"},
        follow_redirects=True,
    )
    html = done.get_data(as_text=True)
    assert "已删除这位买家的姓名、地址、生日、备注和 1 个号码" in html
    assert "郑**" not in html and "浙江省" not in html
    assert "138****5678 · 已删除" in html  # the mask stays, saying why it no longer works
    assert "删除（买家要求删除）。此前订单" in html


def test_a_buyer_past_the_retention_period_is_shown_as_such_and_logged_by_the_system(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from tests.factories import give_profile, open_case
    from tracker.clock import utcnow
    from tracker.models.enums import CaseStatus
    from tracker.services import retention
    from tracker.services.audit import record_access

    shop = make_shop()
    long_ago = NOW - timedelta(days=1200)
    case = open_case(session, shop, at=long_ago, nick="老顾客")
    case.status, case.closed_at = CaseStatus.UNRECOVERED, long_ago + timedelta(days=3)
    give_profile(case.buyer)
    session.commit()
    assert retention.expire(session, shop, now=NOW).buyers == 1
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    html = client.get(f"/shop/buyers/{case.buyer_id}").get_data(as_text=True)
    assert "删除（保存期满，自动删除）。此前订单" in html and "郑**" not in html
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "删除（保存期满，自动删除）：不再为此前的订单向平台取号" in page
    # a person's access the same day: the filters keep the two apart
    lead = make_user(Role.SUPERVISOR, shops=[shop], display_name="主管小王")
    other = open_case(session, shop, key="2", at=NOW - timedelta(hours=2), nick="新顾客")
    record_access(
        session,
        now=NOW,
        actor_id=lead.id,
        buyer_id=other.buyer_id,
        field="phone_revealed",
        what="138****5678",
        case_id=other.id,
    )
    session.commit()
    day = "/reports/access-log?start=2026-11-20&end=2026-11-20"

    def rows(url: str) -> str:
        html = client.get(url).get_data(as_text=True)
        return html.split('id="access-entries"', 1)[1]

    page = client.get("/reports/access-log").get_data(as_text=True)
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    shown = (today - timedelta(days=29), today)  # the last 30 days, said in the date fields
    assert all(f'value="{d.isoformat()}"' in page for d in shown)
    every = rows(day)
    assert "老顾客" in every and "新顾客" in every
    assert "保存期满（1095 天内无订单、评价或案件）" in every
    by_system = rows(f"{day}&who=system")
    assert "老顾客" in by_system and "系统" in by_system and "新顾客" not in by_system
    by_staff = rows(f"{day}&who=staff")
    assert "新顾客" in by_staff and "主管小王" in by_staff and "老顾客" not in by_staff
    erased = rows(f"{day}&what=personal_data_erased")
    assert "老顾客" in erased and "新顾客" not in erased
    assert "新顾客" in rows(f"{day}&who=robots") and "老顾客" in rows(f"{day}&what=x")
    # one person's accesses, a leaver's included
    lead.is_active = False
    session.commit()
    page = client.get(f"{day}&who={lead.id}").get_data(as_text=True)
    assert f'<option selected value="{lead.id}">主管小王（已停用）</option>' in page
    one = page.split('id="access-entries"', 1)[1]
    assert "新顾客" in one and "老顾客" not in one
    assert "新顾客" not in rows(f"{day}&who={lead.id + 1000}")
    page = client.get(f"{day}&who=system").get_data(as_text=True)
    assert "access-log.csv?start=2026-11-20&amp;end=2026-11-20&amp;who=system" in page
    exported = client.get("/reports/access-log.csv?start=2026-11-20&end=2026-11-20&who=system")
    assert "老顾客" in exported.get_data(as_text=True)
    assert "新顾客" not in exported.get_data(as_text=True)


def test_the_buyer_page_lists_every_contact_and_whether_the_buyer_may_be_contacted(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    from datetime import timedelta

    from tests.factories import open_case
    from tests.services.test_contact_log import CALL_AT, call, campaign_sms
    from tracker.models import Campaign
    from tracker.services import cases

    shop = make_shop()
    agent, lead = make_user(Role.AGENT, shops=[shop]), make_user(Role.SUPERVISOR, shops=[shop])
    case = open_case(session, shop, at=NOW)
    cases.claim(session, case, agent, now=CALL_AT)
    call(session, case, agent, CALL_AT)
    campaign_sms(session, shop, case, lead, state="sent", sent_at=CALL_AT + timedelta(days=1))
    campaign = session.query(Campaign).one()
    campaign.name = "<b>上新</b>"
    case.buyer.do_not_contact_at = CALL_AT + timedelta(days=2)  # type: ignore[union-attr]
    session.commit()
    url = f"/shop/buyers/{case.buyer_id}"
    login(client, agent)
    html = client.get(url).get_data(as_text=True)
    contacts = html[html.index('id="buyer-contacts"') :]
    assert "联系记录（2）" in contacts and "买家要求勿扰（2026-11-26 起）" in contacts
    sms, phone = contacts.index(">营销短信<"), contacts.index(">电话<")
    assert sms < phone  # newest first
    assert "&lt;b&gt;上新&lt;/b&gt;" in contacts and "<b>上新" not in contacts
    assert f'href="/shop/campaigns/{campaign.id}"' not in contacts  # an agent's page: no link
    assert f'href="/cases/{case.id}"' in contacts[phone:] and agent.display_name in contacts
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    stop = case_page[case_page.index('id="buyer-stopped"') :]
    assert f'href="{url}#buyer-contacts"' in stop[:800]  # 勿扰: where every contact is listed
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, lead)
    html = client.get(url).get_data(as_text=True)
    assert f'href="/shop/campaigns/{campaign.id}"' in html[html.index('id="buyer-contacts"') :]


def test_a_lead_hands_a_buyer_a_copy_of_their_data_an_agent_cannot(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    import io

    from openpyxl import load_workbook

    from tests.factories import give_profile, open_case

    shop = make_shop()
    case = open_case(session, shop, at=NOW, nick="橙子控")
    give_profile(case.buyer)
    session.commit()
    url = f"/shop/buyers/{case.buyer_id}"
    login(client, make_user(Role.AGENT, shops=[shop]))
    assert 'id="copy-personal-data"' not in client.get(url).get_data(as_text=True)
    token = csrf_token(client, url)
    refused = client.post(f"{url}/copy", data={"csrf_token": token, "copy-reason": "来电"})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    page = client.get(url).get_data(as_text=True)
    assert 'id="copy-personal-data"' in page and 'id="copy-reason"' in page
    assert 'id="reason"' in page  # the erasure's own field, apart
    token = csrf_token(client, url)
    missing = client.post(f"{url}/copy", data={"csrf_token": token, "copy-reason": ""})
    assert missing.status_code == 400
    assert "请写明依据：谁、何时、通过什么渠道要求查阅或复制" in missing.get_data(as_text=True)
    answer = client.post(f"{url}/copy", data={"csrf_token": token, "copy-reason": "买家来电"})
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert (
        f'filename="personal-data-{shop.code}-{case.buyer_id}-'
        in answer.headers["Content-Disposition"]
    )
    book = load_workbook(io.BytesIO(answer.data), read_only=True)
    about = dict(list(book["个人信息"].iter_rows(values_only=True))[1:])
    assert about["姓名"] == "郑俊杰" and about["平台昵称"] == "橙子控"
    log = client.get("/reports/access-log?what=personal_data_copied").get_data(as_text=True)
    assert "导出个人信息副本" in log and "依据：买家来电" in log


def test_a_loyal_buyers_page_lists_the_latest_orders_and_reviews_and_all_on_request(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    """A shop's best buyers have a hundred orders or more: the page shows the latest 20 of
    each, totals over all of them, and the rest one click away."""
    from decimal import Decimal

    from tracker.models import Order, Review
    from tracker.services.browse import ARCHIVE_SHOWN

    shop = make_shop()
    first = add_sale(session, shop, at=NOW, text="第 0 次")
    buyer_id = first.buyer_id
    for i in range(1, ARCHIVE_SHOWN + 3):
        at = NOW + timedelta(days=i)
        order = Order(
            shop_id=shop.id, tid=f"T{i:03}", buyer_id=buyer_id, payment=Decimal(i), paid_at=at
        )
        session.add(order)
        session.add(
            Review(
                shop_id=shop.id,
                platform_key=f"R{i}",
                buyer_id=buyer_id,
                rating=Rating.GOOD,
                text=f"第 {i} 次",
                posted_at=at,
                first_posted_at=at,
                received_at=at,
                updated_at=at,
            )
        )
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    html = client.get(f"/shop/buyers/{buyer_id}").get_data(as_text=True)
    assert "订单（23）" in html and "评价（23）" in html
    orders = html[html.index('id="buyer-order-card"') : html.index('id="buyer-review-card"')]
    assert orders.count("<tr><td") == ARCHIVE_SHOWN and "T022" in orders and "T002" not in orders
    assert "显示最近 20 单" in orders and "查看全部 23 单" in orders
    reviews = html[html.index('id="buyer-review-card"') :]
    assert "第 22 次" in reviews and "第 2 次" not in reviews and "查看全部 23 条" in reviews
    # the totals are of every order: 39.90 for the first, then 1 + 2 + … + 22
    assert "¥292.90" in html
    everything = client.get(f"/shop/buyers/{buyer_id}?all=1").get_data(as_text=True)
    orders = everything[everything.index('id="buyer-order-card"') :]
    assert orders.count("<tr><td") == 23 and "查看全部" not in everything
    assert "第 0 次" in everything
