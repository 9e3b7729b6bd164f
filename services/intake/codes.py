"""Dossier codes: ``{agency electronic ID code}-{yyMMdd}-{NNNN}`` (Circular 04/2025 Art. 23).

The sequence is per receiving unit per day and is never reused: a number handed out to a
request that then fails is a gap, never a second dossier with the same code.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

DDL = """
CREATE TABLE IF NOT EXISTS intake.dossier_code_counters (
    unit text NOT NULL,
    day date NOT NULL,
    last integer NOT NULL,
    PRIMARY KEY (unit, day)
);
CREATE TABLE IF NOT EXISTS intake.idempotency_keys (
    key text PRIMARY KEY,
    request_hash text NOT NULL,
    dossier_code text,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


def format_code(unit_code: str, day: date, number: int) -> str:
    return f"{unit_code}-{day:%y%m%d}-{number:04d}"


async def next_code(conn: asyncpg.Connection, unit_code: str, at: datetime) -> str:
    day = at.astimezone(VIETNAM).date()
    number = await conn.fetchval(
        "INSERT INTO intake.dossier_code_counters (unit, day, last) VALUES ($1, $2, 1)"
        " ON CONFLICT (unit, day) DO UPDATE SET last = intake.dossier_code_counters.last + 1"
        " RETURNING last",
        unit_code,
        day,
    )
    return format_code(unit_code, day, int(number))
