"""The intake process: HTTP API, relay of intake's events, consumer of postal pickups."""

from __future__ import annotations

import os

from fastapi import FastAPI

from services.intake.api import build_router
from services.intake.application import IntakeApplication
from services.intake.codes import DDL
from services.intake.group_commit import DEFAULT_LEASE_S, GroupCommitter
from services.intake.pickups import DDL as PICKUPS_DDL
from services.intake.pickups import record_pickup
from services.intake.translate import translator
from shared.eventlog import INTAKE_FROM_POSTAL, TrackedConsumer, ensure_schema, eventstore_env
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.settings import Settings
from shared.pii import KeyRing, master_key_from_env


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("intake", settings=settings)
    # Without its master key (outside development) intake refuses to start: it seals personal data.
    keyring = KeyRing(master_key_from_env())
    # The library creates its tables on construction, inside a schema that must exist.
    ensure_schema(settings.database_url, "intake")
    application = IntakeApplication(env=eventstore_env(settings.database_url, "intake"))
    host.publish_from(application, translator(application))

    host.consume(
        TrackedConsumer(
            spec=INTAKE_FROM_POSTAL, schema="intake", pool=lambda: host.pool, handler=record_pickup
        )
    )

    async def create_tables() -> None:
        await host.pool.execute(DDL)
        await host.pool.execute(PICKUPS_DDL)
        async with host.pool.acquire() as conn:
            await keyring.start(conn)

    host.setup.append(create_tables)
    app = service_app(host, title="motcua intake", description="Tiếp nhận hồ sơ — the one-stop front desk")
    # The lease of an idempotency key's claim: how long a crashed save blocks its retries.
    lease_s = float(os.environ.get("INTAKE_KEY_LEASE_S", DEFAULT_LEASE_S))
    committer = GroupCommitter(application, lambda: host.pool, keyring, lease_s=lease_s)
    app.include_router(build_router(host, application, committer))
    app.state.host = host
    app.state.application = application
    app.state.keyring = keyring
    app.state.committer = committer
    return app
