"""Dossier codes: ``{agency electronic ID code}-{yyMMdd}-{NNNN}`` (Circular 04/2025 Art. 23).

The sequence is per receiving unit per day and is never reused: a number handed out to a
request that then fails is a gap, never a second dossier with the same code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
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


async def next_codes(conn: asyncpg.Connection, requests: list[tuple[str, datetime]]) -> list[str]:
    """Codes for many registrations at once, in request order: one statement, one commit."""
    async with conn.transaction():
        # No wait for the WAL flush: the dossiers that use these codes commit later and
        # synchronously, and flushing their commit flushes this update too (WAL is written
        # in order). A crash can only forget numbers no stored dossier has: a reusable gap.
        await conn.execute("SET LOCAL synchronous_commit = off")
        return await allocate_codes(conn, requests)


async def allocate_codes(conn: asyncpg.Connection, requests: list[tuple[str, datetime]]) -> list[str]:
    """``next_codes`` inside the caller's transaction (which should not wait for the flush either).

    Each (unit, day) counter moves once by the number of codes it hands out; the counters are
    touched in a fixed order so that two batches never wait on each other's rows in a cycle.
    """
    if not requests:
        return []
    keys = [(unit, at.astimezone(VIETNAM).date()) for unit, at in requests]
    wanted = Counter(keys)
    ordered = sorted(wanted)
    rows = await _reserve(conn, ordered, [wanted[k] for k in ordered])
    # The block of numbers each counter reserved: last - n + 1 .. last.
    following = {(r["unit"], r["day"]): int(r["last"]) - wanted[(r["unit"], r["day"])] + 1 for r in rows}
    codes = []
    for unit, day in keys:
        number = following[(unit, day)]
        following[(unit, day)] = number + 1
        codes.append(format_code(unit, day, number))
    return codes


async def _reserve(conn: asyncpg.Connection, keys: list[tuple[str, date]], counts: list[int]) -> list[Any]:
    rows: list[Any] = await conn.fetch(
        "INSERT INTO intake.dossier_code_counters AS c (unit, day, last)"
        " SELECT * FROM unnest($1::text[], $2::date[], $3::int[])"
        " ON CONFLICT (unit, day) DO UPDATE SET last = c.last + EXCLUDED.last"
        " RETURNING unit, day, last",
        [unit for unit, _ in keys],
        [day for _, day in keys],
        counts,
    )
    return rows


async def record_keys(conn: asyncpg.Connection, keys: list[str], codes: list[str]) -> None:
    """Idempotency keys of one batch -> their dossier codes, in one statement."""
    if keys:
        await conn.execute(
            "UPDATE intake.idempotency_keys AS k SET dossier_code = v.code"
            " FROM unnest($1::text[], $2::text[]) AS v(key, code) WHERE k.key = v.key",
            keys,
            codes,
        )


@dataclass(frozen=True)
class KeyTaken:
    """An idempotency key claimed before: by the same request (its dossier's code, or None while
    that request is still being saved) or by a different one."""

    same_request: bool
    code: str | None


async def claim_keys(conn: asyncpg.Connection, claims: list[tuple[str, str]]) -> list[KeyTaken | None]:
    """Claims (key, request hash) pairs in one statement, in order: None where the claim was
    made, else what the key already stood for.

    A key twice in the same list is claimed by its first occurrence; the later one is told the
    request is in progress, as it would be by a concurrent batch.
    """
    if not claims:
        return []
    first: dict[str, str] = {}
    for key, request_hash in claims:
        first.setdefault(key, request_hash)
    claimed = {
        r["key"]
        for r in await conn.fetch(
            "INSERT INTO intake.idempotency_keys (key, request_hash)"
            " SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO NOTHING RETURNING key",
            list(first),
            list(first.values()),
        )
    }
    earlier = await lookup_keys(conn, [k for k in first if k not in claimed])
    results: list[KeyTaken | None] = []
    seen: set[str] = set()
    for key, request_hash in claims:
        if key in claimed and key not in seen:
            results.append(None)
        elif key in claimed:  # the same key earlier in this very batch
            results.append(KeyTaken(same_request=first[key] == request_hash, code=None))
        else:
            held_hash, code = earlier.get(key, (request_hash, None))
            results.append(KeyTaken(same_request=held_hash == request_hash, code=code))
        seen.add(key)
    return results


async def lookup_keys(conn: asyncpg.Connection, keys: list[str]) -> dict[str, tuple[str, str | None]]:
    """(request hash, dossier code or None while in progress) of keys held (others left out)."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT key, request_hash, dossier_code FROM intake.idempotency_keys WHERE key = ANY($1::text[])",
        keys,
    )
    return {r["key"]: (r["request_hash"], r["dossier_code"]) for r in rows}


async def release_keys(conn: asyncpg.Connection, keys: list[str]) -> None:
    """Frees keys whose request stored nothing, so that a retry can go through."""
    if keys:
        await conn.execute("DELETE FROM intake.idempotency_keys WHERE key = ANY($1::text[])", keys)
