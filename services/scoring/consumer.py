"""Scoring's tracked consumer, batch-wise: one transaction and a few statements per batch.

Scoring folds each touched dossier once per batch rather than once per event, so it has no
per-event handler: the shared consumer records the batch in ``processed_events`` with one
statement and hands the new events to ``apply``, which projects them together. Guarantees are
those of the shared consumer: bad payloads are dead-lettered and terminated, anything else
rolls the batch back and has it redelivered.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from services.scoring.store.writer import apply_events
from shared.contracts import AnyEvent
from shared.eventlog import SCORING_ALL, TrackedConsumer


async def project(conn: asyncpg.Connection, events: list[AnyEvent]) -> list[str]:
    """Projects the batch's new events; all of them or, by raising, none (the batch is redelivered)."""
    await apply_events(conn, events)
    return [event.event_id for event in events]


def scoring_consumer(pool: Callable[[], asyncpg.Pool]) -> TrackedConsumer:
    return TrackedConsumer(spec=SCORING_ALL, schema="scoring", pool=pool, apply=project, batch_size=500)
