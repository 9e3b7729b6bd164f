"""Woken when a service's event store commits: a LISTEN on the store's own channel.

``eventsourcing``'s PostgreSQL recorder sends a NOTIFY on its channel (``recorder.channel_name``)
in the transaction of every insert into the events table; PostgreSQL delivers it at commit,
whichever process wrote. A reader of the notification log (the relay, a read model kept by
tailing the log) holds one pooled connection listening there and sleeps until something
committed, instead of asking the table over and over. If the connection breaks, the reader is
woken (it may have missed a notification) and listening resumes once a connection is had again;
readers keep a slow timer of their own as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger(__name__)


async def listen_for_commits(
    pool: Callable[[], asyncpg.Pool],
    channel: str,
    wake: asyncio.Event,
    stop: asyncio.Event,
    *,
    name: str,
    retry_s: float = 1.0,
    on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> None:
    """Sets ``wake`` on every commit notified on ``channel`` until ``stop`` is set; also once on
    each (re)connection, for whatever committed while nobody listened."""

    def on_notify(*_: object) -> None:
        wake.set()

    while not stop.is_set():
        try:
            async with pool().acquire() as conn:
                if on_connect is not None:
                    await on_connect(conn)
                await conn.add_listener(channel, on_notify)
                try:
                    wake.set()
                    while not stop.is_set() and not conn.is_closed():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=retry_s)
                finally:
                    if not conn.is_closed():
                        await conn.remove_listener(channel, on_notify)
        except Exception:
            log.warning("%s: listening for commits failed, polling until it is back", name, exc_info=True)
            wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=retry_s)
