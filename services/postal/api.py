"""Postal's HTTP API: shipments by id and by dossier."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from services.postal.application import PostalApplication, ShipmentNotFound
from services.postal.domain import Shipment
from shared.host.errors import not_found


def shipment_view(s: Shipment) -> dict[str, Any]:
    return {
        "shipment_id": str(s.id),
        "dossier_code": s.dossier_code,
        "dossier_id": str(s.dossier_id),
        "kind": s.kind,
        "operator": s.operator,
        "status": s.status,
        "history": s.history,
    }


def build_router(app: PostalApplication) -> APIRouter:
    router = APIRouter(tags=["shipments"])

    @router.get("/shipments/{shipment_id}", summary="Một bưu gửi")
    async def get_shipment(shipment_id: UUID) -> dict[str, Any]:
        try:
            return shipment_view(await asyncio.to_thread(app.shipment, shipment_id))
        except ShipmentNotFound:
            raise not_found("bưu gửi", "Shipment", str(shipment_id)) from None

    @router.get("/dossiers/{code}/shipments", summary="Bưu gửi của một hồ sơ")
    async def dossier_shipments(code: str) -> list[dict[str, Any]]:
        return [shipment_view(s) for s in await asyncio.to_thread(app.shipments_of, code)]

    return router
