"""The FastAPI app every service starts from: error handlers, the input guard, ``GET /health`` and
``GET /asyncapi.json`` (the events every service publishes, beside the OpenAPI at ``/docs``).

``/docs`` (Swagger UI) and ``/redoc`` load their scripts and styles from the service itself,
from the files the ``fastapi-offline`` package ships: FastAPI's defaults load them from a CDN,
and a centre's network may have no Internet, where the pages would stay blank.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request

from shared.auth.guard import install_guard
from shared.auth.settings import verifier_from_env
from shared.eventlog.asyncapi import asyncapi_document
from shared.host.errors import install_error_handlers
from shared.host.host import ServiceHost
from shared.host.input_guard import InputGuard
from shared.host.openapi_errors import document_errors
from shared.signals.http import HttpSignals
from shared.signals.logs import configure_logging
from shared.signals.metrics import HostMetrics
from shared.signals.tracing import setup_tracing


def service_app(
    host: ServiceHost,
    *,
    title: str,
    description: str,
    uploads: dict[str, int] | None = None,
    signed_paths: tuple[str, ...] = (),
) -> FastAPI:
    """``uploads``: the service's binary upload paths and their size limits (``InputGuard``);
    ``signed_paths``: paths whose body is signed, so checked but never rewritten to NFC."""
    # JSON logs and traces before anything logs (each only if not configured already).
    configure_logging(host.name)
    setup_tracing(host.name)
    # Every route passes the policy guard; a service refuses to start without its token issuer.
    app = FastAPI(
        title=title,
        description=f"{description}\n\nEvents (AsyncAPI 3.0): [/asyncapi.json](/asyncapi.json)",
        lifespan=host.lifespan,
        docs_url=None,
        redoc_url=None,
        # HttpSignals (below) traces and counts every request already; FastAPI's own telemetry
        # would trace each a second time and, even idle, look up the global providers per request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_offline_docs(app)
    app.state.verifier = verifier_from_env()
    install_error_handlers(app)
    app.add_middleware(InputGuard, uploads=uploads, signed_paths=signed_paths)
    install_guard(app, host.name)  # who calls is checked before anything is read
    # Outermost: what the guard refuses is counted and traced too.
    app.add_middleware(HttpSignals, service=host.name)
    document_errors(app, host.name)

    @app.get(
        "/health",
        tags=["ops"],
        summary="PostgreSQL and NATS: up, degraded or down",
        responses={
            503: {
                "description": 'PostgreSQL or NATS is down (the same checks, status "down", ok: false)',
                "content": {"application/json": {"schema": {"type": "object", "required": ["ok"]}}},
            }
        },
    )
    async def health() -> Any:
        # 503 only when a dependency is down: a degraded service still serves (slowly).
        status, checks = await host.health()
        body = {"service": host.name, "status": status, "ok": status != "down", **checks}
        headers = {"Retry-After": "2"} if status == "down" else None
        return JSONResponse(body, status_code=503 if status == "down" else 200, headers=headers)

    metrics = HostMetrics(host)

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics: HTTP by route, consumers' lag, the relay, outages",
        response_class=Response,
        responses={200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def prometheus_metrics() -> Response:
        # Public like /health: counts by route template and durable, nothing about a person.
        return await metrics.response()

    @app.get("/asyncapi.json", tags=["docs"], summary="AsyncAPI: every subject and event version")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document()

    return app


DOCS_ASSETS = "/docs-assets"


def install_offline_docs(app: FastAPI) -> None:
    """``/docs``, its OAuth2 redirect page and ``/redoc``, with every file served by ``app``.

    Plain routes, not API routes: like FastAPI's own documentation pages they are public and
    stay out of the OpenAPI document and the policy table."""
    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_route(redirect_url, oauth2_redirect, methods=["GET"], include_in_schema=False)
    app.add_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
