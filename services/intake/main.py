"""The intake process: HTTP API, relay of intake's events, consumer of postal pickups."""

from __future__ import annotations

import asyncio
import os
from datetime import date

from fastapi import FastAPI

from services.intake.api import SCAN_PATH, build_router
from services.intake.application import IntakeApplication
from services.intake.catalogue.importer import demo_entries, import_catalogue
from services.intake.catalogue.in_force import CatalogueBook
from services.intake.codes import DDL
from services.intake.group_commit import DEFAULT_LEASE_S, GroupCommitter
from services.intake.online_api import UPLOAD_PATH, build_online_router
from services.intake.online_index import OnlineFilingIndex
from services.intake.online_index import create_tables as create_online_tables
from services.intake.pickups import DDL as PICKUPS_DDL
from services.intake.pickups import record_pickup
from services.intake.translate import translator
from shared.documents import PgDocumentStore, max_document_bytes
from shared.eventlog import INTAKE_FROM_POSTAL, TrackedConsumer, eventstore_env
from shared.eventlog.store import schema_ready
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.routes import include_flat
from shared.host.settings import Settings
from shared.pii import KeyRing, master_key_from_env

# The demo catalogue's first version applies from this date (before any demo dossier).
CATALOGUE_EPOCH = date(2025, 1, 1)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("intake", settings=settings)
    # Without its master key (outside development) intake refuses to start: it seals personal data.
    keyring = KeyRing(master_key_from_env())
    # The library creates its tables on construction, inside a schema that must exist.
    with schema_ready(settings.database_url, "intake"):  # replicas may start together
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
        await create_online_tables(host.pool)
        await documents.create_tables()
        async with host.pool.acquire() as conn:
            await keyring.start(conn)
        # filings whose row a crash left unwritten are back in their lists before anyone asks
        await online_index.catch_up()

    online_index = OnlineFilingIndex(application, lambda: host.pool)

    # Documents filed online (and later the results issued) live beside intake's events.
    documents = PgDocumentStore(lambda: host.pool, "intake", keyring)
    host.setup.append(create_tables)
    host.background.append(online_index.run)

    async def first_import() -> None:
        # The demo catalogue is the catalogue's first import; later starts find no difference.
        await asyncio.to_thread(
            import_catalogue,
            application,
            settings.database_url,
            demo_entries(),
            effective_from=CATALOGUE_EPOCH,
        )

    # what intake judges dossiers by: the recorded catalogue, not the packaged file
    book = CatalogueBook(application, lambda: host.pool)
    host.setup.append(first_import)

    async def load_catalogue_book() -> None:
        await book.refresh(force=True)

    host.setup.append(load_catalogue_book)
    app = service_app(
        host,
        title="motcua intake",
        description="Tiếp nhận hồ sơ — the one-stop front desk",
        # the request itself bounds the upload a little above the document's own limit
        uploads={UPLOAD_PATH: max_document_bytes() + 1, SCAN_PATH: max_document_bytes() + 1},
    )
    # The lease of an idempotency key's claim: how long a crashed save blocks its retries.
    lease_s = float(os.environ.get("INTAKE_KEY_LEASE_S", DEFAULT_LEASE_S))
    committer = GroupCommitter(application, lambda: host.pool, keyring, lease_s=lease_s)

    committer.relay = lambda: host.relay  # made at start: receipts are published as they commit
    include_flat(app, build_router(host, application, committer, book, documents))
    include_flat(app, build_online_router(host, application, keyring, committer, book, documents))
    app.state.host = host
    app.state.application = application
    app.state.keyring = keyring
    app.state.committer = committer
    app.state.online_index = online_index
    app.state.catalogue = book
    return app
