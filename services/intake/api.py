"""Intake's HTTP API: the procedure catalogue, and the counter's three outcomes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.catalogue.in_force import CatalogueBook, NothingInForce
from services.intake.domain import Dossier
from services.intake.forms import FORMS, form_applies, render_form
from services.intake.group_commit import GroupCommitter
from services.intake.personal import Purpose, applicant_for, build_personal_router
from services.intake.receipt_rules import new_tracking_secret, procedure_in, tracking_hash
from services.intake.receiving import (
    CompleteAtCounter,
    FileAtCounter,
    Filed,
    Officer,
    ReceiptAsked,
    Receiving,
    catalogue_at,
)
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
from shared.auth.guard import Caller, acting_caller, authorize_dossier
from shared.clock import DEFAULT_CALENDAR
from shared.clock.explain import local_iso
from shared.contracts import Actor
from shared.contracts.base import CITIZEN_ID_PATTERN
from shared.documents import PgDocumentStore, checked_upload
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
    receiving = Receiving(app, committer, book, lambda: host.pool, documents, keyring, lambda: _wake(host))

    @router.get("/procedures", tags=["catalogue"], summary="Danh mục thủ tục hành chính")
    async def procedures() -> list[dict[str, Any]]:
        catalogue = await catalogue_at(book, datetime.now(UTC))
        return [p.model_dump(mode="json") for p in catalogue.procedures]

    @router.get("/procedures/{code}", tags=["catalogue"], summary="Một thủ tục hành chính")
    async def procedure(code: str) -> dict[str, Any]:
        catalogue = await catalogue_at(book, datetime.now(UTC))
        return procedure_in(catalogue, code).model_dump(mode="json")

    @router.get("/departments", tags=["catalogue"], summary="Sở, ban, ngành and desks")
    async def departments() -> dict[str, Any]:
        catalogue = await catalogue_at(book, datetime.now(UTC))
        return {
            "departments": [d.model_dump(mode="json") for d in catalogue.departments],
            "receiving_points": [r.model_dump(mode="json") for r in catalogue.receiving_points],
        }

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
    ) -> dict[str, Any]:
        """A paper scanned at the counter, stored before the receipt that names it."""
        caller = acting_caller()
        content = await request.body()
        media_type = checked_upload(content, content_type)  # a refusal answers for itself
        key = await keyring.key_of(host.pool, "cccd", x_applicant_citizen_id)
        stored = await documents.put(
            content,
            media_type=media_type,
            name=name.strip() or "bản quét",
            owner=caller.principal.user_id,
            key=key,
        )
        return stored.record()

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
    ) -> Response:
        caller = acting_caller()
        secret = new_tracking_secret()
        receipt = ReceiptAsked(
            postal_return=body.postal_return,
            paid_online=body.paid_online,
            documents_scanned=body.documents_scanned,
            tracking_hash=tracking_hash(secret),
            scans=tuple(body.scanned_documents),
        )
        command = FileAtCounter(body, officer_of(caller, body), "received", receipt=receipt)
        return _answer(await receiving.receive(command, idempotency_key), body, secret)

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
    ) -> Response:
        caller = acting_caller()
        command = FileAtCounter(
            body, officer_of(caller, body), "incomplete", missing_items=body.missing_items
        )
        return _answer(await receiving.record(command, idempotency_key), body)

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
    ) -> Response:
        caller = acting_caller()
        command = FileAtCounter(body, officer_of(caller, body), "refused", refusal_reasons=body.reasons)
        return _answer(await receiving.record(command, idempotency_key), body)

    @router.post(
        "/dossiers/{code}/completion",
        response_model=DossierView,
        tags=["dossiers"],
        summary="Nhận hồ sơ đã bổ sung đủ",
        responses=errors(409),
    )
    async def complete(code: str, body: CompleteDossierRequest) -> Response:
        caller = acting_caller()
        dossier = await _load(app, code, caller)
        command = CompleteAtCounter(
            dossier,
            body.occurred_at,
            body.backdate_reason,
            body.postal_return,
            body.paid_online,
            body.documents_scanned,
            caller.actor(int(dossier.filing["channel"])),
        )
        completed = await receiving.complete(command)
        person = await applicant_for(
            host.pool, keyring, completed.dossier, reader=Actor(**caller.actor()), purpose="completion"
        )
        return _json(_view(completed.dossier, person, completed.tracking_secret), 200)

    @router.get(
        "/dossiers/{code}",
        response_model=DossierView,
        tags=["dossiers"],
        summary="Hồ sơ, rebuilt from its events",
    )
    async def get_dossier(code: str, purpose: Purpose) -> Response:
        caller = acting_caller()
        dossier = await _load(app, code, caller)
        person = await applicant_for(
            host.pool, keyring, dossier, reader=Actor(**caller.actor()), purpose=purpose
        )
        return _json(_view(dossier, person), 200)

    @router.get("/dossiers/{code}/history", tags=["dossiers"], summary="The desk's events for a dossier")
    async def history(code: str) -> list[dict[str, Any]]:
        caller = acting_caller()
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
    ) -> HTMLResponse:
        caller = acting_caller()
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
            catalogue = await catalogue_at(book, datetime.now(UTC))
        return HTMLResponse(render_form(form, dossier, catalogue, person))

    include_flat(router, build_personal_router(lambda: host.pool, app, keyring))
    include_flat(router, build_register_router(lambda: host.pool, app, keyring, book))
    return router


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


def officer_of(caller: Caller, body: Filing) -> Officer:
    """The verified caller as the counter's use cases know them."""
    return Officer(caller.principal.user_id, caller.principal.agency, caller.actor(int(body.channel)))


def _answer(filed: Filed, body: Filing, secret: str | None = None) -> Response:
    """201 with the dossier this request stored (a receipt shows its tracking secret, once), or
    200 with the one a retry of the same request finds. The applicant is shown as filed: the
    writer has it already, nothing is decrypted (built without validating it a second time)."""
    person = ApplicantView.model_construct(**body.applicant.model_dump(mode="json"))
    dossier = filed.dossier
    if not filed.created:
        return _json(_view(dossier, person), 200)
    return _json(_view(dossier, person, secret if dossier.outcome == "received" else None), 201)


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
