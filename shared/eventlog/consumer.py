"""Tracked consumers: each message's effect commits together with the record that it was seen.

A pull loop (``pull.py``) hands over batches from a durable consumer declared in ``topology``.
Each batch is handled in one PostgreSQL transaction; every message in it gets a savepoint, so
that

* an event already in ``processed_events`` is skipped (redelivery changes nothing),
* a payload that fails validation, or that a handler declares poison, is stored in
  ``dead_letters`` with its reason and terminated, and the batch carries on,
* any other error (a transient failure) rolls the whole batch back and asks JetStream to
  redeliver it after a back-off — FastStream's own default would *terminate* it
  (docs/pitfalls.md, "NATS and FastStream").

A consumer gives the effect of its events in one or both of two forms:

* ``handler``: one event at a time, in its own savepoint. A handler that writes elsewhere than
  the tracking connection (an event store) pays one transaction per message there, and every
  message costs a savepoint and an insert here.
* ``apply``: a whole batch in the batch's transaction. The batch's valid events are first
  recorded in ``processed_events`` with one statement (which also waits for, and then skips,
  an event another replica is committing); ``apply`` gets those never seen before and returns
  the ids of the ones whose effect it has put in place. Those are acked; the record of the
  others is taken back and they go the per-message way above, through ``handler``. So
  ``apply`` may give up on any event, or on all of them, and leave the verdict (poison or
  not) to the handler. Without a handler, an event ``apply`` gives up on is offered to it
  again alone, and dead-lettered if it gives up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from shared.contracts import AnyEvent, parse_event
from shared.eventlog.dead_letters import store_dead_letter
from shared.eventlog.pull import pull_batches
from shared.eventlog.topology import REDELIVERY_BACKOFF_S, ConsumerSpec
from shared.signals.tracing import MessageSpans, message_spans

log = logging.getLogger(__name__)


class PoisonMessage(Exception):
    """A handler's verdict that a message can never be processed, whatever the retries."""


Handler = Callable[[asyncpg.Connection, AnyEvent], Awaitable[None]]
# Like the handler, ``apply`` runs inside the batch's transaction: whatever it raises rolls the
# batch back and has it redelivered, so it must leave per-event trouble to the handler instead.
ApplyBatch = Callable[[asyncpg.Connection, list[AnyEvent]], Awaitable[Collection[str]]]


@dataclass
class ConsumerStats:
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    failed_batches: int = 0
    last_stream_seq: int = 0
    errors: list[str] = field(default_factory=list)


