"""Postal's HTTP API: shipments, pickups requested by citizens, per-operator figures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from services.postal.application import PostalApplication, ShipmentNotFound
from services.postal.config import PostalConfig
from services.postal.domain import Shipment, shipment_id_for
from services.postal.figures import operator_figures
from services.postal.pickups import PickupRequest, pickup_reference, provisional_dossier_id, same_request
from shared.auth.guard import acting_caller
from shared.host.errors import ApiError, not_found
from shared.pii import KeyRing, is_sealed


def shipment_view(s: Shipment) -> dict[str, Any]:
    return {
        "shipment_id": str(s.id),
        "dossier_code": s.dossier_code,
        "dossier_id": str(s.dossier_id),
        "kind": s.kind,
        "operator": s.operator,
        "status": s.status,
        "tracking_number": s.tracking_number,
        "fee_vnd": s.fee_vnd,
        "procedure_code": s.procedure_code,
        "delivered_to": s.delivered_to,
        "failure_reason": s.failure_reason,
        "history": s.history,
    }


def build_router(
    app: PostalApplication,
    config: PostalConfig,
    pool: Callable[[], Any],
    wake: Callable[[], None],
    keyring: KeyRing,
) -> APIRouter:
    router = APIRouter(tags=["shipments"])

    @router.get("/shipments/{shipment_id}", summary="Một bưu gửi")
    async def get_shipment(shipment_id: UUID) -> dict[str, Any]:
        try:
            return shipment_view(await asyncio.to_thread(app.shipment, shipment_id))
        except ShipmentNotFound:
            raise not_found("bưu gửi", "Shipment", str(shipment_id)) from None

    @router.get("/dossiers/{code}/shipments", summary="Bưu gửi của một hồ sơ (or a pickup reference)")
    async def dossier_shipments(code: str) -> list[dict[str, Any]]:
        return [shipment_view(s) for s in await asyncio.to_thread(app.shipments_of, code)]

    @router.post(
        "/pickups",
        status_code=201,
        summary="Yêu cầu bưu chính đến nhận hồ sơ tại nhà",
        responses={200: {"description": "A retry with the same Idempotency-Key: the pickup it booked"}},
    )
    async def request_pickup(
        body: PickupRequest,
        idempotency_key: str | None = Header(default=None, max_length=200),
    ) -> Any:
        caller = acting_caller()
        operator = (body.operator or config.default_operator).upper()
        if operator not in config.operators:
            raise ApiError(
                422,
                "unknown_operator",
                f"Không có doanh nghiệp bưu chính {operator}",
                f"No operator {operator}",
                operators=sorted(config.operators),
            )
        reference = pickup_reference(idempotency_key)
        # The contact is sealed under a subject of its own (a pickup carries no CCCD).
        key = await keyring.key_of(pool(), "pickup", reference)
        sealed = keyring.sealed_json(key, body.applicant.model_dump())
        opened = await asyncio.to_thread(
            app.open_shipment,
            dossier_id=provisional_dossier_id(reference),
            dossier_code=reference,
            kind="pickup",
            occurred_at=datetime.now(UTC),
            actor=caller.actor(3),
            operator=operator,
            sender=sealed,
            recipient=config.centre,
            procedure_code=body.procedure_code,
        )
        shipment = await asyncio.to_thread(app.shipment, shipment_id_for(reference, "pickup"))
        stored = (
            await keyring.open(pool(), shipment.sender) if is_sealed(shipment.sender) else shipment.sender
        )
        if not opened and not same_request(shipment, body, stored):
            raise ApiError(
                422,
                "idempotency_key_reused",
                "Khóa Idempotency-Key đã dùng cho một yêu cầu khác",
                "The Idempotency-Key was used for a different request",
            )
        wake()
        view = {"reference": reference, **shipment_view(shipment)}
        return JSONResponse(view, status_code=201 if opened else 200)

    @router.get("/figures/operators", tags=["figures"], summary="Số liệu theo doanh nghiệp bưu chính")
    async def figures() -> dict[str, Any]:
        async with pool().acquire() as conn:
            return await operator_figures(conn)

    return router
