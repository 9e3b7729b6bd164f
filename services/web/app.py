"""The web application: pages, static files, and errors that always explain themselves.

No user input ends in a 500: the web's own refusals and the services' 4xx answers are shown
with their code and a Vietnamese and an English message, with the same status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web import (
    pages_auth,
    pages_citizen,
    pages_desk,
    pages_forms,
    pages_leader,
    pages_officer,
    pages_online,
    pages_ops,
)
from services.web.backend import Backend, BackendError
from services.web.catalogue import Procedures
from services.web.config import WebConfig
from services.web.context import NotSignedIn, Web, WebError, new_templates, see_other, web_of
from services.web.i18n import LanguageMiddleware
from services.web.sessions import COOKIE, SessionStore
from shared.auth.verifier import TokenVerifier
from shared.host.routes import include_flat
from shared.signals.http import HttpSignals
from shared.signals.logs import configure_logging
from shared.signals.metrics import metrics_response
from shared.signals.tracing import setup_tracing

STATIC = Path(__file__).with_name("static")


def create_web_app(
    config: WebConfig,
    verifier: TokenVerifier,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports`` lets a test hand the web the services' ASGI apps instead of their URLs."""
    backend = Backend(config, transports)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await backend.aclose()

    configure_logging("web")
    setup_tracing("web")
    app = FastAPI(title="motcua web", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.web = Web(config, backend, SessionStore(), verifier, new_templates())
    app.state.procedures = Procedures(backend)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    staff = (pages_auth, pages_desk, pages_officer, pages_leader, pages_forms, pages_ops)
    for module in (*staff, pages_citizen, pages_online):
        include_flat(app, module.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        # Like the services' (no token, no personal data): pages by route template and status.
        return metrics_response()

    @app.middleware("http")
    async def fresh_tokens(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # before any page calls a service with the session's token
        await pages_auth.keep_fresh(web_of(request), request.cookies.get(COOKIE))
        return await call_next(request)

    # Before any handler: the request's language (query, cookie, or Vietnamese).
    app.add_middleware(LanguageMiddleware, secure_cookies=config.secure_cookies)
    # Outermost: every page, static file and refusal is counted by its route template.
    app.add_middleware(HttpSignals, service="web")

    _install_error_pages(app)
    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if request.headers.get("hx-request") == "true":
            # htmx would swap the log-in page into a fragment: have it load the page instead
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        if request.method == "GET":
            return see_other("/login")
        return _error(request, WebError(401, "not_signed_in"))

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        return _error(request, exc)

    @app.exception_handler(BackendError)
    async def _backend_error(request: Request, exc: BackendError) -> Response:
        if exc.status == 401:
            # the services no longer accept the token (expired, revoked): sign in again
            web_of(request).sessions.drop(request.cookies.get(COOKIE))
            response = (
                Response(status_code=401, headers={"HX-Redirect": "/login"})
                if request.headers.get("hx-request") == "true"
                else see_other("/login")
            )
            response.delete_cookie(COOKIE, path="/")
            return response
        return _error(request, WebError(exc.status, exc.code, exc.vi, exc.en))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _: RequestValidationError) -> Response:
        return _error(request, WebError(422, "invalid_input"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else "invalid_input"
        return _error(request, WebError(exc.status_code, code))


def _error(request: Request, exc: WebError) -> Response:
    body = {"error": {"code": exc.code, "message": {"vi": exc.vi, "en": exc.en}}}
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(body, status_code=exc.status)
    web = web_of(request)
    session = web.sessions.get(request.cookies.get(COOKIE))
    page: HTMLResponse = web.render(request, "error.html", exc.status, session=session, error=exc)
    return page
