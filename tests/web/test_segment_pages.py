"""The segment view, the buyer list's segment filters, member levels and their export."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import login, post_form
from tests.factories import open_case
from tracker.clock import utcnow
from tracker.models import Buyer, Order, Shop, User
from tracker.models.enums import MembershipLevel, Platform, Role
from tracker.services import level_sync, segments


def _shop_with_buyers(session: Session, shop: Shop) -> tuple[Buyer, Buyer]:
    big = Buyer(shop_id=shop.id, platform_nick="大买家", created_at=utcnow(), tags=[])
    small = Buyer(shop_id=shop.id, platform_nick="小买家", created_at=utcnow(), tags=[])
    session.add_all([big, small])
    session.flush()
    for i in range(3):
        session.add(
            Order(
                shop_id=shop.id,
                tid=f"B{i}",
                buyer_id=big.id,
                payment=Decimal("900"),
                paid_at=utcnow() - timedelta(days=10 * i + 1),
            )
        )
    session.add(
        Order(
            shop_id=shop.id,
            tid="S1",
            buyer_id=small.id,
            payment=Decimal("30"),
            paid_at=utcnow() - timedelta(days=200),
        )
    )
    session.commit()
    segments.recompute(session, shop, now=utcnow())
    return big, small


def test_the_segment_view_and_the_buyer_filters(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    big, _small = _shop_with_buyers(session, shop)
    login(client, make_user(Role.AGENT, shops=[shop]))
    page = client.get("/shop/segments").get_data(as_text=True)
    assert "忠诚客户" in page and "沉睡客户" in page and 'id="pyramid"' in page
    assert 'title="¥2,730.00" id="revenue">¥2,730.00<' in page  # 万 from ten thousand on
    # the share is of the spend: on a phone, where 消费 is hidden, it stands next to 人数
    rows = page[page.index('id="segment-table"') :]
    assert ">消费占比</th>" in rows and "98.9%" in rows and ">占比<" not in rows
    assert 'id="levels-form"' not in page  # agents read, supervisors set levels
    loyal = client.get("/shop/buyers?klass=loyal&big=1").get_data(as_text=True)
    assert "大买家" in loyal and "小买家" not in loyal
    dormant = client.get("/shop/buyers?klass=dormant").get_data(as_text=True)
    assert "小买家" in dormant and "大买家" not in dormant
    assert "忠诚客户" in client.get(f"/shop/buyers/{big.id}").get_data(as_text=True)
    assert client.get("/shop/segments/grades.csv").status_code == 403


def test_the_buyer_list_sorts_by_spend_or_last_purchase_and_shows_them(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """By nick 小买家 comes before 阿大 (its nick here); by 累计消费 the big spender leads, and
    the list shows what it sorted on (on a phone too), as of the segments' computation."""
    big, small = _shop_with_buyers(session, shop)
    big.platform_nick, big.tags, small.tags = "阿大", ["回头客", "大客户"], []
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    by_nick = client.get("/shop/buyers").get_data(as_text=True)
    assert by_nick.index("小买家") < by_nick.index("阿大")
    as_of = re.search(r'id="segments-as-of">订单数、累计消费和最近购买按 ([-\d: ]+) 计算', by_nick)
    assert as_of and as_of.group(1).startswith("20")  # when, in Beijing time
    by_spend = client.get("/shop/buyers?sort=spent").get_data(as_text=True)
    assert by_spend.index("阿大") < by_spend.index("小买家")
    assert '<option value="spent" selected>' in by_spend
    assert "此后新来的买家要等下次计算才排进来" in by_spend  # not in this order yet
    assert "此后新来的买家" not in by_nick
    rows = [row for row in re.findall(r"<tr>(.*?)</tr>", by_spend, re.S) if "/shop/buyers/" in row]
    spend_cells = [re.findall(r'<td class="text-end text-nowrap ">(.*?)</td>', r) for r in rows]
    assert spend_cells == [["¥2,700.00"], ["¥30.00"]]  # the sorted column, at every width
    unstyled = " ".join(re.sub(r"<[^>]*>", "", rows[0]).split())
    assert "回头客 大客户" in unstyled  # tags read apart without the styles, as on a reader
    by_recent = client.get("/shop/buyers?sort=recent&klass=dormant").get_data(as_text=True)
    assert "200 天前" in by_recent and "阿大" not in by_recent
    odd = client.get("/shop/buyers?sort=spent%27--")
    assert odd.status_code == 200 and '<option value="nick" selected>' in odd.get_data(as_text=True)


