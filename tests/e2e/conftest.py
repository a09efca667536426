"""A live server on its own database, and headless Chromium driven by Playwright."""

from __future__ import annotations

import csv
import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from tests.conftest import ANY_TIME
from tests.databases import fresh_database
from tests.factories import approved_template, buyer_with_order, open_case
from tracker import PROJECT_ROOT, create_app
from tracker.clock import utcnow
from tracker.extensions import db
from tracker.models import (
    Campaign,
    CampaignRecipient,
    CareRule,
    Case,
    Product,
    Shop,
    User,
)
from tracker.models.enums import MessagePurpose, Platform, Role
from tracker.services import buyer_profiles
from tracker.services.audit import record_access

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PASSWORD = "secret123"
CHROMIUM = (
    os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
)


PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
IMPORT_HEADER = [
    "订单编号",
    "子订单编号",
    "买家会员名",
    "评价结果",
    "评价内容",
    "评价时间",
    "宝贝名称",
    "宝贝ID",
]


def _export_with_payloads(posted: str) -> bytes:
    """A review export carrying script in every text column, quoted as Excel would."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(IMPORT_HEADER)
    writer.writerow(["T77", "O77", PAYLOAD, "差评", PAYLOAD, posted, PAYLOAD, "77"])
    return out.getvalue().encode()


@dataclass(frozen=True)
class Live:
    url: str
    case_id: int
    buyer_id: int
    imported_case_id: int  # opened from a file whose text columns carry script
    # The platform shows the buyer's 追评 on the case's review (this shop is on Tmall, where
    # a happy 追评 is the only recovery), through the intake every pull uses.
    platform_shows_follow_up: Callable[[str], None]
    shop_id: int
    campaign_id: int  # finished, with its sent and held-back buyers: the results table
    # A buyer's new bad review opens a case while the pages are open (the board's news).
    opens_a_case: Callable[[str], int]
    agent_id: int  # 客服小林: the 班次 page


def _customer_operations(session, shop: Shop, case_id: int) -> int:  # type: ignore[no-untyped-def]
    """What the campaign, care-rule, template and access-log pages list, so the layout test
    measures filled tables: a finished campaign with both groups, a care rule with a long
    name, the shop's templates, one line of the access log. Returns the campaign's id."""
    now = utcnow()
    boss = session.scalars(sa.select(User).where(User.username == "boss")).one()
    marketing = approved_template(
        session, shop, "${name}您好，好久不见！老客专享九折。拒收请回复R", at=now,
        purpose=MessagePurpose.MARKETING, name="老客回访", code="SMS_401", sign_name="端到端",
    )  # fmt: skip
    notice = approved_template(
        session, shop, "${name}您好，您反映的问题已处理完毕，请评价这次服务：${link}", at=now,
        name="满意度回访", code="SMS_302", sign_name="端到端",
    )  # fmt: skip
    session.add(
        CareRule(
            shop_id=shop.id,
            kind="after_receipt",
            days=3,
            name="收货后三天关怀（老客户专属问候与使用提醒）",
            template_id=notice.id,
            created_by_id=boss.id,
            created_at=now,
        )
    )
    campaign = Campaign(
        shop_id=shop.id,
        name="沉睡客户唤醒 · 新品九折",
        audience={},
        exclusions={},
        template_id=marketing.id,
        control_share=0.5,
        state="done",
        chosen=6,
        held_back=3,
        created_by_id=boss.id,
        created_at=now - timedelta(days=40),
        started_at=now - timedelta(days=40),
        finished_at=now - timedelta(days=40),
    )
    session.add(campaign)
    session.flush()
    for i in range(6):
        buyer = buyer_with_order(
            session,
            shop,
            f"睡{i}",
            phone=f"137{i:08d}",
            payment=str(50 + 20 * i),
            paid_at=now - timedelta(days=30 if i % 2 else 120),
        )
        session.add(
            CampaignRecipient(
                campaign_id=campaign.id,
                buyer_id=buyer.id,
                control=i >= 3,
                state="control" if i >= 3 else "sent",
                out_id=f"e2e-{i}",
                sent_at=None if i >= 3 else now - timedelta(days=40),
            )
        )
    record_access(
        session,
        now=now,
        actor_id=boss.id,
        buyer_id=session.get(Case, case_id).buyer_id,
        field=buyer_profiles.SHOWN,
        what="姓名 小**",
        case_id=case_id,
    )
    session.commit()
    return campaign.id


def _follow_up_shower(app, case_id: int) -> Callable[[str], None]:  # type: ignore[no-untyped-def]
    def show(text: str) -> None:
        from tests.fakes import KeywordScorer
        from tracker import runtime
        from tracker.services.intake import ingest
        from tracker.sources.records import ReviewRecord

        with app.app_context(), sessionmaker(bind=db.engine)() as s:
            case = s.get(Case, case_id)
            review, shop = case.review, s.get(Shop, case.shop_id)
            record = ReviewRecord(
                review.platform_key,
                "小鱼儿",
                review.rating,
                review.text,
                review.posted_at,
                follow_up_text=text,
                follow_up_at=utcnow(),
            )
            ingest(
                s,
                shop,
                [record],
                now=utcnow(),
                scorer=KeywordScorer(),
                settings=runtime.settings(app, shop),
            )
            s.commit()

    return show


def _case_opener(app, shop_id: int) -> Callable[[str], int]:  # type: ignore[no-untyped-def]
    def open_one(key: str) -> int:
        with app.app_context(), sessionmaker(bind=db.engine)() as s:
            case = open_case(
                s, s.get(Shop, shop_id), key=key, at=utcnow() - timedelta(days=3), nick=key
            )
            s.commit()
            return case.id

    return open_one


def _import_payloads(app, session, shop) -> int:  # type: ignore[no-untyped-def]
    """Through the import path a shop's admin uses, as a file would arrive."""
    from zoneinfo import ZoneInfo

    from tests.fakes import KeywordScorer
    from tracker import runtime
    from tracker.services.imports import import_parsed
    from tracker.sources.files import parse_file

    tz = ZoneInfo("Asia/Shanghai")
    posted = (utcnow() - timedelta(hours=2)).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    parsed = parse_file("reviews", _export_with_payloads(posted), "评价.csv", tz=tz)
    report = import_parsed(
        session,
        shop,
        parsed,
        now=utcnow(),
        skip_bad_rows=False,
        scorer=KeywordScorer(),
        settings=runtime.settings(app, shop),
    )
    session.commit()
    assert report.written and not report.problems, report.problems
    return session.scalar(
        sa.select(Case.id).where(Case.shop_id == shop.id).order_by(Case.id.desc())
    )


