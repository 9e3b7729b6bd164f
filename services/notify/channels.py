"""Channels behind one interface: e-mail over SMTP, SMS and Zalo through their providers' HTTP APIs,
and a recording fake for tests and development.

Every message carries a stable ``key`` (the outbox row's): a message sent again after a crash
between sending and marking it sent carries the same key, which the providers take as their
idempotency key (SMS and Zalo) and mail clients as the ``Message-ID`` they collapse duplicates by.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import httpx


@dataclass(frozen=True)
class Message:
    key: str
    to: str  # an e-mail address or a phone number: personal data, never logged
    subject: str
    body: str


class ChannelUnavailable(Exception):
    """The provider could not take the message now: retried later."""


class Channel(Protocol):
    async def send(self, message: Message) -> None: ...


class SmtpChannel:
    def __init__(self, host: str, port: int, sender: str, *, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout_s = host, port, sender, timeout_s

    def _send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.key}@motcua.notify>"
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(mail)

    async def send(self, message: Message) -> None:
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelUnavailable(type(exc).__name__) from exc


class HttpMessageChannel:
    """An SMS gateway or Zalo's notification service: one POST per message, keyed for idempotency."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self.url, self.token = url, token

    async def send(self, message: Message) -> None:
        try:
            response = await self._client.post(
                self.url,
                json={"to": message.to, "text": f"{message.subject}\n{message.body}"},
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": message.key},
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(type(exc).__name__) from exc
        if response.status_code >= 300:
            raise ChannelUnavailable(f"HTTP {response.status_code}")


@dataclass
class RecordingChannel:
    """Keeps what it was asked to send, as a provider would: duplicates by key are one delivery."""

    sent: list[Message] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def delivered(self) -> dict[str, Message]:
        return {m.key: m for m in self.sent}