def test_a_supervisor_sets_levels_and_exports_grades(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    _shop_with_buyers(session, shop)
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    refused = post_form(
        client,
        "/shop/segments/levels",
        {"basis": "spend", "threshold1": "1000", "threshold2": "500"},
        form_url="/shop/segments",
    )
    # refused under the box where it was typed, with what was typed kept and nothing stored
    assert refused.status_code == 400 and shop.member_levels is None
    page = refused.get_data(as_text=True)
    assert 'value="500"' in _input(page, "threshold2") and "is-invalid" in _input(
        page, "threshold2"
    )
    assert "门槛须逐级严格递增：应高于普通会员的 1000" in _after(page, "threshold2")
    assert 'value="1000"' in _input(page, "threshold1")
    assert 'id="levels-error"' in page
    skipped = post_form(
        client,
        "/shop/segments/levels",
        {"basis": "orders", "threshold1": "2", "threshold3": "九", "discount3": "9"},
        form_url="/shop/segments",
    )
    page = skipped.get_data(as_text=True)
    assert skipped.status_code == 400 and shop.member_levels is None
    assert 'value="九"' in _input(page, "threshold3")
    assert "不是有效的小数" in _after(page, "threshold3")  # WTForms' own words, in Chinese
    assert '<option selected value="orders">' in page
    post_form(
        client,
        "/shop/segments/levels",
        {"basis": "spend", "threshold1": "100", "threshold2": "1000"},
        form_url="/shop/segments",
    )
    session.refresh(shop)
    assert shop.member_levels == {"basis": "spend", "thresholds": ["100", "1000"]}
    segments.recompute(session, shop, now=utcnow())
    csv_text = client.get("/shop/segments/grades.csv").get_data(as_text=True)
    assert "大买家,2,高级会员,2700.00,3" in csv_text and "小买家,0,店铺客户" in csv_text
    page = client.get("/shop/segments").get_data(as_text=True)
    assert "累计消费 ¥100 起" in page and "累计消费 ¥1,000 起" in page  # as money reads


def _input(page: str, box: str) -> str:
    """The <input> tag of a box, however WTForms orders its attributes."""
    return re.findall(rf'<input[^>]*id="{box}"[^>]*>', page)[0]


def _after(page: str, box: str) -> str:
    """What the page says right under a box (its errors), up to the next box."""
    rest = page[page.index(_input(page, box)) + len(_input(page, box)) :]
    return rest[: rest.find("<input")]


def test_the_case_page_says_who_is_on_the_line(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1))
    segments.recompute(session, shop, now=utcnow())
    login(client, make_user(Role.AGENT, shops=[shop]))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="segment-brief"' in html and "新客" in html
    # a file's tags beside it, less the one that says what the line above says
    case.buyer.tags = ["新客", "大客户", "爱喝茶"]
    session.commit()
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    brief = html[html.index('id="call-brief"') :][:1500]
    assert brief.count("新客") == brief.count("大客户") == 1 and "爱喝茶</span>" in brief


