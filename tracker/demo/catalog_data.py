"""What the demo shop sells: categories, product families and their variants.

A family (e.g. 赣南脐橙) has variants (5斤装, 10斤装); variants share the SKU prefix, so
"close variants" of a product can be found the way a real shop's codes allow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    code: str
    name: str
    selling_points: str
    price: tuple[float, float]  # price range of the cheapest variant
    variants: tuple[str, ...]
    repurchase_days: int | None = None  # None = durable
    styles: tuple[str, ...] = ()  # its own styles where the category's do not fit it
    reasons: tuple[str, ...] = ()  # its own complaint reasons, likewise (no 尺码 for 米粉)


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    families: tuple[Family, ...]
    reasons: tuple[str, ...]  # complaint reasons that make sense for it (Reason values)
    styles: tuple[str, ...]  # each family x variant is listed once per style


F = Family
COMMON = ("quality", "logistics", "packaging", "mismatch", "service", "price")

CATEGORIES: tuple[Category, ...] = (
    Category(
        "水果生鲜",
        "FR",
        (
            F(
                "ORANGE",
                "赣南脐橙",
                "当季现摘 新鲜甜橙",
                (29, 49),
                ("5斤装", "10斤装", "精选大果 5斤"),
                14,
            ),
            F(
                "APPLE",
                "烟台红富士苹果",
                "脆甜多汁 果径80mm+",
                (32, 55),
                ("5斤装", "10斤装", "礼盒装 12枚"),
                14,
            ),
            F("MANGO", "海南金煌芒", "大果 香甜软糯", (39, 69), ("5斤装", "8斤装"), 15),
            F("KIWI", "陕西徐香猕猴桃", "绿心 软糯香甜", (35, 59), ("24枚", "36枚"), 15),
            F("GRAPE", "阳光玫瑰葡萄", "无籽 玫瑰香 脆甜", (49, 99), ("2斤装", "4斤装"), 14),
            F("CHERRY", "智利车厘子", "JJ级 空运直达", (129, 259), ("2斤装", "5斤礼盒"), 21),
            F("BLUEBERRY", "云南蓝莓", "鲜果 大颗 当日采摘", (39, 79), ("4盒装", "8盒装"), 14),
            F("PEAR", "库尔勒香梨", "皮薄多汁 新疆直发", (29, 49), ("5斤装", "10斤装"), 14),
            F("CITRUS", "广西砂糖橘", "皮薄无核 蜜甜", (25, 45), ("5斤装", "9斤装"), 12),
            F("PASSION", "广西百香果", "紫皮 酸甜浓香", (19, 39), ("3斤装", "5斤装"), 14),
        ),
        ("quality", "logistics", "packaging", "mismatch", "freshness", "service", "price"),
        ("产地直发", "特级精选"),
    ),
    Category(
        "茶叶冲饮",
        "TE",
        (
            F(
                "LONGJING",
                "明前西湖龙井",
                "2026新茶 高山绿茶",
                (128, 398),
                ("100g罐装", "250g礼盒"),
                45,
            ),
            F("TIEGUANYIN", "安溪铁观音", "浓香型 乌龙茶", (88, 268), ("250g", "500g礼盒"), 45),
            F("PUER", "云南普洱熟茶", "勐海古树 357g饼", (98, 388), ("单饼", "三饼装"), 60),
            F("DAHONGPAO", "武夷山大红袍", "岩茶 炭焙浓香", (108, 328), ("200g", "400g礼盒"), 50),
            F("WHITETEA", "福鼎白茶 寿眉", "老白茶 枣香", (99, 299), ("200g", "350g饼"), 60),
            F("JASMINE", "茉莉花茶", "浓香 飘雪 窨制", (49, 129), ("250g", "500g"), 40),
            F(
                "COFFEE",
                "挂耳咖啡",
                "现磨 中度烘焙",
                (39, 79),
                ("20片", "50片"),
                30,
                ("经典拼配", "云南小粒"),
            ),
            F(
                "OATMEAL",
                "即食燕麦片",
                "无添加蔗糖 早餐",
                (29, 59),
                ("1kg", "2kg"),
                30,
                ("纯燕麦", "水果坚果"),
            ),
        ),
        ("quality", "logistics", "packaging", "mismatch", "freshness", "service", "price"),
        ("一级", "特级"),
    ),
    Category(
        "洗护清洁",
        "CL",
        (
            F(
                "SHAMPOO-AD",
                "去屑控油洗发水",
                "氨基酸 清爽蓬松",
                (39, 89),
                ("500ml", "750ml", "1L家庭装"),
                60,
            ),
            F("CONDITIONER", "柔顺护发素", "修护干枯 顺滑", (35, 79), ("500ml", "750ml"), 60),
            F("BODYWASH", "香氛沐浴露", "持久留香 滋润", (29, 69), ("750ml", "1L"), 50),
            F(
                "LAUNDRY",
                "浓缩洗衣液",
                "除菌除螨 薰衣草香",
                (39, 89),
                ("2kg", "4kg", "补充装 3袋"),
                45,
            ),
            F("TOOTHPASTE", "美白牙膏", "清新口气 护龈", (19, 49), ("3支装", "5支装"), 60),
            F("FACEWASH", "氨基酸洗面奶", "温和清洁 不紧绷", (39, 99), ("100g", "150g"), 60),
        ),
        COMMON,
        ("清香型", "无香型"),
    ),
    Category(
        "休闲零食",
        "SN",
        (
            F(
                "NUTS",
                "每日坚果",
                "混合果仁 独立小包",
                (69, 139),
                ("30袋", "60袋礼盒"),
                30,
                ("原味", "轻盐味"),
            ),
            F("BEEFJERKY", "内蒙古风干牛肉干", "手撕 独立包装", (49, 119), ("250g", "500g"), 25),
            F("PORK", "靖江猪肉脯", "蜜汁 炭烤", (29, 69), ("200g", "500g"), 25),
            F(
                "DRIEDFRUIT",
                "新疆和田大枣",
                "骏枣 免洗",
                (29, 69),
                ("1kg", "2.5kg"),
                30,
                ("一级", "特级"),
            ),
            F(
                "COOKIE",
                "黄油曲奇",
                "手工 酥脆",
                (39, 79),
                ("礼盒 908g", "罐装 454g"),
                30,
                ("原味", "抹茶味"),
            ),
            F(
                "CHOCOLATE",
                "黑巧克力",
                "85%可可 低糖",
                (35, 79),
                ("盒装 12块", "盒装 24块"),
                30,
                ("经典款", "海盐味"),
            ),
        ),
        ("quality", "logistics", "packaging", "mismatch", "freshness", "service", "price"),
        ("原味", "香辣味"),
    ),
    Category(
        "女装",
        "WO",
        (
            F("DRESS", "法式碎花连衣裙", "收腰显瘦 中长款", (129, 259), ("S", "M", "L", "XL")),
            F("HOODIE", "加绒连帽卫衣", "宽松 百搭", (89, 169), ("M", "L", "XL")),
            F("CARDIGAN", "软糯针织开衫", "慵懒风 外搭", (99, 199), ("S", "M", "L")),
            F("DOWN", "轻薄羽绒服", "90白鸭绒 保暖", (299, 599), ("M", "L", "XL")),
            F("JEANS", "高腰直筒牛仔裤", "显瘦 垂感", (119, 199), ("26", "27", "28", "29")),
            F("SHIRT", "真丝衬衫", "通勤 垂坠", (169, 329), ("S", "M", "L")),
        ),
        ("quality", "logistics", "packaging", "size_fit", "mismatch", "service", "price"),
        ("米白色", "黑色", "雾霾蓝"),
    ),
    Category(
        "鞋靴",
        "SH",
        (
            F(
                "RUNNING",
                "缓震跑步鞋",
                "轻便 透气",
                (199, 399),
                ("37", "38", "39", "40", "41", "42"),
            ),
            F("CANVAS", "经典帆布鞋", "百搭 休闲", (79, 149), ("36", "37", "38", "39", "40")),
            F("BOOTS", "英伦马丁靴", "真皮 加绒", (239, 429), ("37", "38", "39", "40")),
            F("SLIPPER", "居家棉拖鞋", "防滑 保暖", (29, 59), ("36-37", "38-39", "40-41")),
        ),
        ("quality", "logistics", "packaging", "size_fit", "mismatch", "service", "price"),
        ("黑色", "白色"),
    ),
    Category(
        "家居日用",
        "HO",
        (
            F("BEDDING", "纯棉四件套", "亲肤 全棉 简约", (199, 459), ("1.5m床", "1.8m床")),
            F("TOWEL", "新疆长绒棉毛巾", "加厚 吸水", (39, 79), ("3条装", "6条装"), 120),
            F("STORAGE", "衣物收纳箱", "可折叠 大容量", (49, 99), ("3个装", "5个装")),
            F("THERMOS", "316不锈钢保温杯", "长效保温", (69, 159), ("500ml", "750ml")),
            F("PILLOW", "记忆棉枕头", "护颈 慢回弹", (99, 229), ("单只", "一对")),
            F("TEASET", "陶瓷功夫茶具套装", "家用 礼盒", (129, 299), ("6杯套装", "10件套")),
        ),
        COMMON,
        ("浅灰色", "燕麦色"),
    ),
    Category(
        "数码配件",
        "DG",
        (
            F("CABLE", "快充数据线", "编织 耐弯折", (19, 49), ("1m", "2m", "两条装")),
            F("CHARGER", "65W氮化镓充电器", "多口 快充", (89, 169), ("单头", "套装")),
            F("EARBUDS", "降噪蓝牙耳机", "长续航 低延迟", (199, 499), ("标准版", "Pro版")),
            F(
                "CASE",
                "磨砂手机壳",
                "防摔 全包",
                (29, 59),
                ("iPhone 16", "iPhone 17", "华为 Mate 70"),
            ),
            F(
                "FILM",
                "钢化膜",
                "高清 防指纹",
                (19, 39),
                ("iPhone 16", "iPhone 17", "华为 Mate 70"),
            ),
            F("POWERBANK", "20000毫安充电宝", "超薄 快充", (99, 199), ("标准版", "自带线版")),
        ),
        COMMON,
        ("黑色", "白色"),
    ),
    Category(
        "母婴用品",
        "BB",
        (
            F(
                "DIAPER",
                "婴儿纸尿裤",
                "超薄透气 干爽",
                (99, 179),
                ("S码", "M码", "L码", "XL码"),
                30,
            ),
            F(
                "WIPES",
                "婴儿手口湿巾",
                "无酒精 加厚",
                (29, 59),
                ("10包装", "20包装"),
                30,
                reasons=COMMON,
            ),
            F(
                "BOTTLE",
                "宽口径玻璃奶瓶",
                "防胀气",
                (69, 139),
                ("160ml", "240ml"),
                styles=("经典款", "带手柄款"),
                reasons=COMMON,
            ),
            F(
                "FORMULA",
                "婴儿辅食米粉",
                "高铁 原味",
                (49, 99),
                ("1罐", "2罐"),
                25,
                reasons=(*COMMON, "freshness"),
            ),
        ),
        ("quality", "logistics", "packaging", "size_fit", "mismatch", "service", "price"),
        ("日常款", "加量款"),
    ),
    Category(
        "美妆护肤",
        "BE",
        (
            F("MASK", "玻尿酸补水面膜", "保湿 修护", (59, 129), ("10片", "30片"), 40),
            F("SERUM", "烟酰胺精华液", "提亮 淡印", (99, 259), ("30ml", "50ml"), 60),
            F("CREAM", "保湿面霜", "修护屏障 锁水", (89, 229), ("50g", "100g"), 60),
            F("SUNSCREEN", "轻薄防晒霜", "SPF50+ 不油腻", (59, 139), ("50ml", "两支装"), 45),
        ),
        COMMON,
        ("清爽型", "滋润型"),
    ),
)

# Families often bought together (买过 X 的顾客常一起买).
BOUGHT_TOGETHER: tuple[tuple[str, str], ...] = (
    ("SHAMPOO-AD", "CONDITIONER"),
    ("SHAMPOO-AD", "BODYWASH"),
    ("DIAPER", "WIPES"),
    ("CASE", "FILM"),
    ("CHARGER", "CABLE"),
    ("LONGJING", "TEASET"),
    ("TIEGUANYIN", "TEASET"),
    ("NUTS", "DRIEDFRUIT"),
    ("COFFEE", "COOKIE"),
    ("FACEWASH", "MASK"),
    ("SERUM", "CREAM"),
    ("ORANGE", "CITRUS"),
    ("BEDDING", "PILLOW"),
    ("DRESS", "CARDIGAN"),
    ("BOTTLE", "FORMULA"),
)

TITLE_PREFIXES = ("", "", "", "【官方正品】", "【顺丰包邮】", "【店长推荐】", "【爆款】")
