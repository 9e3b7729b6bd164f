"""The processing process: HTTP API, the consumer of intake's events, the relay."""

from __future__ import annotations

from fastapi import FastAPI

from services.processing.api import build_router
from services.processing.application import ProcessingApplication
from services.processing.handlers import on_intake_event
from services.processing.translate import to_contract
from shared.eventlog import PROCESSING_FROM_INTAKE, TrackedConsumer, ensure_schema, eventstore_env
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("processing", settings=settings)
    ensure_schema(settings.database_url, "processing")
    application = ProcessingApplication(env=eventstore_env(settings.database_url, "processing"))
    host.publish_from(application, to_contract)
    host.consume(
        TrackedConsumer(
            spec=PROCESSING_FROM_INTAKE,
            schema="processing",
            pool=lambda: host.pool,
            handler=on_intake_event(application),
        )
    )
    app = service_app(host, title="motcua processing", description="Giải quyết hồ sơ")
    app.include_router(build_router(host, application))
    app.state.host = host
    app.state.application = application
    return app
