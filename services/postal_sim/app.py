"""The simulator's HTTP API: ``POST /bookings`` (idempotent by key), ``GET /bookings``."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from services.postal_sim.config import SimConfig
from services.postal_sim.journey import plan, tracking_number
from services.postal_sim.sender import Sent, WebhookSender

BASE_FEE_VND = {"delivery": 28_000, "pickup": 35_000}


@dataclass
class Booked:
    key: str
    tracking_number: str
    fee_vnd: int
    kind: str
    booked_at: str
    calls: int = 1
    sent: list[Sent] = field(default_factory=list)


def create_app(config: SimConfig | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    config = config or SimConfig.from_env()
    rng = random.Random(config.seed)  # noqa: S311 - a simulation, not security
    bookings: dict[str, Booked] = {}
    journeys: set[asyncio.Task[None]] = set()
    sender = WebhookSender(config, transport)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in journeys:
            task.cancel()
        await asyncio.gather(*journeys, return_exceptions=True)
        await sender.aclose()

    app = FastAPI(title="postal operator simulator", lifespan=lifespan)

    @app.post("/bookings", status_code=201)
    async def book(body: dict[str, Any], idempotency_key: str | None = Header(default=None)) -> Any:
        if not idempotency_key:
            return JSONResponse({"error": "Idempotency-Key header required"}, status_code=400)
        booked = bookings.get(idempotency_key)
        if booked is not None:
            booked.calls += 1
            status = 200
        else:
            kind = str(body.get("kind", "delivery"))
            booked = Booked(
                key=idempotency_key,
                tracking_number=tracking_number(rng),
                fee_vnd=BASE_FEE_VND.get(kind, 30_000),
                kind=kind,
                booked_at=datetime.now(UTC).isoformat(),
            )
            bookings[idempotency_key] = booked
            status = 201
        if booked.calls <= config.slow_responses:
            await asyncio.sleep(config.slow_response_s)  # booked already; only the answer is late
        if status == 201:  # the parcel starts moving once the booking has been answered
            recipient = body.get("recipient") or {}
            steps = plan(rng, config, booked.tracking_number, recipient.get("full_name"))
            task = asyncio.create_task(sender.journey(booked.tracking_number, steps, booked.sent))
            journeys.add(task)
            task.add_done_callback(journeys.discard)
        answer = {"tracking_number": booked.tracking_number, "fee_vnd": booked.fee_vnd}
        return JSONResponse(answer, status_code=status)

    @app.get("/bookings")
    async def list_bookings() -> list[dict[str, Any]]:
        return [asdict(b) for b in bookings.values()]

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"service": "postal_sim", "ok": True, "bookings": len(bookings), "journeys": len(journeys)}

    return app
