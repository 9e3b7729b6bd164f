"""The postal process: HTTP API and webhooks, the consumers of intake's and processing's
events, the booking loop, the shipments view and the relay."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from services.postal.api import build_router
from services.postal.application import PostalApplication
from services.postal.booking import BookingLoop
from services.postal.config import PostalConfig
from services.postal.handlers import on_intake_event, on_processing_event
from services.postal.inbox import WebhookInbox
from services.postal.operator_client import HttpOperatorClient, OperatorClient
from services.postal.shipments_view import ShipmentsView
from services.postal.tables import ensure_postal_tables
from services.postal.translate import translator
from services.postal.webhook_api import build_webhook_router
from shared.eventlog import (
    POSTAL_FROM_INTAKE,
    POSTAL_FROM_PROCESSING,
    TrackedConsumer,
    eventstore_env,
)
from shared.eventlog.consumer import all_in_one_savepoint
from shared.eventlog.store import schema_ready
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.routes import include_flat
from shared.host.settings import Settings
from shared.pii import KeyRing, master_key_from_env


def create_app(settings: Settings | None = None, config: PostalConfig | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    config = config or PostalConfig.from_env()
    host = ServiceHost("postal", settings=settings)
    # Postal opens addresses to book deliveries: without its master key it refuses to start.
    keyring = KeyRing(master_key_from_env())
    with schema_ready(settings.database_url, "postal"):  # replicas may start together
        application = PostalApplication(env=eventstore_env(settings.database_url, "postal"))
    host.publish_from(application, translator(application))

    def pool() -> asyncpg.Pool:
        return host.pool

    shipments = ShipmentsView(application, pool)
    clients: dict[str, OperatorClient] = {
        code: HttpOperatorClient(
            url,
            timeout_s=config.booking_timeout_s,
            attempts=config.booking_attempts,
            backoff_s=config.backoff_s,
        )
        for code, url in config.operators.items()
    }
    booking = BookingLoop(application, shipments, clients, pool, keyring)

    async def create_tables() -> None:
        async with host.pool.acquire() as conn:
            await ensure_postal_tables(conn)
            await keyring.start(conn)

    host.setup.append(create_tables)
    # Every replica keeps the shipments view (its batches are serialised by a row lock on its position);
    # one books at a time, so that no parcel is booked twice with its operator.
    host.background.append(shipments.run)
    host.exclusive("booking", booking.run)
    host.consume(
        TrackedConsumer(
            spec=POSTAL_FROM_PROCESSING,
            schema="postal",
            pool=pool,
            handler=on_processing_event(
                application, operator=config.default_operator, centre=config.centre, wake=booking.wake
            ),
        )
    )
    # consumers[0] stays the processing one: ops and tests read its stats by position.
    recipients = on_intake_event()
    host.consume(
        TrackedConsumer(
            spec=POSTAL_FROM_INTAKE,
            schema="postal",
            pool=pool,
            handler=recipients,
            apply=all_in_one_savepoint(recipients),
        )
    )
    app = service_app(
        host,
        title="motcua postal",
        description="Bưu chính công ích",
        signed_paths=("/webhooks/postal/",),  # the operator signs the bytes it sent
    )
    include_flat(app, build_router(application, config, pool, booking.wake, keyring))
    include_flat(app, build_webhook_router(WebhookInbox(application, shipments, pool), config))
    app.state.host = host
    app.state.application = application
    app.state.booking = booking
    app.state.shipments_view = shipments
    return app
