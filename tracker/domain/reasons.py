"""Reason tags from a complaint's words, clause by clause.

A bag of keywords misfires in three ways, each handled here:
- **negation**: 不掉色, 没有异味, 不会太咸, 一点都不贵 name a problem the buyer did not have;
  a cue with a negator (or 以为/担心: "I feared…") shortly before it in its clause is not
  a complaint;
- **attribution**: 慢, 差, 一般, 敷衍 belong to what the clause is about — 客服回复太慢 is
  service, 快递太慢 is logistics, 质量一般 is quality;
- **praise that shares words with complaints**: 对得起价格, 性价比高, 差不多 are masked first.
Several reasons per review; staff corrections are kept on the case.
"""

from __future__ import annotations

import re

from tracker.models.enums import Reason

R = Reason

# Complaints by themselves, whatever the clause is about.
CUES: dict[Reason, tuple[str, ...]] = {
    R.QUALITY: (
        "质量差", "质量不好", "坏了", "坏的", "开胶", "起球", "线头", "假货", "过敏", "红疹",
        "没声音", "充不进", "变形", "掉色", "褪色", "瑕疵", "不好用", "劣质", "爆痘", "闷痘",
        "断了", "空的", "空心", "发苦", "怪味", "异味", "异响", "味道怪", "不甜", "太酸",
        "很酸", "兑了水", "虫", "有头发", "根头发", "头发丝", "吃出头发", "异物", "烫手",
        "发热严重", "划痕", "坏点", "失灵",
        "不灵", "漏水", "漏尿", "不保温", "生锈", "跑绒", "缩水", "掉毛", "掉漆", "毛刺",
        "搓泥", "飞粉", "焦味", "塑料味", "胶水味", "有味道", "夹生", "不亮", "断网",
        "接触不良", "不耐用", "不准", "开裂", "破洞", "染色", "翻新", "盗版", "错别字",
        "模糊", "噪音", "太甜", "太咸", "太硬", "腻", "很柴", "没什么味道", "没有味道",
        "碎末", "渣", "不清楚", "不保", "粗糙", "硌", "磨脚", "漏雨", "不动了", "不走",
        "刮不干净", "洗不干净", "不发芽", "没发芽", "做工不行", "做工差", "透光", "不热",
        "制冷效果差", "不制冷", "拼不上", "装不起来", "关不严", "不平", "切不动", "太薄", "歪",
        "痒", "掉了", "咯吱", "有灰", "折痕", "二手", "味道很重", "很重的味道", "味道大",
        "发干", "紧绷", "听不清", "声音太小", "太少", "卡顿", "很卡", "太卡", "好卡", "都卡",
        "闪退", "死机", "黑屏", "花屏", "跳屏", "屏幕发黄", "画面发黄", "泛白", "黄屏", "漏光",
        "耗电快", "用电太快", "掉电快", "不经用", "难用", "破东西", "买到假",
        "像假的", "跟假的一样", "苦涩",
        "依然油",
        "卡的要死", "卡得要死", "卡死", "卡卡", "一卡一卡", "不流畅", "反应迟钝", "运行不畅",
        "反应慢", "反应很慢", "反应好慢", "反应超级慢", "反应有点慢", "反应速度慢", "反应拖拉",
        "破屏", "白屏", "鼓包", "裂痕", "杂音", "开不了机", "开不开机", "没信号", "没有信号",
        "上不了网", "分辨率太低", "分辨率低", "分辨率不高", "返修机", "二次销售", "坏掉",
        "难吃", "不好吃", "不脆", "口感不佳", "口感差", "不起泡", "很稀", "太稀",
        "不是正品", "假冒", "造假", "掺假", "太弱", "很弱", "吸不起来",
        "毛躁", "打结", "发涩", "很涩", "特别涩", "掉得厉害", "掉的厉害",
        "发粘", "黏糊糊", "梳不开", "冲不干净", "越洗越油", "一根长头发",
        # goods whose words the lists above lacked (nappies, cups, screen films, formula)
        "侧漏", "后漏", "裂纹", "裂缝", "有气泡", "全是气泡", "很多气泡", "好多气泡", "起气泡",
        "冲不开", "拧不紧", "拉不上", "拉不动", "脱胶", "起毛", "脱线",
    ),
    R.FRESHNESS: (
        "烂", "不新鲜", "发霉", "霉", "过期", "陈味", "受潮", "潮味", "软了", "哈喇", "变质",
        "坏果", "放了很久", "放久了", "蔫", "黄了", "熟过头", "不熟", "化了", "胀袋", "腥",
        "臭", "生产日期", "掉粒", "发黑", "黑的", "发硬", "掉叶", "虫", "不太新鲜", "不够新鲜",
        "不怎么新鲜", "没熟", "挤出水", "没有生产日期", "没生产日期", "生产日期都没",
        "结块",  # powders that took in damp, like 受潮
    ),
    R.PACKAGING: (
        "破损", "压扁", "漏液", "漏了", "压坏", "磕坏", "压烂", "碎了", "洒了", "没拧紧",
        "简陋", "湿了", "淋湿", "破洞", "拆封", "没有防水", "塑料袋装", "晃来晃去",
        "过度", "很脏", "压痕", "包装有点简单", "包装太简单", "包装过于简单",
        "漏出来", "打开过", "没有包装", "没包装", "包装都不弄", "包装都没",
    ),
    R.LOGISTICS: (
        "没收到", "丢件", "才到", "才发", "不送", "没送", "送错", "不更新", "停了", "天不动",
        "一直不动",
        "没动静", "派送中", "别人签收", "慢死了", "自己去拿", "自己去找快递", "不通知",
        "一周才", "半个月才", "扔门口", "扔在门口", "直接扔", "乱扔",
        "暴力", "绕了", "转了一圈",
    ),
    R.SIZE_FIT: (
        "偏大", "偏小", "穿不上", "不合身", "太紧", "太松", "挤脚", "太长", "太短", "戴不进",
        "戴不上", "大一码", "大半码", "偏长", "尺寸不对", "尺码不准", "码数不准", "戴着晃",
    ),
    R.MISMATCH: (
        "不符", "色差", "虚标", "虚假", "不一样", "货不对板", "缺斤", "少两", "少发", "发错",
        "缺了", "不全", "明明是", "实际是", "对不上", "差别", "差很多", "差太多", "差远了",
        "旧款", "不足", "比想象中小", "比图片", "写的", "标的", "做错", "没给",
        "根本没有", "比标", "有出入", "有点出入", "有些出入", "出入很大", "出入太大",
        "不是一回事", "两回事", "说好的", "没有赠品", "赠品没", "赠品呢", "没收到赠品", "送的呢",
        "明明买的", "发过来的是", "以次充好", "挂羊头",
    ),
    R.SERVICE: (
        "不理", "不回", "没人理", "没人处理", "没人管", "推脱", "推来推去", "不耐烦", "骂人",
        "阴阳怪气", "敷衍", "不认", "复制粘贴", "打不通", "没兑现", "不给开", "拖了",
        "约不上", "不解释", "没有结果", "没结果", "没到账", "不管", "来回推", "人为",
        "不退款", "迟到", "出运费", "不给", "说不清楚", "不发货", "恶劣", "没有发票",
        "没发票", "发票不见", "没给发票", "拉黑",
    ),
    R.PRICE: (
        "降价", "太贵", "好贵", "偏贵", "有点贵", "小贵", "贵了", "比直播间贵", "还贵",
        "比别家贵", "便宜一半", "差价", "不值", "保价", "多付", "服务费", "虚高", "要钱",
        "额外费用", "运费", "性价比太低", "性价比低", "性价比不高", "性价比好低", "性价比很低",
        "对不起这个价", "价格不透明", "没生效", "用不了", "买贵", "不打折", "原价是假", "贵很多",
        "贵了很多", "那么贵", "这么贵", "提价", "涨价", "就降", "降了", "降到",
    ),
}  # fmt: skip

