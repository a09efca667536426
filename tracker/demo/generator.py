"""A seeded, deterministic generator of a realistic demo shop, as plain records.

Same ``seed``, ``scale`` and ``end`` -> the same shop, row for row. Nothing here touches
the database; :mod:`tracker.demo.loader` writes the records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from tracker.demo import review_texts as texts
from tracker.demo.catalog_data import BOUGHT_TOGETHER, CATEGORIES, TITLE_PREFIXES, Category, Family
from tracker.models.enums import MembershipLevel, Rating, RefundStatus, RevisionKind

SHOP_TZ = ZoneInfo("Asia/Shanghai")
BASE_BUYERS = 5000
BASE_ORDERS = 40000
DAYS = 365
CENT = Decimal("0.01")

# Spring Festival (春节) dates: the year's dip in orders, with a 年货节 rush before it.
SPRING_FESTIVAL = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
}
# Share of orders per hour of day, Beijing time (lunch and evening peaks).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 9, 8, 8, 8, 7, 7, 8, 10, 12, 13, 12, 8)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓"
    "曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "晓燕",
    "欣怡",
    "子涵",
    "梓萱",
    "浩然",
    "雨桐",
    "思远",
    "佳怡",
    "宇轩",
    "诗涵",
    "一诺",
    "俊杰",
    "婷婷",
    "文博",
)
NICK_WORDS = (
    "小鱼",
    "橘子",
    "阿狸",
    "木木",
    "糖糖",
    "大白",
    "喵喵",
    "阳光",
    "微风",
    "星星",
    "豆豆",
    "果果",
    "小鹿",
    "安安",
    "晴天",
    "柠檬",
    "布丁",
    "团子",
    "饺子",
    "芒果",
    "可乐",
    "小熊",
)
PINYIN = (
    "lily",
    "tony",
    "wang",
    "zhang",
    "chen",
    "liu",
    "amy",
    "jack",
    "xiaoyu",
    "coco",
    "momo",
    "sunny",
    "leo",
    "kiki",
    "yoyo",
    "nana",
    "jojo",
    "eric",
    "kevin",
    "vivi",
)
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
REGIONS = (
    "北京市 朝阳区",
    "北京市 海淀区",
    "上海市 浦东新区",
    "上海市 闵行区",
    "广东省 广州市",
    "广东省 深圳市",
    "广东省 东莞市",
    "浙江省 杭州市",
    "浙江省 宁波市",
    "江苏省 南京市",
    "江苏省 苏州市",
    "四川省 成都市",
    "湖北省 武汉市",
    "湖南省 长沙市",
    "福建省 厦门市",
    "福建省 福州市",
    "山东省 济南市",
    "山东省 青岛市",
    "河南省 郑州市",
    "陕西省 西安市",
    "重庆市 渝北区",
    "天津市 南开区",
    "辽宁省 沈阳市",
    "安徽省 合肥市",
    "江西省 南昌市",
    "云南省 昆明市",
    "广西 南宁市",
    "河北省 石家庄市",
    "黑龙江省 哈尔滨市",
    "新疆 乌鲁木齐市",
)
EXPLANATIONS = (
    "亲，非常抱歉给您带来不好的购物体验，客服已经联系您为您处理，感谢您的反馈，我们会继续改进。",
    "您好，关于您反馈的问题我们非常重视，已安排补发/退款，如有任何问题请随时联系客服，祝您生活愉快。",
    "感谢您的评价，物流延误是因为大促期间快递爆仓，我们已与快递公司沟通改进，给您添麻烦了。",
)
LOGISTICS_EXPLANATION = 2  # answers a complaint about the delivery, and nothing else


def explanation_for(reasons: tuple[str, ...], drawn: int) -> str:
    """The shop's 解释 drawn for a complaint, one that answers it: the delivery's excuse
    under 茶叶有陈味 read as pasted. (``drawn`` is drawn as before, so the demo's random
    stream, and every other figure of it, stays as it was.)"""
    if drawn == LOGISTICS_EXPLANATION and "logistics" not in reasons:
        drawn = 0
    return EXPLANATIONS[drawn]


@dataclass(frozen=True)
class DemoProduct:
    item_id: str
    sku: str
    title: str
    category: str
    price: Decimal
    launched_at: datetime
    is_active: bool
    repurchase_days: int | None

    @property
    def is_consumable(self) -> bool:
        return self.repurchase_days is not None


@dataclass
class DemoBuyer:
    nick: str
    name: str
    phone: str
    region: str
    birthday: date | None
    created_at: datetime
    tags: list[str] = field(default_factory=list)
    membership: MembershipLevel = MembershipLevel.NONE


@dataclass(frozen=True)
class DemoLine:
    oid: str
    product: int  # index into DemoShop.products
    quantity: int
    unit_price: Decimal
    refund_status: RefundStatus


@dataclass(frozen=True)
class DemoOrder:
    tid: str
    buyer: int  # index into DemoShop.buyers
    paid_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None
    lines: tuple[DemoLine, ...]

    @property
    def payment(self) -> Decimal:
        return sum((ln.unit_price * ln.quantity for ln in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class DemoRevision:
    kind: RevisionKind
    rating: Rating  # the earlier rating and text
    text: str
    posted_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class DemoReview:
    order: int  # index into DemoShop.orders
    line: int  # index into that order's lines
    rating: Rating
    text: str
    posted_at: datetime
    first_posted_at: datetime
    is_system_default: bool
    is_deleted: bool
    is_hidden_negative: bool
    reasons: tuple[str, ...]
    explanation: str | None
    explained_at: datetime | None
    revisions: tuple[DemoRevision, ...]
    follow_up_text: str | None = None  # 追评: the platform keeps it apart from the review
    follow_up_at: datetime | None = None


@dataclass(frozen=True)
class DemoShop:
    end: date
    products: tuple[DemoProduct, ...]
    buyers: tuple[DemoBuyer, ...]
    orders: tuple[DemoOrder, ...]
    reviews: tuple[DemoReview, ...]


def generate(*, seed: int = 2026, scale: float = 1.0, end: date) -> DemoShop:
    """A year of trading that ends the day before ``end`` (Beijing time)."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    return _Generator(random.Random(seed), scale, end).run()


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def as_of(end: date) -> datetime:
    """The moment a shop generated up to ``end`` stands at: that day's first moment, Beijing
    time (in UTC). Work simulated on it from this moment is the same whatever day it runs."""
    return _at(end, 0)


