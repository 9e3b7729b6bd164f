"""Group commit for intake: the dossiers of concurrent requests saved in one transaction.

A request hands its validated registration to the committer and awaits its dossier. While
one batch is being committed the next requests queue up; when it is done they all go in the
next batch: one statement for their idempotency keys and one for their codes, one
transaction for their events. A lone request is never held back (no timer), so at low load
the latency is that of a single save, and at high load the batches grow by themselves.
Nothing is answered before it is committed.

A keyed request's claim holds its dossier's code from the claim's own commit on. The dossier
id is derived from the code and the event store keeps one aggregate per id, so however often
a dossier is saved under a claim's code (a retry after a crash, or a slow first attempt and a
retry at once), one save wins and the others find it stored. Nothing is released or
re-numbered after a failed save, so a save whose commit was lost on the way back can never
become a second dossier; a save that failed ends its claim's lease so that a retry may save it
again at once, a crash leaves it to expire (``lease_s``).

The applicant is sealed here, under the data subject's key: the keys of the batch's citizens
(created for new ones) come with one statement in the transaction that allocates the codes,
so encryption costs no extra round trip per request, and a clear applicant never reaches the
event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from eventsourcing.persistence import RecordConflictError, Recording

from services.intake.application import IntakeApplication
from services.intake.codes import (
    KeyTaken,
    allocate_codes,
    claim_keys,
    expire_keys,
    record_keys,
    release_keys,
)
from services.intake.domain import Dossier, dossier_id_for
from services.intake.translate import intake_contract
from shared.contracts import AnyEvent, PersonalData
from shared.eventlog.relay import DirectClaim
from shared.pii import KeyRing
from shared.signals.tracing import current_traceparent, linked

# Bounds the transaction (and the lock it holds) at high load; 200 dossiers take ~20 ms.
MAX_BATCH = 200
# How long a claim's own request may take to save its dossier before a retry saves it instead
# (after a crash of the process that claimed it). Far above a save's duration under load.
DEFAULT_LEASE_S = 30.0
# The steps of a save, in order, where ``GroupCommitter.fault`` may fail one (tests only):
# before the claim's transaction, after it committed, after the dossiers committed.
STEPS = ("claim", "claimed", "saved")

log = logging.getLogger(__name__)


class DirectPublisher(Protocol):
    """The relay's side of a writer's own publish (``shared/eventlog/relay.py``)."""

    def claim_committed(self, first: int, last: int) -> DirectClaim | None: ...

    async def publish_claimed(
        self, claim: DirectClaim, committed: Sequence[tuple[int, AnyEvent | None]], traces: dict[str, str]
    ) -> bool: ...

    def release(self, claim: DirectClaim) -> None: ...


@dataclass
class _Pending:
    unit_code: str
    at: datetime
    fields: dict[str, Any]
    key: str | None
    request_hash: str  # empty without a key
    answer: asyncio.Future[Dossier | KeyTaken]
    code: str | None = None  # the claim's code, when saving again a dossier whose save failed
    # The request's trace: the batch is saved in another task, each dossier with its own context.
    traceparent: str | None = field(default_factory=current_traceparent)


class GroupCommitter:
    def __init__(
        self,
        app: IntakeApplication,
        pool: Callable[[], asyncpg.Pool],
        keyring: KeyRing,
        *,
        lease_s: float = DEFAULT_LEASE_S,
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.lease_s = lease_s
        self._pool = pool
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None
        # Fault injection for tests: called with each of STEPS; what it raises fails that step.
        self.fault: Callable[[str], None] | None = None
        # The service's relay once it runs (None: the relay alone publishes, from PostgreSQL).
        self.relay: Callable[[], DirectPublisher | None] = lambda: None
        self._publishing: set[asyncio.Task[None]] = set()

    async def register(
        self,
        unit_code: str,
        at: datetime,
        fields: dict[str, Any],
        key: str | None = None,
        request_hash: str | None = None,
        code: str | None = None,
    ) -> Dossier | KeyTaken:
        """Claims the request's idempotency key together with the dossier's new code, then
        saves the dossier with whatever else is waiting.

        ``fields["applicant"]`` is the clear ``PersonalData``; it is stored sealed.

        A key claimed before comes back as ``KeyTaken`` and nothing is saved for it. With
        ``code`` (an expired claim's) the key is not claimed again: the dossier is saved under
        that code, or comes back as ``KeyTaken`` if another save of it got there first.
        """
        answer: asyncio.Future[Dossier | KeyTaken] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(unit_code, at, fields, key, request_hash or "", answer, code))
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

    async def _commit(self, pending: list[_Pending]) -> None:
        again = [p for p in pending if p.code]
        batch = [p for p in pending if not p.code]
        self._step("claim")
        async with self._pool().acquire() as conn, conn.transaction():
            # No wait for the WAL flush: keys and code numbers matter only through the dossiers
            # that commit later, synchronously, which flushes them too (WAL is written in order).
            # A crash can only forget claims and numbers no stored dossier has.
            await conn.execute("SET LOCAL synchronous_commit = off")
            keyed = [p for p in batch if p.key]
            claims = await claim_keys(conn, [(p.key or "", p.request_hash) for p in keyed], self.lease_s)
            taken = {id(p): t for p, t in zip(keyed, claims, strict=True) if t is not None}
            fresh = [p for p in batch if id(p) not in taken]
            codes = await allocate_codes(conn, [(p.unit_code, p.at) for p in fresh])
            claimed = [(p.key, c) for p, c in zip(fresh, codes, strict=True) if p.key]
            await record_keys(conn, [k for k, _ in claimed], [c for _, c in claimed])
            again_codes = [p.code or "" for p in again]
            registrations = await self._sealed(conn, [*fresh, *again], [*codes, *again_codes])
        for p in batch:
            if id(p) in taken:
                _settle(p.answer, taken[id(p)])
        saving = [*fresh, *again]
        traces = {
            dossier_id_for(r["code"]): p.traceparent for p, r in zip(saving, registrations, strict=True)
        }
        claim: DirectClaim | None = None
        try:
            self._step("claimed")
            with linked(traces):
                results, recordings, claim = await self._save(fresh, registrations[: len(fresh)])
                for registration in registrations[len(fresh) :]:  # one by one: rare, and may conflict
                    results.append(await self._save_alone(registration))
            self._step("saved")
        except BaseException:
            if claim is not None and (relay := self.relay()) is not None:
                relay.release(claim)  # the relay publishes them (a later step failed)
            await self._expire([p.key for p in saving if p.key])
            raise
        # Published beside the next batch's commit, not before it: the relay moves past these
        # notifications only once they are acknowledged, so nothing later overtakes them.
        relay = self.relay()
        if relay is not None and claim is not None:
            task = asyncio.create_task(self._publish(relay, claim, recordings, results, traces))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)
        refused = [p.key for p, r in zip(saving, results, strict=True) if p.key and isinstance(r, Exception)]
        if refused:
            async with self._pool().acquire() as conn:
                await release_keys(conn, refused)
        for p, result in zip(saving, results, strict=True):
            _settle(p.answer, result)

    def _step(self, step: str) -> None:
        if self.fault is not None:
            self.fault(step)

    async def _save(
        self, fresh: list[_Pending], registrations: list[dict[str, Any]]
    ) -> tuple[list[Dossier | KeyTaken | Exception], list[Recording[UUID]], DirectClaim | None]:
        """The batch's results, the recordings of its events (none when saved one by one), and
        the relay's claim on them if this process will publish them itself."""
        if not fresh:
            return [], [], None
        try:
            results, recordings, claim = await asyncio.to_thread(self._save_and_claim, registrations)
            return list(results), recordings, claim
        except RecordConflictError:
            # A retry saved one of these under its claim's code while this save was slow: the
            # batch is rolled back whole, so each is saved alone and that one is found stored.
            log.warning("intake: a dossier of a batch was saved meanwhile by a retry; saving one by one")
            return [await self._save_alone(r) for r in registrations], [], None

    def _save_and_claim(
        self, registrations: list[dict[str, Any]]
    ) -> tuple[list[Dossier | Exception], list[Recording[UUID]], DirectClaim | None]:
        # Claimed in the saving thread the moment the commit returns: a relay read that sees
        # these rows finds the claim too, and leaves them to this writer.
        results, recordings = self.app.register_many_recorded(registrations)
        relay = self.relay() if recordings else None
        if relay is None:
            return results, recordings, None
        first, last = recordings[0].notification.id, recordings[-1].notification.id
        return results, recordings, relay.claim_committed(first, last)

    async def _publish(
        self,
        relay: DirectPublisher,
        claim: DirectClaim,
        recordings: list[Recording[UUID]],
        results: list[Dossier | KeyTaken | Exception],
        traces: dict[UUID, str | None],
    ) -> None:
        """Publishes the batch's receipts now (``OutboxRelay.publish_claimed``): the relay need
        not read, decode and translate them again. Anything that goes wrong here only gives
        them back to the relay, which reads them from PostgreSQL as before."""
        try:
            dossiers = {r.id: r for r in results if isinstance(r, Dossier)}
            committed: list[tuple[int, AnyEvent | None]] = []
            headers: dict[str, str] = {}
            for recording in recordings:
                event = recording.domain_event
                # Built without validating again: the dossier was made a moment ago from a
                # validated request by our own code (test_direct_publish checks the bytes
                # equal the relay's validated translation of the stored event).
                contract = intake_contract(event, dossiers[event.originator_id], trusted=True)
                committed.append((recording.notification.id, contract))
                traceparent = traces.get(event.originator_id)
                if contract is not None and traceparent:
                    headers[contract.event_id] = traceparent
        except Exception:
            log.warning(
                "intake: a batch's contracts could not be made here; the relay publishes it", exc_info=True
            )
            relay.release(claim)
            return
        await relay.publish_claimed(claim, committed, headers)

    async def _save_alone(self, registration: dict[str, Any]) -> Dossier | KeyTaken | Exception:
        try:
            (result,) = await asyncio.to_thread(self.app.register_many, [registration])
        except RecordConflictError:
            return KeyTaken(same_request=True, code=registration["code"])
        return result

    async def _expire(self, keys: list[str]) -> None:
        """Best effort: if even this fails (the database is down), the leases run out by themselves."""
        if keys:
            with contextlib.suppress(Exception):
                async with self._pool().acquire() as conn:
                    await expire_keys(conn, keys)

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
                "applicant": self.keyring.sealed_json(keys[s], person.model_dump(mode="json")),
            }
            for p, code, s, person in zip(fresh, codes, subjects, people, strict=True)
        ]


def _settle(answer: asyncio.Future[Dossier | KeyTaken], result: Dossier | KeyTaken | BaseException) -> None:
    if answer.done():  # the client went away; its dossier is stored all the same
        return
    if isinstance(result, BaseException):
        answer.set_exception(result)
    else:
        answer.set_result(result)
