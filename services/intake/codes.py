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
-- Until when the claim's own request may still be saving its dossier; after that a retry
-- saves it under the claim's code. NULL: a claim from before leases (it never expires).
ALTER TABLE intake.idempotency_keys ADD COLUMN IF NOT EXISTS lease_until timestamptz;
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
    """Idempotency keys of one batch -> their dossier codes, in one statement (in the claim's
    own transaction: a key is never held without the code its dossier will have)."""
    if keys:
        await conn.execute(
            "UPDATE intake.idempotency_keys AS k SET dossier_code = v.code"
            " FROM unnest($1::text[], $2::text[]) AS v(key, code) WHERE k.key = v.key",
            keys,
            codes,
        )


@dataclass(frozen=True)
class KeyTaken:
    """An idempotency key claimed before: by the same request or by a different one.

    ``code`` is the dossier code the claim holds (None only for a key twice in one batch, or
    a claim written before codes were recorded with it). Whether that dossier is stored is the
    event store's to say; ``expired`` says its claim's lease ran out or its save is known to
    have failed, so that a retry may save it under the same code (the store's unique key on
    the dossier's id, derived from the code, keeps it to one dossier however many try).
    """

    same_request: bool
    code: str | None
    expired: bool = False


async def claim_keys(
    conn: asyncpg.Connection, claims: list[tuple[str, str]], lease_s: float
) -> list[KeyTaken | None]:
    """Claims (key, request hash) pairs in one statement, in order, each for ``lease_s`` seconds:
    None where the claim was made, else what the key already stood for.

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
            "INSERT INTO intake.idempotency_keys (key, request_hash, lease_until)"
            " SELECT k, h, now() + make_interval(secs => $3)"
            " FROM unnest($1::text[], $2::text[]) AS c(k, h) ON CONFLICT (key) DO NOTHING RETURNING key",
            list(first),
            list(first.values()),
            lease_s,
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
            # gone since the insert (released by a refused request): retried like one in progress
            held = earlier.get(key, HeldKey(request_hash, None, False))
            results.append(KeyTaken(held.request_hash == request_hash, held.code, held.expired))
        seen.add(key)
    return results


@dataclass(frozen=True)
class HeldKey:
    request_hash: str
    code: str | None
    expired: bool  # its lease ran out (or was ended by a save known to have failed)


async def lookup_keys(conn: asyncpg.Connection, keys: list[str]) -> dict[str, HeldKey]:
    """What the keys held stand for (keys not held are left out)."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT key, request_hash, dossier_code, coalesce(lease_until <= now(), false) AS expired"
        " FROM intake.idempotency_keys WHERE key = ANY($1::text[])",
        keys,
    )
    return {r["key"]: HeldKey(r["request_hash"], r["dossier_code"], r["expired"]) for r in rows}


async def expire_keys(conn: asyncpg.Connection, keys: list[str]) -> None:
    """Ends the lease of claims whose save failed: a retry may save their dossier at once."""
    if keys:
        await conn.execute(
            "UPDATE intake.idempotency_keys SET lease_until = now() WHERE key = ANY($1::text[])", keys
        )


async def release_keys(conn: asyncpg.Connection, keys: list[str]) -> None:
    """Frees keys whose request stored nothing and never will (the domain refused it)."""
    if keys:
        await conn.execute("DELETE FROM intake.idempotency_keys WHERE key = ANY($1::text[])", keys)
