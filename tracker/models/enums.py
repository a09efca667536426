"""Enumerations stored by value; the Chinese labels are what the UI shows."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a Simplified Chinese label for the UI."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class Platform(LabelledEnum):
    TAOBAO = "taobao", "淘宝"
    TMALL = "tmall", "天猫"
    JD = "jd", "京东"
    KUAISHOU = "kuaishou", "快手小店"
    WECHAT = "wechat", "微信小程序"
    DOUYIN = "douyin", "抖店"
    PINDUODUO = "pinduoduo", "拼多多"
    OTHER = "other", "其他"


class Role(LabelledEnum):
    AGENT = "agent", "客服"
    SUPERVISOR = "supervisor", "主管"
    ADMIN = "admin", "管理员"


# Supervisors and the admin: they assign, override the contact policy, run customer
# operations and see the whole team's work.
LEADS = (Role.SUPERVISOR, Role.ADMIN)


class MembershipLevel(LabelledEnum):
    NONE = "none", "普通会员"
    SILVER = "silver", "银卡会员"
    GOLD = "gold", "金卡会员"
    DIAMOND = "diamond", "钻石会员"


class RefundStatus(LabelledEnum):
    NONE = "none", "无退款"
    REQUESTED = "requested", "退款中"
    REFUNDED = "refunded", "已退款"
    CLOSED = "closed", "退款关闭"


class Rating(LabelledEnum):
    GOOD = "good", "好评"
    NEUTRAL = "neutral", "中评"
    BAD = "bad", "差评"


class RevisionKind(LabelledEnum):
    REVISED = "revised", "修改评价"
    FOLLOW_UP = "follow_up", "追评"
    DELETED = "deleted", "删除评价"


class CaseStatus(LabelledEnum):
    NEW = "new", "待联系"
    CONTACTING = "contacting", "联系中"
    WAITING = "waiting", "等待买家"
    RECOVERED = "recovered", "已挽回"
    UNRECOVERED = "unrecovered", "未挽回"
    DISMISSED = "dismissed", "误报"  # a hidden negative that was not one: not counted
    REMOVED = "removed", "申诉删除"  # the platform removed it on the shop's appeal: not counted


class CaseOutcome(LabelledEnum):
    REVIEW_REVISED = "review_revised", "已改为好评"
    REVIEW_DELETED = "review_deleted", "已删除评价"
    EXPLANATION_POSTED = "explanation_posted", "已发布解释"
    SATISFIED_UNCHANGED = "satisfied_unchanged", "买家满意但未改评"
    UNREACHABLE = "unreachable", "联系不上买家"
    REFUSED = "refused", "买家拒绝"
    FALSE_ALARM = "false_alarm", "误报 · 无需处理"
    POSITIVE_FOLLOW_UP = "positive_follow_up", "已追评转好"  # where a review cannot change
    PROMISE_BROKEN = "promise_broken", "承诺未兑现"  # the window ended without the change
    # A supervisor's word, not the platform's: counted apart and marked everywhere.
    MANUAL_RECOVERED = "manual_recovered", "主管认定挽回（平台未确认）"
    APPEAL_UPHELD = "appeal_upheld", "申诉成功 · 评价已删除"


class AppealState(LabelledEnum):
    SUBMITTED = "submitted", "已申诉，等待平台处理"
    ACCEPTED = "accepted", "平台已受理删除"
    REJECTED = "rejected", "申诉被驳回"


class AppealReason(LabelledEnum):
    """What makes a review appealable under the platforms' rules (评价申诉)."""

    ABUSE = "abuse", "辱骂、人身攻击"
    ADVERTISING = "advertising", "广告或无关内容"
    EXTORTION = "extortion", "以差评要挟索要补偿"
    PRIVACY = "privacy", "泄露隐私"
    OTHER = "other", "其他违规"


class Reason(LabelledEnum):
    QUALITY = "quality", "质量问题"
    LOGISTICS = "logistics", "物流问题"
    PACKAGING = "packaging", "包装问题"
    SIZE_FIT = "size_fit", "尺码不合"
    MISMATCH = "mismatch", "与描述不符"
    SERVICE = "service", "服务态度"
    PRICE = "price", "价格问题"
    FRESHNESS = "freshness", "新鲜度"
    OTHER = "other", "其他"


class Channel(LabelledEnum):
    PHONE = "phone", "电话"
    WANGWANG = "wangwang", "平台消息"  # the platform's chat: ReviewRules.channel_label names it
    SMS = "sms", "短信"
    WECHAT = "wechat", "微信"
    EMAIL = "email", "邮件"