def _at(day: date, seconds: float) -> datetime:
    """A Beijing-time moment ``seconds`` after the start of ``day``, in UTC."""
    local = datetime.combine(day, time(), tzinfo=SHOP_TZ) + timedelta(seconds=seconds)
    return local.astimezone(UTC)


def _day_weight(day: date) -> float:
    weight = 1.15 if day.weekday() >= 5 else 1.0
    if day.month == 11 and 1 <= day.day <= 10:
        weight *= 1.8
    elif day.month == 11 and day.day == 11:
        weight *= 9.0  # 双11
    elif (day.month == 11 and 12 <= day.day <= 14) or (day.month == 6 and day.day < 18):
        weight *= 1.4
    elif day.month == 6 and day.day == 18:
        weight *= 4.0  # 618
    elif day.month == 12 and day.day == 12:
        weight *= 3.0  # 双12
    festival = SPRING_FESTIVAL.get(day.year, date(day.year, 2, 1))
    offset = (day - festival).days
    if -21 <= offset < -3:
        weight *= 1.4  # 年货节
    elif -3 <= offset <= 6:
        weight *= 0.3  # couriers stop for the holiday
    return weight


def _discount(day: date) -> float:
    if (day.month, day.day) == (11, 11):
        return 0.8
    if (day.month, day.day) in ((6, 18), (12, 12)):
        return 0.88
    return 1.0