# What a clause is about: the generic complaints below are about this.
TOPICS: dict[Reason, tuple[str, ...]] = {
    R.LOGISTICS: (
        "快递", "物流", "发货", "配送", "送货", "派送", "到货", "揽收", "驿站", "签收", "骑手",
        "顺丰", "邮政", "运输", "送到", "送来",
    ),
    R.SERVICE: (
        "客服", "售后", "商家", "卖家", "店家", "态度", "回复", "服务", "退款", "退货", "换货",
        "安装", "师傅", "发票",
    ),
    R.PACKAGING: ("包装", "箱子", "盒子", "纸箱", "外盒", "袋子", "泡沫"),
    R.PRICE: ("价格", "价钱", "价", "优惠券", "券", "红包", "满减"),
    R.SIZE_FIT: ("尺码", "码数", "尺寸", "号码"),
    R.MISMATCH: ("图片", "描述", "宣传", "页面"),
    R.QUALITY: (
        "质量", "做工", "材质", "面料", "用料", "效果", "味道", "口感", "声音", "充电", "电池",
        "东西", "产品", "宝贝", "运行", "系统",
    ),
    R.FRESHNESS: ("新鲜",),
}  # fmt: skip
# Complaints that need a topic: 慢 is slow delivery, slow replies or a slow charger.
GENERIC = (
    "太慢", "很慢", "慢", "很差", "太差", "差", "一般", "不好", "不行", "糟糕", "垃圾",
    "有问题", "太久", "不怎么样", "不满意", "失望", "不打电话", "没反应", "无反应", "不负责",
    "出问题", "出了问题", "出毛病", "出了毛病", "有毛病", "故障", "不能用", "没法用",
)  # fmt: skip
# Too big or small is about the named thing (盒子太大, 声音太小), else about the fit —
# unless it is a difference that is big (和图片差别太大了, 跟想象的差距太大).
SIZE_WORDS = ("太大", "太小", "大了", "小了")
DIFFERENCES = ("差别", "差距", "区别", "出入")
# Said of the goods when nothing else is named (东西一般般吧, 垃圾，千万别买; 用了一个月就
# 出问题了 is the thing breaking, 快递出问题了 is not; 有毛病 alone is mostly an insult).
GOODS_BY_DEFAULT = (
    "一般", "不怎么样", "垃圾", "很差", "太差", "不好", "不行", "没反应", "无反应",
    "有问题", "出问题", "出了问题", "出毛病", "出了毛病", "故障", "不能用", "没法用",
)  # fmt: skip

