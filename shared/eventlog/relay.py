"""The outbox relay: publishes every committed event of one service to JetStream.

The service's ``eventsourcing`` notification log is the outbox: an event that committed is
there, one that did not never is. The relay reads it in order from its last saved position,
publishes each event with ``Nats-Msg-Id`` = the event's identity, waits for JetStream's
acknowledgements, and only then saves the new position. A crash anywhere in between makes
the next run publish some events again; the stream's duplicate window drops them and the
consumers' tracking ignores any that slip past it. Nothing is lost, nothing counts twice.

The relay sleeps until its events table says something committed: a statement trigger sends
a PostgreSQL NOTIFY, which is delivered only at commit, from whichever process wrote (a
service's API, its consumers, an operator's tool). Polling stays as a slow fallback, for a
notification lost while the listening connection was being replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext

from shared.contracts import AnyEvent, dump_event
from shared.eventlog.topology import STREAM, subject_for

log = logging.getLogger(__name__)

# Added to the publish latency (the end-to-end target is 250 ms at p99); see ``_tail``.
COALESCE_S = 0.005

Translator = Callable[[Any], AnyEvent | None]


class OutboxRelay:
    def __init__(
        self,
        *,
        name: str,
        schema: str,
        app: Application[Any],
        translate: Translator,
        js: JetStreamContext,
        pool: asyncpg.Pool,
        batch_size: int = 500,
        idle_poll_s: float = 1.0,
    ) -> None:
        self.name = name
        self.schema = schema
        self.app = app
        self.translate = translate
        self.js = js
        self.pool = pool
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        self._position: int | None = None

    async def position(self) -> int:
        value = await self.pool.fetchval(
            f"SELECT position FROM {self.schema}.relay_position WHERE relay = $1", self.name
        )
        return int(value or 0)

    async def _save_position(self, position: int) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.schema}.relay_position (relay, position) VALUES ($1, $2)"
            " ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
            self.name,
            position,
        )

    async def reset(self, position: int) -> None:
        """Move the relay back (re-publish from there) — e.g. after JetStream lost data."""
        await self._save_position(position)
        self._position = position

    def _read_batch(self, after: int) -> tuple[int, int, list[AnyEvent]]:
        """Reads and translates the next batch (in a thread: both may touch the database).

        Returns the last notification id read (``after`` if none), how many were read, and the
        events to publish.
        """
        notifications: Sequence[Notification] = self.app.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        contracts = []
        for notification in notifications:
            contract = self.translate(self.app.mapper.to_domain_event(notification))
            if contract is not None:  # None: an internal event, nothing crosses the boundary
                contracts.append(contract)
        return (notifications[-1].id if notifications else after), len(notifications), contracts

    async def publish_pending(self) -> int:
        """Publish everything committed since the saved position; returns how many were read.

        Stops at the first batch that is not full: notification ids are handed out in commit
        order (the library locks the table to insert), so nothing older can still appear, and
        anything newer notifies the relay again.
        """
        total = 0
        while True:
            if self._position is None:
                self._position = await self.position()  # this process is its only writer
            last, count, contracts = await asyncio.to_thread(self._read_batch, self._position)
            if count:
                await self._publish(contracts)
                await self._save_position(last)
                self._position = last
            total += count
            if count < self.batch_size:
                return total

    async def _publish(self, contracts: list[AnyEvent]) -> None:
        # Published concurrently for throughput; the position is saved only once all are acked.
        await asyncio.gather(
            *(
                self.js.publish(
                    subject_for(c.event_type, c.dossier_id),
                    dump_event(c),
                    stream=STREAM,
                    headers={"Nats-Msg-Id": c.event_id},
                )
                for c in contracts
            )
        )

    def wake(self) -> None:
        self._wake.set()

    @property
    def channel(self) -> str:
        return f"{self.schema}_events_committed"

    async def _install_trigger(self, conn: asyncpg.Connection) -> None:
        table = f"{self.schema}.{self.app.recorder.events_table_name}"  # type: ignore[attr-defined]
        function = f"{self.schema}.notify_events_committed"
        await conn.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN PERFORM pg_notify('{self.channel}', ''); RETURN NULL; END $$;"
            # One notification per statement, not per row: a group commit of 200 dossiers
            # wakes the relay once.
            f" CREATE OR REPLACE TRIGGER events_committed AFTER INSERT ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )

    async def _listen(self, stop: asyncio.Event) -> None:
        """Holds a connection LISTENing on the channel; replaced if it breaks."""

        def on_notify(*_: object) -> None:
            self._wake.set()

        while not stop.is_set():
            try:
                async with self.pool.acquire() as conn:
                    await self._install_trigger(conn)
                    await conn.add_listener(self.channel, on_notify)
                    try:
                        self._wake.set()  # whatever committed before we listened
                        while not stop.is_set() and not conn.is_closed():
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(stop.wait(), timeout=self.idle_poll_s)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(self.channel, on_notify)
            except Exception:
                log.warning("relay %s: listening failed, polling until it is back", self.name, exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.idle_poll_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Tail the log until ``stop`` is set; errors are logged and retried with back-off."""
        listener = asyncio.create_task(self._listen(stop))
        try:
            await self._tail(stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _tail(self, stop: asyncio.Event) -> None:
        delay = 0.1
        while not stop.is_set():
            # Cleared before reading: a commit notified while we read wakes the wait below.
            self._wake.clear()
            try:
                await self.publish_pending()
                delay = 0.1
            except Exception:
                log.exception("relay %s: publishing failed, retrying in %.1fs", self.name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            # Caught up: woken by a commit's notification (or intake's own wake); the timeout
            # is only the fallback for a lost notification.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_s)
                # Under load every commit wakes the relay: a few milliseconds let the next
                # commits join the same read and publish, instead of one read per commit.
                await asyncio.sleep(COALESCE_S)