class _Generator:
    def __init__(self, rng: random.Random, scale: float, end: date) -> None:
        self.rng = rng
        self.scale = scale
        self.end = end
        self.start = end - timedelta(days=DAYS)
        self.now = as_of(end)
        self.products: list[DemoProduct] = []
        self.family_of: list[Family] = []
        self.category_of: list[Category] = []
        self.by_family: dict[str, list[int]] = {}
        self.by_category: dict[str, list[int]] = {}
        self.family_weight: dict[str, float] = {}
        self.family_trouble: dict[str, float] = {}
        self.partners: dict[str, list[str]] = {}

    def run(self) -> DemoShop:
        self._make_products()
        buyers = self._make_buyers()
        orders = self._make_orders(buyers)
        reviews = self._make_reviews(orders)
        self._finish_buyers(buyers, orders, reviews)
        return DemoShop(
            self.end, tuple(self.products), tuple(buyers), tuple(orders), tuple(reviews)
        )

    # -- catalogue ---------------------------------------------------------------------
    def _make_products(self) -> None:
        rng = self.rng
        for a, b in BOUGHT_TOGETHER:
            self.partners.setdefault(a, []).append(b)
            self.partners.setdefault(b, []).append(a)
        item_id = 620_000_000_000
        for category in CATEGORIES:
            for family in category.families:
                self.family_weight[family.code] = rng.lognormvariate(0, 0.7)
                # A few families are the shop's problem children: most complaints come
                # from a handful of products, as in real shops.
                self.family_trouble[family.code] = rng.choice((0.5, 0.8, 1.0, 1.0, 1.3, 2.5))
                low, high = family.price
                for v, variant in enumerate(family.variants):
                    base_price = rng.uniform(low, high) * (1 + 0.35 * v)
                    for s, style in enumerate(family.styles or category.styles):
                        item_id += rng.randint(1000, 90000)
                        launched = self._launch_time()
                        prefix = rng.choice(TITLE_PREFIXES)
                        title = f"{prefix}{family.name} {family.selling_points} {variant} {style}"
                        price = _money(round(base_price * (1 + 0.05 * s)) - 0.1)
                        index = len(self.products)
                        self.products.append(
                            DemoProduct(
                                item_id=str(item_id),
                                sku=f"{category.code}-{family.code}-{v + 1:02d}{s + 1}",
                                title=title.strip(),
                                category=category.name,
                                price=price,
                                launched_at=launched,
                                is_active=rng.random() > 0.05,
                                repurchase_days=family.repurchase_days,
                            )
                        )
                        self.family_of.append(family)
                        self.category_of.append(category)
                        self.by_family.setdefault(family.code, []).append(index)
                        self.by_category.setdefault(category.name, []).append(index)

    def _launch_time(self) -> datetime:
        rng = self.rng
        roll = rng.random()
        if roll < 0.06:  # new arrivals of the last 30 days
            day = self.end - timedelta(days=rng.randint(1, 30))
        elif roll < 0.18:  # launched during the year
            day = self.start + timedelta(days=rng.randint(0, DAYS - 31))
        else:  # long-standing listings
            day = self.start - timedelta(days=rng.randint(30, 900))
        return _at(day, rng.randint(9, 20) * 3600)

    # -- buyers --------------------------------------------------------------------------
    def _make_buyers(self) -> list[DemoBuyer]:
        rng = self.rng
        count = max(1, round(BASE_BUYERS * self.scale))
        nicks: dict[str, None] = {}
        buyers = []
        for _ in range(count):
            nick = self._nick()
            while nick in nicks:
                nick = f"{nick}{rng.randint(0, 9)}"
            nicks[nick] = None
            birthday = None
            if rng.random() < 0.6:
                birthday = date(rng.randint(1965, 2005), rng.randint(1, 12), rng.randint(1, 28))
            buyers.append(
                DemoBuyer(
                    nick=nick,
                    name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    phone=rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
                    region=rng.choice(REGIONS),
                    birthday=birthday,
                    created_at=self.now,  # replaced by the first order's time
                )
            )
        return buyers

    def _nick(self) -> str:
        rng = self.rng
        pattern = rng.random()
        if pattern < 0.3:
            return f"{rng.choice(PINYIN)}_{rng.randint(1, 9999)}"
        if pattern < 0.5:
            return f"tb{rng.randint(10_000_000, 999_999_999)}"
        if pattern < 0.8:
            return f"{rng.choice(NICK_WORDS)}{rng.choice(NICK_WORDS)}{rng.randint(1, 999)}"
        return f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.randint(1980, 2008)}"

    # -- orders --------------------------------------------------------------------------
    def _make_orders(self, buyers: list[DemoBuyer]) -> list[DemoOrder]:
        rng = self.rng
        count = max(1, round(BASE_ORDERS * self.scale))
        days = [self.start + timedelta(days=i) for i in range(DAYS)]
        order_days = sorted(rng.choices(days, weights=[_day_weight(d) for d in days], k=count))
        # Loyalty is heavy-tailed: many buyers order once or twice, a few every few weeks.
        loyalty = [min(rng.lognormvariate(0, 1.8), 30.0) for _ in buyers]
        assignment = list(range(len(buyers)))[:count]
        assignment += rng.choices(range(len(buyers)), weights=loyalty, k=count - len(assignment))
        rng.shuffle(assignment)
        category_names = [c.name for c in CATEGORIES]
        favourites = [rng.sample(category_names, rng.choice((1, 1, 2, 2, 3))) for _ in buyers]
        size_pick = [rng.random() for _ in buyers]  # a buyer keeps one size
        history: list[dict[int, datetime]] = [{} for _ in buyers]
        orders = []
        tid = 3_900_000_000_000_000_000 + rng.randint(0, 10**15)
        for index, day in enumerate(order_days):
            buyer = assignment[index]
            paid = _at(day, self._second_of_day(day))
            picks = self._basket(day, paid, favourites[buyer], size_pick[buyer], history[buyer])
            tid += rng.randint(10**6, 10**9)
            lines = []
            for n, product in enumerate(picks):
                history[buyer][product] = paid
                lines.append(
                    DemoLine(
                        oid=str(tid + n + 1) if len(picks) > 1 else str(tid),
                        product=product,
                        quantity=rng.choices((1, 2, 3), weights=(80, 15, 5))[0],
                        unit_price=_money(float(self.products[product].price) * _discount(day)),
                        refund_status=RefundStatus.NONE,
                    )
                )
            shipped, received = self._logistics(day, paid)
            orders.append(DemoOrder(str(tid), buyer, paid, shipped, received, tuple(lines)))
        return orders

    def _second_of_day(self, day: date) -> float:
        rng = self.rng
        if (day.month, day.day) == (11, 11) and rng.random() < 0.3:
            return rng.uniform(0, 3600)  # the midnight rush
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        return hour * 3600 + rng.uniform(0, 3599)

    def _available(self, candidates: list[int], paid: datetime) -> list[int]:
        # Delisted products stopped selling months ago; nothing sells before its launch.
        cutoff = self.now - timedelta(days=120)
        return [
            p
            for p in candidates
            if self.products[p].launched_at <= paid
            and (self.products[p].is_active or paid < cutoff)
        ]

    def _basket(
        self,
        day: date,
        paid: datetime,
        favourites: list[str],
        size_pick: float,
        history: dict[int, datetime],
    ) -> list[int]:
        rng = self.rng
        basket: list[int] = []
        due = [
            p
            for p, last in history.items()
            if self.products[p].repurchase_days
            and (paid - last).days >= 0.7 * (self.products[p].repurchase_days or 0)
        ]
        staples = [p for p in history if self.products[p].is_consumable]
        if due and rng.random() < 0.65:
            basket.append(rng.choice(due))
        elif staples and rng.random() < 0.3:
            basket.append(rng.choice(staples))
        else:
            category = rng.choice(favourites) if rng.random() < 0.8 else rng.choice(CATEGORIES).name
            pick = self._pick_in(self.by_category[category], paid, size_pick)
            if pick is not None:
                basket.append(pick)
        if basket and rng.random() < 0.35:
            partners = self.partners.get(self.family_of[basket[0]].code, [])
            if partners:
                pick = self._pick_in(self.by_family[rng.choice(partners)], paid, size_pick)
                if pick is not None and pick not in basket:
                    basket.append(pick)
        if rng.random() < 0.12:
            pick = self._pick_in(self.by_category[rng.choice(favourites)], paid, size_pick)
            if pick is not None and pick not in basket:
                basket.append(pick)
        if not basket:
            everything = self._available(list(range(len(self.products))), paid)
            basket.append(rng.choice(everything))
        return basket

    def _pick_in(self, candidates: list[int], paid: datetime, size_pick: float) -> int | None:
        available = self._available(candidates, paid)
        if not available:
            return None
        families: dict[str, list[int]] = {}
        for p in available:
            families.setdefault(self.family_of[p].code, []).append(p)
        codes = list(families)
        code = self.rng.choices(codes, weights=[self.family_weight[c] for c in codes])[0]
        options = families[code]
        # New arrivals get a launch boost, as a shop promotes them.
        weights = [3.0 if (paid - self.products[p].launched_at).days < 30 else 1.0 for p in options]
        if self.category_of[options[0]].name in ("女装", "鞋靴"):
            return options[min(int(size_pick * len(options)), len(options) - 1)]
        return self.rng.choices(options, weights=weights)[0]

    def _logistics(self, day: date, paid: datetime) -> tuple[datetime | None, datetime | None]:
        rng = self.rng
        peak = day.month == 11 and 10 <= day.day <= 13
        shipped = paid + timedelta(hours=rng.uniform(2, 36) + (rng.uniform(24, 96) if peak else 0))
        delay = rng.choices((1, 2, 3, 4, 6, 8), weights=(30, 35, 20, 8, 5, 2))[0]
        received = shipped + timedelta(
            days=delay + (rng.randint(1, 4) if peak else 0), hours=rng.uniform(0, 10)
        )
        if shipped > self.now:
            return None, None
        return shipped, (received if received <= self.now else None)

    # -- reviews -------------------------------------------------------------------------
    def _make_reviews(self, orders: list[DemoOrder]) -> list[DemoReview]:
        reviews: list[DemoReview] = []
        for o, order in enumerate(orders):
            if order.received_at is None or order.shipped_at is None:
                continue
            slow = (order.received_at - order.shipped_at).days >= 4
            for n, line in enumerate(order.lines):
                review = self._review(o, n, order, line, slow)
                if review is not None:
                    reviews.append(review)
                    if review.rating is not Rating.GOOD or review.revisions:
                        self._maybe_refund(orders, o, n, review)
        return reviews

    def _maybe_refund(self, orders: list[DemoOrder], o: int, n: int, review: DemoReview) -> None:
        refundable = {"quality", "freshness", "mismatch", "packaging"}
        if not refundable.intersection(review.reasons) or self.rng.random() > 0.3:
            return
        order = orders[o]
        line = order.lines[n]
        status = (
            RefundStatus.REQUESTED
            if (self.now - review.posted_at).days < 3
            else RefundStatus.REFUNDED
        )
        lines = list(order.lines)
        lines[n] = DemoLine(line.oid, line.product, line.quantity, line.unit_price, status)
        orders[o] = DemoOrder(
            order.tid, order.buyer, order.paid_at, order.shipped_at, order.received_at, tuple(lines)
        )

    def _review(
        self, o: int, n: int, order: DemoOrder, line: DemoLine, slow: bool
    ) -> DemoReview | None:
        rng = self.rng
        assert order.received_at is not None
        category = self.category_of[line.product]
        family = self.family_of[line.product]
        if rng.random() > 0.7:
            # No review from the buyer: the platform posts its default after 15 days.
            posted = order.received_at + timedelta(days=15)
            if posted > self.now:
                return None
            return self._plain(o, n, Rating.GOOD, texts.SYSTEM_DEFAULT_TEXTS[0], posted, True)
        posted = order.received_at + timedelta(hours=min(rng.expovariate(1 / 40), 14 * 24))
        if posted > self.now:
            return None
        trouble = self.family_trouble[family.code] * (1.8 if slow else 1.0)
        roll = rng.random()
        if roll < 0.035 * trouble:
            rating = Rating.BAD
        elif roll < 0.07 * trouble:
            rating = Rating.NEUTRAL
        else:
            rating = Rating.GOOD
        if rating is Rating.GOOD:
            if rng.random() < 0.06:
                return self._plain(o, n, Rating.GOOD, texts.SYSTEM_DEFAULT_TEXTS[1], posted, True)
            if rng.random() < 0.025:
                reasons = self._reasons(category, family, slow)
                text = rng.choice(texts.HIDDEN_NEGATIVE_OPENERS) + self._complaint(
                    category, family, reasons
                )
                return DemoReview(
                    o,
                    n,
                    Rating.GOOD,
                    text,
                    posted,
                    posted,
                    False,
                    False,
                    True,
                    reasons,
                    None,
                    None,
                    (),
                )
            return self._good(o, n, category, family, posted)
        reasons = self._reasons(category, family, slow)
        if rating is Rating.BAD:
            text = self._complaint(category, family, reasons) + rng.choice(texts.NEGATIVE_CLOSERS)
        else:
            text = (
                rng.choice(texts.NEUTRAL_OPENERS)
                + rng.choice(texts.positive(category.name, family.name))
                + "，"
                + rng.choice(texts.NEUTRAL_BY_REASON[reasons[0]])
            )
        return self._unhappy_afterwards(o, n, rating, text, posted, reasons)

    def _plain(
        self, o: int, n: int, rating: Rating, text: str, posted: datetime, system: bool
    ) -> DemoReview:
        return DemoReview(
            o, n, rating, text, posted, posted, system, False, False, (), None, None, ()
        )

    def _good(
        self, o: int, n: int, category: Category, family: Family, posted: datetime
    ) -> DemoReview:
        rng = self.rng
        parts = rng.sample(texts.positive(category.name, family.name), rng.randint(1, 2))
        if rng.random() < 0.7:
            parts.append(rng.choice(texts.POSITIVE_GENERIC))
        text = "，".join(parts) + rng.choice(("", "。", "！", "~"))
        follow_at = posted + timedelta(days=rng.randint(7, 40))
        if rng.random() < 0.04 and follow_at <= self.now:
            negative = rng.random() < 0.2
            extra = rng.choice(texts.follow_ups(category.name, family.name, negative=negative))
            revision = DemoRevision(RevisionKind.FOLLOW_UP, Rating.GOOD, text, posted, follow_at)
            return DemoReview(
                o,
                n,
                Rating.GOOD,
                text,
                posted,  # the review's own time: the platform sends the 追评's apart
                posted,
                False,
                False,
                negative,
                ("quality",) if negative else (),
                None,
                None,
                (revision,),
                extra,
                follow_at,
            )
        return self._plain(o, n, Rating.GOOD, text, posted, False)

    def _reasons(self, category: Category, family: Family, slow: bool) -> tuple[str, ...]:
        rng = self.rng
        possible = family.reasons or category.reasons
        first = "logistics" if slow and rng.random() < 0.5 else rng.choice(possible)
        if rng.random() < 0.25:
            second = rng.choice(possible)
            if second != first:
                return (first, second)
        return (first,)

    def _complaint(self, category: Category, family: Family, reasons: tuple[str, ...]) -> str:
        phrases = [
            self.rng.choice(texts.negative(reason, category.name, family.name))
            for reason in reasons
        ]
        return "，".join(phrases) + "。"

    def _unhappy_afterwards(
        self, o: int, n: int, rating: Rating, text: str, posted: datetime, reasons: tuple[str, ...]
    ) -> DemoReview:
        """What happened to a neutral/bad review later: explained, revised, deleted or not."""
        rng = self.rng
        age = (self.now - posted).days
        explanation = explained = None
        if age > 3 and rng.random() < 0.4:
            explanation = explanation_for(reasons, rng.randrange(len(EXPLANATIONS)))
            explained = posted + timedelta(hours=rng.uniform(3, 70))
        if age > 12:
            roll = rng.random()
            changed = posted + timedelta(days=rng.uniform(1, 10))
            if roll < 0.3:  # the shop turned it around
                revision = DemoRevision(RevisionKind.REVISED, rating, text, posted, changed)
                return DemoReview(
                    o,
                    n,
                    Rating.GOOD,
                    rng.choice(texts.REVISED_TEXTS),
                    changed,
                    posted,
                    False,
                    False,
                    False,
                    reasons,
                    explanation,
                    explained,
                    (revision,),
                )
            if roll < 0.36:
                revision = DemoRevision(RevisionKind.DELETED, rating, text, posted, changed)
                return DemoReview(
                    o,
                    n,
                    rating,
                    text,
                    posted,
                    posted,
                    False,
                    True,
                    False,
                    reasons,
                    explanation,
                    explained,
                    (revision,),
                )
        return DemoReview(
            o,
            n,
            rating,
            text,
            posted,
            posted,
            False,
            False,
            False,
            reasons,
            explanation,
            explained,
            (),
        )

    # -- buyer archive -------------------------------------------------------------------
    def _finish_buyers(
        self, buyers: list[DemoBuyer], orders: list[DemoOrder], reviews: list[DemoReview]
    ) -> None:
        spent = [Decimal("0.00")] * len(buyers)
        count = [0] * len(buyers)
        for order in orders:
            if count[order.buyer] == 0:
                buyers[order.buyer].created_at = order.paid_at - timedelta(
                    days=self.rng.randint(0, 400)
                )
            spent[order.buyer] += order.payment
            count[order.buyer] += 1
        complained = [False] * len(buyers)
        for review in reviews:
            if review.reasons and "price" in review.reasons:
                complained[orders[review.order].buyer] = True
        for i, buyer in enumerate(buyers):
            if spent[i] >= 3000:
                buyer.membership = MembershipLevel.DIAMOND
            elif spent[i] >= 1000:
                buyer.membership = MembershipLevel.GOLD
            elif spent[i] >= 300:
                buyer.membership = MembershipLevel.SILVER
            if count[i] >= 5:
                buyer.tags.append("回头客")
            if spent[i] >= 3000:
                buyer.tags.append("大客户")
            if complained[i]:
                buyer.tags.append("价格敏感")
