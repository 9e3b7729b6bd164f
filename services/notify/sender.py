"""The outbox sender: sends each pending message once it is due, and marks it sent.

A message is sent inside the transaction that holds its row lock, and marked sent in that same
transaction. A process that dies after the provider took the message but before the commit
leaves the row pending: it is sent again, with the same key (``notify-<id>``), which the
provider and mail clients take as the same message. So nothing is lost, and nothing reaches the
citizen twice as long as the channel honours the key. A channel that is down (``ChannelUnavailable``)
puts the row back with a growing pause; the contact erased (crypto-shredded) ends it as ``dropped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from services.notify.channels import Channel, ChannelUnavailable, Message
from services.notify.templates import render
from shared.pii import KeyRing, SealBroken

log = logging.getLogger(__name__)
BATCH = 20
MAX_PAUSE_S = 3600


def address_of(channel: str, person: Mapping[str, Any]) -> str | None:
    return person.get("email") if channel == "email" else person.get("phone")


class OutboxSender:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        keyring: KeyRing,
        channels: Mapping[str, Channel],
        *,
        idle_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self.keyring = keyring
        self.channels = channels
        self.idle_s = idle_s

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.send_due()
            except Exception:  # PostgreSQL restarting and the like: the next round retries
                log.exception("notify: sending round failed; next round retries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.idle_s)

    async def send_due(self) -> int:
        """Sends what is due now; returns how many were marked sent."""
        sent = 0
        for _ in range(BATCH):
            done = await self._send_one()
            if done is None:
                break
            sent += done
        return sent

    async def _send_one(self) -> int | None:
        conn: asyncpg.Connection
        async with self._pool().acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT o.*, d.applicant::text AS applicant FROM notify.outbox o"
                " JOIN notify.dossiers d USING (dossier_id)"
                " WHERE o.status = 'pending' AND o.not_before <= now()"
                " ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED"
            )
            if row is None:
                return None
            message = await self._message(conn, row)
            if message is None:
                await conn.execute("UPDATE notify.outbox SET status = 'dropped' WHERE id = $1", row["id"])
                log.info("notify: message %s for %s dropped (no contact)", row["id"], row["dossier_code"])
                return 0
            try:
                await self.channels[row["channel"]].send(message)
            except ChannelUnavailable as exc:
                pause = min(MAX_PAUSE_S, 2 ** row["attempts"])
                await conn.execute(
                    "UPDATE notify.outbox SET attempts = attempts + 1, last_error = $2,"
                    " not_before = now() + make_interval(secs => $3) WHERE id = $1",
                    row["id"],
                    str(exc)[:200],
                    float(pause),
                )
                log.warning("notify: %s channel unavailable (%s); retry in %ss", row["channel"], exc, pause)
                return 0
            await conn.execute(
                "UPDATE notify.outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1"
                " WHERE id = $1",
                row["id"],
            )
            return 1

    async def _message(self, conn: asyncpg.Connection, row: asyncpg.Record) -> Message | None:
        if row["applicant"] is None:
            return None
        try:
            person = await self.keyring.open(conn, json.loads(row["applicant"]))
        except SealBroken:
            return None
        to = address_of(row["channel"], person) if person else None
        if not to:
            return None
        subject, body = render(row["kind"], row["dossier_code"], json.loads(row["vars"]))
        return Message(key=f"notify-{row['id']}", to=to, subject=subject, body=body)
