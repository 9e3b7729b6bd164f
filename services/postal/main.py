"""The postal process: HTTP API, the consumer of processing's events, the relay."""

from __future__ import annotations

from fastapi import FastAPI

from services.postal.api import build_router
from services.postal.application import PostalApplication
from services.postal.handlers import on_processing_event
from services.postal.translate import to_contract
from shared.eventlog import POSTAL_FROM_PROCESSING, TrackedConsumer, ensure_schema, eventstore_env
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("postal", settings=settings)
    ensure_schema(settings.database_url, "postal")
    application = PostalApplication(env=eventstore_env(settings.database_url, "postal"))
    host.publish_from(application, to_contract)
    host.consume(
        TrackedConsumer(
            spec=POSTAL_FROM_PROCESSING,
            schema="postal",
            pool=lambda: host.pool,
            handler=on_processing_event(application),
        )
    )
    app = service_app(host, title="motcua postal", description="Bưu chính công ích")
    app.include_router(build_router(application))
    app.state.host = host
    app.state.application = application
    return app
