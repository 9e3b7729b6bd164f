"""The FastAPI app every service starts from: error handlers, the input guard, ``GET /health`` and
``GET /asyncapi.json`` (the events every service publishes, beside the OpenAPI at ``/docs``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shared.auth.guard import install_guard
from shared.auth.settings import verifier_from_env
from shared.eventlog.asyncapi import asyncapi_document
from shared.host.errors import install_error_handlers
from shared.host.host import ServiceHost
from shared.host.input_guard import InputGuard
from shared.host.openapi_errors import document_errors


def service_app(
    host: ServiceHost, *, title: str, description: str, signed_paths: tuple[str, ...] = ()
) -> FastAPI:
    # Every route passes the policy guard; a service refuses to start without its token issuer.
    app = FastAPI(
        title=title,
        description=f"{description}\n\nEvents (AsyncAPI 3.0): [/asyncapi.json](/asyncapi.json)",
        lifespan=host.lifespan,
    )
    app.state.verifier = verifier_from_env()
    install_error_handlers(app)
    app.add_middleware(InputGuard, signed_paths=signed_paths)
    install_guard(app, host.name)  # outermost: who calls is checked before anything is read
    document_errors(app, host.name)

    @app.get(
        "/health",
        tags=["ops"],
        summary="PostgreSQL and NATS reachable",
        responses={
            503: {
                "description": "PostgreSQL or NATS is down (the same checks, ok: false)",
                "content": {"application/json": {"schema": {"type": "object", "required": ["ok"]}}},
            }
        },
    )
    async def health() -> Any:
        ok, checks = await host.health()
        return JSONResponse({"service": host.name, "ok": ok, **checks}, status_code=200 if ok else 503)

    @app.get("/asyncapi.json", tags=["docs"], summary="AsyncAPI: every subject and event version")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document()

    return app
