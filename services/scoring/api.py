"""Scoring's HTTP API: figures, the 766 index, ranking, national status, drill-down to histories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends
from fastapi import Query as Param

from services.scoring import reports
from services.scoring.api_params import (
    FIRST_YEAR,
    LAST_YEAR,
    aware,
    check_counter,
    check_progress_counter,
    reject_unknown_params,
    report_query,
)
from services.scoring.as_of import facts_as_of
from services.scoring.domain.catalogue import CATALOGUE_TYPES_SQL, catalogue_indicators, with_catalogue
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import COUNTERS
from services.scoring.domain.index766 import Indicator, total_points
from services.scoring.domain.national_status import NAMES
from services.scoring.domain.periods import bounds
from services.scoring.domain.progress import COUNTERS as PROGRESS_COUNTERS
from services.scoring.domain.progress import with_totals
from services.scoring.domain.unsupported import UNSUPPORTED
from services.scoring.report_cache import ReportCache
from services.scoring.reports import MOMENT_COUNTERS, Query
from shared.auth.guard import Caller, acting_caller, authorize_dossier
from shared.clock import DEFAULT_CALENDAR
from shared.clock.explain import local_iso
from shared.contracts import parse_event
from shared.contracts.catalogue import CatalogueEvent
from shared.host.errors import not_found
from shared.host.host import ServiceHost
from shared.host.schema_patterns import moment_schema
from shared.units import name_of

ReportQuery = Annotated[Query, Depends(report_query)]


def unit_names(code: str | None) -> dict[str, str | None]:
    """The names shown beside a unit's code (None for a code no longer in the list of units)."""
    found = name_of(code)
    return {"unit_name": found.name_vi if found else None, "unit_name_en": found.name_en if found else None}


