"""The scoring process: HTTP API (figures, index, ranking, ops) and the consumer of every event."""

from __future__ import annotations

from fastapi import FastAPI

from services.scoring.api import build_router
from services.scoring.consumer import scoring_consumer
from services.scoring.ops_api import build_ops_router
from services.scoring.store.schema import DDL
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.routes import include_flat
from shared.host.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("scoring", settings=settings)
    host.consume(scoring_consumer(lambda: host.pool))

    async def create_tables() -> None:
        async with host.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl:scoring-projection'))")
            await conn.execute(DDL)

    host.setup.append(create_tables)
    app = service_app(host, title="motcua scoring", description="Chấm điểm, chỉ số cải cách hành chính")
    include_flat(app, build_router(host))
    include_flat(app, build_ops_router(host))
    app.state.host = host
    return app
