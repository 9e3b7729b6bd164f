"""Every rejection is explained: a machine-readable code and a message in Vietnamese and English."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.refusal import Refusal

log = logging.getLogger(__name__)


class ApiError(Refusal):
    """A refusal raised at the edge itself (the status first, as HTTP code reads)."""

    def __init__(self, status: int, code: str, vi: str, en: str, **details: Any) -> None:
        super().__init__(code, vi, en, status=status, **details)


def not_found(what_vi: str, what_en: str, key: str) -> ApiError:
    return ApiError(404, "not_found", f"Không tìm thấy {what_vi} {key}", f"{what_en} {key} not found")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> JSONResponse:
        # a domain's refusal and the edge's own ApiError alike
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
            for err in exc.errors()
        ]
        error = ApiError(
            422,
            "invalid_request",
            "Dữ liệu gửi lên không hợp lệ",
            "The request is not valid",
            problems=problems,
        )
        return JSONResponse(error.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, vi, en = HTTP_ERRORS.get(
            exc.status_code, (f"http_{exc.status_code}", "Yêu cầu không được chấp nhận", "")
        )
        error = ApiError(exc.status_code, code, vi, str(exc.detail) if exc.detail else en)
        return JSONResponse(error.body(), status_code=exc.status_code, headers=exc.headers)

    from shared.host.outages import HANDLED, dependency_unavailable, outage_of
    from shared.signals.http import note_outage

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        # One place for every service: a dependency's outage is a 503 with Retry-After; any
        # other error of the same families is re-raised and ends as the 500 below.
        dependency = outage_of(exc)
        if dependency is None:
            raise exc
        log.warning("503 %s unavailable: %r", dependency, exc)
        note_outage(request.scope, dependency)
        error = dependency_unavailable(dependency)
        return JSONResponse(error.body(), status_code=503, headers=error.headers)

    for family in HANDLED:
        app.add_exception_handler(family, _outage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        dependency = outage_of(exc)
        if dependency is not None:  # an outage wrapped in another error (still logged by the server)
            note_outage(request.scope, dependency)
            outage = dependency_unavailable(dependency)
            return JSONResponse(outage.body(), status_code=503, headers=outage.headers)
        # The last resort for a bug: still a 500 (and still raised on to the server, which logs
        # the traceback), but the caller reads it in both languages, not a bare text line.
        error = ApiError(
            500,
            "internal_error",
            "Lỗi hệ thống ngoài dự kiến; yêu cầu có thể chưa được thực hiện, vui lòng báo quản trị viên",
            "An unexpected server error; the request may not have completed, please report it",
        )
        return JSONResponse(error.body(), status_code=500)


# Errors the framework raises itself (routing, body parsing), explained like our own.
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Không đọc được yêu cầu", "The request cannot be read"),
    404: ("route_not_found", "Không có đường dẫn này", "No such path"),
    405: ("method_not_allowed", "Đường dẫn này không nhận phương thức HTTP đó", "Method not allowed"),
    413: ("body_too_large", "Nội dung yêu cầu quá lớn", "The request body is too large"),
    415: ("unsupported_media_type", "Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
}
