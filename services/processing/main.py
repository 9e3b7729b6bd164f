"""The processing process: HTTP API, consumers (intake, postal, own queues), sweeper, relay."""

from __future__ import annotations

from fastapi import FastAPI

from services.processing.api import build_router
from services.processing.application import ProcessingApplication
from services.processing.handlers import on_intake_event, on_postal_event, open_received_cases
from services.processing.results import RESULT_PATH, build_results_router
from services.processing.sweepers import run_overdue_sweeper
from services.processing.translate import translator
from services.processing.work_queues import DDL, project_case_event, queue_openings
from shared.documents import PgDocumentStore, max_document_bytes
from shared.documents.signing import signer_from_env
from shared.eventlog import (
    PROCESSING_FROM_INTAKE,
    PROCESSING_FROM_POSTAL,
    PROCESSING_QUEUES,
    TrackedConsumer,
    eventstore_env,
)
from shared.eventlog.consumer import all_in_one_savepoint
from shared.eventlog.store import schema_ready
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.routes import include_flat
from shared.host.settings import Settings


def create_app(settings: Settings | None = None, *, sweep_every_s: float = 30.0) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("processing", settings=settings)
    with schema_ready(settings.database_url, "processing"):  # replicas may start together
        application = ProcessingApplication(env=eventstore_env(settings.database_url, "processing"))
    host.publish_from(application, translator(application))
    for spec, handler, apply in (
        (PROCESSING_FROM_INTAKE, on_intake_event(application), open_received_cases(application)),
        (PROCESSING_FROM_POSTAL, on_postal_event(application), None),
        (PROCESSING_QUEUES, project_case_event, all_in_one_savepoint(project_case_event, queue_openings)),
    ):
        host.consume(
            TrackedConsumer(
                spec=spec, schema="processing", pool=lambda: host.pool, handler=handler, apply=apply
            )
        )

    # Result documents issued electronically, beside processing's events.
    documents = PgDocumentStore(lambda: host.pool, "processing")

    async def create_tables() -> None:
        await host.pool.execute(DDL)
        await documents.create_tables()

    host.setup.append(create_tables)
    # One replica sweeps at a time; the cases refuse a step twice, but two sweepers would race.
    host.exclusive(
        "overdue-sweeper", lambda stop: run_overdue_sweeper(host.pool, application, stop, sweep_every_s)
    )
    app = service_app(
        host,
        title="motcua processing",
        description="Giải quyết hồ sơ",
        uploads={RESULT_PATH: max_document_bytes() + 1},
    )
    include_flat(app, build_router(host, application))
    include_flat(app, build_results_router(host, application, documents, signer_from_env()))
    app.state.host = host
    app.state.application = application
    return app
