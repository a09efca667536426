"""Reading shop export files (CSV or XLSX) into typed rows, reporting every bad cell.

Shops export from 千牛/京麦 and Excel: UTF-8, UTF-8 with BOM, or GBK/GB18030; headers in
Chinese; long numbers guarded as ``="3900..."``; dates in several formats.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from tracker.clock import EARLIEST, FUTURE_SLACK, LATEST, within_calendar
from tracker.domain.phone_numbers import NumberError, PhoneNumber, parse_number
from tracker.domain.plain_text import clean_text
from tracker.models.enums import MembershipLevel, Rating, RefundStatus
from tracker.sources.records import ReviewRecord

MAX_ROWS = 1_000_000  # a big shop's yearly order export; more should be split


@dataclass(frozen=True)
class FileProblem:
    file: str
    row: int | None  # 1-based, the header being row 1 (as a spreadsheet shows it)
    column: str | None
    value: str | None
    reason: str

    def describe(self) -> str:
        where = [f"文件 {self.file}"]
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"列「{self.column}」")
        if self.value is not None:
            shown = self.value if len(self.value) <= 40 else self.value[:40] + "…"
            where.append(f"值「{shown}」")
        return "，".join(where) + f"：{self.reason}"


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, format, header)."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(problem.describe())
        self.problem = problem


# -- reading -----------------------------------------------------------------------------
_EXCEL_GUARD = re.compile(r'^="(.*)"$', re.S)


def clean_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = clean_text(value).strip().strip("\t")
        guarded = _EXCEL_GUARD.match(value)
        if guarded:
            value = guarded.group(1)
        return value.strip()
    return value


Source = bytes | Path  # a file's content, or the file on disk (read as it goes)


class Cells(dict[str, Any]):
    """One row's values by column name, and what is wrong with the row as a whole: a CSV
    line with more cells than the header has columns was cut by a comma left unquoted, so
    its values sit under the wrong columns and the last ones would be dropped unseen."""

    problem: FileProblem | None = None


# An XLSX is a zip: what it unpacks to, not its size, is what parsing costs. A shop's
# yearly export unpacks to tens of megabytes; a "zip bomb" of a few MB to gigabytes.
MAX_XLSX_UNPACKED = 300 * 1024 * 1024


def open_table(
    source: Source, filename: str
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """Header, and the rows (with their spreadsheet row numbers) as they are read: a file
    on disk is never held whole in memory."""
    is_csv = filename.lower().endswith((".csv", ".txt", ".tsv"))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raw_rows = _xlsx_rows(source, filename)
    elif is_csv:
        raw_rows = _csv_rows(source, filename)
    else:
        raise FileError(FileProblem(filename, None, None, None, "只支持 .csv 和 .xlsx 文件"))
    try:
        header_cells = next(raw_rows)
    except StopIteration:
        raise FileError(FileProblem(filename, None, None, None, "文件是空的")) from None
    header = [str(clean_cell(h) or "") for h in header_cells]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise FileError(FileProblem(filename, 1, name, None, "表头重复"))
        seen.add(name)
    if not any(header):
        raise FileError(FileProblem(filename, 1, None, None, "第一行应为表头"))

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        count = 0
        for number, cells in enumerate(raw_rows, start=2):
            values = [clean_cell(c) for c in cells]
            if all(v in (None, "") for v in values):
                continue
            count += 1
            if count > MAX_ROWS:
                raise FileError(
                    FileProblem(filename, number, None, None, f"超过 {MAX_ROWS} 行，请拆分文件")
                )
            row = Cells(
                (h, values[i] if i < len(values) else None) for i, h in enumerate(header) if h
            )
            filled = [i for i, v in enumerate(values) if v not in (None, "")]
            extra = filled[-1] + 1 - len(header) if filled else 0  # (trailing empties: none)
            if is_csv and extra > 0:  # (a spreadsheet's note beside the table is no such cut)
                row.problem = FileProblem(
                    filename,
                    number,
                    None,
                    ",".join("" if v is None else str(v) for v in values),
                    f"这一行比表头多 {extra} 列：值里没加引号的英文逗号"
                    "把一列拆成了两列，后面的值都错了位。请给含逗号的值加上英文双引号，"
                    "或在 Excel 里另存为 .xlsx 再导入",
                )
            yield number, row

    return header, rows()


def read_table(source: Source, filename: str) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Header and every row of a CSV or XLSX file, read whole (small files)."""
    header, rows = open_table(source, filename)
    return header, list(rows)


