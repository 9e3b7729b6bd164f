"""The counter's use cases: a filing received, asked to complete or refused, once per request.

The HTTP routes (``api.py``) build a command from the request and the verified caller and hand
it here; this module applies the counter's rules (``receipt_rules.py``) against the catalogue in
force, claims a postal pickup or scanned papers, and saves through the group committer. What
it refuses it raises as a ``Refusal`` (status, code, both messages), which every service answers
the same way. Each use case is one method; the idempotency of a keyed request is ``once``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.intake import online_index
from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.catalogue import Catalogue, Procedure
from services.intake.catalogue.in_force import CatalogueBook, NothingInForce
from services.intake.codes import KeyTaken, lookup_keys
from services.intake.domain import Dossier, NotIncomplete
from services.intake.group_commit import GroupCommitter
from services.intake.pickups import claim_pickup, handover_time, release_pickup
from services.intake.receipt_rules import (
    check_channel,
    check_open,
    check_own_desk,
    check_pickup_channel,
    documents_handed,
    new_tracking_secret,
    procedure_in,
    receipt_terms,
    receiving_point,
    tracking_hash,
    with_pickup,
)
from services.intake.schemas import Filing
from shared.documents import DocumentStore, DocumentsUnavailable
from shared.host.business_time import business_time
from shared.pii import KeyRing
from shared.refusal import Refusal

Attempt = Callable[[str | None, str | None, str | None], Awaitable[Dossier | KeyTaken]]


@dataclass(frozen=True)
class Officer:
    """Who acts at the counter, as the verified token says."""

    user_id: str
    agency: str
    actor: dict[str, Any]  # recorded on the dossier's event (user, role, agency, channel)


@dataclass(frozen=True)
class ReceiptAsked:
    """What a receipt adds to a filing: how the result goes back and the citizen's secret."""

    postal_return: bool
    paid_online: bool
    documents_scanned: bool
    tracking_hash: str
    scans: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class FileAtCounter:
    """The command: one filing and the counter's verdict on it."""

    filing: Filing  # validated where it entered
    officer: Officer
    outcome: str  # received | incomplete | refused
    receipt: ReceiptAsked | None = None  # for "received" only
    missing_items: list[str] | None = None
    refusal_reasons: str | None = None
    scans_held: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CompleteAtCounter:
    """The command: a dossier the counter asked to complete (form 02), brought back complete.

    ``dossier`` is loaded, and the caller allowed to act on it, by the edge."""

    dossier: Dossier
    occurred_at: datetime | None
    backdate_reason: str | None
    postal_return: bool
    paid_online: bool
    documents_scanned: bool
    actor: dict[str, Any]  # recorded on the dossier's event (user, role, agency, channel)


@dataclass(frozen=True)
class Completed:
    """The completed dossier, and the citizen's tracking secret when this receipt made one."""

    dossier: Dossier
    tracking_secret: str | None


@dataclass(frozen=True)
class Filed:
    """A filing's dossier, and whether this request stored it (201) or found it stored (200)."""

    dossier: Dossier
    created: bool


async def catalogue_at(book: CatalogueBook, when: datetime) -> Catalogue:
    """The catalogue in force when ``when`` happened; refused when none was."""
    try:
        return await book.at(when)
    except NothingInForce as exc:
        raise Refusal(
            "catalogue_not_in_force",
            f"Không có danh mục thủ tục nào có hiệu lực vào ngày {exc.day:%d/%m/%Y}",
            f"No procedure catalogue was in force on {exc.day.isoformat()}",
            day=exc.day.isoformat(),
        ) from None


