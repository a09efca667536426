"""File import: encodings, Chinese headers, broken files, all-or-nothing, skip bad rows."""

from __future__ import annotations

import io
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session

from tests.conftest import count
from tests.fakes import KeywordScorer
from tracker.domain.triage import DeadlinePolicy
from tracker.domain.working_hours import WorkingHours
from tracker.models import Buyer, Case, ContactHandle, Order, OrderLine, Product, Review, Shop
from tracker.models.enums import HandleKind, MembershipLevel, Rating, RefundStatus
from tracker.services import buyer_profiles
from tracker.services.imports import import_parsed
from tracker.services.intake import IntakeSettings
from tracker.sources.files import parse_file

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, tzinfo=SH)
SETTINGS = IntakeSettings(WorkingHours(tz=SH, periods=((time(9), time(22)),)), DeadlinePolicy())

REVIEWS_CSV = (
    "订单编号,子订单编号,买家会员名,评价结果,评价内容,评价时间,宝贝名称,宝贝ID\n"
    '="3901",="3901001",小鱼儿,差评,橙子烂了一半，太差了,2026-11-22 20:15:00,赣南脐橙 5斤装,="620001"\n'
    "3902,3902001,tb12345,好评,很甜，孩子爱吃,2026/11/22 21:00,赣南脐橙 5斤装,620001\n"
    "3903,3903001,阿狸,中评,一般般，物流慢,2026-11-22 22:00:00,烟台苹果,620002\n"
)


