"""Query parameters shared by scoring's endpoints, checked so that bad input is a 4xx, never a 500."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Query as Param
from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.scoring.domain.figures import COUNTERS, DIMENSIONS
from services.scoring.domain.periods import KINDS, PeriodKind, period_start
from services.scoring.domain.progress import COUNTERS as PROGRESS_COUNTERS
from services.scoring.reports import MOMENT_COUNTERS, Query
from shared.clock import local_today
from shared.host.errors import ApiError
from shared.host.schema_patterns import day_schema, moment_schema

# The years a report may be asked about (the schemas say so too).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _invalid(code: str, vi: str, en: str, **details: object) -> ApiError:
    return ApiError(422, code, vi, en, **details)


def aware(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise _invalid(
            "naive_datetime", f"{name} phải có múi giờ", f"{name} needs a time zone (e.g. +07:00)", field=name
        )
    # A moment centuries away would have every clock count working days up to it (seconds of
    # work per dossier) for a question nobody can mean: refuse it like an out-of-range period.
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise _invalid(
            "moment_out_of_range",
            f"{name} phải nằm trong các năm 2000–2100",
            f"{name} must lie in the years 2000–2100",
            field=name,
        )
    return value


async def reject_unknown_params(request: Request) -> None:
    """Refuse query parameters the route does not declare.

    Silently ignoring one misleads: ``?kind=quarter`` used to fall back to the month while the
    reader believed they had asked for a quarter. The allowed names are read from the route's own
    declaration (its parameters and those of its dependencies), so they cannot drift from it.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = _query_names(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in declared})
    if unknown:
        raise _invalid(
            "unknown_parameter",
            f"Tham số không được hỗ trợ: {', '.join(unknown)}",
            f"Unknown query parameter(s): {', '.join(unknown)}",
            unknown=unknown,
            allowed=sorted(declared),
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def report_query(
    dimension: Annotated[
        str, Param(description="department | receiving_point", json_schema_extra={"enum": list(DIMENSIONS)})
    ] = "department",
    period: Annotated[
        str, Param(description="day | month | quarter | year", json_schema_extra={"enum": list(KINDS)})
    ] = "month",
    start: Annotated[
        date | None,
        day_schema(FIRST_YEAR, LAST_YEAR, "any day in the period (default: today), years 2000–2100"),
        Param(),
    ] = None,
    unit: Annotated[str | None, Param(max_length=64)] = None,
    procedure: Annotated[str | None, Param(max_length=64)] = None,
    as_of: Annotated[
        datetime | None,
        moment_schema(FIRST_YEAR, LAST_YEAR, "business time: figures as they stood then (2000–2100)"),
        Param(),
    ] = None,
    known_at: Annotated[
        datetime | None,
        moment_schema(FIRST_YEAR, LAST_YEAR, "only entries recorded by then (2000–2100)"),
        Param(),
    ] = None,
) -> Query:
    if dimension not in DIMENSIONS:
        raise _invalid(
            "unknown_dimension", "Chiều thống kê không hợp lệ", "Unknown dimension", allowed=list(DIMENSIONS)
        )
    if period not in KINDS:
        raise _invalid("unknown_period", "Kỳ báo cáo không hợp lệ", "Unknown period", allowed=list(KINDS))
    kind: PeriodKind = period
    day = start or local_today()  # periods are the centre's local days
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _invalid(
            "period_out_of_range", "Kỳ báo cáo ngoài phạm vi 2000–2100", "The period must lie in 2000–2100"
        )
    return Query(
        dimension=dimension,
        kind=kind,
        start=period_start(kind, day),
        unit=unit,
        procedure=procedure,
        as_of=aware("as_of", as_of),
        known_at=aware("known_at", known_at),
    )


def check_counter(counter: str) -> str:
    if counter not in COUNTERS + MOMENT_COUNTERS:
        raise _invalid(
            "unknown_counter",
            "Chỉ tiêu không tồn tại",
            "Unknown counter",
            allowed=list(COUNTERS + MOMENT_COUNTERS),
        )
    return counter


def check_progress_counter(counter: str) -> str:
    if counter not in PROGRESS_COUNTERS:
        raise _invalid(
            "unknown_counter",
            "Chỉ tiêu không tồn tại trong báo cáo tiến độ",
            "Unknown counter of the progress report",
            allowed=list(PROGRESS_COUNTERS),
        )
    return counter
