"""Intake's HTTP API: the procedure catalogue and receiving dossiers."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from fastapi import APIRouter, Header, Response

from services.intake.application import DossierNotFound, IntakeApplication
from services.intake.appointment import appointment
from services.intake.catalogue import UnknownProcedure, load_catalogue
from services.intake.codes import next_code
from services.intake.schemas import DossierView, ReceiveDossierRequest
from shared.host.business_time import business_time
from shared.host.errors import ApiError, not_found
from shared.host.host import ServiceHost


def build_router(host: ServiceHost, app: IntakeApplication) -> APIRouter:
    router = APIRouter()
    catalogue = load_catalogue()

    @router.get("/procedures", tags=["catalogue"], summary="Danh mục thủ tục hành chính")
    async def procedures() -> list[dict[str, Any]]:
        return [p.model_dump(mode="json") for p in catalogue.procedures]

    @router.get("/departments", tags=["catalogue"], summary="Sở, ban, ngành and desks")
    async def departments() -> dict[str, Any]:
        return {
            "departments": [d.model_dump(mode="json") for d in catalogue.departments],
            "receiving_points": [r.model_dump(mode="json") for r in catalogue.receiving_points],
        }

    @router.post("/dossiers", status_code=201, tags=["dossiers"], summary="Tiếp nhận hồ sơ")
    async def receive(
        body: ReceiveDossierRequest,
        response: Response,
        idempotency_key: str | None = Header(default=None, max_length=200),
    ) -> DossierView:
        request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        if idempotency_key:
            existing = await _claim_key(host, idempotency_key, request_hash)
            if existing is not None:
                response.status_code = 200
                return _view(await asyncio.to_thread(app.dossier, existing))
        try:
            view = await _receive(host, app, catalogue, body)
        except BaseException:
            if idempotency_key:
                await host.pool.execute("DELETE FROM intake.idempotency_keys WHERE key = $1", idempotency_key)
            raise
        if idempotency_key:
            await host.pool.execute(
                "UPDATE intake.idempotency_keys SET dossier_code = $2 WHERE key = $1",
                idempotency_key,
                view.code,
            )
        return view

    @router.get("/dossiers/{code}", tags=["dossiers"], summary="Hồ sơ, rebuilt from its events")
    async def get_dossier(code: str) -> DossierView:
        try:
            return _view(await asyncio.to_thread(app.dossier, code))
        except DossierNotFound:
            raise not_found("hồ sơ", "Dossier", code) from None

    return router


async def _claim_key(host: ServiceHost, key: str, request_hash: str) -> str | None:
    """Returns the dossier code an earlier request with this key created, or None if new."""
    claimed = await host.pool.fetchval(
        "INSERT INTO intake.idempotency_keys (key, request_hash) VALUES ($1, $2)"
        " ON CONFLICT (key) DO NOTHING RETURNING true",
        key,
        request_hash,
    )
    if claimed:
        return None
    row = await host.pool.fetchrow(
        "SELECT request_hash, dossier_code FROM intake.idempotency_keys WHERE key = $1", key
    )
    if row is None:  # the first request failed and released it between our two statements
        return await _claim_key(host, key, request_hash)
    if row["request_hash"] != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "Khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
            "This Idempotency-Key was already used for a different request",
        )
    if row["dossier_code"] is None:
        raise ApiError(
            409,
            "request_in_progress",
            "Yêu cầu với khóa này đang được xử lý, vui lòng thử lại",
            "A request with this key is still being processed; retry shortly",
        )
    return str(row["dossier_code"])


async def _receive(
    host: ServiceHost, app: IntakeApplication, catalogue: Any, body: ReceiveDossierRequest
) -> DossierView:
    try:
        procedure = catalogue.procedure(body.procedure_code)
    except UnknownProcedure:
        raise ApiError(
            422,
            "unknown_procedure",
            f"Thủ tục {body.procedure_code} không có trong danh mục",
            f"Procedure {body.procedure_code} is not in the catalogue",
        ) from None
    if int(body.channel) not in {int(c) for c in procedure.channels}:
        raise ApiError(
            422,
            "channel_not_allowed",
            f"Thủ tục {procedure.code} không tiếp nhận qua kênh {int(body.channel)}",
            f"Procedure {procedure.code} does not accept channel {body.channel.name}",
            allowed_channels=[int(c) for c in procedure.channels],
        )
    unit = _receiving_point(catalogue, body.receiving_point)
    desk = unit.code
    occurred_at = business_time(body.occurred_at, body.backdate_reason)
    due_at = appointment(procedure, occurred_at)
    async with host.pool.acquire() as conn:
        code = await next_code(conn, unit.agency_id, occurred_at)
    dossier = await asyncio.to_thread(
        app.receive,
        code=code,
        procedure_code=procedure.code,
        department_code=procedure.department,
        receiving_point=desk,
        channel=int(body.channel),
        online_level=body.online_level,
        postal_return=body.postal_return,
        legal_days=procedure.legal_days,
        legal_hours=procedure.legal_hours,
        received_at=occurred_at,
        due_at=due_at,
        occurred_at=occurred_at,
        backdate_reason=body.backdate_reason,
        actor=body.actor.model_dump(mode="json"),
        applicant=body.applicant.model_dump(mode="json"),
    )
    if host.relay is not None:
        host.relay.wake()
    return _view(dossier)


def _receiving_point(catalogue: Any, code: str | None) -> Any:
    """The desk that receives; by default the provincial centre (the first province-level desk)."""
    points = catalogue.receiving_points
    if code is None:
        return next(p for p in points if p.level == "province")
    for point in points:
        if point.code == code:
            return point
    raise ApiError(
        422,
        "unknown_receiving_point",
        f"Không có điểm tiếp nhận {code}",
        f"No receiving point {code}",
        known=[p.code for p in points],
    )


def _view(dossier: Any) -> DossierView:
    return DossierView(
        code=dossier.code,
        dossier_id=dossier.id,
        procedure_code=dossier.procedure_code,
        department_code=dossier.department_code,
        receiving_point=dossier.receiving_point,
        channel=dossier.channel,
        online_level=dossier.online_level,
        postal_return=dossier.postal_return,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        occurred_at=dossier.occurred_at,
        recorded_at=dossier.created_on,
        backdate_reason=dossier.backdate_reason,
        received_by=dossier.received_by,
        applicant=dossier.applicant,
    )
