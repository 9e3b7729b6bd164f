"""Where documents' bytes live: an interface, and PostgreSQL behind it.

A document is stored once per upload with its SHA-256, type, size, the user who stored it and,
once a filing or a decision takes it, the dossier it belongs to (``claim``, ``move``). Events carry the
id and the hash; whoever reads the bytes back can check them against the event. Electronic
results (signed decisions) go through the same interface: a file store or an object store is
another implementation of ``DocumentStore``.

A document that is personal data (a citizen's scanned identity card, a filled-in form) is stored
*sealed*: AES-256-GCM under the data subject's key (``shared.pii``), as the applicant is, so that
erasing the subject's key leaves only ciphertext nobody can open. The SHA-256 is of the clear
bytes: it is what the filing's event records and what a reader checks after opening.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import asyncpg
from cryptography.exceptions import InvalidTag

from shared.pii import DataKey, KeyRing, SealBroken
from shared.pii.master import NONCE_BYTES


@dataclass(frozen=True)
class StoredDocument:
    id: UUID
    sha256: str
    media_type: str
    size: int
    name: str
    owner: str  # the user who stored it
    dossier_code: str | None  # the dossier it belongs to, once attached
    stored_at: datetime
    key_ref: UUID | None = None  # the data key it is sealed under; None: stored in clear

    def record(self) -> dict[str, Any]:
        """What an event says of the document: never its bytes."""
        return {
            "document_id": str(self.id),
            "name": self.name,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }


class DocumentStore(Protocol):
    async def put(
        self, content: bytes, *, media_type: str, name: str, owner: str, key: DataKey | None = None
    ) -> StoredDocument:
        """Stores ``content``, sealed under ``key`` when given (personal data)."""
        ...

    async def meta(self, document_id: UUID) -> StoredDocument | None: ...

    async def content(self, document_id: UUID) -> bytes | None:
        """The clear bytes; None if there is no such document; ``DocumentErased`` if its key was
        erased; ``SealBroken`` if the stored ciphertext does not authenticate."""
        ...

    async def claim(self, document_ids: list[UUID], *, owner: str, holder: str) -> list[StoredDocument]:
        """Ties the owner's free documents to ``holder`` (a dossier code, or a filing being saved);
        all or none (``DocumentsUnavailable``)."""
        ...

    async def move(self, holder: str, dossier_code: str) -> None:
        """The documents held for a filing belong to the dossier it became."""
        ...

    async def release(self, holder: str) -> None:
        """Frees the documents of a filing that was not saved after all."""
        ...


class DocumentErased(Exception):
    """The document was sealed under a data key that has been erased: nobody can read it."""


class DocumentsUnavailable(Exception):
    """A document does not exist, is someone else's, or already belongs to a dossier."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"documents not available: {', '.join(ids)}")
        self.ids = ids


DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.documents (
    id uuid PRIMARY KEY,
    sha256 text NOT NULL,
    media_type text NOT NULL,
    size integer NOT NULL,
    name text NOT NULL,
    owner text NOT NULL,
    dossier_code text,
    stored_at timestamptz NOT NULL DEFAULT now(),
    content bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_dossier ON {schema}.documents (dossier_code);
-- sealed documents: ``content`` is nonce + AES-GCM ciphertext under this data key (pii.data_keys)
ALTER TABLE {schema}.documents ADD COLUMN IF NOT EXISTS key_ref uuid;
"""

_COLUMNS = "id, sha256, media_type, size, name, owner, dossier_code, stored_at, key_ref"


def _context(key_ref: UUID, document_id: UUID) -> bytes:
    """Associated data: a sealed document opens only under its key and as its own row."""
    return b"motcua-document:" + key_ref.bytes + document_id.bytes


def seal_document(key: DataKey, document_id: UUID, content: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + key.aead.encrypt(nonce, content, _context(key.key_ref, document_id))


def open_document(key: DataKey, document_id: UUID, sealed: bytes) -> bytes:
    try:
        return key.aead.decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _context(key.key_ref, document_id)
        )
    except (InvalidTag, ValueError) as exc:
        raise SealBroken(f"document {document_id} does not authenticate under {key.key_ref}") from exc


class PgDocumentStore:
    """Documents in a table of ``schema`` (each service keeps its own, as with its events)."""

    def __init__(self, pool: Any, schema: str, keyring: KeyRing | None = None) -> None:
        if not schema.isidentifier():
            raise ValueError(f"not a schema name: {schema!r}")
        self._pool = pool  # a pool, or a callable returning one (a host's pool exists only once started)
        self.schema = schema
        self.keyring = keyring  # opens sealed documents; without it only clear ones can be read

    def pool(self) -> asyncpg.Pool:
        found: asyncpg.Pool = self._pool() if callable(self._pool) else self._pool
        return found

    async def create_tables(self) -> None:
        await self.pool().execute(DDL.format(schema=self.schema))

    async def put(
        self, content: bytes, *, media_type: str, name: str, owner: str, key: DataKey | None = None
    ) -> StoredDocument:
        document_id = uuid4()
        row = await self.pool().fetchrow(
            f"INSERT INTO {self.schema}.documents"
            " (id, sha256, media_type, size, name, owner, content, key_ref)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}",
            document_id,
            hashlib.sha256(content).hexdigest(),
            media_type,
            len(content),
            name,
            owner,
            content if key is None else seal_document(key, document_id, content),
            None if key is None else key.key_ref,
        )
        return _stored(row)

    async def meta(self, document_id: UUID) -> StoredDocument | None:
        row = await self.pool().fetchrow(
            f"SELECT {_COLUMNS} FROM {self.schema}.documents WHERE id = $1", document_id
        )
        return None if row is None else _stored(row)

    async def content(self, document_id: UUID) -> bytes | None:
        row = await self.pool().fetchrow(
            f"SELECT content, key_ref FROM {self.schema}.documents WHERE id = $1", document_id
        )
        if row is None:
            return None
        stored = bytes(row["content"])
        if row["key_ref"] is None:
            return stored
        if self.keyring is None:
            raise SealBroken(f"document {document_id} is sealed and this store has no key ring")
        key = await self.keyring.key(self.pool(), row["key_ref"])
        if key is None:
            raise DocumentErased(str(document_id))
        return open_document(key, document_id, stored)

    async def claim(self, document_ids: list[UUID], *, owner: str, holder: str) -> list[StoredDocument]:
        async with self.pool().acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"UPDATE {self.schema}.documents SET dossier_code = $3"
                " WHERE id = ANY($1::uuid[]) AND owner = $2 AND dossier_code IS NULL"
                f" RETURNING {_COLUMNS}",
                document_ids,
                owner,
                holder,
            )
            found = {r["id"]: r for r in rows}
            missing = [str(i) for i in document_ids if i not in found]
            if missing:
                raise DocumentsUnavailable(missing)  # the transaction rolls the others back
        return [_stored(found[i]) for i in document_ids]

    async def move(self, holder: str, dossier_code: str) -> None:
        await self.pool().execute(
            f"UPDATE {self.schema}.documents SET dossier_code = $2 WHERE dossier_code = $1",
            holder,
            dossier_code,
        )

    async def release(self, holder: str) -> None:
        await self.pool().execute(
            f"UPDATE {self.schema}.documents SET dossier_code = NULL WHERE dossier_code = $1", holder
        )


def _stored(row: Any) -> StoredDocument:
    return StoredDocument(
        id=row["id"],
        sha256=row["sha256"],
        media_type=row["media_type"],
        size=row["size"],
        name=row["name"],
        owner=row["owner"],
        dossier_code=row["dossier_code"],
        stored_at=row["stored_at"],
        key_ref=row["key_ref"],
    )
