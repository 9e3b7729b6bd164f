"""The access log: every read of personal data in clear is an access event.

Who read (the ``Actor``: the caller passes the reader — today from the request, once tokens are
verified from the token's identity), which dossier, when, why, which fields. The table is
append-only (a trigger refuses UPDATE and DELETE) and holds no personal data itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from shared.contracts import Actor

APPLICANT_FIELDS = ("full_name", "citizen_id", "date_of_birth", "phone", "email", "address")


async def record_access(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    reader: Actor,
    dossier_code: str,
    purpose: str,
    fields: Sequence[str] = APPLICANT_FIELDS,
) -> uuid.UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO pii.access_events (event_id, dossier_code, actor, purpose, fields)"
        " VALUES ($1, $2, $3::jsonb, $4, $5)",
        event_id,
        dossier_code,
        json.dumps(reader.model_dump(mode="json")),
        purpose,
        list(fields),
    )
    return event_id


async def access_events(conn: asyncpg.Connection | asyncpg.Pool, dossier_code: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT event_id, actor::text AS actor, purpose, fields, at FROM pii.access_events"
        " WHERE dossier_code = $1 ORDER BY at, event_id",
        dossier_code,
    )
    return [
        {
            "event_id": str(r["event_id"]),
            "actor": json.loads(r["actor"]),
            "purpose": r["purpose"],
            "fields": list(r["fields"]),
            "at": r["at"].isoformat(),
        }
        for r in rows
    ]
