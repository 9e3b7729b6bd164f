"""Every rejection is explained: a machine-readable code and a message in Vietnamese and English."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, vi: str, en: str, **details: Any) -> None:
        super().__init__(en)
        self.status = status
        self.code = code
        self.vi = vi
        self.en = en
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": {"vi": self.vi, "en": self.en}, **self.details}}


def not_found(what_vi: str, what_en: str, key: str) -> ApiError:
    return ApiError(404, "not_found", f"Không tìm thấy {what_vi} {key}", f"{what_en} {key} not found")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

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
        error = ApiError(
            exc.status_code,
            f"http_{exc.status_code}",
            "Yêu cầu không được chấp nhận",
            str(exc.detail),
        )
        return JSONResponse(error.body(), status_code=exc.status_code)
