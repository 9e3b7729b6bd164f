"""The scoring process: HTTP API and the consumer that projects every event."""

from __future__ import annotations

from fastapi import FastAPI

from services.scoring.api import build_router
from services.scoring.projections import DDL, apply_event
from shared.eventlog import SCORING_ALL, TrackedConsumer
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("scoring", settings=settings)
    host.consume(
        TrackedConsumer(spec=SCORING_ALL, schema="scoring", pool=lambda: host.pool, handler=apply_event)
    )

    async def create_tables() -> None:
        await host.pool.execute(DDL)

    host.setup.append(create_tables)
    app = service_app(host, title="motcua scoring", description="Chấm điểm, chỉ số cải cách hành chính")
    app.include_router(build_router(host))
    app.state.host = host
    return app
