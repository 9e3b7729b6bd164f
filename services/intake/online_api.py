"""Intake's HTTP edge for online filing: uploads, registration, the desk's check, tracking.

The rules are ``services.intake.online`` and the dossier's own (``Dossier.check``); the counter's
helpers (catalogue look-ups, terms, the view) are the same as at the desk, so a filing checked
online is judged exactly as one handed in at the counter.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Header, Query, Request, Response

from services.intake.api import _json, _view, _wake
from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.catalogue.in_force import CatalogueBook
from services.intake.domain import Dossier, NotAskedToComplete, NotRegistered
from services.intake.group_commit import GroupCommitter
from services.intake.online import check_documents, online_level_of, online_receipt_time, owns
from services.intake.online_index import record
from services.intake.personal import applicant_for
from services.intake.receipt_rules import (
    check_open,
    new_tracking_secret,
    procedure_in,
    receipt_terms,
    receiving_point,
    tracking_hash,
)
from services.intake.receiving import catalogue_at
from services.intake.schemas import (
    ApplicantView,
    CompleteOnlineRequest,
    DossierView,
    IncompleteOnlineRequest,
    OnlineFilingRequest,
    ReceiveOnlineRequest,
    RefuseOnlineRequest,
)
from shared.auth.guard import Caller, acting_caller, authorize_dossier, dossier_not_found
from shared.auth.principal import Role
from shared.clock import DEFAULT_CALENDAR
from shared.clock.calendars import calendar_named
from shared.clock.explain import local_iso
from shared.contracts import Actor
from shared.contracts.base import CITIZEN_ID_PATTERN
from shared.documents import (
    DocumentErased,
    DocumentsUnavailable,
    PgDocumentStore,
    checked_upload,
)
from shared.host.business_time import business_time
from shared.host.errors import ApiError
from shared.host.host import ServiceHost
from shared.host.openapi_errors import errors
from shared.host.rate_limit import RateLimiter
from shared.pii import KeyRing, SealBroken

UPLOAD_PATH = "/online/documents"

# What the citizen's tracking page says of a filing at the desk (processing takes over once received).
STATUS_TEXT: dict[str, tuple[str, str]] = {
    "registered": (
        "Đã nộp trực tuyến, chờ bộ phận một cửa kiểm tra",
        "Filed online; waiting for the desk to check it",
    ),
    "received": ("Đã tiếp nhận, đang giải quyết", "Received; being processed"),
    "incomplete": ("Cần bổ sung hồ sơ", "Please complete your dossier"),
    "refused": ("Không được tiếp nhận", "Not received"),
}
STEP_TEXT: dict[str, str] = {
    "registered": "Nộp hồ sơ trực tuyến / Filed online",
    "received": "Bộ phận một cửa tiếp nhận hồ sơ / The desk received the dossier",
    "incomplete": "Bộ phận một cửa yêu cầu bổ sung / The desk asked you to complete it",
    "refused": "Bộ phận một cửa từ chối tiếp nhận / The desk refused the dossier",
    "completed": "Đã nhận hồ sơ bổ sung đủ / The completed dossier was received",
    "completed_online": "Công dân bổ sung hồ sơ trực tuyến / You completed the dossier online",
}


def build_online_router(
    host: ServiceHost,
    app: IntakeApplication,
    keyring: KeyRing,
    committer: GroupCommitter,
    book: CatalogueBook,
    documents: PgDocumentStore,
) -> APIRouter:
    router = APIRouter(tags=["online filing"])
    tracking_limit = RateLimiter(per_minute=30, burst=10)

    @router.post(
        UPLOAD_PATH, status_code=201, summary="Tải lên tài liệu (PDF, PNG, JPEG)", responses=errors(415)
    )
    async def upload(
        request: Request,
        name: str = Query(min_length=1, max_length=200, description="what the document is"),
        content_type: str | None = Header(default=None, max_length=200),
        x_applicant_citizen_id: str = Header(
            pattern=CITIZEN_ID_PATTERN,
            description="the CCCD of the applicant the document is about: it is sealed under that data"
            " subject's key, so that erasing the subject's personal data makes it unreadable too (a"
            " header, not a query parameter: access logs record the URL)",
        ),
    ) -> dict[str, Any]:
        caller = acting_caller()
        content = await request.body()
        media_type = checked_upload(content, content_type)  # a refusal answers for itself
        key = await keyring.key_of(host.pool, "cccd", x_applicant_citizen_id)
        stored = await documents.put(
            content,
            media_type=media_type,
            name=name.strip() or "tài liệu",
            owner=caller.principal.user_id,
            key=key,
        )
        return stored.record()

    @router.post(
        "/online/filings",
        status_code=201,
        response_model=DossierView,
        summary="Nộp hồ sơ trực tuyến (đăng ký, trạng thái 1)",
    )
    async def file_online(body: OnlineFilingRequest) -> Response:
        caller = acting_caller()
        now = datetime.now(UTC)
        catalogue = await catalogue_at(book, now)
        procedure = procedure_in(catalogue, body.procedure_code)
        level = online_level_of(procedure)
        check_documents(len(set(body.documents)))
        desk = receiving_point(catalogue, body.receiving_point)
        check_open(desk, now)
        user = caller.principal.user_id
        holder = f"filing:{uuid4()}"
        try:
            held = await documents.claim(list(dict.fromkeys(body.documents)), owner=user, holder=holder)
        except DocumentsUnavailable as exc:
            raise _unavailable(exc.ids) from None
        applicant_key = await keyring.key_of(host.pool, "cccd", body.applicant.citizen_id)
        if any(d.key_ref != applicant_key.key_ref for d in held):
            # sealed for another applicant (or under a key erased since): erasing this applicant's
            # data would not shred it
            await documents.release(holder)
            raise _other_applicant([str(d.id) for d in held if d.key_ref != applicant_key.key_ref])
        secret = new_tracking_secret()
        try:
            saved = await committer.register(
                desk.agency_id,
                now,
                dict(
                    filing={
                        "procedure_code": procedure.code,
                        "department_code": procedure.department,
                        "receiving_point": desk.code,
                        "channel": 2,
                        "online_level": level,
                        # only when chosen: filings without it stay exactly as they were
                        **({"notify_channel": body.notify_channel} if body.notify_channel else {}),
                    },
                    outcome="registered",
                    terms=None,
                    missing_items=None,
                    refusal_reasons=None,
                    occurred_at=now,
                    backdate_reason=None,
                    actor=caller.actor(2),
                    applicant=body.applicant,  # sealed by the committer
                    online={
                        "tracking_hash": tracking_hash(secret),
                        "documents": [d.record() for d in held],
                        "postal_return": body.postal_return,
                    },
                ),
            )
        except BaseException:
            await documents.release(holder)
            raise
        if not isinstance(saved, Dossier):  # only a keyed request can find its key taken
            raise TypeError("a filing without a key found one taken")
        await documents.move(holder, saved.code)
        await record(host.pool, saved)
        _wake(host)
        person = ApplicantView(**body.applicant.model_dump(mode="json"))
        return _json(_view(saved, person, secret), 201)

    @router.get("/online/filings", summary="Hồ sơ trực tuyến của tôi")
    async def my_filings() -> list[dict[str, Any]]:
        caller = acting_caller()
        rows = await host.pool.fetch(
            "SELECT * FROM intake.online_filings WHERE owner = $1 ORDER BY registered_at DESC LIMIT 200",
            caller.principal.user_id,
        )
        return [_row(r) for r in rows]

    @router.get("/online/queue", summary="Hồ sơ trực tuyến chờ kiểm tra (the desk's queue)")
    async def queue() -> list[dict[str, Any]]:
        caller = acting_caller()
        rows = await host.pool.fetch(
            "SELECT * FROM intake.online_filings WHERE receiving_point = $1 AND outcome = 'registered'"
            " ORDER BY registered_at LIMIT 500",
            caller.principal.agency,
        )
        return [_row(r) for r in rows]

    @router.get("/online/filings/{code}", response_model=DossierView, summary="Một hồ sơ nộp trực tuyến")
    async def filing(code: str) -> Response:
        caller = acting_caller()
        dossier = await _load_online(app, code, caller)
        person = await applicant_for(
            host.pool,
            keyring,
            dossier,
            reader=Actor(**caller.actor(2)),
            purpose="xem hồ sơ trực tuyến / view an online filing",
        )
        return _json(_view(dossier, person), 200)

    @router.get(
        "/online/filings/{code}/documents/{document_id}",
        summary="Tài liệu của hồ sơ trực tuyến",
        responses=errors(409, 410),
    )
    async def document(code: str, document_id: str) -> Response:
        caller = acting_caller()
        dossier = await _load_online(app, code, caller)
        recorded = next(
            (d for d in (dossier.online or {}).get("documents", []) if d["document_id"] == document_id), None
        )
        try:
            content = await documents.content(UUID(document_id)) if recorded else None
        except DocumentErased:
            raise document_erased() from None
        except SealBroken:
            content = b""  # fails the hash check below: answered as an integrity problem
        if recorded is None or content is None:
            raise ApiError(404, "document_not_found", "Không tìm thấy tài liệu", "No such document")
        if not hmac.compare_digest(hashlib.sha256(content).hexdigest(), recorded["sha256"]):
            # the stored bytes are not those the filing recorded: never hand them out as such
            raise ApiError(
                409,
                "document_integrity",
                "Tài liệu lưu trữ không khớp mã băm đã ghi nhận",
                "The stored document does not match the hash the filing recorded",
            )
        return Response(
            content,
            media_type=recorded["media_type"],
            headers={
                "Content-Disposition": "inline",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    async def desk_check(code: str, caller: Caller, body: Any, outcome: str, **verdict: Any) -> Response:
        dossier = await _load_online(app, code, caller)
        at = business_time(body.occurred_at, body.backdate_reason)
        if at < dossier.registered_at:
            raise ApiError(
                422,
                "before_filing",
                "Thời điểm kiểm tra trước thời điểm nộp hồ sơ",
                "The desk cannot act on a filing before it was filed",
            )
        # received at ``at``: judged by the catalogue version in force then
        catalogue = await catalogue_at(book, at)
        desk = receiving_point(catalogue, dossier.filing["receiving_point"])
        check_open(desk, at)
        terms = None
        if outcome == "received":
            procedure = procedure_in(catalogue, dossier.filing["procedure_code"])
            calendar = catalogue.department(procedure.department).calendar
            online = dossier.online or {}
            terms = receipt_terms(
                catalogue,
                procedure,
                online_receipt_time(at, calendar_named(calendar)),
                bool(online.get("postal_return")),
                bool(verdict.pop("paid_online", False)),
                True,  # filed as electronic documents: nothing left to scan
                online["tracking_hash"],
            )
        try:
            checked = await asyncio.to_thread(
                app.check,
                code,
                outcome=outcome,
                terms=terms,
                missing_items=verdict.get("missing_items"),
                refusal_reasons=verdict.get("refusal_reasons"),
                occurred_at=at,
                backdate_reason=body.backdate_reason,
                actor=caller.actor(2),
            )
        except (NotRegistered, IntegrityError) as exc:
            state = exc.outcome if isinstance(exc, NotRegistered) else "changed"
            raise ApiError(
                409,
                "invalid_transition",
                "Hồ sơ trực tuyến này đã được kiểm tra",
                f"This online filing was already checked ({state})",
                state=state,
                allowed_actions=[],
            ) from None
        await record(host.pool, checked)
        _wake(host)
        person = await applicant_for(
            host.pool,
            keyring,
            checked,
            reader=Actor(**caller.actor(2)),
            purpose="kiểm tra hồ sơ trực tuyến / check an online filing",
        )
        return _json(_view(checked, person), 200)

    @router.post(
        "/online/filings/{code}/receive",
        response_model=DossierView,
        summary="Tiếp nhận hồ sơ trực tuyến",
        responses=errors(409),
    )
    async def receive(code: str, body: ReceiveOnlineRequest) -> Response:
        caller = acting_caller()
        return await desk_check(code, caller, body, "received", paid_online=body.paid_online)

    @router.post(
        "/online/filings/{code}/completion-request",
        response_model=DossierView,
        summary="Yêu cầu bổ sung hồ sơ trực tuyến (form 02)",
        responses=errors(409),
    )
    async def ask_completion(code: str, body: IncompleteOnlineRequest) -> Response:
        caller = acting_caller()
        return await desk_check(code, caller, body, "incomplete", missing_items=list(body.missing_items))

    @router.post(
        "/online/filings/{code}/refusal",
        response_model=DossierView,
        summary="Từ chối hồ sơ trực tuyến (form 03)",
        responses=errors(409),
    )
    async def refuse(code: str, body: RefuseOnlineRequest) -> Response:
        caller = acting_caller()
        return await desk_check(code, caller, body, "refused", refusal_reasons=body.reasons)

    @router.post(
        "/online/filings/{code}/completion",
        response_model=DossierView,
        summary="Bổ sung hồ sơ trực tuyến (công dân nộp lại)",
        responses=errors(409),
    )
    async def complete_online(code: str, body: CompleteOnlineRequest) -> Response:
        caller = acting_caller()
        dossier = await _load_online(app, code, caller)
        if not owns(dossier.registered_by, caller.principal.user_id):
            raise dossier_not_found(code)
        check_documents(len(dossier.online["documents"]) + len(set(body.documents)))  # type: ignore[index]
        if dossier.outcome != "incomplete":
            raise _not_asked(dossier.outcome)
        holder = f"completion:{uuid4()}"
        try:
            held = await documents.claim(
                list(dict.fromkeys(body.documents)), owner=caller.principal.user_id, holder=holder
            )
        except DocumentsUnavailable as exc:
            raise _unavailable(exc.ids) from None
        key_ref = str((dossier.applicant or {}).get("key_ref", ""))
        if any(str(d.key_ref) != key_ref for d in held):
            await documents.release(holder)
            raise _other_applicant([str(d.id) for d in held if str(d.key_ref) != key_ref])
        try:
            completed = await asyncio.to_thread(
                app.complete_online,
                code,
                documents=[d.record() for d in held],
                occurred_at=datetime.now(UTC),
                actor=caller.actor(2),
            )
        except (NotAskedToComplete, IntegrityError) as exc:
            await documents.release(holder)
            raise _not_asked(exc.outcome if isinstance(exc, NotAskedToComplete) else "changed") from None
        except BaseException:
            await documents.release(holder)
            raise
        await documents.move(holder, code)
        await record(host.pool, completed)
        _wake(host)
        person = await applicant_for(
            host.pool,
            keyring,
            completed,
            reader=Actor(**caller.actor(2)),
            purpose="bổ sung hồ sơ trực tuyến / complete an online filing",
        )
        return _json(_view(completed, person), 200)

    @router.get("/track/{code}", summary="Tra cứu hồ sơ nộp trực tuyến (mã tra cứu)", responses=errors(429))
    async def track(
        request: Request,
        code: str,
        x_tracking_secret: str | None = Header(default=None, max_length=64),
        s: str | None = Query(default=None, max_length=64),
    ) -> dict[str, Any]:
        tracking_limit.check(request.client.host if request.client else "unknown")
        given = x_tracking_secret or s
        if not given:
            raise _tracking_not_found()
        try:
            dossier, events = await asyncio.to_thread(app.dossier_and_history, code)
        except DossierNotFound:
            raise _tracking_not_found() from None
        online = getattr(dossier, "online", None)
        if not online or not hmac.compare_digest(tracking_hash(given), online["tracking_hash"]):
            raise _tracking_not_found()
        return tracking_view(dossier, events)

    return router


def _unavailable(ids: list[str]) -> ApiError:
    return ApiError(
        422,
        "document_unavailable",
        "Tài liệu không tồn tại, không phải của bạn hoặc đã thuộc hồ sơ khác",
        "A document does not exist, is not yours, or already belongs to another filing",
        documents=ids,
    )


def _other_applicant(ids: list[str]) -> ApiError:
    return ApiError(
        422,
        "document_other_applicant",
        "Tài liệu được tải lên cho một người nộp hồ sơ khác",
        "A document was uploaded for another applicant",
        documents=ids,
    )


def _not_asked(state: str) -> ApiError:
    return ApiError(
        409,
        "invalid_transition",
        "Hồ sơ không ở trạng thái chờ công dân bổ sung",
        f"The filing is {state}, not waiting for you to complete it",
        state=state,
        allowed_actions=[],
    )


def document_erased() -> ApiError:
    return ApiError(
        410,
        "document_erased",
        "Tài liệu đã bị xóa cùng dữ liệu cá nhân của người nộp hồ sơ",
        "The document was erased with the applicant's personal data",
    )


def _tracking_not_found() -> ApiError:
    return ApiError(
        404,
        "tracking_not_found",
        "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này",
        "No dossier with this code and tracking secret",
    )


async def _load_online(app: IntakeApplication, code: str, caller: Caller) -> Dossier:
    """The online filing ``code`` if the caller may see it: a citizen only their own, the desk
    only what was filed to it, departments their own; 404 otherwise, as for no filing at all."""
    try:
        dossier = await asyncio.to_thread(app.dossier, code)
    except DossierNotFound:
        raise dossier_not_found(code) from None
    if getattr(dossier, "online", None) is None:
        raise dossier_not_found(code)
    if Role.CITIZEN in caller.roles and owns(dossier.registered_by, caller.principal.user_id):
        return dossier
    if caller.roles - {Role.CITIZEN}:
        authorize_dossier(
            caller,
            dossier.code,
            departments=(dossier.filing["department_code"],),
            desk=dossier.filing["receiving_point"],
        )
        return dossier
    raise dossier_not_found(code)


def _row(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "code": row["code"],
        "receiving_point": row["receiving_point"],
        "procedure_code": row["procedure_code"],
        "outcome": row["outcome"],
        "registered_at": local_iso(DEFAULT_CALENDAR, row["registered_at"]),
        "checked_at": local_iso(DEFAULT_CALENDAR, row["checked_at"]) if row["checked_at"] else None,
    }


def tracking_view(dossier: Dossier, events: list[Any]) -> dict[str, Any]:
    """The citizen's view of a filing at the desk, shaped as processing's tracking answer."""
    vi, en = STATUS_TEXT.get(dossier.outcome, (dossier.outcome, dossier.outcome))
    terms = dossier.terms or {}
    history: list[dict[str, Any]] = []
    for e in sorted(events, key=lambda e: (e.occurred_at, e.originator_version)):
        kind = type(e).__qualname__.split(".")[-1]
        if kind == "Registered":
            step, details = "registered", {}
        elif kind == "Checked":
            step = e.outcome
            details = {"missing_items": e.missing_items} if e.missing_items else {}
            if e.refusal_reasons:
                details["reason"] = e.refusal_reasons
        elif kind == "Completed":
            step, details = "completed", {}
        elif kind == "CompletedOnline":
            step, details = "completed_online", {}
        else:
            continue
        history.append(
            {
                "what": STEP_TEXT[step],
                "occurred_at": local_iso(DEFAULT_CALENDAR, e.occurred_at),
                "details": details,
            }
        )
    return {
        "dossier_code": dossier.code,
        "procedure_code": dossier.filing["procedure_code"],
        "state": dossier.outcome,
        "national_status": dossier.national_status(),
        "status": {"vi": vi, "en": en},
        "received_at": local_iso(DEFAULT_CALENDAR, dossier.received_at) if dossier.received_at else None,
        "appointment": local_iso(DEFAULT_CALENDAR, terms["due_at"]) if terms.get("due_at") else None,
        "paused": False,
        "explanation": [],
        "missing_items": dossier.missing_items,
        "refusal_reasons": dossier.refusal_reasons,
        "history": history,
    }