# Weak cues, a mismatch only with what makes them one. 说是X reports a claim: a complaint
# when the buyer goes on to what came (说是纯棉，摸起来全是化纤), not when it held (说是三天到，
# 果然三天就到了). 只有 is a shortfall before an amount (只有四斤二两, 一箱只有十个), not in
# 只有好评 or 只有一点点小划痕.
CLAIM = "说是"
NOT_CLAIMS = ("只能说是", "可以说是", "要说是", "应该说是", "据说是")  # the buyer's own words
CONTRADICTIONS = (
    "结果", "实际", "其实", "但", "却", "可是", "根本", "竟然", "居然", "明明", "收到",
    "到手", "发来", "全是", "没有", "不是", "不如", "假",
)  # fmt: skip
SHORTFALL = re.compile(r"只有(?!一点|一些|一丁点|个别)[\d一二两三四五六七八九十百千半几]")

# Praise and set phrases that contain complaint or topic words (评价 is no 价格); masked
# before reading.
PRAISE = (
    "对得起", "性价比高", "性价比很高", "物超所值", "没有任何问题", "没问题", "差不多",
    "差评", "好评", "中评", "评价", "不错", "不差", "不好意思", "没想到", "哈曼卡顿",
    "退了差价", "补了差价", "退差价了", "补差价了",  # settled: no longer a complaint
    "酸甜", "唯一不足", "不足之处", "美中不足", "去屑", "去头屑", "去头皮屑",
)  # fmt: skip
NEGATORS = (
    "没有", "毫无", "不会", "并不", "从不", "一点都不", "一点也不", "以为", "担心",
    "不", "没", "无", "未",
)  # fmt: skip
# Negator-looking words that negate nothing: 不到一个月就坏了, 没几天就烂了.
NOT_NEGATIONS = ("不到", "没几", "没多久", "不久", "没两", "没用几", "没过", "不一会", "没一会")
NEGATION_REACH = 6  # characters before a cue in which a negator cancels it
# Denial after the thing denied, ending the clause: 一个坏果都没有, 连划痕也没有 (but 坏了也没人管
# and 有异味也不给退 are complaints).
NEGATED_AFTER = {"都没有", "也没有", "都没", "也没"}

