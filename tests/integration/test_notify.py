"""Notifications against the real servers: e-mail through a real SMTP server (aiosmtpd), SMS
through the recording channel, the outbox surviving a crash between sending and marking sent."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message as Mail
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.notify.channels import Message, RecordingChannel, SmtpChannel
from services.notify.main import create_app as create_notify
from shared.host.settings import Settings
from tests.system import APPLICANT, System, as_service, eventually, receive_body, running_system


@dataclass
class Inbox:
    mails: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class CrashAfterSend(RecordingChannel):
    """The provider takes the message, then the sender dies before it marks it sent (once)."""

    crashed = False

    async def send(self, message: Message) -> None:
        await super().send(message)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("killed between send and mark")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def notify_world(
    database_url: str, nats_url: str
) -> AsyncIterator[tuple[System, Inbox, CrashAfterSend, httpx.AsyncClient]]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    sms = CrashAfterSend()
    settings = Settings(nats_url=nats_url, database_url=database_url)
    try:
        async with running_system(settings, ("intake", "processing")) as system:
            notify = create_notify(
                as_service(settings, "notify"),
                channels={"email": SmtpChannel("127.0.0.1", smtp.port, "motcua@localhost"), "sms": sms},
            )
            notify.state.sender.idle_s = 0.1
            async with (
                notify.router.lifespan_context(notify),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=notify), base_url="http://notify"
                ) as client,
            ):
                yield system, inbox, sms, client
    finally:
        smtp.stop()


async def _result_ready(system: System, **filing: Any) -> str:
    received = await system.intake.post("/dossiers", json=receive_body("LLTP", **filing))
    assert received.status_code == 201, received.text
    code: str = received.json()["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    assert (
        await system.processing.post(f"/dossiers/{code}/decision", json={"approved": True})
    ).status_code == 200
    assert (await system.processing.post(f"/dossiers/{code}/result-ready", json={})).status_code == 200
    return code


async def test_citizens_are_told_once_by_the_channel_they_chose(database_url: str, nats_url: str) -> None:
    async with notify_world(database_url, nats_url) as (system, inbox, sms, notify):
        # The contact must exist for the channel chosen: refused at the desk otherwise.
        bad = await system.intake.post("/dossiers", json=receive_body("LLTP", notify_channel="email"))
        assert bad.status_code == 422 and bad.json()["error"]["message"]["en"], bad.text

        with_mail = {**APPLICANT, "email": "ngoc@example.vn"}
        by_mail = await _result_ready(system, applicant=with_mail, notify_channel="email")
        by_sms = await _result_ready(system, notify_channel="sms")
        await _result_ready(system)  # chose nothing: told nothing

        await eventually(lambda: _len(inbox.mails), lambda n: n >= 1, timeout=15)
        (mail,) = inbox.mails
        assert mail["To"] == "ngoc@example.vn" and by_mail in str(mail["Subject"])
        assert mail["Message-ID"].startswith("<notify-")  # the outbox key: duplicates collapse on it
        text = mail.get_payload(decode=True).decode()
        assert (
            "đã có kết quả" in text
            and APPLICANT["full_name"] not in text
            and APPLICANT["address"] not in text
        )

        # SMS: the provider took it, the sender "died" before marking it sent; sent again with
        # the same key, so the citizen gets one message; then nothing more.
        await eventually(lambda: _outbox(notify), lambda rows: _count(rows, "sent") == 2, timeout=15)
        assert len(sms.sent) == 2 and len(sms.delivered()) == 1
        (delivered,) = sms.delivered().values()
        assert delivered.to == APPLICANT["phone"] and by_sms in delivered.subject
        rows = await _outbox(notify)
        assert _count(rows, "pending") == 0 and sum(r["messages"] for r in rows) == 2
        assert len(inbox.mails) == 1 and len(sms.sent) == 2


async def _len(items: list[Any]) -> int:
    return len(items)


async def _outbox(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    from tests.identity import auth

    response = await client.get("/outbox", headers=auth("kiemtra.vanhanh"))
    assert response.status_code == 200, response.text
    return list(response.json())


def _count(rows: list[dict[str, Any]], status: str) -> int:
    return sum(r["messages"] for r in rows if r["status"] == status)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
