"""Electronic results (kết quả điện tử): the officer uploads the decision's result document, it is
stored through the ``DocumentStore`` (its SHA-256 in the event), signed with a detached
signature when a signing key is configured, and the citizen downloads it with the tracking link.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from services.processing.application import CaseNotFound, ProcessingApplication
from services.processing.case_commands import IssueResult
from services.processing.domain import Case
from services.processing.tracking import secret_matches, tracking_not_found
from services.processing.values import Action, ElectronicResult, StepMeta
from services.processing.views import case_view
from shared.auth.guard import Caller, acting_caller, authorize_dossier
from shared.documents import PgDocumentStore, checked_upload
from shared.documents.signing import ResultSigner, sign
from shared.host.errors import ApiError
from shared.host.host import ServiceHost
from shared.host.openapi_errors import errors
from shared.host.rate_limit import RateLimiter

RESULT_PATH = "/dossiers/{code}/result-document"


def build_results_router(
    host: ServiceHost,
    app: ProcessingApplication,
    documents: PgDocumentStore,
    signer: ResultSigner | None,
) -> APIRouter:
    router = APIRouter(tags=["electronic results"])
    download_limit = RateLimiter(per_minute=30, burst=10)

    def _authorized(caller: Caller, case: Case) -> None:
        authorize_dossier(
            caller,
            case.dossier_code,
            departments=(case.department_code, case.competent_department),
            desk=case.receiving_point,
        )

    @router.post(
        RESULT_PATH,
        status_code=201,
        summary="Phát hành kết quả điện tử (PDF/PNG/JPEG): stored, signed, downloadable by the citizen",
        responses=errors(404, 409, 415),
    )
    async def issue(
        code: str,
        request: Request,
        name: str = Query(default="Kết quả giải quyết", min_length=1, max_length=200),
        content_type: str | None = Header(default=None, max_length=200),
    ) -> dict[str, Any]:
        caller = acting_caller()
        now = datetime.now(UTC)
        try:
            case = await asyncio.to_thread(app.case, code)
        except CaseNotFound:
            raise _no_case(code) from None
        _authorized(caller, case)  # who may, before what: a stranger learns nothing of the case
        refused = case.refusal(Action.ISSUE_RESULT, now)
        if refused is not None:  # before anything is stored
            raise refused
        content = await request.body()
        media_type = checked_upload(content, content_type)  # a refusal answers for itself
        stored = await documents.put(
            content, media_type=media_type, name=name, owner=caller.principal.user_id
        )
        await documents.claim([stored.id], owner=caller.principal.user_id, holder=code)
        signature = None if signer is None else sign(signer, content).record()
        command = IssueResult(
            dossier_code=code,
            meta=StepMeta(occurred_at=now, actor=caller.actor()),
            document=stored.record(),
            signature=signature,
        )
        issued = await asyncio.to_thread(app.execute, command, lambda c: _authorized(caller, c))
        if host.relay is not None:
            host.relay.wake()
        return case_view(issued)

    @router.get(
        "/track/{code}/result",
        tags=["citizens"],
        summary="Tải kết quả điện tử (mã tra cứu): the document as issued",
        responses=errors(409, 429),
    )
    async def download(
        code: str,
        request: Request,
        x_tracking_secret: str | None = Header(default=None, max_length=64),
        secret: str | None = Query(default=None, max_length=64, description="the QR code's form"),
    ) -> Response:
        download_limit.check(request.client.host if request.client else "unknown")
        given = x_tracking_secret or secret
        if not given:
            raise tracking_not_found()
        try:
            case = await asyncio.to_thread(app.case, code)
        except CaseNotFound:
            raise tracking_not_found() from None
        if not secret_matches(case, given):
            raise tracking_not_found()
        issued: ElectronicResult | None = getattr(case, "electronic_result", None)
        if issued is None:
            raise ApiError(
                404,
                "no_electronic_result",
                "Hồ sơ chưa có kết quả điện tử",
                "No electronic result has been issued for this dossier",
            )
        record = issued.document
        content = await documents.content(UUID(record["document_id"]))
        if content is None or not hmac.compare_digest(hashlib.sha256(content).hexdigest(), record["sha256"]):
            raise ApiError(
                409,
                "document_integrity",
                "Tài liệu lưu trữ không khớp mã băm đã ghi nhận",
                "The stored document does not match the hash the result recorded",
            )
        extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[record["media_type"]]
        return Response(
            content,
            media_type=record["media_type"],
            headers={
                "Content-Disposition": f'attachment; filename="ket-qua-{code}.{extension}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
                "X-Content-SHA256": record["sha256"],
            },
        )

    return router


def _no_case(code: str) -> ApiError:
    return ApiError(404, "not_found", f"Không tìm thấy hồ sơ {code}", f"No case for dossier {code}")