# A-not-A questions ask, they do not complain: 不知道是不是正品, 好不好吃, 有没有问题.
A_NOT_A = re.compile(r"(?<![不没])(\w)[不没]\1")
CLAUSE_BREAK = re.compile(r"[\s，。！？!?,.;；~～、…：:\"“”()（）]+")


def _masked(clause: str, phrases: tuple[str, ...]) -> str:
    for phrase in phrases:
        clause = clause.replace(phrase, "□" * len(phrase))
    return clause


def _negated(clause: str, start: int, cue: str) -> bool:
    if cue.startswith(("不", "没", "无", "未")):
        return False  # the cue carries its own negation (不好用, 没声音)
    if clause[start + len(cue) :].rstrip("□") in NEGATED_AFTER:
        return True
    before = _masked(clause[max(0, start - NEGATION_REACH) : start], NOT_NEGATIONS)
    return any(n in before for n in NEGATORS)


def _found(clause: str, cue: str) -> bool:
    start = clause.find(cue)
    while start != -1:
        if not _negated(clause, start, cue):
            return True
        start = clause.find(cue, start + 1)
    return False


def _topics(clause: str) -> list[tuple[int, Reason]]:
    """Topics named in the clause, by position."""
    named = []
    for reason, words in TOPICS.items():
        positions = [clause.find(w) for w in words if w in clause]
        if positions:
            named.append((min(positions), reason))
    return sorted(named)


def tag_reasons(text: str) -> list[Reason]:
    """Every reason the complaint names, in the enum's order; ``other`` when none."""
    found: set[Reason] = set()
    topic: Reason | None = None
    claimed = _masked(text, NOT_CLAIMS).find(CLAIM)  # the seller's or the page's claim
    claim_denied = claimed != -1 and any(c in text[claimed:] for c in CONTRADICTIONS)
    for raw in CLAUSE_BREAK.split(text):
        clause = A_NOT_A.sub("□□□", _masked(raw, PRAISE))
        if not clause.strip("□"):
            continue
        for reason, cues in CUES.items():
            if any(_found(clause, cue) for cue in cues):
                found.add(reason)
        claim = claim_denied and _found(_masked(clause, NOT_CLAIMS), CLAIM)
        if SHORTFALL.search(clause) or claim:
            found.add(R.MISMATCH)
        named = _topics(clause)
        generic = [g for g in GENERIC if _found(clause, g)]
        if generic:
            if named:  # the topic nearest before the complaint word, else the first
                at = min(clause.find(g) for g in generic)
                before = [reason for position, reason in named if position <= at]
                found.add(before[-1] if before else named[0][1])
            elif topic is not None:  # 物流信息一直不更新，也很慢: still about the last topic
                found.add(topic)
            elif any(g in GOODS_BY_DEFAULT for g in generic):
                found.add(R.QUALITY)
        if any(_found(clause, w) for w in SIZE_WORDS):
            if any(d in clause for d in DIFFERENCES):
                found.add(R.MISMATCH)
            else:
                found.add(named[-1][1] if named else R.SIZE_FIT)
        if named:
            topic = named[-1][1]
    return [r for r in Reason if r in found] or [R.OTHER]
