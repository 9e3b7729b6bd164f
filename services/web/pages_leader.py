"""The leaders' dashboard: the progress report, on-time / late per month, the Decision 766 index
and ranking, each number a link to the dossiers behind it, each report downloadable as Excel.

Everything is read from scoring's reports with the leader's token. Scoring's aggregates are any
unit's (no personal data); what a leader *sees* is narrowed here to their agency: a department's
leader gets their department, the centre's leader (and auditors, operations) all departments.
The dossiers behind a number are narrowed by scoring itself, by the dossier rule.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web import charts, excel
from services.web.backend import BackendError
from services.web.context import WebError, require_role, web_of
from services.web.dashboard import (
    COLUMN_NUMBERS,
    KINDS,
    PROGRESS_COLUMNS,
    PROGRESS_HEADER,
    Period,
    header_rows,
    month_rows,
    number,
    percent,
    progress_table,
    ranking_rows,
    unit_label,
)
from services.web.formats import LOCAL, parse_instant
from services.web.sessions import Session
from shared.auth.principal import Role
from shared.units import name_of

router = APIRouter(prefix="/leader")

READERS = (Role.LEADER, Role.OFFICER, Role.OPS, Role.AUDITOR)
SUPERIOR = "Ủy ban nhân dân tỉnh"
ALL_DEPARTMENTS = "Tất cả sở, ban, ngành và đơn vị giải quyết thủ tục hành chính"
EXPORTS = ("progress", "ranking", "months")


def scope_of(session: Session) -> str | None:
    """The department whose figures the user sees, or None for all (centre, auditors, ops)."""
    principal = session.principal
    if principal.roles & {Role.AUDITOR, Role.OPS}:
        return None
    unit = name_of(principal.agency)
    return principal.agency if unit is not None and unit.kind == "department" else None


def _today() -> date:
    return datetime.now(LOCAL).date()


def period_from(period: str, start: str | None) -> Period:
    if period not in KINDS:
        raise WebError(422, "period_invalid")
    try:
        day = date.fromisoformat(start) if start else _today()
    except ValueError:
        raise WebError(422, "period_invalid") from None
    if not 2000 <= day.year <= 2100:
        raise WebError(422, "period_invalid")
    return Period.of(period, day)


def _reader(request: Request) -> tuple[Session, str | None]:
    session = web_of(request).session(request)
    require_role(session, *READERS)
    return session, scope_of(session)


async def _scoring(request: Request, session: Session, path: str, params: dict[str, str]) -> Any:
    return await web_of(request).backend.call("scoring", "GET", path, session.token, params=params)


def _scoped(params: dict[str, str], scope: str | None) -> dict[str, str]:
    return {**params, "unit": scope} if scope else params


@router.get("", response_class=HTMLResponse)
async def dashboard(request: Request, period: str = "month", start: str | None = None) -> Response:
    session, scope = _reader(request)
    chosen = period_from(period, start)
    year = Period.of("year", chosen.start)
    progress = await _scoring(request, session, "/progress", _scoped(chosen.params(), scope))
    months = await _scoring(request, session, "/progress/months", _scoped(year.params(), scope))
    ranking = await _scoring(request, session, "/ranking", chosen.params())
    table = progress_table(progress, scope)
    month_list = month_rows(months)
    ranks = ranking_rows(ranking)
    own = [r for r in ranks if r.unit == scope]
    # the unit's own progress row (a department) or the total (the centre), for the key figures
    figures = table.total.cells
    svgs = {
        "months": await charts.svg(
            charts.months_spec(month_list), f"Hồ sơ giải quyết theo tháng, năm {year.start.year}"
        ),
        "ranking": await charts.svg(charts.ranking_spec(ranks, scope), f"Xếp hạng Chỉ số 766, {chosen.label}")
        if any(r.rank is not None for r in ranks)
        else "",
        "states": await charts.svg(charts.states_spec(table), f"Tình trạng hồ sơ theo đơn vị, {chosen.label}")
        if table.rows
        else "",
    }
    return web_of(request).render(
        request,
        "leader.html",
        session=session,
        period=chosen,
        year=year,
        kinds=KINDS,
        choices=chosen.choices(_today()),
        scope=scope,
        scope_name=unit_label(scope) if scope else ALL_DEPARTMENTS,
        table=table,
        header=header_rows(PROGRESS_HEADER),
        columns=PROGRESS_COLUMNS,
        numbers=COLUMN_NUMBERS,
        figures=figures,
        on_time_rate=table.on_time_rate,
        months=month_list,
        ranks=ranks,
        own=own[0] if own else None,
        svgs=svgs,
        computed_at=progress.get("computed_at"),
        percent=percent,
        number=number,
        exports=EXPORTS,
    )


@router.get("/dossiers", response_class=HTMLResponse)
async def dossiers(
    request: Request, counter: str, period: str = "month", start: str | None = None, unit: str | None = None
) -> Response:
    """The dossiers behind one number of the dashboard."""
    session, scope = _reader(request)
    chosen = period_from(period, start)
    if scope and unit not in (None, scope):
        raise WebError(403, "other_unit_figures")
    params = _scoped(chosen.params(), unit or scope)
    found = await _scoring(request, session, "/progress/dossiers", {**params, "counter": counter})
    column = next((c for c in PROGRESS_COLUMNS if c.key == counter), None)
    try:
        procedures = {p["code"]: p["name_vi"] for p in await request.app.state.procedures.all()}
    except BackendError:  # the list still says what it must with the procedures' codes
        procedures = {}
    return web_of(request).render(
        request,
        "leader_dossiers.html",
        session=session,
        period=chosen,
        counter=counter,
        counter_name=_counter_name(counter),
        column=column,
        unit=unit,
        unit_name=unit_label(unit) if unit else (unit_label(scope) if scope else ALL_DEPARTMENTS),
        dossiers=found["dossiers"],
        not_shown=found.get("not_shown", 0),
        procedures=procedures,
    )


def _counter_name(counter: str) -> str:
    names = {
        "received_total": "Số hồ sơ nhận giải quyết",
        "received_new": "Số hồ sơ mới tiếp nhận",
        "carried_over": "Số hồ sơ kỳ trước chuyển qua",
        "received_online": "Số hồ sơ mới tiếp nhận trực tuyến",
        "received_desk": "Số hồ sơ mới tiếp nhận trực tiếp",
        "received_post": "Số hồ sơ mới tiếp nhận qua dịch vụ bưu chính công ích",
        "resolved_total": "Số hồ sơ đã giải quyết",
        "resolved_early": "Số hồ sơ trả trước hạn",
        "resolved_on_time": "Số hồ sơ trả đúng hạn",
        "resolved_late": "Số hồ sơ trả quá hạn",
        "in_progress_total": "Số hồ sơ đang giải quyết",
        "in_progress_on_time": "Số hồ sơ đang giải quyết trong hạn",
        "in_progress_overdue": "Số hồ sơ đang giải quyết quá hạn",
        "paused": "Số hồ sơ tạm dừng (chờ bổ sung)",
        "stopped": "Số hồ sơ rút, dừng giải quyết",
    }
    return names.get(counter, counter)


@router.get("/export/{report}.xlsx")
async def export(request: Request, report: str, period: str = "month", start: str | None = None) -> Response:
    session, scope = _reader(request)
    if report not in EXPORTS:
        raise WebError(404, "not_found")
    chosen = period_from(period, start)
    agency = name_of(session.principal.agency)
    scope_name = unit_label(scope) if scope else ALL_DEPARTMENTS

    def head(computed_at: str | None) -> excel.Letterhead:
        read = parse_instant(computed_at) or datetime.now(LOCAL)
        return excel.Letterhead(
            SUPERIOR,
            agency.name_vi if agency else session.principal.agency,
            scope_name,
            read.astimezone(LOCAL),
        )

    if report == "progress":
        data = await _scoring(request, session, "/progress", _scoped(chosen.params(), scope))
        body = excel.progress_workbook(progress_table(data, scope), chosen, head(data.get("computed_at")))
        label = chosen
    elif report == "months":
        label = Period.of("year", chosen.start)
        data = await _scoring(request, session, "/progress/months", _scoped(label.params(), scope))
        body = excel.months_workbook(month_rows(data), label, head(data.get("computed_at")))
    else:
        data = await _scoring(request, session, "/ranking", chosen.params())
        body = excel.ranking_workbook(ranking_rows(data), chosen, head(data.get("computed_at")))
        label = chosen
    filename = f"bao-cao-{report}-{label.kind}-{label.start:%Y-%m}.xlsx"
    return Response(
        body,
        media_type=excel.MIME,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
