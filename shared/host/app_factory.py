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


def service_app(host: ServiceHost, *, title: str, description: str) -> FastAPI:
    # Every route passes the policy guard; a service refuses to start without its token issuer.
    app = FastAPI(
        title=title,
        description=f"{description}\n\nEvents (AsyncAPI 3.0): [/asyncapi.json](/asyncapi.json)",
        lifespan=host.lifespan,
    )
    app.state.verifier = verifier_from_env()
    install_error_handlers(app)
    app.add_middleware(InputGuard)
    install_guard(app, host.name)  # outermost: who calls is checked before anything is read

    @app.get("/health", tags=["ops"], summary="PostgreSQL and NATS: up, degraded or down")
    async def health() -> Any:
        # 503 only when a dependency is down: a degraded service still serves (slowly).
        status, checks = await host.health()
        body = {"service": host.name, "status": status, "ok": status != "down", **checks}
        headers = {"Retry-After": "2"} if status == "down" else None
        return JSONResponse(body, status_code=503 if status == "down" else 200, headers=headers)

    @app.get("/asyncapi.json", tags=["docs"], summary="AsyncAPI: every subject and event version")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document()

    return app
