"""The notify process: consumers of intake's, processing's and postal's events, the outbox sender."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.notify.channels import Channel
from services.notify.config import channels_from_env
from services.notify.handlers import on_case_event, on_intake_event
from services.notify.sender import OutboxSender
from services.notify.tables import ensure_notify_tables
from shared.eventlog import (
    NOTIFY_FROM_INTAKE,
    NOTIFY_FROM_POSTAL,
    NOTIFY_FROM_PROCESSING,
    TrackedConsumer,
)
from shared.host.app_factory import service_app
from shared.host.host import ServiceHost
from shared.host.settings import Settings
from shared.pii import KeyRing, master_key_from_env


def create_app(settings: Settings | None = None, channels: dict[str, Channel] | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    host = ServiceHost("notify", settings=settings)
    # Notify opens contacts to send: without its master key it refuses to start.
    keyring = KeyRing(master_key_from_env())

    def pool() -> asyncpg.Pool:
        return host.pool

    sender = OutboxSender(pool, keyring, channels or channels_from_env())

    async def create_tables() -> None:
        async with host.pool.acquire() as conn:
            await ensure_notify_tables(conn)
            await keyring.start(conn)

    host.setup.append(create_tables)
    host.background.append(sender.run)
    host.consume(
        TrackedConsumer(spec=NOTIFY_FROM_INTAKE, schema="notify", pool=pool, handler=on_intake_event())
    )
    for spec in (NOTIFY_FROM_PROCESSING, NOTIFY_FROM_POSTAL):
        host.consume(TrackedConsumer(spec=spec, schema="notify", pool=pool, handler=on_case_event()))
    app = service_app(host, title="motcua notify", description="Thông báo cho người dân")

    @app.get("/outbox", tags=["ops"], summary="Thông báo theo trạng thái và kênh (không có dữ liệu cá nhân)")
    async def outbox() -> list[dict[str, Any]]:
        rows = await host.pool.fetch(
            "SELECT kind, channel, status, count(*)::int AS messages FROM notify.outbox"
            " GROUP BY kind, channel, status ORDER BY kind, channel, status"
        )
        return [dict(r) for r in rows]

    app.state.host = host
    app.state.sender = sender
    return app
