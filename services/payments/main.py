"""The payments process: HTTP API and the platform's callbacks, the consumer of intake's
events (each received dossier's fee) and the relay of payments' own events."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from services.payments.api import build_router
from services.payments.application import PaymentsApplication
from services.payments.callbacks import build_callback_router
from services.payments.config import PaymentsConfig
from services.payments.handlers import on_intake_event
from services.payments.provider_client import HttpPaymentProvider
from services.payments.tables import ensure_payments_tables
from services.payments.translate import translator
from shared.eventlog import PAYMENTS_FROM_INTAKE, TrackedConsumer, ensure_schema, eventstore_env
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.routes import include_flat
from shared.host.settings import Settings


def create_app(settings: Settings | None = None, config: PaymentsConfig | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    config = config or PaymentsConfig.from_env()
    host = ServiceHost("payments", settings=settings)
    ensure_schema(settings.database_url, "payments")
    application = PaymentsApplication(env=eventstore_env(settings.database_url, "payments"))
    host.publish_from(application, translator(application))

    def pool() -> asyncpg.Pool:
        return host.pool

    providers = {
        code: HttpPaymentProvider(url, timeout_s=config.checkout_timeout_s)
        for code, url in config.providers.items()
    }

    async def create_tables() -> None:
        async with host.pool.acquire() as conn:
            await ensure_payments_tables(conn)

    host.setup.append(create_tables)
    host.consume(
        TrackedConsumer(
            spec=PAYMENTS_FROM_INTAKE, schema="payments", pool=pool, handler=on_intake_event(application)
        )
    )
    app = service_app(
        host,
        title="motcua payments",
        description="Thanh toán phí, lệ phí và nghĩa vụ tài chính",
        signed_paths=("/webhooks/payments/",),  # the platform signs the bytes it sent
    )
    include_flat(app, build_router(application, config, pool, providers))
    include_flat(app, build_callback_router(application, config, pool))
    app.state.host = host
    app.state.application = application
    return app