def run(
    session: Session,
    shop: Shop,
    kind: str,
    data: bytes,
    filename: str,
    *,
    skip: bool = False,
    mapping: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    parsed = parse_file(kind, data, filename, tz=SH, mapping=mapping)
    return import_parsed(
        session,
        shop,
        parsed,
        now=NOW,
        skip_bad_rows=skip,
        scorer=KeywordScorer(),
        settings=SETTINGS,
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_reviews_in_every_common_encoding(session: Session, shop: Shop, encoding: str) -> None:
    report = run(session, shop, "reviews", REVIEWS_CSV.encode(encoding), "评价.csv")
    assert report.written and report.problems == []
    assert (report.total_rows, report.imported_rows, report.created) == (3, 3, 3)
    assert report.intake is not None and report.intake.cases_opened == 2
    review = session.scalar(sa.select(Review).where(Review.platform_key == "3901001:buyer"))
    assert review is not None and review.rating is Rating.BAD
    assert review.posted_at == datetime(2026, 11, 22, 20, 15, tzinfo=SH)
    assert review.buyer is not None and review.buyer.platform_nick == "小鱼儿"
    assert review.product is not None and review.product.platform_item_id == "620001"
    assert count(session, Product) == 2 and count(session, Case) == 2


def test_reimporting_the_same_file_duplicates_nothing(session: Session, shop: Shop) -> None:
    run(session, shop, "reviews", REVIEWS_CSV.encode(), "a.csv")
    again = run(session, shop, "reviews", REVIEWS_CSV.encode("gbk"), "a.csv")
    assert again.intake is not None and again.intake.unchanged == 3
    assert (count(session, Review), count(session, Case)) == (3, 2)


def test_a_file_with_errors_imports_nothing_and_reports_every_bad_row(
    session: Session, shop: Shop
) -> None:
    bad = REVIEWS_CSV + (
        "3904,3904001,木木,很好,还行,2026-11-22 22:00:00,苹果,620002\n"
        "3905,3905001,,差评,差,2026-11-22 22:00:00,苹果,620002\n"
        "3906,3906001,星星,差评,差,昨天,苹果,620002\n"
    )
    report = run(session, shop, "reviews", bad.encode(), "bad.csv")
    assert not report.written and report.imported_rows == 0
    described = [p.describe() for p in report.problems]
    assert described == [
        "文件 bad.csv，第 5 行，列「评价结果」，值「很好」：应为 好评/中评/差评（或 good/neutral/bad、1-5 星）",
        "文件 bad.csv，第 6 行，列「买家会员名」，值「」：必填，不能为空",
        "文件 bad.csv，第 7 行，列「评价时间」，值「昨天」：不是有效的时间（例如 2026-11-23 14:05:00）",
    ]
    assert count(session, Review) == 0 and count(session, Buyer) == 0


def test_skip_bad_rows_imports_the_good_ones(session: Session, shop: Shop) -> None:
    bad = REVIEWS_CSV + "3904,3904001,木木,很好,还行,2026-11-22 22:00:00,苹果,620002\n"
    report = run(session, shop, "reviews", bad.encode(), "bad.csv", skip=True)
    assert report.written and report.imported_rows == 3 and report.skipped_rows == 1
    assert count(session, Review) == 3


def test_a_quote_left_open_refuses_the_file_even_when_skipping_bad_rows(
    session: Session, shop: Shop
) -> None:
    """Python's csv reads a quote never closed on to the end of the file: every row after
    it became one cell of that row, which "skip bad rows" then skipped, reporting one bad
    row and importing none of the rest without a word."""
    broken = REVIEWS_CSV.replace("很甜，孩子爱吃", '"很甜，孩子爱吃')
    report = run(session, shop, "reviews", broken.encode(), "评价.csv", skip=True)
    assert not report.written and count(session, Review) == 0
    assert [p.describe() for p in report.problems] == [
        "文件 评价.csv，第 3 行，值「很甜，孩子爱吃,2026/11/22 21:00,赣南脐橙 5斤装,620001」："
        "英文双引号没有闭合，它后面的 1 行都被读进了这一格：请在这一行补上引号"
        '（值里的引号写成两个 ""），或在 Excel 里另存为 .xlsx 再导入'
    ]
    last_line = REVIEWS_CSV + '3904,3904001,木木,差评,"太差,2026-11-22 22:00:00,苹果,620002'
    report = run(session, shop, "reviews", last_line.encode(), "评价.csv", skip=True)
    assert not report.written and "第 5 行" in report.problems[0].describe()
    assert "后面的" not in report.problems[0].describe()  # nothing after it was taken


def test_a_comma_left_unquoted_is_a_bad_row_not_a_cut_value(session: Session, shop: Shop) -> None:
    """评价内容 with an ASCII comma and no quotes is two cells: every value after it moved one
    column on, and the cut-off last one was dropped unseen. Trailing empty cells, as Excel
    writes them, and a quoted value with commas and line breaks are fine."""
    cut = REVIEWS_CSV + "3904,3904001,木木,差评,太差了,不会再买,2026-11-22 22:00:00,苹果,620002\n"
    report = run(session, shop, "reviews", cut.encode(), "评价.csv")
    assert not report.written
    assert [p.describe() for p in report.problems] == [
        "文件 评价.csv，第 5 行，值「3904,3904001,木木,差评,太差了,不会再买,2026-11-22 2…」："
        "这一行比表头多 1 列：值里没加引号的英文逗号把一列拆成了两列，后面的值都错了位。"
        "请给含逗号的值加上英文双引号，或在 Excel 里另存为 .xlsx 再导入"
    ]
    report = run(session, shop, "reviews", cut.encode(), "评价.csv", skip=True)
    assert (report.imported_rows, report.skipped_rows) == (3, 1)
    fine = REVIEWS_CSV.replace("\n", ",,\n").replace(",,\n", "\n", 1) + (
        '3905,3905001,星星,差评,"太差了,\n不会再买",2026-11-22 22:00:00,苹果,620002\n'
    )
    report = run(session, shop, "reviews", fine.encode(), "评价2.csv")
    assert report.written and report.problems == [] and report.imported_rows == 4
    kept = session.scalar(sa.select(Review.text).where(Review.platform_key == "3905001:buyer"))
    assert kept == "太差了,\n不会再买"


def test_a_review_listed_twice_refuses_the_file_even_when_skipping_bad_rows(
    session: Session, shop: Shop
) -> None:
    """Two exports merged into one file: 3901001 as a 差评, and again later as a 好评. The
    import said 已导入 4/4 行 and kept whichever row came last, so the 差评 left no case
    and no word; the file does not say which row is the review now."""
    again = "3905,3901001,小鱼儿,好评,挺好的，已经解决,2026-11-22 23:00:00,赣南脐橙 5斤装,620001\n"
    twice = REVIEWS_CSV + again + again.replace("3905,3901001", "3906,3902001")
    for skip in (False, True):
        report = run(session, shop, "reviews", twice.encode(), "合并.csv", skip=skip)
        assert not report.written and count(session, Review) == 0
        assert [p.describe() for p in report.problems] == [
            "文件 合并.csv，第 5 行，列「子订单编号」：同一条评价在文件里出现了不止一次"
            "（子订单编号相同：第 5 行与第 2 行；第 6 行与第 3 行）。哪一行是评价现在的样子，"
            "文件里看不出：请只留一行再导入（合并了几次导出的，留最新的那一行）"
        ]
    thrice = REVIEWS_CSV + again + again
    report = run(session, shop, "reviews", thrice.encode(), "合并.csv")
    assert "第 5 行与第 2 行；第 6 行与第 2 行" in report.problems[0].reason
    by_order = REVIEWS_CSV.replace("3901001", "").replace('="",', ",", 1)  # 订单编号 alone
    report = run(
        session,
        shop,
        "reviews",
        (by_order + "3901,,阿狸,中评,慢,2026-11-22 23:00,苹果,1\n").encode(),
        "x.csv",
    )
    assert "（订单编号相同：第 5 行与第 2 行）" in report.problems[0].reason
    bad_row_twice = (
        REVIEWS_CSV + "3904,3904001,木木,很好,还行,2026-11-22 22:00:00,苹果,620002\n" * 2
    )
    report = run(session, shop, "reviews", bad_row_twice.encode(), "x.csv", skip=True)
    assert report.written and report.skipped_rows == 2  # a bad row is not a review kept twice


def test_missing_column_and_unreadable_files(session: Session, shop: Shop) -> None:
    report = run(session, shop, "reviews", "买家会员名,评价内容\n甲,好\n".encode(), "x.csv")
    reasons = [p.describe() for p in report.problems]
    assert any("列「评价结果」" in r and "缺少必需的列" in r for r in reasons)
    assert any("列「评价时间」" in r for r in reasons)
    for data, name, reason in [
        (b"\xff\xfe\xfa\x00\x81", "x.csv", "无法识别文件编码"),
        (b"", "x.csv", "文件是空的"),
        (b"not a zip", "x.xlsx", "无法读取 Excel 文件"),
        (b"a,b", "x.pdf", "只支持 .csv 和 .xlsx"),
        ("评价结果,评价结果\n好评,好评\n".encode(), "x.csv", "表头重复"),
    ]:
        report = run(session, shop, "reviews", data, name)
        assert not report.written and reason in report.problems[0].describe(), name
    assert count(session, Review) == 0


def test_explicit_mapping_for_unknown_headers(session: Session, shop: Shop) -> None:
    csv = "单号,顾客,打分,留言,时间\nA1,王先生,1,太慢了,2026-11-22 10:00\n"
    mapping = {
        "单号": "tid",
        "顾客": "buyer_nick",
        "打分": "rating",
        "留言": "text",
        "时间": "posted_at",
    }
    report = run(session, shop, "reviews", csv.encode(), "jd.csv", mapping=mapping)
    assert report.written, [p.describe() for p in report.problems]
    review = session.scalars(sa.select(Review)).one()
    assert (review.platform_key, review.rating) == ("A1:buyer", Rating.BAD)
    report = run(session, shop, "reviews", csv.encode(), "jd.csv", mapping={"单号": "nonsense"})
    assert "映射的字段名未知" in report.problems[0].describe()


def test_orders_from_xlsx_group_lines_and_fill_the_archive(session: Session, shop: Shop) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "订单编号",
            "子订单编号",
            "买家会员名",
            "实付金额",
            "订单付款时间",
            "发货时间",
            "收货人姓名",
            "联系手机",
            "收货地址",
            "宝贝ID",
            "宝贝标题",
            "购买数量",
            "价格",
            "退款状态",
        ]
    )
    paid = datetime(2026, 11, 11, 0, 5)
    sheet.append(
        [
            "T1",
            "T1-1",
            "小鹿",
            99.8,
            paid,
            "2026-11-12 09:00:00",
            "张三",
            "13812345678",
            "浙江省 杭州市",
            620001,
            "赣南脐橙 5斤装",
            2,
            39.9,
            "退款成功",
        ]
    )
    sheet.append(
        [
            "T1",
            "T1-2",
            "小鹿",
            99.8,
            paid,
            None,
            "张三",
            "13812345678",
            "浙江省 杭州市",
            620009,
            "护发素",
            1,
            20.0,
            None,
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(session, shop, "orders", buffer.getvalue(), "订单.xlsx")
    assert report.written, [p.describe() for p in report.problems]
    order = session.scalars(sa.select(Order)).one()
    assert order.payment == Decimal("99.80") and order.paid_at == paid.replace(tzinfo=SH)
    assert [(ln.oid, ln.quantity, ln.refund_status) for ln in order.lines] == [
        ("T1-1", 2, RefundStatus.REFUNDED),
        ("T1-2", 1, RefundStatus.NONE),
    ]
    buyer = session.scalars(sa.select(Buyer)).one()
    assert buyer_profiles.opened(buyer) == buyer_profiles.Profile("张三", "浙江省 杭州市")
    assert (buyer.name_hint, buyer.area) == ("张*", "浙江省")
    assert "张三" not in buyer.profile_sealed
    handle = session.scalars(sa.select(ContactHandle)).one()
    assert (handle.kind, handle.hint, handle.order_id) == (HandleKind.OWN, "138****5678", order.id)
    assert count(session, Product) == 2 and count(session, OrderLine) == 2
    again = run(session, shop, "orders", buffer.getvalue(), "订单.xlsx")
    assert again.written and count(session, OrderLine) == 2 and count(session, Order) == 1
    assert count(session, ContactHandle) == 1  # the same number is kept once


def test_an_order_line_listed_twice_refuses_the_file(session: Session, shop: Shop) -> None:
    """T1-1 twice, with no 实付金额: the order's sum counted the line twice (¥79.80 for one
    ¥39.90 line). Lines without a 子订单编号 are an order's lines in turn, as before."""
    head = "订单编号,子订单编号,买家会员名,订单付款时间,宝贝标题,价格\n"
    line = "T1,T1-1,小鹿,2026-11-11 00:05,赣南脐橙 5斤装,39.90\n"
    report = run(session, shop, "orders", (head + line + line).encode(), "订单.csv", skip=True)
    assert not report.written and count(session, Order) == 0
    assert report.problems[0].describe() == (
        "文件 订单.csv，第 3 行，列「子订单编号」：同一个订单行在文件里出现了不止一次"
        "（子订单编号相同：第 3 行与第 2 行）。哪一行是对的，文件里看不出："
        "请只留一行再导入（合并了几次导出的，留最新的那一行）"
    )
    no_lines = (head + line + line).replace("T1-1", "")
    report = run(session, shop, "orders", no_lines.encode(), "订单.csv")
    assert report.written and count(session, OrderLine) == 2
    assert session.scalars(sa.select(Order.payment)).one() == Decimal("79.80")


def test_products_and_buyers(session: Session, shop: Shop) -> None:
    products = (
        "宝贝ID,商家编码,宝贝名称,类目,价格,状态,复购周期\n"
        "620001,FR-1,赣南脐橙,水果生鲜,39.9,出售中,14\n"
        "620002,CL-1,洗发水,洗护清洁,￥59.00,仓库中,\n"
    )
    report = run(session, shop, "products", products.encode("gbk"), "宝贝.csv")
    assert report.written and report.created == 2
    orange = session.scalar(sa.select(Product).where(Product.platform_item_id == "620001"))
    assert orange is not None and orange.is_consumable and orange.repurchase_days == 14
    shampoo = session.scalar(sa.select(Product).where(Product.platform_item_id == "620002"))
    assert shampoo is not None and not shampoo.is_active and shampoo.price == Decimal("59.00")
    buyers = (
        "买家会员名,姓名,手机,生日,会员等级,标签,OUID\n"
        "小鱼,李雷,13900001111,1990-05-01,金卡会员,回头客，爱吃水果,AAHk5d-ouid\n"
    )
    report = run(session, shop, "buyers", buyers.encode(), "会员.csv")
    assert report.written
    buyer = session.scalars(sa.select(Buyer)).one()
    assert buyer.membership_level is MembershipLevel.GOLD and buyer.tags == ["回头客", "爱吃水果"]
    assert buyer.platform_buyer_id == "AAHk5d-ouid"  # what Taobao's member API names them by
    bad = "买家会员名,生日,会员等级\n小鱼,五月,黑卡\n"
    report = run(session, shop, "buyers", bad.encode(), "会员.csv")
    assert [p.column for p in report.problems] == ["生日", "会员等级"]


def test_orders_bring_virtual_numbers_with_their_expiry_and_the_oaid(
    session: Session, shop: Shop
) -> None:
    orders = (
        "订单编号,买家会员名,订单付款时间,宝贝标题,价格,联系手机,虚拟号码过期时间,OAID\n"
        "T9,小鹿,2026-11-20 10:00:00,赣南脐橙,39.9,18400913965-7576,2026-12-05 10:00:00,OAID-T9\n"
    )
    report = run(session, shop, "orders", orders.encode(), "订单.csv")
    assert report.written, [p.describe() for p in report.problems]
    handle = session.scalars(sa.select(ContactHandle)).one()
    assert (handle.kind, handle.hint) == (HandleKind.VIRTUAL, "184****3965 转 7576")
    assert handle.expires_at == datetime(2026, 12, 5, 10, 0, tzinfo=SH)
    assert session.scalars(sa.select(Order.oaid)).one() == "OAID-T9"
    masked = orders.replace("18400913965-7576", "184****3965").replace("T9,", "T10,")
    refused = run(session, shop, "orders", masked.encode(), "订单.csv")
    assert not refused.written
    assert [(p.row, p.column) for p in refused.problems] == [(2, "联系手机")]
    assert "打码" in refused.problems[0].reason


@pytest.mark.parametrize(
    "header",
    [
        # 抖店 评价导出
        "订单号,商品id,商品名称,用户昵称,商品评分,评价内容,评价时间,商家回复",
        # 拼多多 评价导出
        "订单号,商品id,商品名称,买家昵称,描述相符,评价内容,评价时间,商家回复",
    ],
    ids=["douyin", "pinduoduo"],
)
def test_douyin_and_pinduoduo_exports_are_read_by_their_own_headers(
    session: Session,
    make_shop,
    header: str,  # type: ignore[no-untyped-def]
) -> None:
    """No review API for these platforms: their backend exports (star ratings) come in."""
    from tracker.models.enums import Platform

    shop = make_shop(platform=Platform.DOUYIN if "用户昵称" in header else Platform.PINDUODUO)
    rows = (
        "6921001,3501,纯棉T恤,抖音用户A,1,洗了一次就缩水，太差了,2026-11-22 20:15:00,\n"
        "6921002,3501,纯棉T恤,抖音用户B,5,很舒服,2026-11-22 21:00:00,感谢支持\n"
        "6921003,3501,纯棉T恤,抖音用户C,3星,一般,2026-11-22 22:00:00,\n"
    )
    report = run(session, shop, "reviews", f"{header}\n{rows}".encode(), "评价导出.csv")
    assert report.written and report.problems == [], [p.describe() for p in report.problems]
    ratings = {
        key: rating
        for key, rating in session.execute(sa.select(Review.platform_key, Review.rating))
    }
    assert ratings == {
        "6921001:buyer": Rating.BAD,
        "6921002:buyer": Rating.GOOD,
        "6921003:buyer": Rating.NEUTRAL,
    }
    assert count(session, Case) == 2
    reply = session.scalar(
        sa.select(Review.explanation).where(Review.platform_key == "6921002:buyer")
    )
    assert reply == "感谢支持"


def test_review_rows_dated_in_the_future_or_out_of_range_are_bad_rows() -> None:
    data = (
        "订单编号,子订单编号,买家会员名,评价结果,评价内容,评价时间\n"
        "1,11,甲,差评,太差了,2099-01-01 10:00:00\n"
        "2,22,乙,差评,太差了,9999-12-31 23:59:59\n"
        "3,33,丙,差评,太差了,2026-11-22 10:00:00\n"
    ).encode()
    parsed = parse_file("reviews", data, "评价.csv", tz=SH, now=NOW)
    reasons = {p.row: p.reason for p in parsed.problems}
    assert reasons[2] == "时间在未来" and "超出范围" in reasons[3] and 4 not in reasons
    assert [number for number, _ in parsed.rows] == [4]
