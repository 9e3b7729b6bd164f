"""Where documents' bytes live: an interface, and PostgreSQL behind it.

A document is stored once per upload with its SHA-256, type, size, the user who stored it and,
once a filing or a decision takes it, the dossier it belongs to (``claim``, ``move``). Events carry the
id and the hash; whoever reads the bytes back can check them against the event. Electronic
results (signed decisions) go through the same interface: a file store or an object store is
another implementation of ``DocumentStore``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import asyncpg


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
    async def put(self, content: bytes, *, media_type: str, name: str, owner: str) -> StoredDocument: ...

    async def meta(self, document_id: UUID) -> StoredDocument | None: ...

    async def content(self, document_id: UUID) -> bytes | None: ...

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
"""

_COLUMNS = "id, sha256, media_type, size, name, owner, dossier_code, stored_at"


class PgDocumentStore:
    """Documents in a table of ``schema`` (each service keeps its own, as with its events)."""

    def __init__(self, pool: Any, schema: str) -> None:
        if not schema.isidentifier():
            raise ValueError(f"not a schema name: {schema!r}")
        self._pool = pool  # a pool, or a callable returning one (a host's pool exists only once started)
        self.schema = schema

    def pool(self) -> asyncpg.Pool:
        found: asyncpg.Pool = self._pool() if callable(self._pool) else self._pool
        return found

    async def create_tables(self) -> None:
        await self.pool().execute(DDL.format(schema=self.schema))

    async def put(self, content: bytes, *, media_type: str, name: str, owner: str) -> StoredDocument:
        row = await self.pool().fetchrow(
            f"INSERT INTO {self.schema}.documents (id, sha256, media_type, size, name, owner, content)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
            uuid4(),
            hashlib.sha256(content).hexdigest(),
            media_type,
            len(content),
            name,
            owner,
            content,
        )
        return _stored(row)

    async def meta(self, document_id: UUID) -> StoredDocument | None:
        row = await self.pool().fetchrow(
            f"SELECT {_COLUMNS} FROM {self.schema}.documents WHERE id = $1", document_id
        )
        return None if row is None else _stored(row)

    async def content(self, document_id: UUID) -> bytes | None:
        found: bytes | None = await self.pool().fetchval(
            f"SELECT content FROM {self.schema}.documents WHERE id = $1", document_id
        )
        return found

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
    )
