"""The leaders' dashboard: the Decision 766 index per unit, with the units' names (scoring's
report, read with the leader's token)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.context import require_role, web_of
from shared.auth.principal import Role

router = APIRouter(prefix="/leader")

PERIODS = ("month", "quarter", "year")


@router.get("", response_class=HTMLResponse)
async def dashboard(request: Request, period: str = "month") -> Response:
    web = web_of(request)
    session = web.session(request)
    require_role(session, Role.LEADER, Role.OFFICER, Role.OPS, Role.AUDITOR)
    if period not in PERIODS:
        period = "month"
    index = await web.backend.call("scoring", "GET", "/index766", session.token, params={"period": period})
    units = sorted(index["units"], key=lambda u: (-(u["points"] or 0), u["unit"]))
    return web.render(
        request, "leader.html", session=session, units=units, periods=PERIODS, period=period, index=index
    )