def test_member_levels_sync_is_turned_on_shown_and_run_on_request(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    big, _ = _shop_with_buyers(session, shop)
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    post_form(
        client,
        "/shop/segments/levels",
        {"basis": "spend", "threshold1": "20", "threshold2": "1000", "discount1": "9.8",
         "discount2": "9.5"},
        form_url="/shop/segments",
    )  # fmt: skip
    assert segments.levels_of(shop).discounts == (Decimal("9.8"), Decimal("9.5"))
    assert 'id="discount2"' in client.get("/shop/segments").get_data(as_text=True)
    post_form(client, "/shop/segments/sync", {"on": "1"}, form_url="/shop/segments")
    assert shop.level_sync and shop.level_sync_requested_at is not None
    unpriced = post_form(
        client,
        "/shop/segments/levels",
        {"basis": "spend", "threshold1": "20", "threshold2": "1000"},
        form_url="/shop/segments",
    )
    page = unpriced.get_data(as_text=True)
    assert unpriced.status_code == 400 and segments.levels_of(shop).discounts
    assert "会员等级未保存：已开启同步到平台，淘宝的会员等级规则须为每个等级填写会员折扣" in page
    segments.recompute(session, shop, now=utcnow())
    # a run the platform partly refused: the page shows what it confirmed and why not
    big.platform_grade, big.platform_grade_at = 2, utcnow()
    small = session.scalars(sa.select(Buyer).where(Buyer.platform_nick == "小买家")).one()
    small.platform_grade_error = "15/isv.member-not-exist: 该买家不是本店会员<script>"
    shop.level_sync_report = level_sync.SyncReport("pushed", 1, 1, 0, 0).to_dict(utcnow())
    session.commit()
    page = client.get("/shop/segments").get_data(as_text=True)
    assert 'id="sync-confirmed">1<' in page and 'id="sync-pending">1<' in page
    assert "该买家不是本店会员&lt;script&gt;" in page and "等级规则已推送" in page
    buyer_page = client.get(f"/shop/buyers/{big.id}").get_data(as_text=True)
    assert 'id="platform-grade"' in buyer_page and "高级会员" in buyer_page
    level_sync.record_unusable(session, shop, now=utcnow(), error="本店没有平台接口凭据")
    page = client.get("/shop/segments").get_data(as_text=True)
    assert "未能开始" in page and "本店没有平台接口凭据" in page
    shop.level_sync_requested_at = None
    session.commit()
    post_form(client, "/shop/segments/sync/now", {}, form_url="/shop/segments")
    assert shop.level_sync_requested_at is not None
    post_form(client, "/shop/segments/sync", {"on": "0"}, form_url="/shop/segments")
    assert not shop.level_sync


def test_a_platform_without_a_member_api_offers_the_export_only(
    client: FlaskClient,
    session: Session,
    make_shop,
    make_user: Callable[..., User],  # type: ignore[no-untyped-def]
) -> None:
    jd = make_shop(
        code="jd1", platform=Platform.JD, member_levels={"basis": "spend", "thresholds": ["100"]}
    )
    login(client, make_user(Role.SUPERVISOR, shops=[jd]))
    page = client.get("/shop/segments").get_data(as_text=True)
    assert "没有我们能确认的会员等级接口" in page and "开启同步" not in page
    response = post_form(client, "/shop/segments/sync", {"on": "1"}, form_url="/shop/segments")
    assert not jd.level_sync
    assert "导出会员等级" in client.get("/shop/segments").get_data(as_text=True)
    assert response.status_code in (200, 302)


def test_an_imported_member_level_is_told_apart_from_the_shops_own(
    client: FlaskClient, session: Session, shop: Shop, make_user: Callable[..., User]
) -> None:
    """A file's 会员等级 column (金卡会员) is not the level this shop computes (店铺客户 until
    its thresholds are set): each page that shows it says it was imported."""
    case = open_case(session, shop, at=utcnow() - timedelta(days=3, hours=1))
    case.buyer.membership_level = MembershipLevel.GOLD
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    listed = client.get("/shop/buyers").get_data(as_text=True)
    assert ">金卡会员（导入）</span>" in listed  # no segments yet: the file's level, named so
    segments.recompute(session, shop, now=utcnow())
    listed = client.get("/shop/buyers").get_data(as_text=True)
    assert "店铺客户" in listed and "金卡会员" not in listed  # the shop's own level column
    buyer_page = client.get(f"/shop/buyers/{case.buyer_id}").get_data(as_text=True)
    assert "导入等级" in buyer_page and "店铺客户" in buyer_page
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    brief = case_page[case_page.index('id="call-brief"') :][:1500]
    assert ">金卡会员（导入）</span> · " in brief
    assert "导入等级</dt>" in case_page
    case.buyer.membership_level = MembershipLevel.NONE
    session.commit()
    brief = client.get(f"/cases/{case.id}").get_data(as_text=True)
    brief = brief[brief.index('id="call-brief"') :][:1500]
    assert "普通会员" not in brief  # nothing imported worth saying before the orders
