"""The outbox relay: publishes every committed event of one service to JetStream.

The service's ``eventsourcing`` notification log is the outbox: an event that committed is
there, one that did not never is. The relay reads it in order from its last saved position,
publishes each event with ``Nats-Msg-Id`` = the event's identity, waits for JetStream's
acknowledgements, and only then saves the new position. A crash anywhere in between makes
the next run publish some events again; the stream's duplicate window drops them and the
consumers' tracking ignores any that slip past it. Nothing is lost, nothing counts twice.

The relay sleeps until its events table says something committed: the event store
(``eventsourcing``'s PostgreSQL recorder) sends a NOTIFY on its own channel in the transaction
of every insert, delivered only at commit, from whichever process wrote (a service's API, its
consumers, an operator's tool). Polling stays as a slow fallback, for a notification lost while
the listening connection was being replaced.

Self-healing. PostgreSQL is the source of truth and JetStream can be refilled from it. Every
``HEAL_CHECK_S`` the relay looks at the stream: if it was re-created (its creation time differs
from the one recorded) or lost the tail the relay had been acknowledged (its last sequence is
below the relay's), the relay moves back to its *checkpoint* and publishes again from there. The
checkpoint is the last position whose events every consumer of this service's events had
acknowledged (their ack floors), so a re-publish after a loss costs the backlog at the moment
of loss, not the whole log. A consumer acknowledges only after its effect and its tracking
committed (``consumer.py``), so what it acknowledged is safe in PostgreSQL whatever JetStream
later loses; what is published again is skipped by the consumers' tracking. The stream and the
consumers themselves are re-declared by their owner (``topology.keep_topology``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext
from nats.js.api import StreamInfo
from nats.js.errors import NotFoundError

from shared.contracts import AnyEvent, dump_event
from shared.eventlog.commits import listen_for_commits
from shared.eventlog.pull import MAX_RETRY_S
from shared.eventlog.topology import STREAM, ConsumerSpec, consumers_reading, subject_for
from shared.signals.tracing import TRACEPARENT, read_event

log = logging.getLogger(__name__)

# Added to the publish latency (the end-to-end target is 250 ms at p99); see ``_tail``.
COALESCE_S = 0.005
# A writer's own publish (``publish_committed``) waits at most this long for NATS, then leaves
# the batch to the relay and publishes nothing itself for a while.
DIRECT_TIMEOUT_S = float(os.environ.get("MOTCUA_DIRECT_PUBLISH_TIMEOUT_S", "0.5"))
DIRECT_PAUSE_S = 5.0
# How often the position is saved while it moves past writers' own ranges (see _pass_direct).
DIRECT_SAVE_S = 0.05

# Marks kept between checkpoints at most (~1.25 KB each, with their copy of the counts by type).
# One is made per published batch, and the checkpoint moves only as far as every consumer has
# acknowledged: while consumers lag far behind (a bulk load), a mark per batch grew processing
# by ~20 MB at 1 M dossiers. Beyond this, every other mark is dropped (``thin_marks``).
MAX_MARKS = 1000

# How often the relay looks at the stream (re-created? tail lost?) and moves its checkpoint.
HEAL_CHECK_S = float(os.environ.get("MOTCUA_RELAY_CHECK_S", "1.0"))

Translator = Callable[[Any], AnyEvent | None]


@dataclass(frozen=True)
class Mark:
    """After a batch: the relay's position, how many contracts it had published up to there,
    and the highest stream sequence any of them got (all earlier ones got lower ones)."""

    position: int
    published: int
    stream_seq: int
    # ``published`` by event type (a copy: never changed once made)
    types: Mapping[str, int] = field(default_factory=dict)


def thin_marks(marks: deque[Mark]) -> None:
    """Drops every other mark, keeping the newest. Any mark is a state the relay really was in,
    so the checkpoint stays right with fewer of them: it only moves in longer steps, and a heal
    re-publishes a little more (which the message ids and the consumers' tracking make
    harmless)."""
    kept = list(marks)[::-1][::2][::-1]
    marks.clear()
    marks.extend(kept)


@dataclass
class _Direct:
    """Notifications a writer publishes itself right after its commit (``publish_committed``):
    the relay does not read them; it moves past them once they are acknowledged."""

    last: int
    done: bool = False
    contracts: int = 0
    stream_seq: int = 0
    types: Counter[str] = field(default_factory=Counter)  # ``contracts`` by event type


@dataclass(frozen=True)
class DirectClaim:
    """What ``claim_committed`` hands the writer: its range's first id and the relay's entry."""

    first: int
    entry: _Direct


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
        check_s: float = HEAL_CHECK_S,
        audience: tuple[ConsumerSpec, ...] | None = None,
    ) -> None:
        self.name = name
        self.schema = schema
        self.app = app
        self.translate = translate
        self.js = js
        self.pool = pool
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.check_s = check_s
        # Whose acknowledgements move the checkpoint: every consumer of this service's events.
        self.audience = consumers_reading(name) if audience is None else audience
        self._wake = asyncio.Event()
        self._position: int | None = None
        self._published = 0  # contracts published up to ``_position`` (not counting re-publishes)
        self._types: Counter[str] = Counter()  # the same by event type
        self._last_seq = 0  # the highest stream sequence acknowledged to this relay
        self._stream_created: str | None = None
        self._checkpoint = Mark(0, 0, 0)
        self._marks: deque[Mark] = deque()  # batches published since the checkpoint
        self._next_check = 0.0
        self.heals = 0
        self.last_heal: str | None = None
        self._traces: dict[str, str] = {}  # event id -> traceparent, from read to publish
        # first notification id -> a range its writer publishes itself (this process only)
        self._direct: dict[int, _Direct] = {}
        # The highest notification id a relay read has returned: a writer's claim on ids up to it
        # comes too late (the relay publishes them). Writers claim from their saving threads, so
        # the claim's check and the read's hand-over are made under one lock.
        self._read_upto = 0
        self._claims_lock = threading.Lock()
        self._running = False  # this replica holds the relay's lock and tails the log
        self._direct_paused_until = 0.0  # after a failed direct publish, the relay does it all
        self.published_directly = 0  # contracts their writers published (this process, since start)
        self.published_by_relay = 0  # contracts the relay read from PostgreSQL and published
        self._saved_at = 0.0  # when the position was last saved
        self._unsaved = False  # the position moved past writers' ranges since

    async def position(self) -> int:
        value = await self.pool.fetchval(
            f"SELECT position FROM {self.schema}.relay_position WHERE relay = $1", self.name
        )
        return int(value or 0)

    async def _save_position(self, position: int, published: int, types: Mapping[str, int]) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.schema}.relay_position"
            " (relay, position, published, last_seq, published_types) VALUES ($1, $2, $3, $4, $5::jsonb)"
            " ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position,"
            " published = EXCLUDED.published, last_seq = EXCLUDED.last_seq,"
            " published_types = EXCLUDED.published_types, updated_at = now()",
            self.name,
            position,
            published,
            self._last_seq,
            json.dumps(types, sort_keys=True),
        )
        self._saved_at = time.monotonic()
        self._unsaved = False

    async def _load(self) -> None:
        """The relay's saved state (while it holds the relay's lock this process is its only
        writer; read again at the start of every term, since another replica may have moved it)."""
        row = await self.pool.fetchrow(
            f"SELECT position, published, last_seq, checkpoint, checkpoint_published, stream_created,"
            f" heals, last_heal, published_types::text, checkpoint_published_types::text"
            f" FROM {self.schema}.relay_position WHERE relay = $1",
            self.name,
        )
        if row is None:
            self._position = 0
            return
        self._position = int(row["position"])
        self._last_seq = int(row["last_seq"])
        self._stream_created = row["stream_created"]
        self.heals, self.last_heal = int(row["heals"]), row["last_heal"]
        if row["published"] is None or row["published_types"] is None:
            # Saved before the relay counted what it published (or by type): counted once, from
            # the log, and the checkpoint's as well.
            self._published, self._types = await asyncio.to_thread(self._count_contracts, self._position)
            checkpoint = int(row["checkpoint"])
            counted = await asyncio.to_thread(self._count_contracts, checkpoint)
            self._checkpoint = Mark(checkpoint, counted[0], 0, dict(counted[1]))
            await self._save_position(self._position, self._published, self._types)
            await self._save_checkpoint()
        else:
            self._published, self._types = int(row["published"]), Counter(json.loads(row["published_types"]))
            self._checkpoint = Mark(
                int(row["checkpoint"]),
                int(row["checkpoint_published"]),
                0,
                json.loads(row["checkpoint_published_types"] or "{}"),
            )

    def _count_contracts(self, up_to: int) -> tuple[int, Counter[str]]:
        """How many contracts the log holds up to notification ``up_to`` (read and translated),
        in all and by event type."""
        types: Counter[str] = Counter()
        after = 0
        while after < up_to:
            notifications = self.app.recorder.select_notifications(
                start=after, limit=self.batch_size, stop=up_to, inclusive_of_start=False
            )
            if not notifications:
                break
            for n in notifications:
                contract = self.translate(self.app.mapper.to_domain_event(n))
                if contract is not None:
                    types[contract.event_type] += 1
            after = notifications[-1].id
        return sum(types.values()), types

    async def reset(self, position: int) -> None:
        """Move the relay back (re-publish from there): what self-healing does, by hand."""
        if self._position is None:
            await self._load()
        if position < self._checkpoint.position:
            self._checkpoint = Mark(0, 0, 0)
        if position == self._checkpoint.position:
            self._published, self._types = self._checkpoint.published, Counter(self._checkpoint.types)
        else:
            self._published, self._types = await asyncio.to_thread(self._count_contracts, position)
        self._position = position
        self._marks.clear()
        self._direct.clear()
        await self._save_position(position, self._published, self._types)
        await self._save_checkpoint()

    async def _save_checkpoint(self) -> None:
        await self.pool.execute(
            f"UPDATE {self.schema}.relay_position SET checkpoint = $2, checkpoint_published = $3,"
            " checkpoint_published_types = $4::jsonb WHERE relay = $1",
            self.name,
            self._checkpoint.position,
            self._checkpoint.published,
            json.dumps(self._checkpoint.types, sort_keys=True),
        )

    def _read_batch(self, after: int, stop: int | None = None) -> tuple[int, int, list[AnyEvent]]:
        """Reads and translates the next batch (in a thread: both may touch the database).

        Returns the last notification id read (``after`` if none), how many were read, and the
        events to publish. Stops before a range a writer claimed while this read ran (it
        publishes that range itself).
        """
        notifications: Sequence[Notification] = self.app.recorder.select_notifications(
            start=after, limit=self.batch_size, stop=stop, inclusive_of_start=False
        )
        claimed = [f for f in tuple(self._direct) if f > after]  # a snapshot: writers add claims
        if claimed and notifications and notifications[-1].id >= min(claimed):
            notifications = [n for n in notifications if n.id < min(claimed)]
            last = min(claimed) - 1
        elif stop is not None and len(notifications) < self.batch_size:
            # Read to the claimed range: whatever ids are missing below it were rolled back
            # (a committed claim means every lower id committed or never will).
            last = stop
        else:
            last = notifications[-1].id if notifications else after
        contracts = []
        for notification in notifications:
            domain_event, traceparent = read_event(self.app.mapper, notification)
            contract = self.translate(domain_event)
            if contract is not None:  # None: an internal event, nothing crosses the boundary
                contracts.append(contract)
                if traceparent:
                    self._traces[contract.event_id] = traceparent
        return last, len(notifications), contracts

    async def publish_pending(self) -> int:
        """Publish everything committed since the saved position; returns how many were read.

        Stops at the first batch that is not full: notification ids are handed out in commit
        order (the library locks the table to insert), so nothing older can still appear, and
        anything newer notifies the relay again.
        """
        total = 0
        while True:
            if self._position is None:
                await self._load()
            position = self._position
            assert position is not None
            for first in [f for f in tuple(self._direct) if f <= position]:
                self._direct.pop(first, None)  # read and published by the relay before it was claimed
            if position + 1 in self._direct:
                moved = await self._pass_direct(position)
                if not moved:
                    return total  # still in flight: its writer wakes the relay when acknowledged
                total += moved
                continue
            claimed = [f for f in tuple(self._direct) if f > position]
            stop = min(claimed) - 1 if claimed else None
            last, count, contracts = await asyncio.to_thread(self._read_batch, position, stop)
            self._took_over(position, last)
            if last > position:
                seq = await self._publish(contracts) if contracts else 0
                # Counted only once saved: a save that fails (PostgreSQL restarting) has the
                # batch read and published again, and it must not count twice.
                self.published_by_relay += len(contracts)
                published = self._published + len(contracts)
                types = self._types + Counter(c.event_type for c in contracts)
                self._last_seq = max(self._last_seq, seq)
                await self._save_position(last, published, types)
                self._position, self._published, self._types = last, published, types
                # A batch of internal events only is covered by the last sequence acknowledged
                # to this process; before the first one nothing is known of earlier sequences.
                if self._last_seq:
                    self._mark(Mark(last, self._published, self._last_seq, dict(types)))
            total += count
            if count < self.batch_size and (stop is None or last < stop):
                return total

    def _took_over(self, position: int, last: int) -> None:
        """The read of ``position + 1 .. last`` is the relay's to publish: claims writers made on
        any of it after the read looked for claims (their commit was visible to the read before
        the claim was made) are dropped, and later ones refused (``claim_committed``). A writer
        whose claim was dropped finds it so after its own publish, and counts nothing: the
        stream keeps one copy by the message ids, and the relay counts it once."""
        with self._claims_lock:
            self._read_upto = max(self._read_upto, last)
            for first in [f for f in tuple(self._direct) if position < f <= last]:
                self._direct.pop(first, None)

    async def _pass_direct(self, position: int) -> int:
        """Moves past the acknowledged ranges its writers published, from ``position`` on;
        returns how many notifications that covers (0 while the next one is in flight)."""
        covered, published, seq = position, self._published, self._last_seq
        types = self._types
        while (entry := self._direct.get(covered + 1)) is not None and entry.done:
            del self._direct[covered + 1]
            covered, published, seq = entry.last, published + entry.contracts, max(seq, entry.stream_seq)
            types = types + entry.types
        if covered == position:
            return 0
        self._last_seq = seq
        self._position, self._published, self._types = covered, published, types
        # Under load every commit passes here: the position is saved at most every
        # DIRECT_SAVE_S (and as soon as the log is quiet, by ``_tail``); after a crash the
        # relay publishes the unsaved stretch again, which the message ids make harmless.
        if time.monotonic() - self._saved_at >= DIRECT_SAVE_S:
            await self._save_position(covered, published, types)
        else:
            self._unsaved = True
        if self._last_seq:
            self._mark(Mark(covered, published, self._last_seq, dict(types)))
        return covered - position

    def _mark(self, mark: Mark) -> None:
        self._marks.append(mark)
        if len(self._marks) > MAX_MARKS:
            thin_marks(self._marks)

    async def _flush_position(self) -> None:
        if self._unsaved and self._position is not None:
            await self._save_position(self._position, self._published, self._types)

    def claim_committed(self, first: int, last: int) -> DirectClaim | None:
        """A writer's claim, right after its commit and before anything yields, on the
        notifications ``first..last`` (one transaction's contiguous ids) that it will publish
        itself: the relay reads none of them meanwhile. None: the relay publishes them.

        Only while this replica tails the log; after a failed direct publish the relay does
        everything for a few seconds (NATS slow or away: the writer must not wait on it).
        """
        if not self._running or self._position is None or first <= self._position or last < first:
            return None
        if time.monotonic() < self._direct_paused_until:
            return None
        with self._claims_lock:
            if first <= self._read_upto:  # a relay read has these already (``_took_over``)
                return None
            entry = _Direct(last)
            self._direct[first] = entry
        return DirectClaim(first, entry)

    async def publish_claimed(
        self,
        claim: DirectClaim,
        committed: Sequence[tuple[int, AnyEvent | None]],
        traces: dict[str, str] | None = None,
    ) -> bool:
        """Publishes a claimed range: (notification id, contract or None for an internal
        event) for every id of the claim, in order. Saves the relay reading, decoding and
        translating them again; the relay stays the recovery: whatever this does not publish
        (False) the relay reads and publishes from PostgreSQL."""
        first, entry = claim.first, claim.entry
        ids = [n for n, _ in committed]
        if ids != list(range(first, entry.last + 1)):
            self.release(claim)
            return False
        contracts = [c for _, c in committed if c is not None]
        if traces:
            self._traces.update(traces)
        try:
            seq = await asyncio.wait_for(self._publish(contracts), timeout=DIRECT_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the relay publishes them from PostgreSQL
            log.warning("relay %s: a writer's own publish failed; the relay publishes it", self.name)
            self._direct_paused_until = time.monotonic() + DIRECT_PAUSE_S
            self.release(claim)
            return False
        if self._direct.get(first) is not entry:  # a heal or a new term dropped it meanwhile
            return False
        entry.done, entry.contracts, entry.stream_seq = True, len(contracts), seq
        entry.types = Counter(c.event_type for c in contracts)
        self.published_directly += len(contracts)
        self._wake.set()
        return True

    def release(self, claim: DirectClaim) -> None:
        """Gives a claimed range back to the relay (the writer could not publish it)."""
        if self._direct.get(claim.first) is claim.entry:
            del self._direct[claim.first]
        self._wake.set()

    async def _publish(self, contracts: list[AnyEvent]) -> int:
        """Publishes concurrently (the position is saved only once all are acked); returns the
        highest stream sequence acknowledged (0 for none)."""
        acks = await asyncio.gather(
            *(
                self.js.publish(
                    subject_for(c.event_type, c.dossier_id),
                    dump_event(c),
                    stream=STREAM,
                    headers=self._headers(c.event_id),
                )
                for c in contracts
            )
        )
        return max((ack.seq or 0 for ack in acks), default=0)

    def _headers(self, event_id: str) -> dict[str, str]:
        # The context the event was committed in continues in every consumer (shared/signals).
        traceparent = self._traces.pop(event_id, None)
        if traceparent is None:
            return {"Nats-Msg-Id": event_id}
        return {"Nats-Msg-Id": event_id, TRACEPARENT: traceparent}

    async def check_stream(self) -> str | None:
        """Looks at the stream: re-publishes from the checkpoint if it was re-created or lost
        the tail acknowledged to this relay (returns why), else moves the checkpoint.

        Runs in the relay's own task, between publishes: nothing this relay publishes can
        land in a stream between the look and what is decided from it.
        """
        if self._position is None:
            await self._load()
        try:
            info = await self.js.stream_info(STREAM)
        except NotFoundError:
            return None  # its owner re-declares it; the relay heals when it sees the new one
        created = _created(info)
        if self._stream_created is None:
            self._stream_created = created
            await self.pool.execute(
                f"UPDATE {self.schema}.relay_position SET stream_created = $2 WHERE relay = $1",
                self.name,
                created,
            )
        elif created != self._stream_created:
            return await self._heal(
                f"stream {STREAM} re-created (created {self._stream_created}, now {created})", created
            )
        elif info.state.last_seq < self._last_seq:
            return await self._heal(
                f"stream {STREAM} lost its tail (last sequence {info.state.last_seq}, this relay"
                f" had been acknowledged {self._last_seq})",
                created,
            )
        await self._advance_checkpoint(info)
        return None

    async def _advance_checkpoint(self, info: StreamInfo) -> None:
        if not self._marks:
            return
        floor = info.state.last_seq
        for spec in self.audience:
            try:
                consumer = await self.js.consumer_info(STREAM, spec.durable)
            except NotFoundError:
                return  # being re-declared: it has acknowledged nothing yet
            if (consumer.num_pending or 0) + (consumer.num_ack_pending or 0):
                floor = min(floor, consumer.ack_floor.stream_seq if consumer.ack_floor else 0)
            # else: it has acknowledged all of its events up to the stream's last (read before)
        again = await self.js.stream_info(STREAM)
        if _created(again) != self._stream_created:
            return  # re-created meanwhile: those floors belong to the new stream
        reached: Mark | None = None
        while self._marks and self._marks[0].stream_seq <= floor:
            reached = self._marks.popleft()
        if reached is not None and reached.position > self._checkpoint.position:
            self._checkpoint = reached
            await self._save_checkpoint()

    async def _heal(self, reason: str, created: str) -> str:
        was = self._position
        self._direct.clear()  # published to the stream that was lost: read again from PostgreSQL
        self._position, self._published = self._checkpoint.position, self._checkpoint.published
        self._types = Counter(self._checkpoint.types)
        self._last_seq = 0
        self._marks.clear()
        self._stream_created = created
        self.heals += 1
        self.last_heal = (
            f"{reason}: re-publishing from position {self._position} (was {was}), from PostgreSQL"
        )
        log.warning("relay %s: %s", self.name, self.last_heal)
        await self.pool.execute(
            f"UPDATE {self.schema}.relay_position SET position = $2, published = $3, last_seq = 0,"
            " stream_created = $4, heals = heals + 1, last_healed_at = now(), last_heal = $5,"
            " published_types = $6::jsonb, updated_at = now() WHERE relay = $1",
            self.name,
            self._position,
            self._published,
            created,
            self.last_heal,
            json.dumps(self._types, sort_keys=True),
        )
        self._wake.set()
        return reason

    def status(self) -> dict[str, Any]:
        """For ``/health``: where the relay is, its checkpoint, and its self-healing."""
        return {
            "position": self._position,
            "published": self._published,
            "published_directly": self.published_directly,
            "published_by_relay": self.published_by_relay,
            "checkpoint": self._checkpoint.position,
            "stream_created": self._stream_created,
            "heals": self.heals,
            "last_heal": self.last_heal,
        }

    def wake(self) -> None:
        self._wake.set()

    @property
    def channel(self) -> str:
        """The channel the event store itself notifies on: the library's recorder sends a NOTIFY
        in the transaction of every insert into the events table, delivered only at commit."""
        return str(self.app.recorder.channel_name)  # type: ignore[attr-defined]

    async def _drop_old_trigger(self, conn: asyncpg.Connection) -> None:
        # Earlier releases installed a statement trigger of their own for the same purpose:
        # every insert then notified twice.
        table = f"{self.schema}.{self.app.recorder.events_table_name}"  # type: ignore[attr-defined]
        await conn.execute(
            f"DROP TRIGGER IF EXISTS events_committed ON {table};"
            f" DROP FUNCTION IF EXISTS {self.schema}.notify_events_committed();"
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Tail the log until ``stop`` is set; errors are logged and retried with back-off.

        Runs while this replica holds the service's relay lock (``singleton.py``); each run is a
        term that starts from the saved state, whatever this object remembers of an earlier term.
        """
        self._position = None
        self._marks.clear()
        self._direct.clear()
        self._next_check = 0.0
        listener = asyncio.create_task(
            listen_for_commits(
                lambda: self.pool,
                self.channel,
                self._wake,
                stop,
                name=f"relay {self.name}",
                retry_s=self.idle_poll_s,
                on_connect=self._drop_old_trigger,
            )
        )
        self._running = True
        try:
            await self._tail(stop)
        finally:
            self._running = False
            self._direct.clear()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _tail(self, stop: asyncio.Event) -> None:
        delay = 0.1
        while not stop.is_set():
            # Cleared before reading: a commit notified while we read wakes the wait below.
            self._wake.clear()
            try:
                if time.monotonic() >= self._next_check:
                    self._next_check = time.monotonic() + self.check_s
                    await self.check_stream()
                await self.publish_pending()
                if self._unsaved and time.monotonic() - self._saved_at >= DIRECT_SAVE_S:
                    await self._flush_position()
                delay = 0.1
            except Exception:
                log.exception("relay %s: publishing failed, retrying in %.1fs", self.name, delay)
                # After a failure (NATS gone, the stream lost) look at the stream first.
                self._next_check = 0.0
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_S)
                continue
            # Caught up: woken by a commit's notification (or intake's own wake); the timeout
            # is only the fallback for a lost notification, or the moment to save a position
            # that moved without being saved.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=DIRECT_SAVE_S if self._unsaved else self.idle_poll_s
                )
                # Under load every commit wakes the relay: a few milliseconds let the next
                # commits join the same read and publish, instead of one read per commit.
                await asyncio.sleep(COALESCE_S)


def _created(info: StreamInfo) -> str:
    # The creation time identifies one incarnation of the stream: a stream deleted (or lost with
    # JetStream's store) and declared again gets a new one.
    return info.created.isoformat() if info.created else ""