class Receiving:
    def __init__(
        self,
        app: IntakeApplication,
        committer: GroupCommitter,
        book: CatalogueBook,
        pool: Callable[[], asyncpg.Pool],
        documents: DocumentStore,
        keyring: KeyRing,
        wake: Callable[[], None],
    ) -> None:
        self.app = app
        self.committer = committer
        self.book = book
        self._pool = pool
        self.documents = documents
        self.keyring = keyring
        self._wake = wake

    async def receive(self, command: FileAtCounter, key: str | None) -> Filed:
        """Tiếp nhận (form 01), with the scanned papers it names tied to it (all or none)."""
        receipt = command.receipt
        if receipt is None or command.outcome != "received":
            raise ValueError("a receipt needs its terms")
        holder = f"receipt:{uuid4()}" if receipt.scans else ""

        async def attempt(k: str | None, h: str | None, code: str | None) -> Dossier | KeyTaken:
            # claimed inside the attempt: a retry whose scans are taken already finds its dossier
            scans = await self._claim_scans(command, holder)
            if not scans:  # nothing is held: no statement (most receipts carry no scans)
                return await self.file(command, k, h, code)
            try:
                saved = await self.file(replace(command, scans_held=scans), k, h, code)
            except BaseException:
                await self.documents.release(holder)
                raise
            if isinstance(saved, Dossier):
                await self.documents.move(holder, saved.code)
            else:
                await self.documents.release(holder)
            return saved

        return await self.once(command.filing, command.officer.agency, key, attempt)

    async def record(self, command: FileAtCounter, key: str | None) -> Filed:
        """Hướng dẫn bổ sung (form 02) or từ chối (form 03): nothing is claimed."""
        return await self.once(
            command.filing,
            command.officer.agency,
            key,
            lambda k, h, code: self.file(command, k, h, code),
        )

    async def complete(self, command: CompleteAtCounter) -> Completed:
        """Nhận hồ sơ đã bổ sung đủ: received now, judged by the catalogue in force at completion
        as a new receipt is. A dossier filed online keeps the secret its citizen was given when
        filing; one filed at the counter gets a new one."""
        dossier = command.dossier
        at = business_time(command.occurred_at, command.backdate_reason)
        catalogue = await catalogue_at(self.book, at)
        procedure = procedure_in(catalogue, dossier.filing["procedure_code"])
        online = getattr(dossier, "online", None)
        secret = None if online else new_tracking_secret()
        terms = receipt_terms(
            catalogue,
            procedure,
            at,
            command.postal_return,
            command.paid_online,
            command.documents_scanned,
            online["tracking_hash"] if online else tracking_hash(secret or ""),
        )
        try:
            completed = await asyncio.to_thread(
                self.app.complete,
                dossier.code,
                terms=terms,
                occurred_at=at,
                backdate_reason=command.backdate_reason,
                actor=command.actor,
            )
        except NotIncomplete as exc:
            raise Refusal(
                "invalid_transition",
                "Hồ sơ không ở trạng thái chờ bổ sung tại quầy",
                f"The dossier is {exc.outcome}, not waiting for completion at the counter",
                status=409,
                state=exc.outcome,
                allowed_actions=[],
            ) from None
        await online_index.record(self._pool(), completed)  # a filing made online leaves the lists
        self._wake()
        return Completed(completed, secret)

    async def once(self, filing: Filing, unit: str, key: str | None, attempt: Attempt) -> Filed:
        """The filing stored once per Idempotency-Key: a retry of the same request gets the
        dossier its first attempt stored; the key reused for another request is refused."""
        if not key:
            return _filed(await attempt(None, None, None))
        # the desk is part of the request: another desk's identical filing is another request
        request_hash = hashlib.sha256(
            f"{unit}:{type(filing).__name__}:{filing.model_dump_json()}".encode()
        ).hexdigest()
        try:
            result = await attempt(key, request_hash, None)  # the key is claimed with the batch
        except Refusal:
            # A retry of a request that went through must get its dossier even if the filing
            # no longer passes (its back-dating limit ran out since, say).
            async with self._pool().acquire() as conn:
                held = (await lookup_keys(conn, [key])).get(key)
            if held is None or held.request_hash != request_hash or held.code is None:
                raise
            stored = await self._stored(held.code)
            if stored is None:
                raise
            return Filed(stored, created=False)
        if isinstance(result, Dossier):
            return Filed(result, created=True)
        if not result.same_request:
            raise Refusal(
                "idempotency_key_reused",
                "Khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
                "This Idempotency-Key was already used for a different request",
            )
        stored = await self._stored(result.code) if result.code else None
        if stored is None and result.code and result.expired:
            # Its first save failed or its process died: saved now under the claim's code, or
            # found stored by whichever retry got there first.
            again = await attempt(key, request_hash, result.code)
            if isinstance(again, Dossier):
                return Filed(again, created=True)
            stored = await self._stored(result.code)
        if stored is None:
            busy = Refusal(
                "request_in_progress",
                "Yêu cầu với khóa này đang được xử lý, vui lòng thử lại",
                "A request with this key is still being processed; retry shortly",
                status=409,
            )
            busy.headers = {"Retry-After": "1"}
            raise busy
        return Filed(stored, created=False)

    async def file(
        self, command: FileAtCounter, key: str | None, request_hash: str | None, code: str | None
    ) -> Dossier | KeyTaken:
        """Checks the filing against today's catalogue before a pickup is claimed, then again
        against the version in force when it counts as received (a back-dated receipt's own
        day), and saves it with whatever else is waiting."""
        body, officer = command.filing, command.officer
        today = await catalogue_at(self.book, datetime.now(UTC))
        procedure, documents = _judged(today, body, command.outcome)
        desk = receiving_point(today, body.receiving_point or officer.agency)
        check_own_desk(officer.agency, desk.code)
        claimant: str | None = None
        backdate_reason: str | None
        if body.pickup_reference:
            claimant = f"key:{key}" if key else f"once:{secrets.token_hex(8)}"
            at, backdate_reason = await self._handover(body, claimant)
        else:
            at, backdate_reason = business_time(body.occurred_at, body.backdate_reason), body.backdate_reason
        try:
            catalogue = await catalogue_at(self.book, at)
            if catalogue is not today:
                procedure, documents = _judged(catalogue, body, command.outcome)
                desk = receiving_point(catalogue, desk.code)
            check_open(desk, at)
            dossier = await self.committer.register(
                desk.agency_id,
                at,
                {
                    "filing": _filing_record(body, procedure, desk.code, documents),
                    "outcome": command.outcome,
                    "terms": _terms(command, catalogue, procedure, at),
                    "missing_items": command.missing_items,
                    "refusal_reasons": command.refusal_reasons,
                    "occurred_at": at,
                    "backdate_reason": backdate_reason,
                    "actor": officer.actor,
                    "applicant": body.applicant,  # sealed by the committer
                },
                key,
                request_hash,
                code,
            )
        except BaseException:
            if claimant is not None:  # the pickup stays free for the filing that will succeed
                await release_pickup(self._pool(), body.pickup_reference or "", claimant)
            raise
        self._wake()
        return dossier

    async def _handover(self, body: Filing, claimant: str) -> tuple[datetime, str]:
        """A dossier the postal service collected counts from when the desk took it over.

        One pickup becomes one dossier: ``claimant`` (the request's Idempotency-Key, so that its
        retry claims again, or a one-off token) ties the pickup to this filing."""
        reference = body.pickup_reference or ""
        check_pickup_channel(body.channel)
        found = await handover_time(self._pool(), reference)
        if found is None or found[0] != "delivered" or found[1] is None:
            raise Refusal(
                "pickup_not_delivered",
                f"Bưu chính chưa bàn giao hồ sơ thu gom {reference} cho bộ phận một cửa",
                f"The postal service has not handed pickup {reference} over to the desk yet",
                status=409,
                pickup_status=None if found is None else found[0],
            )
        if not await claim_pickup(self._pool(), reference, claimant):
            raise Refusal(
                "pickup_already_used",
                f"Hồ sơ thu gom {reference} đã được tiếp nhận thành một hồ sơ khác",
                f"Pickup {reference} was already received as another dossier",
                status=409,
            )
        return (
            found[1],
            f"received through the public postal service: pickup {reference} handed over to the desk",
        )

    async def _claim_scans(self, command: FileAtCounter, holder: str) -> list[dict[str, Any]]:
        """The receipt's scans, tied to it while it is saved (all or none), each sealed under
        this applicant's key (erasing the applicant's data must shred them too)."""
        receipt = command.receipt
        if receipt is None or not receipt.scans:
            return []
        ids = list(dict.fromkeys(receipt.scans))
        try:
            held = await self.documents.claim(ids, owner=command.officer.user_id, holder=holder)
        except DocumentsUnavailable as exc:
            raise Refusal(
                "scan_unavailable",
                "Bản quét không tồn tại, không do bạn lưu hoặc đã thuộc hồ sơ khác",
                "A scan does not exist, was not stored by you, or already belongs to another dossier",
                documents=exc.ids,
            ) from None
        key = await self.keyring.key_of(self._pool(), "cccd", command.filing.applicant.citizen_id)
        other = [str(d.id) for d in held if d.key_ref != key.key_ref]
        if other:
            await self.documents.release(holder)
            raise Refusal(
                "scan_other_applicant",
                "Bản quét được lưu cho một người nộp hồ sơ khác",
                "A scan was stored for another applicant",
                documents=other,
            )
        return [d.record() for d in held]

    async def _stored(self, code: str) -> Dossier | None:
        try:
            return await asyncio.to_thread(self.app.dossier, code)
        except DossierNotFound:
            return None