def read_text_table(path: Path) -> tuple[list[str], list[tuple[int, Cells]]]:
    """Like :func:`read_table` for a file on disk, all values as text (each row's
    ``problem`` kept)."""
    header, rows = read_table(path, path.name)
    return header, [(n, _as_text(row)) for n, row in rows]


def _as_text(row: dict[str, Any]) -> Cells:
    text = Cells((k, "" if v is None else str(v)) for k, v in row.items())
    text.problem = row.problem if isinstance(row, Cells) else None
    return text


def _encoding(source: Source, filename: str) -> str:
    """UTF-8 (with or without a BOM) or GB18030, found by decoding the whole file in
    pieces: a file that is UTF-8 for its first megabyte may not be for its last."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with _binary(source) as stream:
                while chunk := stream.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileError(
        FileProblem(
            filename,
            None,
            None,
            None,
            "无法识别文件编码（支持 UTF-8、带 BOM 的 UTF-8、GBK/GB18030）",
        )
    )


def _binary(source: Source) -> BinaryIO:
    return open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)


# A last line after the file's own: read as a row of its own when every quote was closed,
# or into the last cell when one was not, where Python's csv reads on to the end of the
# file without a word (every row after it one cell: "skip bad rows" would lose them all).
_END_OF_FILE = "\ue000end of file\ue000"


def _csv_rows(source: Source, filename: str) -> Iterator[list[str]]:
    encoding = _encoding(source, filename)
    with io.TextIOWrapper(_binary(source), encoding=encoding, newline="") as text:
        sample = text.read(4096)
        text.seek(0)
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        lines = itertools.chain(text, [_END_OF_FILE])  # (each item ends a line)
        try:
            for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
                if cells and _END_OF_FILE in cells[-1]:
                    if cells != [_END_OF_FILE]:
                        raise FileError(_unclosed_quote(filename, number, cells))
                    return
                yield cells
        except csv.Error as exc:
            raise FileError(
                FileProblem(filename, None, None, None, f"CSV 格式错误：{exc}")
            ) from exc


def _unclosed_quote(filename: str, number: int, cells: list[str]) -> FileProblem:
    """Where a quote was opened and never closed, and how much of the file it took."""
    swallowed = cells[-1].split(_END_OF_FILE)[0].rstrip("\r\n")  # the file's own last one
    first, *lines = swallowed.splitlines() or [""]
    after = f"，它后面的 {len(lines)} 行都被读进了这一格" if lines else ""
    return FileProblem(
        filename,
        number,
        None,
        first,
        f'英文双引号没有闭合{after}：请在这一行补上引号（值里的引号写成两个 ""），'
        "或在 Excel 里另存为 .xlsx 再导入",
    )


def _xlsx_rows(source: Source, filename: str) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # only import paths need it

    try:
        with _binary(source) as stream, zipfile.ZipFile(stream) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile:
        unpacked = 0  # not a zip: openpyxl says what is wrong below
    if unpacked > MAX_XLSX_UNPACKED:
        raise FileError(
            FileProblem(
                filename,
                None,
                None,
                None,
                f"Excel 文件解压后 {unpacked // 2**20} MB，超过 {MAX_XLSX_UNPACKED // 2**20} MB"
                "：请另存为 CSV 或拆分",
            )
        )
    with _binary(source) as stream:
        try:
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise FileError(
                FileProblem(
                    filename, None, None, None, f"无法读取 Excel 文件（{type(exc).__name__}）"
                )
            ) from exc
        try:
            sheet = workbook.worksheets[0]
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        finally:
            workbook.close()


# -- values --------------------------------------------------------------------------------
class CellError(ValueError):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns ids into floats
    return str(value).strip()


DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d")


def parse_datetime(value: Any, tz: ZoneInfo) -> datetime:
    """Shop exports carry local (Beijing) times without a zone; years outside the
    tracker's calendar (tracker.clock) are refused."""
    moment = _parse_datetime(value, tz)
    if not within_calendar(moment.date()):
        raise CellError(f"时间超出范围（应在 {EARLIEST.year}–{LATEST.year} 年之间）")
    return moment


