"""Group commit for intake: the dossiers of concurrent requests saved in one transaction.

A request hands its validated registration to the committer and awaits its dossier. While
one batch is being committed the next requests queue up; when it is done they all go in the
next batch: one statement for their idempotency keys and one for their codes, one
transaction for their events. A lone request is never held back (no timer), so at low load
the latency is that of a single save, and at high load the batches grow by themselves.
Nothing is answered before it is committed.

The applicant is sealed here, under the data subject's key: the keys of the batch's citizens
(created for new ones) come with one statement in the transaction that allocates the codes,
so encryption costs no extra round trip per request, and a clear applicant never reaches the
event store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.intake.application import IntakeApplication
from services.intake.codes import KeyTaken, allocate_codes, claim_keys, record_keys, release_keys
from services.intake.domain import Dossier
from shared.contracts import PersonalData
from shared.pii import KeyRing

# Bounds the transaction (and the lock it holds) at high load; 200 dossiers take ~20 ms.
MAX_BATCH = 200


@dataclass
class _Pending:
    unit_code: str
    at: datetime
    fields: dict[str, Any]
    key: str | None
    request_hash: str  # empty without a key
    answer: asyncio.Future[Dossier | KeyTaken]


class GroupCommitter:
    def __init__(self, app: IntakeApplication, pool: Callable[[], asyncpg.Pool], keyring: KeyRing) -> None:
        self.app = app
        self.keyring = keyring
        self._pool = pool
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None

    async def register(
        self,
        unit_code: str,
        at: datetime,
        fields: dict[str, Any],
        key: str | None = None,
        request_hash: str | None = None,
    ) -> Dossier | KeyTaken:
        """Claims the request's idempotency key, allocates the dossier's code, saves it with
        whatever else is waiting and records the key against the code.

        ``fields["applicant"]`` is the clear ``PersonalData``; it is stored sealed.

        A key claimed before comes back as ``KeyTaken`` and nothing is saved for it.
        """
        answer: asyncio.Future[Dossier | KeyTaken] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(unit_code, at, fields, key, request_hash or "", answer))
        if self._worker is None or self._worker.done():
            # The worker lives only while there is work: nothing to stop at shutdown.
            self._worker = asyncio.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._commit(batch)
            except Exception as exc:  # noqa: BLE001 - every request of the batch learns of it
                for p in batch:
                    _settle(p.answer, exc)

    async def _commit(self, batch: list[_Pending]) -> None:
        async with self._pool().acquire() as conn, conn.transaction():
            # No wait for the WAL flush: keys and code numbers matter only through the dossiers
            # that commit later, synchronously, which flushes them too (WAL is written in order).
            # A crash can only forget claims and numbers no stored dossier has.
            await conn.execute("SET LOCAL synchronous_commit = off")
            keyed = [p for p in batch if p.key]
            claims = await claim_keys(conn, [(p.key or "", p.request_hash) for p in keyed])
            taken = {id(p): t for p, t in zip(keyed, claims, strict=True) if t is not None}
            fresh = [p for p in batch if id(p) not in taken]
            codes = await allocate_codes(conn, [(p.unit_code, p.at) for p in fresh])
            registrations = await self._sealed(conn, fresh, codes)
        for p in batch:
            if id(p) in taken:
                _settle(p.answer, taken[id(p)])
        try:
            results = await asyncio.to_thread(self.app.register_many, registrations) if fresh else []
        except BaseException:
            await self._release([p.key for p in fresh if p.key])
            raise
        saved = [
            (p.key, r.code) for p, r in zip(fresh, results, strict=True) if p.key and isinstance(r, Dossier)
        ]
        refused = [p.key for p, r in zip(fresh, results, strict=True) if p.key and not isinstance(r, Dossier)]
        async with self._pool().acquire() as conn:
            if saved:
                await record_keys(conn, [k for k, _ in saved], [c for _, c in saved])
            await release_keys(conn, refused)
        for p, result in zip(fresh, results, strict=True):
            _settle(p.answer, result)

    async def _sealed(
        self, conn: asyncpg.Connection, fresh: list[_Pending], codes: list[str]
    ) -> list[dict[str, Any]]:
        """The registrations to save, each applicant sealed under its subject's key."""
        people: list[PersonalData] = [p.fields["applicant"] for p in fresh]
        subjects = [self.keyring.subject_of("cccd", person.citizen_id) for person in people]
        keys = await self.keyring.keys_for(
            conn, subjects, [(code, s, p.at) for p, code, s in zip(fresh, codes, subjects, strict=True)]
        )
        return [
            {
                **p.fields,
                "code": code,
                "applicant": self.keyring.seal(keys[s], person.model_dump(mode="json")).model_dump(
                    mode="json"
                ),
            }
            for p, code, s, person in zip(fresh, codes, subjects, people, strict=True)
        ]

    async def _release(self, keys: list[str]) -> None:
        if keys:
            async with self._pool().acquire() as conn:
                await release_keys(conn, keys)


def _settle(answer: asyncio.Future[Dossier | KeyTaken], result: Dossier | KeyTaken | Exception) -> None:
    if answer.done():  # the client went away; its dossier is stored all the same
        return
    if isinstance(result, Exception):
        answer.set_exception(result)
    else:
        answer.set_result(result)
