"""Intake's HTTP API: the procedure catalogue, and the counter's three outcomes."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.intake import online_index
from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.appointment import appointment
from services.intake.catalogue import Catalogue, Procedure, UnknownProcedure
from services.intake.catalogue.in_force import CatalogueBook, NothingInForce
from services.intake.codes import KeyTaken, lookup_keys
from services.intake.domain import Dossier, NotIncomplete
from services.intake.forms import FORMS, form_applies, render_form
from services.intake.group_commit import GroupCommitter
from services.intake.personal import Purpose, applicant_for, build_personal_router
from services.intake.pickups import claim_pickup, handover_time, release_pickup
from services.intake.registers import build_register_router
from services.intake.schemas import (
    ApplicantView,
    CompleteDossierRequest,
    DossierView,
    Filing,
    IncompleteDossierRequest,
    ReceiveDossierRequest,
    RefuseDossierRequest,
    StatusPointer,
)
from shared.auth.guard import CALLER, Caller, authorize_dossier
from shared.clock import DEFAULT_CALENDAR
from shared.clock.explain import local_iso
from shared.contracts import Actor
from shared.contracts.base import CITIZEN_ID_PATTERN
from shared.documents import DocumentRefused, DocumentsUnavailable, PgDocumentStore, checked_upload
from shared.host.business_time import business_time
from shared.host.errors import ApiError, not_found
from shared.host.host import ServiceHost
from shared.host.openapi_errors import errors
from shared.host.routes import include_flat

SCAN_PATH = "/dossiers/scans"  # a paper scanned at the counter (size-limited like an upload)
# A filing answers 201 with a new dossier, or 200 with the one a retry of the same request (its
# Idempotency-Key) stored; 409 while that first request is still in flight or for a pickup.
FILED: dict[int | str, dict[str, Any]] = {
    200: {"model": DossierView, "description": "A retry with the same Idempotency-Key: its dossier"},
    **errors(409),
}


def build_router(
    host: ServiceHost,
    app: IntakeApplication,
    committer: GroupCommitter,
    book: CatalogueBook,
    documents: PgDocumentStore,
) -> APIRouter:
    """``committer``: concurrent registrations share one code statement and one transaction;
    ``book``: the catalogue in force on a date, from the recorded catalogue events."""
    router = APIRouter()
    keyring = committer.keyring

    @router.get("/procedures", tags=["catalogue"], summary="Danh mục thủ tục hành chính")
    async def procedures() -> list[dict[str, Any]]:
        catalogue = await in_force(book, datetime.now(UTC))
        return [p.model_dump(mode="json") for p in catalogue.procedures]

    @router.get("/procedures/{code}", tags=["catalogue"], summary="Một thủ tục hành chính")
    async def procedure(code: str) -> dict[str, Any]:
        catalogue = await in_force(book, datetime.now(UTC))
        return _procedure(catalogue, code).model_dump(mode="json")

    @router.get("/departments", tags=["catalogue"], summary="Sở, ban, ngành and desks")
    async def departments() -> dict[str, Any]:
        catalogue = await in_force(book, datetime.now(UTC))
        return {
            "departments": [d.model_dump(mode="json") for d in catalogue.departments],
            "receiving_points": [r.model_dump(mode="json") for r in catalogue.receiving_points],
        }

    async def register(
        body: Filing,
        key: str | None,
        outcome: Callable[[str | None, str | None, str | None], Awaitable[Dossier | KeyTaken]],
        secret: str | None = None,
        unit: str = "",
    ) -> Response:
        # The answer shows the applicant as filed: the writer has it already, nothing is decrypted.
        # built without validating again: the body was validated a moment ago
        person = ApplicantView.model_construct(**body.applicant.model_dump(mode="json"))
        if not key:
            return _created(await outcome(None, None, None), person, secret)
        # the desk is part of the request: another desk's identical filing is another request
        request_hash = hashlib.sha256(
            f"{unit}:{type(body).__name__}:{body.model_dump_json()}".encode()
        ).hexdigest()
        try:
            result = await outcome(key, request_hash, None)  # the key is claimed with the batch
        except ApiError:
            # A retry of a request that went through must get its dossier even if the filing
            # no longer passes (its back-dating limit ran out since, say).
            async with host.pool.acquire() as conn:
                held = (await lookup_keys(conn, [key])).get(key)
            if held is None or held.request_hash != request_hash or held.code is None:
                raise
            stored = await asyncio.to_thread(_stored, app, held.code)
            if stored is None:
                raise
            return _json(_view(stored, person), 200)
        if isinstance(result, Dossier):
            return _created(result, person, secret)
        if not result.same_request:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "Khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
                "This Idempotency-Key was already used for a different request",
            )
        stored = await asyncio.to_thread(_stored, app, result.code) if result.code else None
        if stored is None and result.code and result.expired:
            # Its first save failed or its process died: saved now under the claim's code, or
            # found stored by whichever retry got there first.
            again = await outcome(key, request_hash, result.code)
            if isinstance(again, Dossier):
                return _created(again, person, secret)
            stored = await asyncio.to_thread(_stored, app, result.code)
        if stored is None:
            error = ApiError(
                409,
                "request_in_progress",
                "Yêu cầu với khóa này đang được xử lý, vui lòng thử lại",
                "A request with this key is still being processed; retry shortly",
            )
            error.headers = {"Retry-After": "1"}
            raise error
        return _json(_view(stored, person), 200)

    async def save_new(
        body: Filing,
        caller: Caller,
        outcome: str,
        key: str | None,
        request_hash: str | None,
        code: str | None,
        *,
        terms_of: Callable[[Catalogue, Procedure, datetime], dict[str, Any]] | None = None,
        missing_items: list[str] | None = None,
        refusal_reasons: str | None = None,
    ) -> Dossier | KeyTaken:
        # Checked against today's catalogue before a pickup is claimed, then again against the
        # version in force when the dossier was received (a back-dated receipt's own day).
        today = await in_force(book, datetime.now(UTC))
        procedure = _procedure(today, body.procedure_code)
        _check_channel(procedure, body)
        documents = _documents(procedure, body, outcome)
        desk = _receiving_point(today, body.receiving_point or caller.principal.agency)
        _check_own_desk(caller, desk.code)
        backdate_reason: str | None
        claimant: str | None = None
        if body.pickup_reference:
            claimant = f"key:{key}" if key else f"once:{secrets.token_hex(8)}"
            at, backdate_reason = await _handover(host, body, claimant)
        else:
            at, backdate_reason = business_time(body.occurred_at, body.backdate_reason), body.backdate_reason
        try:
            catalogue = await in_force(book, at)
            if catalogue is not today:
                procedure = _procedure(catalogue, body.procedure_code)
                _check_channel(procedure, body)
                documents = _documents(procedure, body, outcome)
                desk = _receiving_point(catalogue, desk.code)
            _check_open(desk, at)
            dossier = await committer.register(
                desk.agency_id,
                at,
                dict(
                    filing={
                        "procedure_code": procedure.code,
                        "department_code": procedure.department,
                        "receiving_point": desk.code,
                        "channel": int(body.channel),
                        "online_level": body.online_level,
                        # only when the desk ticked them: older filings keep their shape
                        **({"documents": documents} if documents is not None else {}),
                        # only when chosen: filings without it stay exactly as they were
                        **({"notify_channel": nc} if (nc := getattr(body, "notify_channel", None)) else {}),
                    },
                    outcome=outcome,
                    terms=(
                        _with_pickup(terms_of(catalogue, procedure, at), body.pickup_reference)
                        if terms_of
                        else None
                    ),
                    missing_items=missing_items,
                    refusal_reasons=refusal_reasons,
                    occurred_at=at,
                    backdate_reason=backdate_reason,
                    actor=caller.actor(int(body.channel)),
                    applicant=body.applicant,  # sealed by the committer
                ),
                key,
                request_hash,
                code,
            )
        except BaseException:
            if claimant is not None:  # the pickup stays free for the filing that will succeed
                await release_pickup(host.pool, body.pickup_reference or "", claimant)
            raise
        _wake(host)
        return dossier

    @router.post(
        SCAN_PATH,
        status_code=201,
        tags=["dossiers"],
        summary="Lưu bản quét giấy tờ tại quầy (PDF, PNG, JPEG), niêm phong theo người nộp",
        responses=errors(415),
    )
    async def scan(
        request: Request,
        name: str = Query(min_length=1, max_length=200, description="which paper it is"),
        content_type: str | None = Header(default=None, max_length=200),
        x_applicant_citizen_id: str = Header(
            pattern=CITIZEN_ID_PATTERN,
            description="the CCCD of the applicant: the scan is sealed under that data subject's key"
            " (a header, not a query parameter: access logs record the URL)",
        ),
        caller: Caller = CALLER,
    ) -> dict[str, Any]:
        """A paper scanned at the counter, stored before the receipt that names it."""
        content = await request.body()
        try:
            media_type = checked_upload(content, content_type)
        except DocumentRefused as exc:
            raise ApiError(exc.status, exc.code, exc.vi, exc.en) from None
        subject = keyring.subject_of("cccd", x_applicant_citizen_id)
        async with host.pool.acquire() as conn, conn.transaction():
            key = (await keyring.keys_for(conn, [subject]))[subject]
        stored = await documents.put(
            content,
            media_type=media_type,
            name=name.strip() or "bản quét",
            owner=caller.principal.user_id,
            key=key,
        )
        return stored.record()

    async def claim_scans(body: ReceiveDossierRequest, caller: Caller, holder: str) -> list[dict[str, Any]]:
        """The receipt's scans, tied to it while it is saved (all or none), each sealed under
        this applicant's key (erasing the applicant's data must shred them too)."""
        if not body.scanned_documents:
            return []
        ids = list(dict.fromkeys(body.scanned_documents))
        try:
            held = await documents.claim(ids, owner=caller.principal.user_id, holder=holder)
        except DocumentsUnavailable as exc:
            raise ApiError(
                422,
                "scan_unavailable",
                "Bản quét không tồn tại, không do bạn lưu hoặc đã thuộc hồ sơ khác",
                "A scan does not exist, was not stored by you, or already belongs to another dossier",
                documents=exc.ids,
            ) from None
        subject = keyring.subject_of("cccd", body.applicant.citizen_id)
        async with host.pool.acquire() as conn, conn.transaction():
            key = (await keyring.keys_for(conn, [subject]))[subject]
        other = [str(d.id) for d in held if d.key_ref != key.key_ref]
        if other:
            await documents.release(holder)
            raise ApiError(
                422,
                "scan_other_applicant",
                "Bản quét được lưu cho một người nộp hồ sơ khác",
                "A scan was stored for another applicant",
                documents=other,
            )
        return [d.record() for d in held]

    @router.post(
        "/dossiers",
        status_code=201,
        response_model=DossierView,
        tags=["dossiers"],
        summary="Tiếp nhận hồ sơ (form 01)",
        responses=FILED,
    )
    async def receive(
        body: ReceiveDossierRequest,
        idempotency_key: str | None = Header(default=None, max_length=200),
        caller: Caller = CALLER,
    ) -> Response:
        secret = new_tracking_secret()
        holder = f"receipt:{uuid4()}" if body.scanned_documents else ""
        scans: list[dict[str, Any]] = []

        def terms(catalogue: Catalogue, procedure: Procedure, at: datetime) -> dict[str, Any]:
            made = _terms(
                catalogue,
                procedure,
                at,
                body.postal_return,
                body.paid_online,
                body.documents_scanned or bool(scans),
                tracking_hash(secret),
            )
            # only when scans were stored: receipts without them keep their shape
            return {**made, "scanned_documents": scans} if scans else made

        async def outcome(key: str | None, h: str | None, code: str | None) -> Dossier | KeyTaken:
            # claimed inside the outcome: a retry whose scans are taken already finds its dossier
            scans[:] = await claim_scans(body, caller, holder)
            if not scans:  # nothing is held: no statement (most receipts carry no scans)
                return await save_new(body, caller, "received", key, h, code, terms_of=terms)
            try:
                saved = await save_new(body, caller, "received", key, h, code, terms_of=terms)
            except BaseException:
                await documents.release(holder)
                raise
            if isinstance(saved, Dossier):
                await documents.move(holder, saved.code)
            else:
                await documents.release(holder)
            return saved

        return await register(body, idempotency_key, outcome, secret, caller.principal.agency)

    @router.post(
        "/dossiers/incomplete",
        status_code=201,
        response_model=DossierView,
        tags=["dossiers"],
        summary="Hướng dẫn bổ sung (form 02)",
        responses=FILED,
    )
    async def incomplete(
        body: IncompleteDossierRequest,
        idempotency_key: str | None = Header(default=None, max_length=200),
        caller: Caller = CALLER,
    ) -> Response:
        return await register(
            body,
            idempotency_key,
            lambda key, h, code: save_new(
                body, caller, "incomplete", key, h, code, missing_items=body.missing_items
            ),
            unit=caller.principal.agency,
        )

    @router.post(
        "/dossiers/refusals",
        status_code=201,
        response_model=DossierView,
        tags=["dossiers"],
        summary="Từ chối (form 03)",
        responses=FILED,
    )
    async def refuse(
        body: RefuseDossierRequest,
        idempotency_key: str | None = Header(default=None, max_length=200),
        caller: Caller = CALLER,
    ) -> Response:
        return await register(
            body,
            idempotency_key,
            lambda key, h, code: save_new(
                body, caller, "refused", key, h, code, refusal_reasons=body.reasons
            ),
            unit=caller.principal.agency,
        )

    @router.post(
        "/dossiers/{code}/completion",
        response_model=DossierView,
        tags=["dossiers"],
        summary="Nhận hồ sơ đã bổ sung đủ",
        responses=errors(409),
    )
    async def complete(code: str, body: CompleteDossierRequest, caller: Caller = CALLER) -> Response:
        dossier = await _load(app, code, caller)
        at = business_time(body.occurred_at, body.backdate_reason)
        # received now: judged by the version in force at completion, as a new receipt is
        catalogue = await in_force(book, at)
        procedure = _procedure(catalogue, dossier.filing["procedure_code"])
        # A dossier filed online keeps the secret its citizen was given when filing.
        online = getattr(dossier, "online", None)
        secret = None if online else new_tracking_secret()
        terms = _terms(
            catalogue,
            procedure,
            at,
            body.postal_return,
            body.paid_online,
            body.documents_scanned,
            online["tracking_hash"] if online else tracking_hash(secret or ""),
        )
        try:
            completed = await asyncio.to_thread(
                app.complete,
                code,
                terms=terms,
                occurred_at=at,
                backdate_reason=body.backdate_reason,
                actor=caller.actor(int(dossier.filing["channel"])),
            )
        except NotIncomplete as exc:
            raise ApiError(
                409,
                "invalid_transition",
                "Hồ sơ không ở trạng thái chờ bổ sung tại quầy",
                f"The dossier is {exc.outcome}, not waiting for completion at the counter",
                state=exc.outcome,
                allowed_actions=[],
            ) from None
        await online_index.record(host.pool, completed)  # a filing made online leaves the lists
        _wake(host)
        person = await applicant_for(
            host.pool, keyring, completed, reader=Actor(**caller.actor()), purpose="completion"
        )
        return _json(_view(completed, person, secret), 200)

    @router.get(
        "/dossiers/{code}",
        response_model=DossierView,
        tags=["dossiers"],
        summary="Hồ sơ, rebuilt from its events",
    )
    async def get_dossier(code: str, purpose: Purpose, caller: Caller = CALLER) -> Response:
        dossier = await _load(app, code, caller)
        person = await applicant_for(
            host.pool, keyring, dossier, reader=Actor(**caller.actor()), purpose=purpose
        )
        return _json(_view(dossier, person), 200)

    @router.get("/dossiers/{code}/history", tags=["dossiers"], summary="The desk's events for a dossier")
    async def history(code: str, caller: Caller = CALLER) -> list[dict[str, Any]]:
        try:
            dossier, events = await asyncio.to_thread(app.dossier_and_history, code)
        except DossierNotFound:
            raise not_found("hồ sơ", "Dossier", code) from None
        _authorize(caller, dossier)
        # By the instant it happened, in local time with its offset (entries arrive in any zone).
        ordered = sorted(events, key=lambda e: (e.occurred_at, e.originator_version))
        return [
            {
                "version": e.originator_version,
                "event": type(e).__qualname__.split(".")[-1],
                "actor": e.actor,
                "occurred_at": local_iso(DEFAULT_CALENDAR, e.occurred_at),
                "recorded_at": local_iso(DEFAULT_CALENDAR, e.timestamp),
                "backdate_reason": e.backdate_reason,
            }
            for e in ordered
        ]

    @router.get(
        "/dossiers/{code}/forms/{form}", response_class=HTMLResponse, tags=["dossiers"], responses=errors(409)
    )
    async def form(
        code: str,
        purpose: Purpose,
        form: str = Path(json_schema_extra={"enum": sorted(FORMS)}),
        caller: Caller = CALLER,
    ) -> HTMLResponse:
        dossier = await _load(app, code, caller)
        if form not in FORMS:
            raise ApiError(
                404, "unknown_form", f"Không có biểu mẫu {form}", f"No form {form}", known=sorted(FORMS)
            )
        if not form_applies(form, dossier):
            raise ApiError(
                409,
                "form_not_applicable",
                f"Biểu mẫu {form} không áp dụng cho hồ sơ này",
                f"The {form} form does not apply to this dossier",
            )
        person = await applicant_for(
            host.pool, keyring, dossier, reader=Actor(**caller.actor()), purpose=f"form {form}: {purpose}"
        )
        try:  # the names as published when it was filed
            catalogue = await book.at(dossier.registered_at)
        except NothingInForce:
            catalogue = await in_force(book, datetime.now(UTC))
        return HTMLResponse(render_form(form, dossier, catalogue, person))

    include_flat(router, build_personal_router(lambda: host.pool, app, keyring))
    include_flat(router, build_register_router(lambda: host.pool, app, keyring, book))
    return router


async def _handover(host: ServiceHost, body: Filing, claimant: str) -> tuple[datetime, str]:
    """A dossier the postal service collected counts from when the desk took it over.

    One pickup becomes one dossier: ``claimant`` (the request's Idempotency-Key, so that its
    retry claims again, or a one-off token) ties the pickup to this filing."""
    reference = body.pickup_reference or ""
    if int(body.channel) != 3:
        raise ApiError(
            422,
            "pickup_needs_postal_channel",
            "Hồ sơ do bưu chính thu gom phải nộp qua kênh bưu chính (3)",
            "A dossier collected by the postal service is filed through the postal channel (3)",
        )
    found = await handover_time(host.pool, reference)
    if found is None or found[0] != "delivered" or found[1] is None:
        raise ApiError(
            409,
            "pickup_not_delivered",
            f"Bưu chính chưa bàn giao hồ sơ thu gom {reference} cho bộ phận một cửa",
            f"The postal service has not handed pickup {reference} over to the desk yet",
            pickup_status=None if found is None else found[0],
        )
    if not await claim_pickup(host.pool, reference, claimant):
        raise ApiError(
            409,
            "pickup_already_used",
            f"Hồ sơ thu gom {reference} đã được tiếp nhận thành một hồ sơ khác",
            f"Pickup {reference} was already received as another dossier",
        )
    return found[1], f"received through the public postal service: pickup {reference} handed over to the desk"


def _wake(host: ServiceHost) -> None:
    if host.relay is not None:
        host.relay.wake()


async def _load(app: IntakeApplication, code: str, caller: Caller) -> Dossier:
    try:
        dossier = await asyncio.to_thread(app.dossier, code)
    except DossierNotFound:
        raise not_found("hồ sơ", "Dossier", code) from None
    _authorize(caller, dossier)
    return dossier


def _authorize(caller: Caller, dossier: Dossier) -> None:
    authorize_dossier(
        caller,
        dossier.code,
        departments=(dossier.filing["department_code"],),
        desk=dossier.filing["receiving_point"],
    )


def new_tracking_secret() -> str:
    """Mã tra cứu: 128 random bits, printed on the receipt (QR) and never stored."""
    return secrets.token_urlsafe(16)


def tracking_hash(secret: str) -> str:
    # The secret is random with 128 bits, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_own_desk(caller: Caller, desk: str) -> None:
    if caller.principal.agency != desk:
        raise ApiError(
            403,
            "other_desk",
            f"Cán bộ của {caller.principal.agency} không tiếp nhận tại điểm {desk}",
            f"An officer of {caller.principal.agency} cannot receive at desk {desk}",
            your_unit=caller.principal.agency,
        )


def _check_open(desk: Any, at: datetime) -> None:
    """A retired desk (the district tier ended on 2025-06-30) receives nothing after its last day."""
    if desk.until is not None and at.date() > desk.until:
        raise ApiError(
            422,
            "desk_retired",
            f"Điểm tiếp nhận {desk.code} đã ngừng tiếp nhận từ sau ngày {desk.until:%d/%m/%Y}",
            f"Desk {desk.code} stopped receiving after {desk.until.isoformat()}",
            until=desk.until.isoformat(),
        )


async def in_force(book: CatalogueBook, when: datetime) -> Catalogue:
    """The catalogue in force when ``when`` happened, or a 422 when none was."""
    try:
        return await book.at(when)
    except NothingInForce as exc:
        raise ApiError(
            422,
            "catalogue_not_in_force",
            f"Không có danh mục thủ tục nào có hiệu lực vào ngày {exc.day:%d/%m/%Y}",
            f"No procedure catalogue was in force on {exc.day.isoformat()}",
            day=exc.day.isoformat(),
        ) from None


def _procedure(catalogue: Catalogue, code: str) -> Procedure:
    try:
        return catalogue.procedure(code)
    except UnknownProcedure:
        raise ApiError(
            422,
            "unknown_procedure",
            f"Thủ tục {code} không có trong danh mục",
            f"Procedure {code} is not in the catalogue",
        ) from None


def _check_channel(procedure: Procedure, body: Filing) -> None:
    allowed = [int(c) for c in procedure.channels]
    if int(body.channel) not in allowed:
        raise ApiError(
            422,
            "channel_not_allowed",
            f"Thủ tục {procedure.code} không tiếp nhận qua kênh {int(body.channel)}",
            f"Procedure {procedure.code} does not accept channel {body.channel.name}",
            allowed_channels=allowed,
        )
    if (int(body.channel) == 2) != (body.online_level is not None):
        raise ApiError(
            422,
            "online_level_mismatch",
            "Mức độ trực tuyến chỉ dùng (và bắt buộc) cho hồ sơ nộp trực tuyến",
            "online_level is required for online dossiers and only for them",
        )


def _documents(procedure: Procedure, body: Filing, outcome: str) -> list[dict[str, Any]] | None:
    """The papers handed in, named from the procedure's list; a dossier missing a required one
    is incomplete (Decree 118/2025 Art. 15: the desk asks for everything missing at once)."""
    if body.documents is None:
        return None
    listed = {d.id: d for d in procedure.documents}
    handed: list[dict[str, Any]] = []
    for ticked in body.documents:
        line = listed.get(ticked.id)
        if line is None:
            raise ApiError(
                422,
                "unknown_document",
                f"Thủ tục {procedure.code} không có thành phần hồ sơ {ticked.id}",
                f"Procedure {procedure.code} lists no document {ticked.id}",
                known=list(listed),
            )
        if any(h["id"] == ticked.id for h in handed):
            raise ApiError(
                422,
                "document_repeated",
                f"Thành phần hồ sơ {ticked.id} được kê hai lần",
                f"Document {ticked.id} is listed twice",
            )
        handed.append(
            {
                "id": line.id,
                "name": line.name_vi,
                "form": ticked.form or str(line.form.value),
                "count": ticked.count or line.count,
            }
        )
    missing = procedure.missing_documents({h["id"] for h in handed})
    if outcome == "received" and missing:
        raise ApiError(
            422,
            "documents_missing",
            "Hồ sơ còn thiếu giấy tờ bắt buộc: "
            + "; ".join(d.name_vi for d in missing)
            + ". Hãy hướng dẫn bổ sung (mẫu 02) thay vì tiếp nhận",
            "Required documents are missing: "
            + "; ".join(d.name_en for d in missing)
            + ". Ask for completion (form 02) instead of receiving",
            missing=[d.id for d in missing],
        )
    return handed


def _with_pickup(terms: dict[str, Any], reference: str | None) -> dict[str, Any]:
    """A dossier collected by the post names its pickup, so that scoring links the two."""
    return {**terms, "pickup_reference": reference} if reference else terms


def _terms(
    catalogue: Catalogue,
    procedure: Procedure,
    received_at: datetime,
    postal_return: bool,
    paid_online: bool,
    documents_scanned: bool,
    secret_hash: str,
) -> dict[str, Any]:
    """What a received dossier is judged by, and the hash of the secret its receipt carries."""
    calendar = catalogue.department(procedure.department).calendar
    return {
        "calendar": calendar,
        "postal_return": postal_return,
        "legal_days": procedure.legal_days,
        "legal_hours": procedure.legal_hours,
        "same_day": procedure.same_day,
        "same_day_cutoff": procedure.same_day_cutoff,
        "supplement_policy": str(catalogue.supplement_policy(procedure.code).value),
        "agency_shares": procedure.agency_shares,
        "fee_vnd": procedure.fee_vnd,
        "paid_online": paid_online,
        "documents_scanned": documents_scanned,
        "electronic_result": procedure.electronic_result,
        "received_at": received_at,
        "due_at": appointment(procedure, received_at, calendar),
        "tracking_hash": secret_hash,
    }


def _receiving_point(catalogue: Catalogue, code: str | None) -> Any:
    """The desk that receives; by default the provincial centre (the first province-level desk)."""
    points = catalogue.receiving_points
    if code is None:
        return next(p for p in points if p.level == "province")
    for point in points:
        if point.code == code:
            return point
    raise ApiError(
        422,
        "unknown_receiving_point",
        f"Không có điểm tiếp nhận {code}",
        f"No receiving point {code}",
        known=[p.code for p in points],
    )


def _stored(app: IntakeApplication, code: str) -> Dossier | None:
    try:
        return app.dossier(code)
    except DossierNotFound:
        return None


def _created(result: Dossier | KeyTaken, person: ApplicantView, secret: str | None) -> Response:
    if not isinstance(result, Dossier):  # only a keyed request can find its key taken
        raise TypeError("a request without a key found one taken")
    return _json(_view(result, person, secret if result.outcome == "received" else None), 201)


def _json(view: DossierView, status: int) -> Response:
    # The view was validated when it was built: serialising it straight away skips FastAPI's
    # second validation pass over the response model (a measurable share of intake's CPU).
    return Response(view.model_dump_json(), status_code=status, media_type="application/json")


DESK_RECORD_NOTE = {
    "vi": (
        "Đây là hồ sơ tại bộ phận một cửa (kết quả tiếp nhận), không phải trạng thái hiện tại; "
        "trạng thái giải quyết hiện tại xem tại dịch vụ giải quyết hồ sơ (processing)"
    ),
    "en": (
        "This is the desk's record (the outcome at the counter), not the dossier's current status; "
        "the current status is processing's, see current_status_at"
    ),
}


def _status_pointers(dossier: Dossier) -> list[StatusPointer]:
    code = dossier.code
    pointers = [
        StatusPointer(
            service="scoring",
            path=f"/dossiers/{code}/history",
            what="every event of the dossier across services, in business-time order",
        )
    ]
    if dossier.outcome == "received":
        pointers.insert(
            0,
            StatusPointer(
                service="processing",
                path=f"/dossiers/{code}",
                what="the case now: state, national status (TrangThaiHoSo), officer, decision and clock",
            ),
        )
    return pointers


HIDDEN_TERMS = ("received_at", "due_at", "tracking_hash")


def _online_view(dossier: Dossier) -> dict[str, Any] | None:
    """What a filing made online shows: its documents and the citizen's choices, not the hash."""
    online = getattr(dossier, "online", None)  # dossiers stored before online filing have none
    if online is None:
        return None
    return {k: v for k, v in online.items() if k != "tracking_hash"}


def _view(dossier: Dossier, applicant: ApplicantView, tracking_secret: str | None = None) -> DossierView:
    terms = dossier.terms or {}
    return DossierView(
        note=DESK_RECORD_NOTE,
        current_status_at=_status_pointers(dossier),
        code=dossier.code,
        dossier_id=dossier.id,
        outcome=dossier.outcome,
        national_status=dossier.national_status(),
        registered_at=dossier.registered_at,
        received_at=dossier.received_at,
        due_at=terms.get("due_at"),
        recorded_at=dossier.created_on,
        backdate_reason=dossier.backdate_reason,
        missing_items=dossier.missing_items,
        refusal_reasons=dossier.refusal_reasons,
        terms={k: v for k, v in terms.items() if k not in HIDDEN_TERMS} or None,
        tracking_secret=tracking_secret,
        registered_by=dossier.registered_by,
        applicant=applicant,
        forms=[name for name, (outcomes, _) in FORMS.items() if dossier.outcome in outcomes],
        online=_online_view(dossier),
        **dossier.filing,
    )
