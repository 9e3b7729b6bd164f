"""Data keys per data subject, kept wrapped by the master key in PostgreSQL (schema ``pii``).

* A subject is a citizen, recognised across dossiers by ``subject_of(cccd)``: an HMAC of the
  CCCD under an index key (itself wrapped by the master key, so it survives a master key
  rotation and the clear CCCD is stored nowhere).
* ``pii.data_keys`` holds one live key per subject; erasing sets ``wrapped`` to NULL. A citizen
  who comes back after an erasure gets a new key: the unique index covers live keys only.
* Unwrapped keys are cached in memory (bounded, with a time to live): a process that did not
  perform an erasure stops using the erased key at most ``ttl_s`` later.
* Sealing is AES-256-GCM with a random 96-bit nonce and the key's reference as associated data,
  so a ciphertext moved under another key fails to open instead of decrypting to garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard
from uuid import UUID

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts.base import SealedPersonalData
from shared.expiring_cache import ExpiringCache
from shared.pii.master import NONCE_BYTES, MasterKey, UnknownMasterKey

log = logging.getLogger(__name__)

# What a reader sees in place of personal data whose key was erased.
ERASED = "[đã xóa / erased]"
UNREADABLE = "[không đọc được / unreadable]"

DDL = """
CREATE SCHEMA IF NOT EXISTS pii;
CREATE TABLE IF NOT EXISTS pii.index_keys (
    name text PRIMARY KEY,
    master_key_id text NOT NULL,
    wrapped bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS pii.data_keys (
    key_ref uuid PRIMARY KEY,
    subject text NOT NULL,
    master_key_id text,
    wrapped bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS data_keys_live ON pii.data_keys (subject) WHERE erased_at IS NULL;
CREATE TABLE IF NOT EXISTS pii.subject_dossiers (
    dossier_code text PRIMARY KEY,
    key_ref uuid NOT NULL,
    registered_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS subject_dossiers_key ON pii.subject_dossiers (key_ref);
CREATE TABLE IF NOT EXISTS pii.access_events (
    event_id uuid PRIMARY KEY,
    dossier_code text NOT NULL,
    actor jsonb NOT NULL,
    purpose text NOT NULL,
    fields text[] NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS access_events_dossier ON pii.access_events (dossier_code, at);
CREATE OR REPLACE FUNCTION pii.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'pii.access_events is append-only'; END $$;
CREATE OR REPLACE TRIGGER access_events_append_only BEFORE UPDATE OR DELETE ON pii.access_events
    FOR EACH ROW EXECUTE FUNCTION pii.append_only();
"""

# One statement per batch, inside the caller's transaction: the subjects' live keys (created
# for new subjects, the stored ones for known subjects: the no-op update makes RETURNING give
# the existing row) and, optionally, which dossier belongs to which key (for the retention rule).
_UPSERT_KEYS = """
WITH k AS (
    INSERT INTO pii.data_keys (key_ref, subject, master_key_id, wrapped)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[])
    ON CONFLICT (subject) WHERE erased_at IS NULL DO UPDATE SET subject = EXCLUDED.subject
    RETURNING key_ref, subject, master_key_id, wrapped
), d AS (
    INSERT INTO pii.subject_dossiers (dossier_code, key_ref, registered_at)
    SELECT c.code, k.key_ref, c.at
    FROM unnest($5::text[], $6::text[], $7::timestamptz[]) AS c(code, subject, at) JOIN k USING (subject)
    ON CONFLICT (dossier_code) DO NOTHING
)
SELECT key_ref, subject, master_key_id, wrapped FROM k
"""


class SealBroken(Exception):
    """A ciphertext that does not authenticate: tampered with, or moved under another key."""


@dataclass(frozen=True)
class DataKey:
    key_ref: UUID
    material: bytes = field(repr=False)

    @property
    def aead(self) -> AESGCM:
        # Made when used (0.7 µs), not kept: an AESGCM object holds ~2.7 KB of cipher context,
        # and the cache keeps thousands of keys (at 50,000, intake grew by 135 MB under load).
        return AESGCM(self.material)


def is_sealed(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping) and set(value) == {"key_ref", "ciphertext"}


def _context(key_ref: UUID, subject: str) -> bytes:
    return b"motcua-data-key:" + key_ref.bytes + subject.encode()


class KeyRing:
    # Each cached key holds ~440 bytes with its entry: 50,000 of them were 22 MB, all of
    # intake's growth at 1 M dossiers (132 MB at 10k, 150 MB at 1 M). A key is wanted again
    # within minutes of its dossier's receipt, and 5,000 is a busy centre's several hours.
    CACHE_SIZE = 5_000

    def __init__(self, master: MasterKey, *, cache_size: int = CACHE_SIZE, ttl_s: float = 60.0) -> None:
        self.master = master
        self.ttl_s = ttl_s
        self._cache: ExpiringCache[UUID, DataKey] = ExpiringCache(cache_size)
        self._index_key: bytes | None = None

    # -- set-up --------------------------------------------------------------------------------
    async def start(self, conn: asyncpg.Connection) -> None:
        """Creates the tables and the subject index key on first use, then loads the index key."""
        async with conn.transaction():
            # Services starting at once race on CREATE ... IF NOT EXISTS: serialise them.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl:pii'))")
            await conn.execute(DDL)
            await conn.execute(
                "INSERT INTO pii.index_keys (name, master_key_id, wrapped) VALUES ('subject', $1, $2)"
                " ON CONFLICT (name) DO NOTHING",
                self.master.key_id,
                self.master.wrap(os.urandom(32), b"motcua-index-key:subject"),
            )
        row = await conn.fetchrow("SELECT master_key_id, wrapped FROM pii.index_keys WHERE name = 'subject'")
        self._index_key = self.master.unwrap(
            bytes(row["wrapped"]), row["master_key_id"], b"motcua-index-key:subject"
        )

    def subject_of(self, kind: str, identifier: str) -> str:
        """The subject id of a citizen (``kind`` "cccd") or a contact without one ("pickup")."""
        if self._index_key is None:
            raise RuntimeError("the key ring is not started")
        digest = hmac.new(self._index_key, f"{kind}:{identifier}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    # -- keys ------------------------------------------------------------------------------------
    async def keys_for(
        self,
        conn: asyncpg.Connection,
        subjects: Sequence[str],
        dossiers: Sequence[tuple[str, str, datetime]] = (),
    ) -> dict[str, DataKey]:
        """The live data key of each subject, created for a new one, in one statement; with
        ``dossiers`` (code, subject, registration time) records which key seals which dossier.

        Always asks the database, never the cache: a key erased by another process must not
        seal new data. Run it inside the transaction that commits the data it seals, so an
        aborted batch leaves at most an unused key behind.
        """
        unique = list(dict.fromkeys(subjects))  # ON CONFLICT cannot touch a row twice
        refs = [uuid.uuid4() for _ in unique]
        materials = [os.urandom(32) for _ in unique]
        wrapped = [
            self.master.wrap(m, _context(r, s)) for r, s, m in zip(refs, unique, materials, strict=True)
        ]
        # A key this statement created is used as made: unwrapping it again would only cost time.
        made = dict(zip(refs, materials, strict=True))
        rows = await conn.fetch(
            _UPSERT_KEYS,
            refs,
            unique,
            [self.master.key_id] * len(unique),
            wrapped,
            [d[0] for d in dossiers],
            [d[1] for d in dossiers],
            [d[2] for d in dossiers],
        )
        keys: dict[str, DataKey] = {}
        for row in rows:
            ref: UUID = row["key_ref"]
            key = self._cached(ref) or (self._remember(ref, made[ref]) if ref in made else self._unwrap(row))
            keys[row["subject"]] = key
        return keys

    async def key_of(self, pool: asyncpg.Pool, kind: str, identifier: str) -> DataKey:
        """The live data key of one subject (``subject_of(kind, identifier)``), created for a new
        one: what a document or a contact is sealed under before it is stored."""
        subject = self.subject_of(kind, identifier)
        async with pool.acquire() as conn, conn.transaction():
            return (await self.keys_for(conn, [subject]))[subject]

    async def key(self, conn: asyncpg.Connection | asyncpg.Pool, key_ref: UUID) -> DataKey | None:
        """The key to open data sealed under ``key_ref``; None once erased (or never existed)."""
        cached = self._cached(key_ref)
        if cached is not None:
            return cached
        row = await conn.fetchrow(
            "SELECT key_ref, subject, master_key_id, wrapped FROM pii.data_keys WHERE key_ref = $1", key_ref
        )
        if row is None or row["wrapped"] is None:
            return None
        return self._unwrap(row)

    async def erase(self, conn: asyncpg.Connection, key_ref: UUID) -> bool:
        """Deletes the key material; returns False if it was already erased (or unknown)."""
        done = await conn.fetchval(
            "UPDATE pii.data_keys SET wrapped = NULL, master_key_id = NULL, erased_at = now()"
            " WHERE key_ref = $1 AND erased_at IS NULL RETURNING true",
            key_ref,
        )
        self.forget(key_ref)
        return bool(done)

    def forget(self, key_ref: UUID) -> None:
        self._cache.pop(key_ref)

    def forget_all(self) -> None:
        self._cache.clear()

    def _cached(self, key_ref: UUID) -> DataKey | None:
        return self._cache.get(key_ref, time.monotonic())

    def _unwrap(self, row: Mapping[str, Any]) -> DataKey:
        key_ref: UUID = row["key_ref"]
        try:
            material = self.master.unwrap(
                bytes(row["wrapped"]), row["master_key_id"], _context(key_ref, row["subject"])
            )
        except (InvalidTag, UnknownMasterKey) as exc:
            raise SealBroken(f"data key {key_ref} cannot be unwrapped: {type(exc).__name__}") from None
        return self._remember(key_ref, material)

    def _remember(self, key_ref: UUID, material: bytes) -> DataKey:
        # Keys expired at the cold end go as new ones come (most are never asked for again):
        # the cache holds what the last ``ttl_s`` used, not the last ``cache_size`` ever made.
        now = time.monotonic()
        return self._cache.put(key_ref, DataKey(key_ref, material), now + self.ttl_s, now)

    # -- sealing -------------------------------------------------------------------------------
    @staticmethod
    def seal(key: DataKey, data: Mapping[str, Any]) -> SealedPersonalData:
        return SealedPersonalData.model_validate(KeyRing.sealed_json(key, data))

    @staticmethod
    def sealed_json(key: DataKey, data: Mapping[str, Any]) -> dict[str, str]:
        """``seal(key, data)`` as stored and published (its JSON form), without the model: every
        receipt seals its applicant, and the model was built only to be dumped again."""
        plain = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + key.aead.encrypt(nonce, plain, key.key_ref.bytes)
        return {"key_ref": str(key.key_ref), "ciphertext": base64.b64encode(sealed).decode()}

    @staticmethod
    def open_with(key: DataKey, sealed: SealedPersonalData | Mapping[str, Any]) -> dict[str, Any]:
        s = sealed if isinstance(sealed, SealedPersonalData) else SealedPersonalData.model_validate(sealed)
        if s.key_ref != key.key_ref:
            raise SealBroken(f"sealed under {s.key_ref}, not {key.key_ref}")
        try:
            raw = base64.b64decode(s.ciphertext, validate=True)
            plain = key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], s.key_ref.bytes)
        except (InvalidTag, ValueError) as exc:
            raise SealBroken(f"data sealed under {s.key_ref} does not authenticate") from exc
        opened: dict[str, Any] = json.loads(plain)
        return opened

    async def open(
        self, conn: asyncpg.Connection | asyncpg.Pool, sealed: SealedPersonalData | Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The data in clear, or None if its key was erased. Raises ``SealBroken`` if tampered."""
        s = sealed if isinstance(sealed, SealedPersonalData) else SealedPersonalData.model_validate(sealed)
        key = await self.key(conn, s.key_ref)
        return None if key is None else self.open_with(key, s)


def placeholder(fields: Sequence[str], text: str = ERASED) -> dict[str, str]:
    return dict.fromkeys(fields, text)
