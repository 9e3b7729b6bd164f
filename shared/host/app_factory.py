"""The FastAPI app every service starts from: error handlers, the input guard and ``GET /health``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shared.auth.guard import install_guard
from shared.auth.settings import verifier_from_env
from shared.host.errors import install_error_handlers
from shared.host.host import ServiceHost
from shared.host.input_guard import InputGuard


def service_app(host: ServiceHost, *, title: str, description: str) -> FastAPI:
    # Every route passes the policy guard; a service refuses to start without its token issuer.
    app = FastAPI(title=title, description=description, lifespan=host.lifespan)
    app.state.verifier = verifier_from_env()
    install_error_handlers(app)
    app.add_middleware(InputGuard)
    install_guard(app, host.name)  # outermost: who calls is checked before anything is read

    @app.get("/health", tags=["ops"], summary="PostgreSQL and NATS reachable")
    async def health() -> Any:
        ok, checks = await host.health()
        return JSONResponse({"service": host.name, "ok": ok, **checks}, status_code=200 if ok else 503)

    return app
