"""Consumer lag and dead letters across every service, for ``/ops`` and the ``motcua`` CLI."""

from __future__ import annotations

from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.eventlog import CONSUMERS, STREAM
from shared.eventlog.dead_letters import list_dead_letters
from shared.eventlog.redrive import RedriveFailed, request_redrive

__all__ = ["SCHEMAS", "RedriveFailed", "UnknownDeadLetter", "dead_letters", "lag", "redrive"]

SCHEMAS = ("intake", "processing", "postal", "scoring")


class UnknownDeadLetter(LookupError):
    pass


async def lag(js: JetStreamContext) -> dict[str, Any]:
    """Per durable consumer: the stream's last sequence against the consumer's ack floor."""
    stream = await js.stream_info(STREAM)
    last = stream.state.last_seq
    consumers = []
    for spec in CONSUMERS:
        try:
            info = await js.consumer_info(STREAM, spec.durable)
        except NotFoundError:
            consumers.append({"consumer": spec.durable, "declared": False})
            continue
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        consumers.append(
            {
                "consumer": spec.durable,
                "declared": True,
                "filter_subject": spec.filter_subject,
                "ack_floor": floor,
                "behind_stream": max(0, last - floor),  # includes events outside its filter
                "lag": (info.num_pending or 0) + (info.num_ack_pending or 0),
                "pending": info.num_pending or 0,
                "ack_pending": info.num_ack_pending or 0,
                "redelivered": info.num_redelivered or 0,
                "waiting": info.num_waiting or 0,
            }
        )
    return {"stream": STREAM, "last_seq": last, "messages": stream.state.messages, "consumers": consumers}


async def dead_letters(conn: asyncpg.Connection, include_redriven: bool = False) -> list[dict[str, Any]]:
    out = []
    for schema in SCHEMAS:
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.dead_letters")
        if not exists:
            continue
        for dl in await list_dead_letters(conn, schema, include_redriven=include_redriven, limit=1000):
            out.append(
                {
                    "schema": schema,
                    "id": dl.id,
                    "consumer": dl.consumer,
                    "subject": dl.subject,
                    "stream_seq": dl.stream_seq,
                    "reason": dl.reason,
                    "dead_at": dl.dead_at.isoformat(),
                    "redriven_at": dl.redriven_at.isoformat() if dl.redriven_at else None,
                    "payload": dl.payload.decode("utf-8", errors="replace")[:4000],
                }
            )
    return out


async def redrive(conn: asyncpg.Connection, nc: Client, schema: str, letter_id: int) -> dict[str, Any]:
    """Has the service owning the dead letter's consumer run it through that consumer again.

    Only that consumer sees it again (``shared/eventlog/redrive.py``): re-publishing to the
    stream would hand it to every consumer of the subject. Raises ``UnknownDeadLetter``, or
    ``RedriveFailed`` with the owner's reason (still failing, owner not running).
    """
    if schema not in SCHEMAS:
        raise UnknownDeadLetter(schema)
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.dead_letters")
    consumer = (
        await conn.fetchval(f"SELECT consumer FROM {schema}.dead_letters WHERE id = $1", letter_id)
        if exists
        else None
    )
    if consumer is None:
        raise UnknownDeadLetter(f"{schema}/{letter_id}")
    try:
        answer = await request_redrive(nc, consumer, letter_id)
    except RedriveFailed as exc:
        if exc.code == "unknown_dead_letter":
            raise UnknownDeadLetter(f"{schema}/{letter_id}") from exc
        raise
    return {"schema": schema, "id": letter_id, "consumer": consumer, **answer}