class TrackedConsumer:
    def __init__(
        self,
        *,
        spec: ConsumerSpec,
        schema: str,
        pool: Callable[[], asyncpg.Pool],
        handler: Handler | None = None,
        apply: ApplyBatch | None = None,
        batch_size: int = 200,
    ) -> None:
        if handler is None and apply is None:
            raise ValueError(f"consumer {spec.durable}: give a handler, an apply hook or both")
        self.spec = spec
        self.schema = schema
        self._pool = pool
        self.handler = handler
        self.apply = apply
        self.batch_size = batch_size
        self.stats = ConsumerStats()

    async def run(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set (the service host starts and stops it)."""
        await pull_batches(js, self.spec.durable, self.batch_size, self.handle_batch, stop)

    async def handle_batch(self, msgs: list[Msg]) -> None:
        verdicts: list[bool] = []  # True: ack, False: terminate (dead-lettered)
        try:
            parsed = [_parse(msg) for msg in msgs]
            with self._spans(msgs, parsed) as spans:
                try:
                    async with self._pool().acquire() as conn, conn.transaction():
                        done = await self._apply_batch(conn, msgs, parsed)
                        for i, (msg, event) in enumerate(zip(msgs, parsed, strict=True)):
                            if isinstance(event, ValidationError) or event.event_id not in done:
                                with spans.entered(i):
                                    verdicts.append(await self._handle_one(conn, msg, event))
                            else:
                                verdicts.append(True)
                except Exception as exc:
                    spans.fail(exc)
                    raise
        except Exception as exc:  # noqa: BLE001 - transient: redeliver the whole batch
            self.stats.failed_batches += 1
            self.stats.errors = [*self.stats.errors[-9:], repr(exc)]
            log.warning("consumer %s: batch failed, will be redelivered: %r", self.spec.durable, exc)
            for msg in msgs:
                await _nak(msg)
            return
        for msg, ok in zip(msgs, verdicts, strict=True):
            if ok:
                await msg.ack()
            else:
                await msg.term()

    def _spans(
        self, msgs: list[Msg], parsed: Sequence[AnyEvent | ValidationError | None]
    ) -> contextlib.AbstractContextManager[MessageSpans]:
        """Each message continues the trace its event was committed in (the relay's header)."""
        return message_spans(
            self.schema,
            self.spec.durable,
            [msg.headers for msg in msgs],
            [msg.subject for msg in msgs],
            [
                (None, None)
                if e is None or isinstance(e, ValidationError)
                else (e.dossier_id, e.dossier_code)
                for e in parsed
            ],
        )

    async def _apply_batch(
        self, conn: asyncpg.Connection, msgs: list[Msg], parsed: list[AnyEvent | ValidationError]
    ) -> Collection[str]:
        """Records the batch's valid events as processed and has ``apply`` put the new ones in
        place; returns the ids that need nothing more than an ack (applied, or seen before)."""
        if self.apply is None:
            return frozenset()
        batch = [
            (msg, event)
            for msg, event in zip(msgs, parsed, strict=True)
            if not isinstance(event, ValidationError)
        ]
        if not batch:
            return frozenset()
        try:
            async with conn.transaction():  # a savepoint: data the database refuses leaves no trace
                fresh = await self._record_processed(conn, batch)
        except asyncpg.DataError:
            return frozenset()  # each goes the per-message way, where only the bad one is dead-lettered
        new = {event.event_id: event for _, event in batch if event.event_id in fresh}
        done = set(await self.apply(conn, list(new.values()))) if new else set()
        left = [event_id for event_id in new if event_id not in done]
        if left:
            await conn.execute(
                f"DELETE FROM {self.schema}.processed_events WHERE consumer = $1 AND event_id = ANY($2)",
                self.spec.durable,
                left,
            )
        self.stats.processed += len(new) - len(left)
        self.stats.duplicates += len(batch) - len(new)
        return {event.event_id for _, event in batch} - set(left)

    async def _record_processed(
        self, conn: asyncpg.Connection, batch: list[tuple[Msg, AnyEvent]]
    ) -> set[str]:
        """Records a batch's events as processed with one statement; returns the ids of those
        never seen before (the others are redeliveries, or repeats within the batch)."""
        seqs: dict[str, int | None] = {}
        for msg, event in batch:
            seqs.setdefault(event.event_id, self._seen(msg))
        # In one order: two replicas recording overlapping batches never wait on each other in a cycle.
        ids = sorted(seqs)
        rows = await conn.fetch(
            f"INSERT INTO {self.schema}.processed_events (consumer, event_id, stream_seq)"
            " SELECT $1, * FROM unnest($2::text[], $3::bigint[]) ON CONFLICT DO NOTHING"
            " RETURNING event_id",
            self.spec.durable,
            ids,
            [seqs[event_id] for event_id in ids],
        )
        return {row["event_id"] for row in rows}

    def _seen(self, msg: Msg) -> int | None:
        seq = stream_seq(msg)
        self.stats.last_stream_seq = max(self.stats.last_stream_seq, seq or 0)
        return seq

    async def _handle_one(
        self,
        conn: asyncpg.Connection,
        msg: Msg,
        event: AnyEvent | ValidationError,
    ) -> bool:
        seq = self._seen(msg)
        if isinstance(event, ValidationError):
            await self._dead_letter(conn, msg, seq, f"invalid payload: {_short(event)}")
            return False
        try:
            # A savepoint: a poison message rolls back only its own writes, the batch goes on.
            async with conn.transaction():
                fresh = await conn.fetchval(
                    f"INSERT INTO {self.schema}.processed_events (consumer, event_id, stream_seq)"
                    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
                    self.spec.durable,
                    event.event_id,
                    seq,
                )
                if not fresh:
                    self.stats.duplicates += 1
                    return True
                await self.apply_one(conn, event)
        except PoisonMessage as exc:
            poison = str(exc)
        except asyncpg.DataError as exc:
            # The same data fails the same way on every redelivery: poison, not a transient fault.
            poison = f"the database refuses this event's data: {exc}"
        else:
            self.stats.processed += 1
            return True
        await self._dead_letter(conn, msg, seq, f"rejected by handler: {poison}")
        return False

    async def apply_one(self, conn: asyncpg.Connection, event: AnyEvent) -> None:
        """The effect of one event on its own (a message on the per-message way, a redriven
        dead letter): the handler, or without one, ``apply`` given just this event."""
        if self.handler is not None:
            await self.handler(conn, event)
            return
        assert self.apply is not None  # one of the two is required
        if event.event_id not in set(await self.apply(conn, [event])):
            raise PoisonMessage("the batch hook did not apply it, and the consumer has no handler")

    async def _dead_letter(self, conn: asyncpg.Connection, msg: Msg, seq: int | None, reason: str) -> None:
        self.stats.dead_lettered += 1
        log.error("consumer %s: dead-lettering seq %s: %s", self.spec.durable, seq, reason)
        await store_dead_letter(
            conn,
            self.schema,
            consumer=self.spec.durable,
            subject=msg.subject,
            stream_seq=seq,
            payload=msg.data,
            headers=dict(msg.headers or {}),
            reason=reason,
        )


# Puts some of a batch's events in place at once (one statement for many), returning the others,
# in their order, for the handler.
Bulk = Callable[[asyncpg.Connection, list[AnyEvent]], Awaitable[list[AnyEvent]]]


def all_in_one_savepoint(handler: Handler, bulk: Bulk | None = None) -> ApplyBatch:
    """An ``apply`` hook for a handler that writes only through the tracking connection: the whole
    batch is handled inside one savepoint instead of one each (``bulk`` first, when given, then
    ``handler`` for what it left). If one event is poison, that savepoint is rolled back and the
    batch goes the per-message way, which dead-letters only that one; any other error is
    transient as usual."""

    async def apply(conn: asyncpg.Connection, events: list[AnyEvent]) -> list[str]:
        try:
            async with conn.transaction():
                rest = events if bulk is None else await bulk(conn, events)
                for event in rest:
                    await handler(conn, event)
        except (PoisonMessage, asyncpg.DataError):
            return []
        return [event.event_id for event in events]

    return apply


def _parse(msg: Msg) -> AnyEvent | ValidationError:
    try:
        return parse_event(msg.data)
    except ValidationError as exc:
        return exc


def stream_seq(msg: Msg) -> int | None:
    """The message's position in the stream (None for a message not from JetStream)."""
    return msg.metadata.sequence.stream if msg.reply else None


async def _nak(msg: Msg) -> None:
    attempt = msg.metadata.num_delivered if msg.reply else 1
    delay = REDELIVERY_BACKOFF_S[min(attempt, len(REDELIVERY_BACKOFF_S)) - 1]
    try:
        await msg.nak(delay=delay)
    except Exception:
        log.debug("nak failed", exc_info=True)


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
    )[:2000]