def _buffered(app: Any) -> Any:
    """The app with each response read to its end (and closed) before the server writes it.
    Werkzeug's development server closes a response only after reading what is left of the
    request, and a browser that drops the connection first (Chromium cancels a favicon's
    load when the page moves on) makes that read raise: the static file stays open until
    the garbage collector warns of it, in whichever test runs then, and warnings fail
    tests. No page here streams, so nothing is lost by reading it whole."""

    def serve(environ: Any, start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return serve


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("e2e")
    with fresh_database(tmp) as url:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "e2e-secret-key-long-enough-for-tests"},
            instance_path=str(tmp),
        )
        with app.app_context():
            upgrade()
            with sessionmaker(bind=db.engine)() as s:
                shop = Shop(
                    code="e2e",
                    name="端到端测试店",
                    platform=Platform.TMALL,
                    created_at=utcnow(),
                    contact_policy=ANY_TIME,  # the flow logs calls at whatever hour CI runs
                )
                s.add(shop)
                s.flush()
                for username, name, role in (
                    ("agent", "客服小林", Role.AGENT),
                    ("boss", "周主管", Role.SUPERVISOR),
                    ("admin", "管理员", Role.ADMIN),
                ):
                    user = User(
                        username=username,
                        display_name=name,
                        role=role,
                        created_at=utcnow(),
                        shops=[shop],
                    )
                    user.set_password(PASSWORD)
                    s.add(user)
                s.commit()
                agent_id = s.scalars(sa.select(User.id).where(User.username == "agent")).one()
                case = open_case(
                    s,
                    shop,
                    at=utcnow() - timedelta(days=3, hours=1),
                    text="橙子烂了好几个，快递也慢",
                    nick="小鱼儿",
                )
                case_id, buyer_id = case.id, case.buyer_id
                s.add(  # a new arrival in the same category: the page suggests it
                    Product(
                        shop_id=shop.id,
                        platform_item_id="new-1",
                        title="新品冰糖橙",
                        category=case.product.category,
                        price=Decimal("29.90"),
                        launched_at=utcnow() - timedelta(days=2),
                    )
                )
                s.commit()
                imported_case_id = _import_payloads(app, s, shop)
                campaign_id = _customer_operations(s, shop, case_id)
                shop_id = shop.id
        server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Live(
                f"http://127.0.0.1:{server.server_port}",
                case_id,
                buyer_id,
                imported_case_id,
                _follow_up_shower(app, case_id),
                shop_id,
                campaign_id,
                _case_opener(app, shop_id),
                agent_id,
            )
        finally:
            server.shutdown()
            thread.join()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


PHONE = {"width": 375, "height": 812}


def log_in(page, live: Live, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{live.url}/")


@contextmanager
def signed_in(browser, live: Live, username: str) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A phone-sized Chinese Chromium page logged in as ``username``, closed after; the
    test fails on any script error the page raised on the way."""
    errors: list[str] = []
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live, username)
    try:
        yield page
    finally:
        context.close()
    assert errors == []


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