def _filed(result: Dossier | KeyTaken) -> Filed:
    if not isinstance(result, Dossier):  # only a keyed request can find its key taken
        raise TypeError("a request without a key found one taken")
    return Filed(result, created=True)


def _judged(
    catalogue: Catalogue, body: Filing, outcome: str
) -> tuple[Procedure, list[dict[str, Any]] | None]:
    """The procedure the filing names, its channel checked, and the papers handed in."""
    procedure = procedure_in(catalogue, body.procedure_code)
    check_channel(procedure, body.channel, body.online_level)
    return procedure, documents_handed(procedure, body.documents, outcome)


def _filing_record(
    body: Filing, procedure: Procedure, desk: str, documents: list[dict[str, Any]] | None
) -> dict[str, Any]:
    return {
        "procedure_code": procedure.code,
        "department_code": procedure.department,
        "receiving_point": desk,
        "channel": int(body.channel),
        "online_level": body.online_level,
        # only when the desk ticked them: older filings keep their shape
        **({"documents": documents} if documents is not None else {}),
        # only when chosen: filings without it stay exactly as they were
        **({"notify_channel": nc} if (nc := getattr(body, "notify_channel", None)) else {}),
    }


def _terms(
    command: FileAtCounter, catalogue: Catalogue, procedure: Procedure, at: datetime
) -> dict[str, Any] | None:
    receipt = command.receipt
    if receipt is None:
        return None
    made = receipt_terms(
        catalogue,
        procedure,
        at,
        receipt.postal_return,
        receipt.paid_online,
        receipt.documents_scanned or bool(command.scans_held),
        receipt.tracking_hash,
    )
    # only when scans were stored: receipts without them keep their shape
    made = {**made, "scanned_documents": command.scans_held} if command.scans_held else made
    return with_pickup(made, command.filing.pickup_reference)
