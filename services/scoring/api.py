"""Scoring's HTTP API: counts per department and the facts behind them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shared.host.errors import not_found
from shared.host.host import ServiceHost


def build_router(host: ServiceHost) -> APIRouter:
    router = APIRouter(tags=["scoring"])

    @router.get("/departments", summary="Số liệu theo sở, ngành")
    async def departments() -> list[dict[str, Any]]:
        rows = await host.pool.fetch(
            "SELECT department_code, received, resolved, on_time, late"
            " FROM scoring.department_counts ORDER BY department_code"
        )
        return [dict(r) for r in rows]

    @router.get("/departments/{code}", summary="Số liệu một sở, ngành")
    async def department(code: str) -> dict[str, Any]:
        row = await host.pool.fetchrow(
            "SELECT department_code, received, resolved, on_time, late"
            " FROM scoring.department_counts WHERE department_code = $1",
            code,
        )
        if row is None:
            raise not_found("số liệu của", "Figures for department", code)
        return dict(row)

    @router.get("/departments/{code}/dossiers", summary="Drill down: the dossiers behind a figure")
    async def department_dossiers(code: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = await host.pool.fetch(
            "SELECT * FROM scoring.dossier_facts WHERE department_code = $1"
            " ORDER BY received_at DESC NULLS LAST LIMIT $2",
            code,
            min(max(limit, 1), 1000),
        )
        return [
            {k: (str(v) if v is not None and k.endswith("_id") else v) for k, v in r.items()} for r in rows
        ]

    @router.get("/dossiers/{code}", summary="One dossier's facts")
    async def dossier(code: str) -> dict[str, Any]:
        row = await host.pool.fetchrow("SELECT * FROM scoring.dossier_facts WHERE dossier_code = $1", code)
        if row is None:
            raise not_found("hồ sơ", "Dossier", code)
        return dict(row)

    return router