def named(row: dict[str, Any], key: str = "unit") -> dict[str, Any]:
    """``row`` with the unit's names right after its code."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        out[k] = v
        if k == key:
            out.update(unit_names(v))
    return out


def facts_view(f: DossierFacts) -> dict[str, Any]:
    return {
        **f.row(),
        "department_name": getattr(name_of(f.department_code), "name_vi", None),
        "receiving_point_name": getattr(name_of(f.receiving_point), "name_vi", None),
        "dossier_id": str(f.dossier_id),
        "second_return": f.second_return,
        "delivery_shipments": int(f.postal_delivery_at is not None),  # the earlier view's name
    }


def build_router(host: ServiceHost) -> APIRouter:
    # Every report refuses parameters it does not know (a misspelt one used to be ignored).
    router = APIRouter(tags=["scoring"], dependencies=[Depends(reject_unknown_params)])

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
        return {"query": asdict(q), "units": [named(r) for r in rows]}

    @router.get("/figures/dossiers", summary="Drill down: the dossiers behind one figure")
    async def figure_dossiers(
        q: ReportQuery,
        counter: Annotated[str, Param(json_schema_extra={"enum": [*COUNTERS, *MOMENT_COUNTERS]})],
    ) -> dict[str, Any]:
        async with host.pool.acquire() as conn:
            found = await reports.drill_down(conn, q, check_counter(counter))
        return {"query": asdict(q), "counter": counter, "dossiers": [facts_view(f) for f in found]}

    async def catalogue_events() -> list[CatalogueEvent]:
        async with host.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT payload FROM scoring.events WHERE event_type IN ({CATALOGUE_TYPES_SQL})"
            )
        return [e for e in (parse_event(r["payload"]) for r in rows) if isinstance(e, CatalogueEvent)]

    @router.get("/index766", summary="Chỉ số 766: điểm theo đơn vị và kỳ")
    async def index766(q: ReportQuery) -> dict[str, Any]:
        by_unit, fresh = await cached(reports.index, q)
        if q.dimension == "department" and q.procedure is None:
            # publicity and online procedures count in the points: the catalogue in force on
            # the judgement day (the period's last, or today for a period still running)
            _, end, moment = q.window()
            day = DEFAULT_CALENDAR.to_local(min(moment, end - timedelta(microseconds=1))).date()
            found = catalogue_indicators(await catalogue_events(), day)
            if q.unit is not None:
                found = {u: i for u, i in found.items() if u == q.unit}
            by_unit = with_catalogue(by_unit, found)
        return {
            "query": asdict(q),
            "computed_at": fresh["computed_at"],
            "freshness": fresh,
            "units": [named(_unit_index(unit, items)) for unit, items in by_unit.items()],
            "unsupported": list(UNSUPPORTED),
        }

    @router.get("/ranking", summary="Xếp hạng các sở, ngành theo kỳ")
    async def ranking(q: ReportQuery) -> dict[str, Any]:
        result, fresh = await cached(reports.ranking, q)
        return {
            "query": asdict(q),
            "computed_at": fresh["computed_at"],
            "freshness": fresh,
            "ranking": [named(asdict(r)) for r in result.ranked],
            "not_ranked": [named(asdict(u)) for u in result.not_ranked],
        }

    @router.get("/progress", summary="Tình hình, kết quả giải quyết hồ sơ (báo cáo tiến độ) theo đơn vị")
    async def progress(q: ReportQuery) -> dict[str, Any]:
        by_unit, fresh = await cached(reports.progress, q)
        rows = [named({"unit": unit, **row}) for unit, row in by_unit.items()]
        return {
            "query": asdict(q),
            "computed_at": fresh["computed_at"],
            "freshness": fresh,
            "counters": list(PROGRESS_COUNTERS),
            "units": rows,
            "total": with_totals(sum((Counter(row) for row in by_unit.values()), Counter())),
        }

    @router.get(
        "/progress/dossiers", summary="Drill down: the dossiers behind one number of the progress report"
    )
    async def progress_dossiers(
        q: ReportQuery,
        counter: Annotated[str, Param(json_schema_extra={"enum": list(PROGRESS_COUNTERS)})],
    ) -> dict[str, Any]:
        caller = acting_caller()
        async with host.pool.acquire() as conn:
            found = await reports.progress_dossiers(conn, q, check_progress_counter(counter))
        # Aggregates are everyone's; dossier codes only the caller's own (the dossier rule).
        mine = [f for f in found if caller.may_see(departments=(f.department_code,), desk=f.receiving_point)]
        return {
            "query": asdict(q),
            "counter": counter,
            "dossiers": [facts_view(f) for f in mine],
            "not_shown": len(found) - len(mine),
        }

    @router.get(
        "/progress/months", summary="Hồ sơ giải quyết trước hạn, đúng hạn, quá hạn theo tháng trong năm"
    )
    async def progress_months(q: ReportQuery) -> dict[str, Any]:
        rows, fresh = await cached(reports.months, q)
        return {"query": asdict(q), "computed_at": fresh["computed_at"], "year": q.start.year, "months": rows}

    @router.get(
        "/catalogue/indicators",
        summary="Công khai và TTHC trực tuyến: from the catalogue's events, per department, on a date",
    )
    async def catalogue_index(
        on: Annotated[date | None, Param(description="the date (default: today, Asia/Ho_Chi_Minh)")] = None,
    ) -> dict[str, Any]:
        day = on or DEFAULT_CALENDAR.to_local(datetime.now(UTC)).date()
        events = await catalogue_events()
        return {
            "on": day.isoformat(),
            "units": [
                {"unit": unit, **unit_names(unit), "indicators": [asdict(i) for i in items]}
                for unit, items in catalogue_indicators(events, day).items()
            ],
        }

    @router.get("/indicators/unsupported", summary="Indicators our events cannot support yet")
    async def unsupported() -> list[dict[str, str]]:
        return list(UNSUPPORTED)

    @router.get("/national-status", summary="Số hồ sơ theo trạng thái (TrangThaiHoSo 1–10)")
    async def national_status(
        department: Annotated[str | None, Param(max_length=64)] = None,
        as_of: Annotated[
            datetime | None,
            moment_schema(FIRST_YEAR, LAST_YEAR, "business time: statuses as they stood (2000–2100)"),
            Param(),
        ] = None,
        known_at: Annotated[
            datetime | None,
            moment_schema(FIRST_YEAR, LAST_YEAR, "only entries recorded by then (2000–2100)"),
            Param(),
        ] = None,
    ) -> dict[str, Any]:
        query = {
            "department": department,
            **unit_names(department),
            "as_of": aware("as_of", as_of),
            "known_at": aware("known_at", known_at),
        }
        now = datetime.now(UTC)
        if as_of is None and known_at is None:
            rows = await host.pool.fetch(
                "SELECT national_status, count(*) AS dossiers FROM scoring.dossier_facts"
                " WHERE ($1::text IS NULL OR department_code = $1) GROUP BY 1 ORDER BY 1",
                department,
            )
            counts = {r[0]: r[1] for r in rows}
        else:
            # Audit reproduction: every dossier refolded from the events known then, read then.
            async with host.pool.acquire() as conn:
                # Statuses cannot be known ahead of now: a future as_of reads them as they stand.
                moment = min(as_of or now, now)
                facts = await facts_as_of(
                    conn, moment, known_at=known_at, dimension="department", unit=department
                )
            counts = Counter(f.national_status for f in facts)
        statuses = [{"code": c, "name": NAMES[c], "dossiers": n} for c, n in sorted(counts.items())]
        return {"query": query, "statuses": statuses}

    @router.get("/departments", summary="Số liệu theo sở, ngành (all periods)")
    async def departments() -> list[dict[str, Any]]:
        rows = await host.pool.fetch(_ALL_TIME + " GROUP BY unit ORDER BY unit")
        return [named(dict(r), "department_code") for r in rows]

    @router.get("/departments/{code}", summary="Số liệu một sở, ngành (all periods)")
    async def department(code: str) -> dict[str, Any]:
        row = await host.pool.fetchrow(_ALL_TIME + " AND unit = $1 GROUP BY unit", code)
        if row is None:
            raise not_found("số liệu của", "Figures for department", code)
        return named(dict(row), "department_code")

    async def facts_of(code: str, caller: Caller) -> DossierFacts:
        row = await host.pool.fetchrow("SELECT * FROM scoring.dossier_facts WHERE dossier_code = $1", code)
        if row is None:
            raise not_found("hồ sơ", "Dossier", code)
        facts = DossierFacts.from_row(row)
        authorize_dossier(caller, code, departments=(facts.department_code,), desk=facts.receiving_point)
        return facts

    @router.get("/dossiers/{code}", summary="One dossier's facts")
    async def dossier(code: str) -> dict[str, Any]:
        caller = acting_caller()
        return facts_view(await facts_of(code, caller))

    @router.get("/dossiers/{code}/history", summary="Drill down: every event of one dossier")
    async def history(code: str) -> list[dict[str, Any]]:
        caller = acting_caller()
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
