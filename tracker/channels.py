"""Outgoing channels for alerts: e-mail over SMTP and chat-robot webhooks (DingTalk, WeCom).

Both raise on any failure; ``tracker.services.alerts.deliver`` records it and retries.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

import requests


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    security: str = "none"  # none, starttls, ssl
    timeout: float = 15.0

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = formataddr(("差评挽回助手", self.sender))
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        context = ssl.create_default_context()
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


@dataclass(frozen=True)
class WebhookPoster:
    """A group robot's webhook. DingTalk and WeCom both take ``{"msgtype": "text", ...}`` and
    answer 200 with ``errcode`` != 0 when they refuse a message, so that is checked too."""

    timeout: float = 10.0

    def post(self, url: str, text: str) -> None:
        response = requests.post(
            url, json={"msgtype": "text", "text": {"content": text}}, timeout=self.timeout
        )
        response.raise_for_status()
        try:
            answer = response.json()
        except ValueError:
            return  # a receiver that answers 2xx without JSON has taken it
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            raise RuntimeError(
                f"webhook refused: {answer.get('errcode')} {answer.get('errmsg', '')}"
            )
