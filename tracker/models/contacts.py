"""How the shop reaches a buyer: numbers kept as sealed handles, approved message
templates, the outbox of messages through a provider, and the provider accounts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.models.enums import HandleKind, MessagePurpose, MessageState, RemedyNotice

if TYPE_CHECKING:
    from tracker.models.buyers import Buyer


class ContactHandle(db.Model):
    """A way to call one buyer: its kind, where it came from, until when it works. The
    number itself is sealed (tracker.sealing, TRACKER_PERSONAL_DATA_KEY) and opened only
    for staff working the buyer's case, each time audited; a lapsed virtual number is
    erased (``sealed`` emptied, ``erased_at`` set), its row kept for the record."""

    __tablename__ = "contact_handles"
    __table_args__ = (
        sa.Index("ix_contact_handles_buyer_id_fingerprint", "buyer_id", "fingerprint"),
        sa.Index("ix_contact_handles_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("buyers.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(  # a binding is made for one case's call
        sa.ForeignKey("cases.id", ondelete="SET NULL")
    )
    kind: Mapped[HandleKind]
    source: Mapped[str] = mapped_column(sa.String(32))  # import, top, jd, aliyun-axb, staff…
    sealed: Mapped[str | None] = mapped_column(sa.Text)  # Fernet token of number + extension
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))  # Sealer.fingerprint
    hint: Mapped[str] = mapped_column(sa.String(40))  # masked, for every page: 184****3965 转 7576
    expires_at: Mapped[datetime | None]  # None: works until someone says otherwise
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64))  # a binding's SubsId
    released_at: Mapped[datetime | None]  # a binding given back to the pool
    erased_at: Mapped[datetime | None]  # the lapsed number was wiped
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]

    buyer: Mapped[Buyer] = relationship()

    def works_at(self, now: datetime) -> bool:
        return (
            self.sealed is not None
            and self.released_at is None
            and (self.expires_at is None or self.expires_at > now)
        )


# A number the shop holds for a buyer: still sealed (not wiped), and not a privacy binding,
# which holds the pool's number and is released by its own job (calls.release_ended).
HELD_NUMBER = (ContactHandle.kind != HandleKind.BINDING, ContactHandle.sealed.is_not(None))


class ProviderAccount(db.Model):
    """A shop's account with a message or call provider (Aliyun SMS, Aliyun 号码隐私保护),
    sealed like platform credentials."""

    __tablename__ = "provider_accounts"

    shop_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    sealed: Mapped[str] = mapped_column(sa.Text)
    hint: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class MessageTemplate(db.Model):
    """A template the provider approved (签名 + 模板 CODE): the only text a message may
    carry. Its parameters are filled from the case, never typed."""

    __tablename__ = "message_templates"
    __table_args__ = (sa.UniqueConstraint("shop_id", "provider", "template_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(sa.String(32))  # aliyun-sms, or platform
    name: Mapped[str] = mapped_column(sa.String(64))
    sign_name: Mapped[str] = mapped_column(sa.String(64))  # 短信签名
    template_code: Mapped[str] = mapped_column(sa.String(64))  # SMS_123456789
    body: Mapped[str] = mapped_column(sa.Text)  # as approved, with ${name} parameters
    purpose: Mapped[MessagePurpose]
    # the remedy a notice tells the buyer was arranged (sent only where it is recorded);
    # None: not said, as for templates registered before it was asked
    announces: Mapped[RemedyNotice | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]


class OutboundMessage(db.Model):
    """One message in the outbox: sent by the scheduler, retried when the failure can be
    retried, its delivery status read back from the provider. ``out_id`` goes to the
    provider with the send, so a lookup can tell whether an unanswered send went out."""

    __tablename__ = "outbound_messages"
    __table_args__ = (sa.Index("ix_outbound_messages_state_next_try_at", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact_attempts.id", ondelete="CASCADE"), unique=True
    )
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("message_templates.id"))
    handle_id: Mapped[int | None] = mapped_column(  # the number, for a provider SMS
        sa.ForeignKey("contact_handles.id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(sa.String(32))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    state: Mapped[MessageState]
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    out_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64))  # Aliyun's BizId
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]  # delivered, or failed for good

    template: Mapped[MessageTemplate] = relationship()