class AttemptOutcome(LabelledEnum):
    NO_ANSWER = "no_answer", "未接通"
    # The buyer was reached and the problem is being put right (a resend on its way, a
    # refund in progress): the goal is the problem solved, so a call may end there.
    HANDLING = "handling", "已接通-问题处理中"
    AGREED = "agreed", "已接通-同意修改"
    CONSIDERING = "considering", "已接通-考虑中"
    REFUSED = "refused", "已接通-拒绝"
    WRONG_NUMBER = "wrong_number", "号码错误"
    MESSAGE_LEFT = "message_left", "已留言"
    BUYER_REPLIED = "buyer_replied", "买家已回复"
    BUSY = "busy", "占线/挂断"
    DO_NOT_CONTACT = "do_not_contact", "买家要求勿扰"  # locks further contact with the buyer
    # Written by the tracker, never picked on the form: a message through a provider and
    # a call through a privacy binding report their own result.
    MESSAGE_QUEUED = "message_queued", "短信待发送"
    MESSAGE_SENT = "message_sent", "短信已提交"
    MESSAGE_DELIVERED = "message_delivered", "短信已送达"
    MESSAGE_FAILED = "message_failed", "短信发送失败"
    CALL_PLACED = "call_placed", "隐私号外呼中"
    CALL_CONNECTED = "call_connected", "隐私号已接通"


class HandleKind(LabelledEnum):
    """Where a number to reach the buyer comes from, which says how long it works."""

    OWN = "own", "店铺自有号码"  # from the shop's own records (an order export, a CRM)
    VIRTUAL = "virtual", "平台虚拟号"  # the platform's protected number, lapses
    BINDING = "binding", "隐私号绑定"  # an X number bound to agent and buyer for one call


class MessagePurpose(LabelledEnum):
    NOTICE = "notice", "通知"  # after-sales: the carrier forbids 邀请好评 in these
    MARKETING = "marketing", "营销"  # must carry 拒收请回复R, daytime only


class MessageState(LabelledEnum):
    QUEUED = "queued", "待发送"
    SENDING = "sending", "发送中"
    RETRY = "retry", "等待重试"
    SENT = "sent", "已提交"  # the provider accepted it; the receipt is still to come
    DELIVERED = "delivered", "已送达"
    FAILED = "failed", "发送失败"


class RemedyKind(LabelledEnum):
    PARTIAL_REFUND = "partial_refund", "部分退款"
    FULL_REFUND = "full_refund", "全额退款"
    RESEND = "resend", "补发"
    EXCHANGE = "exchange", "换货"
    COUPON = "coupon", "优惠券"
    GIFT = "gift", "小礼品"


class RemedyNotice(LabelledEnum):
    """What an after-sales notice tells the buyer was arranged (您的…已安排补发): it may go
    only from a case where that remedy is recorded (tracker.domain.remedy_notices)."""

    NOTHING = "none", "不通知补偿"  # the admin's word: it names a remedy but announces none
    RESEND = "resend", "补发"
    EXCHANGE = "exchange", "换货"
    REFUND = "refund", "退款"  # partial or full: the notice does not say which
    COUPON = "coupon", "优惠券"
    GIFT = "gift", "小礼品"


class SuggestionKind(LabelledEnum):
    """The signal that put a product on a buyer's list (tracker.domain.recommend)."""

    STAPLE_DUE = "staple_due", "常购该补货"
    STAPLE = "staple", "常购"
    TOGETHER = "together", "常一起买"
    NEW_ARRIVAL = "new_arrival", "新品"
    BESTSELLER = "bestseller", "热销"


class DeliveryChannel(LabelledEnum):
    EMAIL = "email", "邮件"
    WEBHOOK = "webhook", "群机器人"


class DeliveryStatus(LabelledEnum):
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class AlertEvent(LabelledEnum):
    """What the every-minute alert job looks for (tracker.services.alerts)."""

    FIRST_CONTACT_DUE_SOON = "first_contact_due_soon", "首次联系即将超时"
    FIRST_CONTACT_OVERDUE = "first_contact_overdue", "首次联系已超时"
    REVISION_WINDOW_CLOSING = "revision_window_closing", "30 天挽回期限即将结束"
    FOLLOW_UP_DUE = "follow_up_due", "约好的跟进到点了"  # the owner's own 下次跟进


class ShiftRequestState(LabelledEnum):
    """Where an agent's 调班申请 stands (tracker.services.shift_requests)."""

    WITH_COLLEAGUE = "with_colleague", "待同事同意"
    PENDING = "pending", "待主管批准"
    APPROVED = "approved", "已批准"
    DECLINED = "declined", "未批准"
    WITHDRAWN = "withdrawn", "已撤回"
    EXPIRED = "expired", "已过期"  # a day of it passed before anyone decided
