"""Scoring's HTTP API: figures, the 766 index, ranking, national status, drill-down to histories."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends

from services.scoring import reports
from services.scoring.api_params import check_counter, report_query
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.index766 import Indicator, total_points
from services.scoring.domain.national_status import NAMES
from services.scoring.domain.periods import bounds
from services.scoring.domain.unsupported import UNSUPPORTED
from services.scoring.report_cache import ReportCache
from services.scoring.reports import Query
from shared.auth.guard import CALLER, Caller, authorize_dossier
from shared.clock import DEFAULT_CALENDAR
from shared.clock.explain import local_iso
from shared.host.errors import not_found
from shared.host.host import ServiceHost

ReportQuery = Annotated[Query, Depends(report_query)]


def facts_view(f: DossierFacts) -> dict[str, Any]:
    return {
        **f.row(),
        "dossier_id": str(f.dossier_id),
        "second_return": f.second_return,
        "delivery_shipments": int(f.postal_delivery_at is not None),  # the earlier view's name
    }


def build_router(host: ServiceHost) -> APIRouter:
    router = APIRouter(tags=["scoring"])

    # The consumers' count of projected events is the projection's version: a report that saw
    # an older count is refreshed (in the background; readers get the kept copy, with its age).
    def version() -> int:
        return sum(c.stats.processed for c in host.consumers)

    cache = ReportCache(version)

    async def cached(
        report: Callable[[asyncpg.Connection, Query], Awaitable[Any]], q: Query
    ) -> tuple[Any, dict[str, Any]]:
        async def compute() -> tuple[Any, Any]:
            # One snapshot for the report and its "newest event" stamp, so the stamp is exact.
            async with (
                host.pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                newest = await conn.fetchval("SELECT max(recorded_at) FROM scoring.events")
                return await report(conn, q), newest

        served = await cache.get((report.__name__, q), compute)
        value, newest = served.value
        _, end = bounds(q.kind, q.start)
        fresh = served.freshness(version())
        fresh["judged_at"] = min(end, q.as_of or served.computed_at).isoformat()
        fresh["newest_event_recorded_at"] = newest.isoformat() if newest else None
        fresh["source"] = "facts" if reports.live(q) else "events refolded (audit)"
        return value, fresh

    @router.get("/figures", summary="Số liệu theo đơn vị, thủ tục, kỳ")
    async def figures(q: ReportQuery) -> dict[str, Any]:
        async with host.pool.acquire() as conn:
            rows = await reports.figures(conn, q)
        return {"query": asdict(q), "units": rows}

    @router.get("/figures/dossiers", summary="Drill down: the dossiers behind one figure")
    async def figure_dossiers(q: ReportQuery, counter: str) -> dict[str, Any]:
        async with host.pool.acquire() as conn:
            found = await reports.drill_down(conn, q, check_counter(counter))
        return {"query": asdict(q), "counter": counter, "dossiers": [facts_view(f) for f in found]}

    @router.get("/index766", summary="Chỉ số 766: điểm theo đơn vị và kỳ")
    async def index766(q: ReportQuery) -> dict[str, Any]:
        by_unit, fresh = await cached(reports.index, q)
        return {
            "query": asdict(q),
            "computed_at": fresh["computed_at"],
            "freshness": fresh,
            "units": [_unit_index(unit, items) for unit, items in by_unit.items()],
            "unsupported": list(UNSUPPORTED),
        }

    @router.get("/ranking", summary="Xếp hạng các sở, ngành theo kỳ")
    async def ranking(q: ReportQuery) -> dict[str, Any]:
        ranked, fresh = await cached(reports.ranking, q)
        return {
            "query": asdict(q),
            "computed_at": fresh["computed_at"],
            "freshness": fresh,
            "ranking": [asdict(r) for r in ranked],
        }

    @router.get("/indicators/unsupported", summary="Indicators our events cannot support yet")
    async def unsupported() -> list[dict[str, str]]:
        return list(UNSUPPORTED)

    @router.get("/national-status", summary="Số hồ sơ theo trạng thái (TrangThaiHoSo 1–10)")
    async def national_status(department: str | None = None) -> list[dict[str, Any]]:
        rows = await host.pool.fetch(
            "SELECT national_status, count(*) AS dossiers FROM scoring.dossier_facts"
            " WHERE ($1::text IS NULL OR department_code = $1) GROUP BY 1 ORDER BY 1",
            department,
        )
        return [{"code": r[0], "name": NAMES[r[0]], "dossiers": r[1]} for r in rows]

    @router.get("/departments", summary="Số liệu theo sở, ngành (all periods)")
    async def departments() -> list[dict[str, Any]]:
        return [dict(r) for r in await host.pool.fetch(_ALL_TIME + " GROUP BY unit ORDER BY unit")]

    @router.get("/departments/{code}", summary="Số liệu một sở, ngành (all periods)")
    async def department(code: str) -> dict[str, Any]:
        row = await host.pool.fetchrow(_ALL_TIME + " AND unit = $1 GROUP BY unit", code)
        if row is None:
            raise not_found("số liệu của", "Figures for department", code)
        return dict(row)

    async def facts_of(code: str, caller: Caller) -> DossierFacts:
        row = await host.pool.fetchrow("SELECT * FROM scoring.dossier_facts WHERE dossier_code = $1", code)
        if row is None:
            raise not_found("hồ sơ", "Dossier", code)
        facts = DossierFacts.from_row(row)
        authorize_dossier(caller, code, departments=(facts.department_code,), desk=facts.receiving_point)
        return facts

    @router.get("/dossiers/{code}", summary="One dossier's facts")
    async def dossier(code: str, caller: Caller = CALLER) -> dict[str, Any]:
        return facts_view(await facts_of(code, caller))

    @router.get("/dossiers/{code}/history", summary="Drill down: every event of one dossier")
    async def history(code: str, caller: Caller = CALLER) -> list[dict[str, Any]]:
        await facts_of(code, caller)
        rows = await host.pool.fetch(
            "SELECT e.event_id, e.event_type, e.occurred_at, e.recorded_at, e.payload::text AS payload"
            " FROM scoring.events e JOIN scoring.dossier_facts f USING (dossier_id)"
            " WHERE f.dossier_code = $1 ORDER BY e.occurred_at, e.event_id",
            code,
        )
        if not rows:
            raise not_found("hồ sơ", "Dossier", code)
        # Ordered by the instant (timestamptz); shown in local time with the offset.
        return [
            {
                **dict(r),
                "occurred_at": local_iso(DEFAULT_CALENDAR, r["occurred_at"]),
                "recorded_at": local_iso(DEFAULT_CALENDAR, r["recorded_at"]),
            }
            for r in rows
        ]

    return router


# Counted once per dossier: the year periods of the department dimension, summed over years.
_ALL_TIME = (
    "SELECT unit AS department_code, sum(received)::int AS received, sum(resolved)::int AS resolved,"
    " sum(resolved_early + resolved_on_time)::int AS on_time, sum(resolved_late)::int AS late"
    " FROM scoring.figures WHERE dimension = 'department' AND period_kind = 'year'"
)


def _unit_index(unit: str, items: list[Indicator]) -> dict[str, Any]:
    points, available = total_points(items)
    return {"unit": unit, "points": points, "available": available, "indicators": [asdict(i) for i in items]}
