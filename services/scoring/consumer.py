"""Scoring's tracked consumer, batch-wise: one transaction and a few statements per batch.

The shared ``TrackedConsumer`` calls its handler once per event. Scoring folds each touched
dossier once per batch instead, so it records the whole batch in ``processed_events`` with one
statement, keeps only the events that are new, and projects them together. Guarantees stay
those of the shared consumer: bad payloads are dead-lettered and terminated, anything else
rolls the batch back and has it redelivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg
from nats.aio.msg import Msg
from pydantic import ValidationError

from services.scoring.store.writer import apply_events
from shared.contracts import AnyEvent, parse_event
from shared.eventlog import SCORING_ALL, TrackedConsumer
from shared.eventlog.consumer import _nak, _short, stream_seq

log = logging.getLogger(__name__)


class ScoringConsumer(TrackedConsumer):
    async def handle_batch(self, msgs: list[Msg]) -> None:
        parsed: list[tuple[Msg, AnyEvent | None, str]] = []
        for msg in msgs:
            try:
                parsed.append((msg, parse_event(msg.data), ""))
            except ValidationError as exc:
                parsed.append((msg, None, f"invalid payload: {_short(exc)}"))
        try:
            # Each message's span continues its dossier's trace (shared/signals/tracing.py).
            with self._spans(msgs, [e for _, e, _ in parsed]):
                async with self._pool().acquire() as conn, conn.transaction():
                    for msg, event, reason in parsed:
                        if event is None:
                            await self._dead_letter(conn, msg, stream_seq(msg), reason)
                    fresh = await self._claim_fresh(conn, [(m, e) for m, e, _ in parsed if e is not None])
                    await apply_events(conn, fresh)
        except Exception as exc:  # noqa: BLE001 - transient: redeliver the whole batch
            self.stats.failed_batches += 1
            self.stats.errors = [*self.stats.errors[-9:], repr(exc)]
            log.warning("scoring: batch failed, will be redelivered: %r", exc)
            for msg in msgs:
                await _nak(msg)
            return
        for msg, event, _ in parsed:
            await (msg.ack() if event is not None else msg.term())

    async def _claim_fresh(
        self, conn: asyncpg.Connection, batch: list[tuple[Msg, AnyEvent]]
    ) -> list[AnyEvent]:
        """Records the batch's events as processed; returns the ones never seen before."""
        if not batch:
            return []
        fresh = await self.record_processed(conn, batch)
        by_id = {event.event_id: event for _, event in batch}
        return [event for event_id, event in by_id.items() if event_id in fresh]


def scoring_consumer(pool: Callable[[], asyncpg.Pool]) -> ScoringConsumer:
    async def unused(_: asyncpg.Connection, __: AnyEvent) -> None:  # the batch path has no per-event handler
        return None

    return ScoringConsumer(spec=SCORING_ALL, schema="scoring", pool=pool, handler=unused, batch_size=500)
