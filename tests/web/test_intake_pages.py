"""Admin intake pages and sentiment corrections through the browser-facing routes."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import NOW, csrf_token, lately, local_text, login, post_form, run_python
from tests.factories import add_sale
from tracker import jobs
from tracker.clock import utcnow
from tracker.models import (
    AppThrottle,
    BackgroundWork,
    Buyer,
    Case,
    ImportJob,
    Order,
    PullRun,
    Review,
    SentimentCorrection,
    Shop,
    WorkerBeat,
)
from tracker.models.enums import CaseStatus, Rating, Role

ROOT = Path(__file__).resolve().parents[2]
CSV = (
    "订单编号,子订单编号,买家会员名,评价结果,评价内容,评价时间\n"
    f"1,11,甲,差评,太差了,{local_text(lately())}\n2,22,乙,好评,不错,{local_text(lately(1))}\n"
)


@pytest.fixture
def admin(client: FlaskClient, make_user, make_shop) -> tuple[FlaskClient, Shop]:  # type: ignore[no-untyped-def]
    shop = make_shop(code="demo")
    login(client, make_user(Role.ADMIN))
    return client, shop


def upload(client: FlaskClient, shop: Shop, data: bytes, name: str, **extra: str) -> object:
    form = {
        "shop_id": str(shop.id),
        "kind": "reviews",
        "csrf_token": csrf_token(client, "/admin/import"),
        "file": (io.BytesIO(data), name),
    } | extra
    answer = client.post("/admin/import", data=form, content_type="multipart/form-data")
    if answer.status_code != 302:
        return answer  # the form itself refused it
    from flask import current_app

    jobs.import_waiting(current_app._get_current_object())  # the scheduler's job, here
    return client.get(answer.headers["Location"])


def test_upload_imports_and_reports(admin: tuple[FlaskClient, Shop], session: Session) -> None:
    client, shop = admin
    html = upload(client, shop, CSV.encode("gbk"), "评价.csv").get_data(as_text=True)
    assert "已导入 2/2 行" in html and "开案 1 个" in html
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 2
    assert session.scalar(sa.select(PullRun.source)) == "import:reviews"
    assert "导入评价" in client.get("/admin/sources").get_data(as_text=True)  # in words


def test_upload_with_errors_writes_nothing_and_lists_them(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    client, shop = admin
    bad = CSV + "3,33,丙,超级好,<script>alert(1)</script>,2026-11-22\n"
    html = upload(client, shop, bad.encode(), "bad.csv").get_data(as_text=True)
    assert "未导入任何数据" in html and "超级好" in html and "<script>alert(1)" not in html
    assert "修正后重新导入，或勾选“跳过有问题的行”。" in html  # a bad row: skipping helps
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0
    html = upload(client, shop, bad.encode(), "bad.csv", skip_bad_rows="y").get_data(as_text=True)
    assert "已导入 2/3 行" in html and "跳过 1 个问题" in html


def test_an_upload_with_a_quote_left_open_or_a_review_twice_is_refused_even_when_skipping(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    """It read 已导入 1/1 行: the row with the open quote had taken the rest of the file. A
    review twice read 已导入 3/3 行, the last row kept."""
    client, shop = admin
    broken = CSV.replace("太差了", '"太差了')
    html = upload(client, shop, broken.encode(), "bad.csv", skip_bad_rows="y").get_data(
        as_text=True
    )
    assert "未导入任何数据" in html and "英文双引号没有闭合，它后面的 1 行都被读进了这一格" in html
    assert "修正后重新导入。" in html and "或勾选" not in html  # skipping cannot help
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0
    twice = CSV + CSV.splitlines(keepends=True)[1]  # the 差评's row again, at the end
    html = upload(client, shop, twice.encode(), "merged.csv", skip_bad_rows="y").get_data(
        as_text=True
    )
    assert "未导入任何数据" in html and "（子订单编号相同：第 4 行与第 2 行）" in html
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_upload_form_validation(admin: tuple[FlaskClient, Shop], session: Session) -> None:
    client, shop = admin
    html = upload(client, shop, b"x", "notes.pdf").get_data(as_text=True)
    assert "只支持 .csv 和 .xlsx" in html
    html = upload(client, shop, CSV.encode(), "a.csv", mapping="没有等号").get_data(as_text=True)
    assert "列名=字段名" in html
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_token_is_shown_once_and_only_its_hint_kept(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    client, shop = admin
    html = post_form(
        client, f"/admin/shops/{shop.id}/token", {}, form_url="/admin/sources"
    ).get_data(as_text=True)
    token = html.split("<code>trk_", 1)[1].split("</code>", 1)[0]
    session.refresh(shop)
    assert shop.api_token_hint == token[-4:] and token not in (shop.api_token_hash or "")
    assert f"trk_{token}" not in client.get("/admin/sources").get_data(as_text=True)


def test_sources_page_shows_the_queue_and_a_parked_shop_can_be_resumed(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    client, shop = admin
    now = utcnow()
    session.add_all(
        [
            BackgroundWork(
                key=f"pull:{shop.id}",
                kind="pull",
                shop_id=shop.id,
                failures=8,
                parked_at=now,
                last_error="27/invalid-sessionkey: SessionKey非法或已过期 <b>",
                dispatched_for=now - timedelta(minutes=30),
            ),
            BackgroundWork(key="alerts", kind="alerts", dispatched_at=now - timedelta(seconds=75)),
            AppThrottle(
                app="top:12345678", until=now + timedelta(minutes=2), hits=2, updated_at=now
            ),
            WorkerBeat(name="web-2:4242", mode="celery", started_at=now, seen_at=now, tasks=17),
        ]
    )
    session.commit()
    html = client.get("/admin/sources").get_data(as_text=True)
    assert "后台任务" in html and "内置线程池" in html
    # the oldest waiting task's lag, read a moment after ``now`` (a loaded CI machine took
    # long enough between the two for 75.5 s to read 76 秒)
    assert re.search(r">7[5-9] 秒<", html)
    assert "web-2:4242（17 个" in html and "top:12345678" in html
    assert "已暂停" in html and "连续失败 8 次" in html and "恢复拉取" in html
    assert "&lt;b&gt;" in html and "<b>" not in html.split("最近错误", 1)[1][:200]
    assert "1 个店铺的拉取已暂停" in html
    post_form(client, f"/admin/shops/{shop.id}/pull/resume", {}, form_url="/admin/sources")
    session.expire_all()
    work = session.get(BackgroundWork, f"pull:{shop.id}")
    assert work is not None and work.parked_at is None and work.failures == 0


def test_policy_form_saves_and_moves_deadlines(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    client, shop = admin
    upload(client, shop, CSV.encode(), "a.csv")
    case = session.scalars(sa.select(Case)).one()
    before = case.first_contact_due_at
    form = {
        "periods": "08:00-12:00，13:00-23:00",
        "weekdays": ["0", "1", "2", "3", "4"],
        "holidays": "2026-12-31\n2027-01-01",
        "workdays": "",
        "bad_hours": "6",
        "neutral_hours": "4",
        "hidden_negative_hours": "8",
        "pull_interval_minutes": "15",
        "contact_hours": "09:30-20:30",
        "contact_per_day": "1",
        "contact_per_week": "3",
        "contact_gap_minutes": "240",
        "retention_days": "730",
    }
    response = post_form(client, f"/admin/shops/{shop.id}/policy", form)
    assert response.status_code == 302
    session.refresh(shop)
    session.refresh(case)
    assert shop.working_hours["periods"] == [["08:00", "12:00"], ["13:00", "23:00"]]
    assert shop.working_hours["holidays"] == ["2026-12-31", "2027-01-01"]
    assert shop.pull_interval_minutes == 15 and shop.deadline_policy["bad_hours"] == 6.0
    assert case.first_contact_due_at != before
    assert shop.contact_policy == {
        "day_starts": "09:30",
        "day_ends": "20:30",
        "per_day": 1,
        "per_week": 3,
        "min_gap_minutes": 240,
    }
    assert shop.personal_data_retention_days == 730
    page = client.get(f"/admin/shops/{shop.id}/policy").get_data(as_text=True)
    assert 'value="730"' in page and "目前没有超过期限的买家；每天 03:30 检查" in page
    # an old buyer's data: the page says how many go tonight
    long_ago = utcnow() - timedelta(days=800)
    for row in [*session.scalars(sa.select(Order)), *session.scalars(sa.select(Review))]:
        row.paid_at = row.posted_at = long_ago  # type: ignore[union-attr]
    for buyer in session.scalars(sa.select(Buyer)):
        buyer.created_at = long_ago
    case.status, case.opened_at, case.closed_at = CaseStatus.UNRECOVERED, long_ago, long_ago
    assert case.buyer is not None
    case.buyer.preferences = "喜欢下午送货"  # the only one holding personal data
    session.commit()
    page = client.get(f"/admin/shops/{shop.id}/policy").get_data(as_text=True)
    assert "有 1 位买家的个人信息将在下次夜间检查（每天 03:30）时删除" in page
    # left empty: kept until a buyer asks
    response = post_form(client, f"/admin/shops/{shop.id}/policy", form | {"retention_days": ""})
    session.refresh(shop)
    assert response.status_code == 302 and shop.personal_data_retention_days is None
    page = client.get(f"/admin/shops/{shop.id}/policy").get_data(as_text=True)
    assert "个人信息不自动删除" in page


# A valid 工作时间与规则 form, as the admin fills it in
POLICY_FORM: dict[str, object] = {
    "periods": "09:00-18:00",
    "weekdays": ["0"],
    "bad_hours": "2",
    "neutral_hours": "4",
    "hidden_negative_hours": "8",
    "pull_interval_minutes": "10",
    "contact_hours": "09:00-21:00",
    "contact_per_day": "2",
    "contact_per_week": "5",
    "contact_gap_minutes": "120",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"periods": "12:00-09:00"}, "结束早于开始"),
        ({"periods": "9点到12点"}, "开始-结束"),
        ({"bad_hours": "0"}, "0.1 到 240"),
        ({"pull_interval_minutes": "0"}, "1 到 1440"),
        ({"weekdays": [], "workdays": "2026-12-26"}, "至少要有一个工作日"),  # no working week
        ({"bad_hours": "sNaN"}, "有效的数字"),
        ({"contact_hours": "21:00-09:00"}, "开始必须早于结束"),
        ({"contact_hours": "全天"}, "开始-结束"),
        ({"contact_per_day": "6", "contact_per_week": "5"}, "每周最多次数"),
        ({"retention_days": "100"}, "应在 365 到 3650 天之间"),
        ({"retention_days": "三年"}, "不是有效的整数"),
    ],
)
def test_policy_form_rejects_bad_values(
    admin: tuple[FlaskClient, Shop], session: Session, changes: dict[str, str], message: str
) -> None:
    client, shop = admin
    form = POLICY_FORM | changes
    response = post_form(client, f"/admin/shops/{shop.id}/policy", form)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    session.refresh(shop)
    assert shop.working_hours is None


def test_a_policy_without_a_working_week_is_told_under_its_weekdays(
    admin: tuple[FlaskClient, Shop],
) -> None:
    client, shop = admin
    form = {k: v for k, v in POLICY_FORM.items() if k != "weekdays"}
    page = post_form(client, f"/admin/shops/{shop.id}/policy", form).get_data(as_text=True)
    weekdays, holidays = page.index('id="weekdays"'), page.index('id="holidays"')
    assert weekdays < page.index("至少要有一个工作日") < holidays  # not under 时段


def test_special_opening_hours_are_saved_shown_and_told_by_line(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    client, shop = admin
    url = f"/admin/shops/{shop.id}/policy"
    refused = post_form(client, url, POLICY_FORM | {"dated": "2026-11-11 09:00-24:00\n2026-11-12"})
    page = refused.get_data(as_text=True)
    dated, bad_hours = page.index('id="dated"'), page.index('id="bad_hours"')
    assert dated < page.index("第 2 行：请在日期后写上营业时段") < bad_hours  # under its field
    session.refresh(shop)
    assert shop.working_hours is None

    sale = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=9)
    saved = post_form(client, url, POLICY_FORM | {"dated": f"{sale} 09:00-24:00"})
    assert saved.status_code == 302
    session.refresh(shop)
    assert shop.working_hours["dated"] == {sale.isoformat(): [["09:00", "24:00"]]}
    assert f"{sale} 09:00-24:00</textarea>" in client.get(url).get_data(as_text=True)
    history = client.get(f"/admin/shops/{shop.id}").get_data(as_text=True)
    assert f"特殊营业时间 {sale} 09:00–24:00" in history


def test_days_gone_stay_stored_but_are_no_longer_listed(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    """Year after year the calendar would grow: the form lists today's days on, and keeps
    the past ones stored (a past holiday still counts for the deadlines measured then)."""
    client, shop = admin
    url = f"/admin/shops/{shop.id}/policy"
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    gone, coming = today - timedelta(days=30), today + timedelta(days=30)
    typed = {"holidays": f"{gone}\n{coming}", "workdays": str(gone - timedelta(days=1))}
    dated = {"dated": f"{gone - timedelta(days=2)} 09:00-24:00\n{coming} 09:00-12:00"}
    assert post_form(client, url, POLICY_FORM | typed | dated).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert f"{coming}</textarea>" in page and str(gone) not in page
    assert "已过去的 3 天（节假日、调休、特殊营业）仍然保存" in page
    # saved again as listed: the days gone are still there
    again = POLICY_FORM | {"holidays": str(coming), "dated": f"{coming} 09:00-12:00"}
    assert post_form(client, url, again).status_code == 302
    session.refresh(shop)
    assert shop.working_hours["holidays"] == [gone.isoformat(), coming.isoformat()]
    assert shop.working_hours["workdays"] == [(gone - timedelta(days=1)).isoformat()]
    assert list(shop.working_hours["dated"]) == [
        (gone - timedelta(days=2)).isoformat(),
        coming.isoformat(),
    ]


def test_a_past_day_typed_wrongly_is_listed_on_asking_and_taken_out(
    admin: tuple[FlaskClient, Shop], session: Session
) -> None:
    """A holiday pasted with last year's date is past at once and never listed: 列出已过去的
    日子 shows the whole calendar, and what is saved from it replaces the days gone."""
    client, shop = admin
    url = f"/admin/shops/{shop.id}/policy"
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    wrong, right, coming = (
        today - timedelta(days=365),
        today - timedelta(days=3),
        today + timedelta(days=30),
    )
    typed = POLICY_FORM | {"holidays": f"{wrong}\n{right}\n{coming}"}
    assert post_form(client, url, typed).status_code == 302
    listed = client.get(url).get_data(as_text=True)
    assert str(wrong) not in listed and f"{url}?past=1" in listed

    everything = client.get(f"{url}?past=1").get_data(as_text=True)
    assert f"{wrong}\n{right}\n{coming}</textarea>" in everything
    assert "包括已过去的 2 天" in everything
    corrected = POLICY_FORM | {"holidays": f"{right}\n{coming}", "with_past": "1"}
    assert post_form(client, url, corrected).status_code == 302
    session.refresh(shop)
    assert shop.working_hours["holidays"] == [right.isoformat(), coming.isoformat()]
    # a refusal on that form keeps it listing everything
    refused = post_form(client, url, corrected | {"periods": "午饭后"}).get_data(as_text=True)
    assert "包括已过去的 1 天" in refused and f"{right}\n{coming}</textarea>" in refused


def test_intake_pages_are_for_admins(client: FlaskClient, make_user, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop()
    login(client, make_user(Role.SUPERVISOR, shops=[shop]))
    for url in ("/admin/sources", "/admin/import", f"/admin/shops/{shop.id}/policy"):
        assert client.get(url).status_code == 403


def test_staff_correct_a_reviews_sentiment(
    client: FlaskClient,
    make_user,
    make_shop,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    shop = make_shop()
    # past the buyer's window: the label alone is left to correct (within it, the link
    # opens a case too: tests/web/test_triage_pages.py)
    review = add_sale(session, shop, text="还行吧", rating=Rating.GOOD, at=NOW - timedelta(days=40))
    review.sentiment_score, review.sentiment_model = 0.9, "m1"
    session.commit()
    login(client, make_user(Role.AGENT, shops=[shop]))
    assert "判断有误？标为负面" in client.get("/shop/reviews").get_data(as_text=True)
    response = post_form(
        client,
        f"/shop/reviews/{review.id}/sentiment",
        {"label": "negative"},
        form_url="/shop/reviews",
    )
    assert response.status_code == 302
    correction = session.get(SentimentCorrection, review.id)
    assert correction is not None and correction.is_positive is False
    assert "已标注负面" in client.get("/shop/reviews").get_data(as_text=True)
    other = add_sale(session, make_shop(), text="x", at=NOW, key="77")
    response = post_form(
        client,
        f"/shop/reviews/{other.id}/sentiment",
        {"label": "negative"},
        form_url="/shop/reviews",
    )
    assert response.status_code == 404


def test_web_workers_never_import_a_model(database_url: str, app) -> None:  # type: ignore[no-untyped-def]
    """snownlp and scikit-learn stay out of the web process, whatever pages are served."""
    script = (
        "import sys\n"
        "from tracker import create_app\n"
        "app = create_app({'TESTING': True, 'WTF_CSRF_ENABLED': False})\n"
        "c = app.test_client()\n"
        "for url in ['/', '/login', '/admin/sources', '/admin/import', '/shop/reviews']:\n"
        "    c.get(url)\n"
        "c.post('/api/v1/reviews', json={'reviews': []})\n"
        "heavy = [m for m in ('sklearn', 'snownlp', 'scipy') if m in sys.modules]\n"
        "print('heavy:', heavy)\n"
    )
    env = os.environ | {"DATABASE_URL": database_url}
    out = run_python(script, env)
    assert out.returncode == 0, out.stderr
    assert "heavy: []" in out.stdout


def test_an_upload_is_queued_and_its_page_follows_it(
    admin: tuple[FlaskClient, Shop], session: Session, app
) -> None:  # type: ignore[no-untyped-def]
    client, shop = admin
    form = {
        "shop_id": str(shop.id),
        "kind": "reviews",
        "csrf_token": csrf_token(client, "/admin/import"),
        "file": (io.BytesIO(CSV.encode()), "评价.csv"),
    }
    queued = client.post("/admin/import", data=form, content_type="multipart/form-data")
    assert queued.status_code == 302  # the request returns at once: nothing imported yet
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0
    waiting = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert "排队中" in waiting and 'http-equiv="refresh"' in waiting
    jobs.import_waiting(app)
    done = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert "已导入 2/2 行" in done and 'http-equiv="refresh"' not in done
    assert "评价.csv" in client.get("/admin/import").get_data(as_text=True)  # in the list
    stored = session.scalars(sa.select(ImportJob.path)).one()
    assert not Path(stored).exists()  # the upload is removed once imported


def test_an_xlsx_that_unpacks_too_big_is_refused_before_parsing(
    admin: tuple[FlaskClient, Shop], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip bomb: a small file whose sheet unpacks to far more than any export."""
    import zipfile

    from tracker.sources import files

    monkeypatch.setattr(files, "MAX_XLSX_UNPACKED", 1024 * 1024)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 400_000)  # 2.4 MB unpacked
    assert len(data.getvalue()) < 50_000
    client, shop = admin
    html = upload(client, shop, data.getvalue(), "订单.xlsx").get_data(as_text=True)
    assert "解压后" in html and "未导入任何数据" in html
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_an_import_cut_short_by_a_dying_scheduler_starts_again(
    admin: tuple[FlaskClient, Shop], session: Session, app
) -> None:  # type: ignore[no-untyped-def]
    from tracker.services import import_jobs

    client, shop = admin
    form = {
        "shop_id": str(shop.id),
        "kind": "reviews",
        "csrf_token": csrf_token(client, "/admin/import"),
        "file": (io.BytesIO(CSV.encode()), "评价.csv"),
    }
    client.post("/admin/import", data=form, content_type="multipart/form-data")
    job = session.scalars(sa.select(ImportJob)).one()
    job.status = "importing"  # as a scheduler killed mid-import leaves it
    session.commit()
    assert import_jobs.requeue_interrupted(session) == 1
    jobs.import_waiting(app)
    assert session.scalars(sa.select(ImportJob.status)).one() == "done"
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 2