def _parse_datetime(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError:
        pass
    for fmt in DATETIME_FORMATS + DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise CellError("不是有效的时间（例如 2026-11-23 14:05:00）")


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError("不是有效的日期（例如 1990-05-01）")


def parse_money(value: Any) -> Decimal:
    text = _text(value).replace("¥", "").replace("￥", "").replace(",", "").replace("元", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise CellError("不是有效的金额") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise CellError("金额应为 0 到 9999999999.99 之间的数")
    return amount.quantize(Decimal("0.01"))


def parse_int(value: Any, *, low: int = 0, high: int = 10**9) -> int:
    text = _text(value)
    if not re.fullmatch(r"-?\d+", text):
        raise CellError("应为整数")
    number = int(text)
    if not low <= number <= high:
        raise CellError(f"应在 {low} 到 {high} 之间")
    return number


RATINGS = {
    "好评": Rating.GOOD,
    "good": Rating.GOOD,
    "好": Rating.GOOD,
    "5": Rating.GOOD,
    "4": Rating.GOOD,
    "中评": Rating.NEUTRAL,
    "neutral": Rating.NEUTRAL,
    "中": Rating.NEUTRAL,
    "3": Rating.NEUTRAL,
    "2": Rating.NEUTRAL,
    "差评": Rating.BAD,
    "bad": Rating.BAD,
    "差": Rating.BAD,
    "1": Rating.BAD,
}


def parse_rating(value: Any) -> Rating:
    text = _text(value).lower().replace("星", "")
    if text in RATINGS:
        return RATINGS[text]
    raise CellError("应为 好评/中评/差评（或 good/neutral/bad、1-5 星）")


TRUE_WORDS = {"是", "true", "1", "yes", "y", "出售中", "在售", "上架", "已删除", "删除"}
FALSE_WORDS = {"否", "false", "0", "no", "n", "仓库中", "下架", "已下架", "", "未删除"}


def parse_bool(value: Any) -> bool:
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError("应为 是/否")


# The buyer's open id on Taobao (nicks are masked): what its member API names a buyer by.
OUID = ("OUID", "买家OUID", "buyer_open_uid", "ouid")

MEMBERSHIP = {
    "普通会员": MembershipLevel.NONE,
    "普通": MembershipLevel.NONE,
    "": MembershipLevel.NONE,
    "银卡会员": MembershipLevel.SILVER,
    "银卡": MembershipLevel.SILVER,
    "金卡会员": MembershipLevel.GOLD,
    "金卡": MembershipLevel.GOLD,
    "钻石会员": MembershipLevel.DIAMOND,
    "钻石": MembershipLevel.DIAMOND,
}


def parse_membership(value: Any) -> MembershipLevel:
    text = _text(value)
    if text in MEMBERSHIP:
        return MEMBERSHIP[text]
    try:
        return MembershipLevel(text)
    except ValueError:
        raise CellError("应为 普通会员/银卡会员/金卡会员/钻石会员") from None


REFUNDS = {
    "": RefundStatus.NONE,
    "无": RefundStatus.NONE,
    "没有申请退款": RefundStatus.NONE,
    "退款中": RefundStatus.REQUESTED,
    "买家已经申请退款，等待卖家同意": RefundStatus.REQUESTED,
    "退款成功": RefundStatus.REFUNDED,
    "已退款": RefundStatus.REFUNDED,
    "退款关闭": RefundStatus.CLOSED,
}


def parse_refund(value: Any) -> RefundStatus:
    text = _text(value)
    if text in REFUNDS:
        return REFUNDS[text]
    try:
        return RefundStatus(text)
    except ValueError:
        raise CellError("应为 无/退款中/退款成功/退款关闭") from None


def parse_phone(value: Any) -> PhoneNumber:
    """A mobile, a landline with area code, or a platform virtual number with its extension
    (``18400913965-7576``)."""
    try:
        return parse_number(_text(value))
    except NumberError as exc:
        raise CellError(str(exc)) from None


PHONE_EXPIRY = (
    "号码有效期",
    "虚拟号有效期",
    "虚拟号码过期时间",
    "隐私号过期时间",
    "secret_no_expire_time",
)


# -- fields per kind -------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    parse: Callable[[Any, ZoneInfo], Any]
    required: bool = False
    max_length: int | None = None


def _t(limit: int) -> Callable[[Any, ZoneInfo], str]:
    def parse(value: Any, _tz: ZoneInfo) -> str:
        text = _text(value)
        if len(text) > limit:
            raise CellError(f"超过 {limit} 个字符")
        return text

    return parse


def _plain(fn: Callable[[Any], Any]) -> Callable[[Any, ZoneInfo], Any]:
    return lambda value, _tz: fn(value)


TEXT = _t(5000)
ID = _t(64)
NAME = _t(200)
WHEN = parse_datetime

FIELDS: dict[str, tuple[Field, ...]] = {
    "reviews": (
        Field("oid", ("子订单编号", "子订单号", "订单行编号", "oid"), ID),
        Field("tid", ("订单编号", "订单号", "主订单编号", "tid"), ID),
        # Douyin 抖店 and Pinduoduo have no review API we could confirm: their backend
        # exports come in here, so their column names are aliases too (用户昵称, 商品评分…).
        Field(
            "buyer_nick",
            ("买家会员名", "买家昵称", "会员名", "评价人", "买家", "用户昵称", "用户名", "nick"),
            ID,
            True,
        ),
        Field(
            "rating",
            ("评价结果", "评价等级", "评价", "评分", "商品评分", "评价星级", "描述相符", "result"),
            _plain(parse_rating),
            True,
        ),
        Field("text", ("评价内容", "初评内容", "评论内容", "content"), TEXT),
        Field("posted_at", ("评价时间", "初评时间", "评论时间", "created"), WHEN, True),
        Field("item_title", ("宝贝名称", "商品名称", "宝贝标题", "item_title"), NAME),
        Field("item_id", ("宝贝ID", "商品ID", "宝贝id", "商品id", "num_iid"), ID),
        Field("item_price", ("宝贝价格", "商品价格", "item_price"), _plain(parse_money)),
        Field("reply", ("解释内容", "商家解释", "回复内容", "商家回复", "reply"), TEXT),
        Field("follow_up_text", ("追评内容", "追加评论", "追评"), TEXT),
        Field("follow_up_at", ("追评时间",), WHEN),
        Field("is_deleted", ("是否删除", "已删除", "deleted"), _plain(parse_bool)),
    ),
    "orders": (
        Field("tid", ("订单编号", "订单号", "主订单编号", "tid"), ID, True),
        Field("oid", ("子订单编号", "子订单号", "oid"), ID),
        Field("buyer_nick", ("买家会员名", "买家昵称", "会员名", "nick"), ID, True),
        Field(
            "payment", ("实付金额", "买家实际支付金额", "实收款", "payment"), _plain(parse_money)
        ),
        Field("paid_at", ("订单付款时间", "付款时间", "pay_time"), WHEN, True),
        Field("shipped_at", ("发货时间", "consign_time"), WHEN),
        Field("received_at", ("确认收货时间", "交易成功时间", "end_time"), WHEN),
        Field("receiver_name", ("收货人姓名", "收货人"), _t(64)),
        Field("phone", ("联系手机", "手机", "收货人手机", "手机号"), _plain(parse_phone)),
        Field("phone_expires_at", PHONE_EXPIRY, WHEN),
        Field("oaid", ("OAID", "oaid", "收件人ID"), _t(128)),
        Field("ouid", OUID, _t(64)),
        Field("region", ("收货地址", "所在地区", "地区"), _t(100)),
        Field("item_id", ("宝贝ID", "商品ID", "num_iid"), ID),
        Field("item_title", ("宝贝标题", "宝贝名称", "商品名称", "title"), NAME, True),
        Field(
            "quantity",
            ("购买数量", "宝贝数量", "数量", "num"),
            _plain(lambda v: parse_int(v, low=1, high=100000)),
        ),
        Field("unit_price", ("价格", "单价", "商品价格", "price"), _plain(parse_money), True),
        Field("refund_status", ("退款状态", "refund_status"), _plain(parse_refund)),
    ),
    "products": (
        Field("item_id", ("宝贝ID", "商品ID", "num_iid"), ID, True),
        Field("sku", ("商家编码", "货号", "outer_id"), ID),
        Field("title", ("宝贝名称", "商品名称", "宝贝标题", "title"), NAME, True),
        Field("category", ("类目", "商品类目", "分类", "category"), _t(50)),
        Field("price", ("价格", "一口价", "售价", "price"), _plain(parse_money), True),
        Field("launched_at", ("上架时间", "发布时间", "list_time"), WHEN),
        Field("is_active", ("状态", "是否在售", "is_active"), _plain(parse_bool)),
        Field(
            "repurchase_days",
            ("复购周期", "复购天数", "repurchase_days"),
            _plain(lambda v: parse_int(v, low=1, high=3650)),
        ),
    ),
    "buyers": (
        Field("buyer_nick", ("买家会员名", "买家昵称", "会员名", "nick"), ID, True),
        Field("name", ("姓名", "收货人姓名", "买家姓名", "name"), _t(64)),
        Field("phone", ("手机", "手机号", "联系手机", "phone"), _plain(parse_phone)),
        Field("phone_expires_at", PHONE_EXPIRY, WHEN),
        Field("region", ("地区", "所在地区", "收货地址", "region"), _t(100)),
        Field("birthday", ("生日", "出生日期", "birthday"), _plain(parse_date)),
        Field("membership", ("会员等级", "会员级别", "membership"), _plain(parse_membership)),
        Field("ouid", OUID, _t(64)),
        Field("tags", ("标签", "客户标签", "tags"), _t(500)),
    ),
}
KINDS = tuple(FIELDS)


@dataclass
class ParsedFile:
    kind: str
    filename: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    total_rows: int = 0


def parse_mapping(pairs: Mapping[str, str] | list[str]) -> dict[str, str]:
    """``["列名=field", ...]`` (or a dict) -> {column header: field name}."""
    if isinstance(pairs, Mapping):
        return dict(pairs)
    mapping = {}
    for pair in pairs:
        header, sep, name = pair.partition("=")
        if not sep or not header.strip() or not name.strip():
            raise ValueError(f"映射 {pair!r} 应写成 列名=字段名")
        mapping[header.strip()] = name.strip()
    return mapping


@dataclass
class ParsedRow:
    number: int  # as a spreadsheet shows it, the header being row 1
    values: dict[str, Any]
    problems: list[FileProblem]


def open_parsed(
    kind: str,
    source: Source,
    filename: str,
    *,
    tz: ZoneInfo,
    mapping: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> tuple[list[FileProblem], Iterator[ParsedRow]]:
    """The file-level problems (then there are no rows), or the typed rows as they are read,
    each with its own problems. A :class:`FileError` may still come from the rows (a broken
    CSV line, too many rows): the file as a whole is then refused. With ``now``, a review
    dated after it (beyond the clocks' drift) is a bad row."""
    if kind not in FIELDS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    fields = FIELDS[kind]
    problems: list[FileProblem] = []
    try:
        header, rows = open_table(source, filename)
    except FileError as exc:
        return [FileProblem(filename, *_rest(exc.problem))], iter(())
    column_for = _columns(fields, header, mapping or {}, filename, problems)
    if problems:
        return problems, iter(())

    def parsed() -> Iterator[ParsedRow]:
        hashes = array("q")  # each good row's key, 8 bytes (8 MB for a million rows)
        for number, raw in rows:
            row = _parse_row(kind, fields, column_for, filename, number, raw, tz=tz, now=now)
            if (key := _row_key(kind, row)) is not None:
                hashes.append(_hash(key[0]))
            yield row
        if (repeated := _repeated_hashes(hashes)) and (pairs := where(repeated)):
            raise FileError(_repeated(kind, filename, column_for, pairs))

    def where(repeated: set[int]) -> list[tuple[int, int, bool]]:
        """(first row, later row, keyed by 子订单编号) of each repeated key, in the file's
        order: the file read once more, only when it holds any (it is refused then)."""
        first: dict[int, int] = {}
        pairs = []
        for number, raw in open_table(source, filename)[1]:
            row = _parse_row(kind, fields, column_for, filename, number, raw, tz=tz, now=now)
            key = _row_key(kind, row)
            if key is not None and (digest := _hash(key[0])) in repeated:
                earlier = first.setdefault(digest, number)
                if earlier != number:
                    pairs.append((earlier, number, key[1]))
        return pairs

    return [], parsed()


# A review the file lists twice, or an order line: which of the two rows is right, the
# first or the last, the file does not say, and writing both kept whichever came last (a
# 差评 followed by its 好评 left no case, nor a word; an order line twice doubled the
# order's sum). Each good row's key is kept as 8 bytes of its hash while the file is read.


def _row_key(kind: str, row: ParsedRow) -> tuple[str, bool] | None:
    """A good row's key, and whether it is a 子订单编号: a review's platform key, the one
    the import stores it under; an order line's (lines without one are told apart by
    their place)."""
    if row.problems:
        return None
    oid = row.values.get("oid")
    if kind == "reviews":
        return ReviewRecord.key_for(oid or row.values["tid"]), bool(oid)
    if kind == "orders" and oid:
        return oid, True
    return None


def _hash(key: str) -> int:
    """8 bytes of the key's BLAKE2b as a signed number, what ``array("q")`` holds."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _repeated_hashes(hashes: array[int]) -> set[int]:
    """The hashes seen more than once, found by sorting them in place (no copy)."""
    import numpy as np  # the import's scorer has it loaded already

    ranked = np.frombuffer(hashes, dtype=np.int64)
    ranked.sort()
    return {int(h) for h in ranked[1:][ranked[1:] == ranked[:-1]].tolist()}


def _repeated(
    kind: str, filename: str, column_for: Mapping[str, str], pairs: list[tuple[int, int, bool]]
) -> FileProblem:
    column = column_for["oid" if pairs[0][2] else "tid"]
    what, right = (
        ("同一条评价", "评价现在的样子") if kind == "reviews" else ("同一个订单行", "对的")
    )
    shown = "；".join(f"第 {later} 行与第 {first} 行" for first, later, _ in pairs[:5])
    more = f" 等 {len(pairs)} 处" if len(pairs) > 5 else ""
    return FileProblem(
        filename,
        pairs[0][1],
        column,
        None,
        f"{what}在文件里出现了不止一次（{column}相同：{shown}{more}）。哪一行是{right}，"
        "文件里看不出：请只留一行再导入（合并了几次导出的，留最新的那一行）",
    )


def _parse_row(
    kind: str,
    fields: tuple[Field, ...],
    column_for: dict[str, str],
    filename: str,
    number: int,
    raw: dict[str, Any],
    *,
    tz: ZoneInfo,
    now: datetime | None,
) -> ParsedRow:
    row = ParsedRow(number, {}, [])
    if isinstance(raw, Cells) and raw.problem is not None:
        row.problems.append(raw.problem)  # its values sit under the wrong columns
        return row
    for spec in fields:
        column = column_for.get(spec.name)
        value = raw.get(column) if column else None
        if value is None or (isinstance(value, str) and value == ""):
            if spec.required:
                row.problems.append(
                    FileProblem(filename, number, column or spec.name, "", "必填，不能为空")
                )
            continue
        try:
            row.values[spec.name] = spec.parse(value, tz)
        except CellError as exc:
            row.problems.append(FileProblem(filename, number, column, _text(value), str(exc)))
    if kind == "reviews" and not (row.values.get("oid") or row.values.get("tid")):
        row.problems.append(
            FileProblem(filename, number, "子订单编号", "", "子订单编号和订单编号至少要有一个")
        )
    if kind == "reviews" and now is not None:
        for name, column in (("posted_at", "评价时间"), ("follow_up_at", "追评时间")):
            moment = row.values.get(name)
            if moment is not None and moment > now + FUTURE_SLACK:
                row.problems.append(
                    FileProblem(filename, number, column, str(moment), "时间在未来")
                )
    return row


def parse_file(
    kind: str,
    data: Source,
    filename: str,
    *,
    tz: ZoneInfo,
    mapping: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ParsedFile:
    """Typed rows and every problem found, read whole (small files and tests; big uploads
    stream through :func:`open_parsed`); a file-level problem leaves no rows."""
    parsed = ParsedFile(kind, filename)
    file_problems, rows = open_parsed(kind, data, filename, tz=tz, mapping=mapping, now=now)
    parsed.problems.extend(file_problems)
    try:
        for row in rows:
            parsed.total_rows += 1
            parsed.problems.extend(row.problems)
            if not row.problems:
                parsed.rows.append((row.number, row.values))
    except FileError as exc:
        parsed.rows.clear()
        parsed.problems.append(FileProblem(filename, *_rest(exc.problem)))
    return parsed


def _rest(problem: FileProblem) -> tuple[int | None, str | None, str | None, str]:
    return problem.row, problem.column, problem.value, problem.reason


def _columns(
    fields: tuple[Field, ...],
    header: list[str],
    mapping: Mapping[str, str],
    filename: str,
    problems: list[FileProblem],
) -> dict[str, str]:
    names = {f.name for f in fields}
    column_for: dict[str, str] = {}
    for column, name in mapping.items():
        if name not in names:
            problems.append(
                FileProblem(
                    filename,
                    None,
                    column,
                    name,
                    f"映射的字段名未知，可用：{', '.join(sorted(names))}",
                )
            )
        elif column not in header:
            problems.append(FileProblem(filename, 1, column, None, "映射的列在表头中不存在"))
        else:
            column_for[name] = column
    for spec in fields:
        if spec.name in column_for:
            continue
        for alias in (spec.name, *spec.aliases):
            if alias in header:
                column_for[spec.name] = alias
                break
        else:
            if spec.required:
                problems.append(
                    FileProblem(
                        filename,
                        1,
                        spec.aliases[0],
                        None,
                        f"缺少必需的列（可用列名：{'、'.join(spec.aliases)}；或用映射指定）",
                    )
                )
    return column_for
