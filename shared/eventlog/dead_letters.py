"""The dead-letter store: messages that can never be processed, kept with their reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    subject: str
    stream_seq: int | None
    payload: bytes
    reason: str
    dead_at: datetime
    redriven_at: datetime | None


def _storable(text: str) -> str:
    """PostgreSQL text and jsonb cannot hold U+0000; a reason quoting a hostile payload may."""
    return text.replace("\x00", "\\u0000")


async def store_dead_letter(
    conn: asyncpg.Connection,
    schema: str,
    *,
    consumer: str,
    subject: str,
    stream_seq: int | None,
    payload: bytes,
    headers: dict[str, str],
    reason: str,
) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.dead_letters (consumer, subject, stream_seq, payload, headers, reason)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        consumer,
        _storable(subject),
        stream_seq,
        payload,
        _storable(json.dumps(headers)),
        _storable(reason[:4000]),
    )


async def list_dead_letters(
    conn: asyncpg.Connection, schema: str, *, include_redriven: bool = False, limit: int = 100
) -> list[DeadLetter]:
    where = "" if include_redriven else "WHERE redriven_at IS NULL"
    rows = await conn.fetch(
        f"SELECT id, consumer, subject, stream_seq, payload, reason, dead_at, redriven_at"
        f" FROM {schema}.dead_letters {where} ORDER BY id LIMIT $1",
        limit,
    )
    return [DeadLetter(**dict(r)) for r in rows]