CARD = '<h2 class="h6 mb-2">{}'  # a shop's card (the navigation lists every shop)


def test_sources_page_pages_through_many_shops_and_finds_the_failing_ones(
    admin: tuple[FlaskClient, Shop],
    session: Session,
    make_shop,  # type: ignore[no-untyped-def]
) -> None:
    client, _ = admin
    many = [make_shop(code=f"s{i:03d}", name=f"分店{i:03d}") for i in range(40)]
    failing, parked = many[7], many[33]
    session.add_all(
        [
            BackgroundWork(key=f"pull:{failing.id}", kind="pull", shop_id=failing.id, failures=2),
            BackgroundWork(
                key=f"pull:{parked.id}",
                kind="pull",
                shop_id=parked.id,
                failures=8,
                parked_at=utcnow(),
            ),
            BackgroundWork(key=f"pull:{many[1].id}", kind="pull", shop_id=many[1].id),  # healthy
        ]
    )
    session.commit()
    first = client.get("/admin/sources").get_data(as_text=True)
    assert (
        'id="shop-filter"' in first
        and CARD.format("分店000") in first
        and CARD.format("分店030") not in first
    )
    assert "第 1 / 2 页" in first
    second = client.get("/admin/sources?page=2").get_data(as_text=True)
    assert CARD.format("分店030") in second and CARD.format("分店000") not in second
    attention = client.get("/admin/sources?show=attention").get_data(as_text=True)
    assert CARD.format("分店007") in attention and CARD.format("分店033") in attention
    assert CARD.format("分店001") not in attention and CARD.format("分店002") not in attention
    found = client.get("/admin/sources?q=s03").get_data(as_text=True)
    assert CARD.format("分店030") in found and CARD.format("分店007") not in found
    assert "没有符合条件的店铺" in client.get("/admin/sources?q=无此店").get_data(as_text=True)
    assert client.get("/admin/sources?page=²").status_code == 404


def test_an_upload_says_whose_personal_data_it_left_out(
    admin: tuple[FlaskClient, Shop], session: Session, make_user
) -> None:  # type: ignore[no-untyped-def]
    from tracker.clock import utcnow
    from tracker.models import Buyer
    from tracker.services import buyer_profiles, erasure

    client, shop = admin
    buyer = Buyer(shop_id=shop.id, platform_nick="小鹿", created_at=utcnow(), tags=[])
    session.add(buyer)
    session.commit()
    erasure.erase(session, buyer, make_user(Role.ADMIN), reason="买家邮件", now=utcnow())
    orders = (
        "订单编号,买家会员名,订单付款时间,宝贝标题,价格,收货人姓名,联系手机\n"
        "T9,小鹿,2026-11-20 10:00:00,赣南脐橙,39.9,鹿晓晓,13900001111\n"
        "T10,小鹿,2026-11-20 10:00:00,烟台苹果,29.9,,\n"
    )
    html = upload(client, shop, orders.encode(), "订单.csv", kind="orders").get_data(as_text=True)
    assert "已导入 2/2 行" in html
    assert "1 行属于已要求删除个人信息的买家" in html
    session.expire_all()
    assert buyer_profiles.opened(session.get(Buyer, buyer.id)).name is None
