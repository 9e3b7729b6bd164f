"""The printed forms of Circular 03/2025 Annex I, 01 to 07, as A4 pages and as PDF files.

Each form is one page of the web built from the services' answers (intake's record of the
counter, processing's case and steps); the PDF is that same page laid out by WeasyPrint with
the print style sheet, so what is printed from the browser and what is filed are one document.
The QR code carries the citizen's tracking URL with its secret, which only the desk session
that received the dossier knows: other forms say where the code is printed instead.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import BackendError
from services.web.context import WebError, require_role, web_of
from services.web.explain_vi import legal_time, step_of
from services.web.formats import LOCAL, form_time, qr_svg, short_time
from services.web.sessions import Session
from shared.auth.principal import Role
from shared.clock.explain import legal_time_text
from shared.units import name_of

router = APIRouter(prefix="/forms")

STYLE = Path(__file__).with_name("static") / "style.css"
DOSSIER_FORMS = ("01", "02", "03", "04", "05", "06")
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
STAFF = (Role.FRONT_DESK, Role.OFFICER, Role.LEADER, Role.AUDITOR)
PROVINCE = "UBND TỈNH"  # the line above each agency's name in the letterhead


def _staff_session(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, *STAFF)
    return session


def _unit(code: str | None) -> str:
    unit = name_of(code)
    return unit.name_vi if unit else (code or "")


async def _optional(call: Any) -> Any:
    """A service's answer, or None where it has nothing (404/409): a form may do without."""
    try:
        return await call
    except BackendError as exc:
        if exc.status in (404, 409):
            return None
        raise


async def form_context(request: Request, session: Session, code: str, form: str) -> dict[str, Any]:
    """Everything one form shows, from intake and processing with the user's token."""
    web = web_of(request)
    backend = web.backend
    purpose = {"purpose": f"in biểu mẫu {form} / print form {form}"}
    dossier, case, history = await asyncio.gather(
        backend.call("intake", "GET", f"/dossiers/{code}", session.token, params=purpose),
        _optional(backend.call("processing", "GET", f"/dossiers/{code}", session.token)),
        _optional(backend.call("processing", "GET", f"/dossiers/{code}/history", session.token)),
    )
    history = history or []
    for row in history:
        row["step"] = step_of(row)
        row["unit_name"] = _unit(row["actor"].get("agency"))
    procedure = await request.app.state.procedures.get(dossier["procedure_code"]) or {}
    secret = session.receipts.get(code)
    tracking_url = f"{web.config.public_url}/track/{code}?s={secret}" if secret else None
    terms = dossier.get("terms") or {}
    ctx: dict[str, Any] = {
        "form": form,
        "dossier": dossier,
        "case": case,
        "history": history,
        "procedure": procedure,
        "desk_name": _unit(dossier["receiving_point"]),
        "department_name": _unit((case or {}).get("department_code") or dossier["department_code"]),
        "legal_time": legal_time_text(terms) or (legal_time(case) if case else ""),
        "postal_return": bool(terms.get("postal_return")),
        # the papers the desk ticked; none recorded for dossiers received before the checklist
        "documents": dossier.get("documents") or [],
        "tracking_url": tracking_url,
        "qr": qr_svg(tracking_url, tracking_url) if tracking_url else None,
        "printed_at": datetime.now(UTC),
    }
    step = _step_for(form, dossier, history)
    if step is _MISSING:
        raise WebError(409, "form_not_applicable")
    ctx["step"] = step
    return ctx


_MISSING: dict[str, Any] = {}


def _last(history: list[dict[str, Any]], *events: str) -> dict[str, Any] | None:
    found = [row for row in history if row["event"] in events]
    return found[-1] if found else None


def _step_for(form: str, dossier: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The step a form records (the supplement request, the apology...), or ``_MISSING`` when
    the dossier has none; forms 01 and 06 stand on the dossier as a whole (None)."""
    if form == "01":
        return None if dossier.get("outcome") == "received" else _MISSING
    if form == "02":
        row = _last(history, "SupplementRequested")
        if row is not None:
            return row
        if dossier.get("outcome") == "incomplete":
            return {
                "details": {"missing_items": dossier.get("missing_items") or [], "reason": ""},
                "desk": True,
            }
        return _MISSING
    if form == "03":
        row = _last(history, "Decided")
        if row is not None and not row["details"].get("approved"):
            return row
        if dossier.get("outcome") == "refused":
            return {"details": {"reasons": dossier.get("refusal_reasons") or ""}, "desk": True}
        return _MISSING
    if form == "04":
        return _last(history, "ApologyIssued") or _MISSING
    if form == "05":
        return _last(history, "Stopped", "ClosedForNoSupplement") or _MISSING
    return None  # 06: every step


def _render(request: Request, session: Session, template: str, ctx: dict[str, Any], pdf: bool) -> Any:
    web = web_of(request)
    if not pdf:
        return web.render(request, template, session=session, pdf=False, **ctx)
    html = web.templates.get_template(template).render(
        t=web.templates.env.globals["t"],
        session=session,
        user=session.principal,
        pdf=True,
        css=STYLE.read_text(encoding="utf-8"),
        **ctx,
    )
    return html


async def _pdf(html: str, filename: str) -> Response:
    def write() -> bytes:
        from weasyprint import HTML  # imported on first use: it loads Pango

        data: bytes = HTML(string=html, base_url=None).write_pdf()
        return data

    data = await asyncio.to_thread(write)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/register", response_class=HTMLResponse)
async def register(request: Request, start: str = "", end: str = "", pdf: bool = False) -> Response:
    """Form 07: the desk's dossier register for a day or a period (dd/mm/yyyy)."""
    session = _staff_session(request)
    today = datetime.now(LOCAL).date()
    first = _day(start, today)
    last = _day(end, first)  # one day unless an end is given
    web = web_of(request)
    desk = session.principal.agency
    rows = await web.backend.call(
        "intake",
        "GET",
        f"/registers/{desk}",
        session.token,
        params={"from": first.isoformat(), "to": last.isoformat()},
    )
    procedures = request.app.state.procedures
    for row in rows:
        procedure = await procedures.get(row["procedure_code"]) or {}
        row["procedure_name"] = procedure.get("name_vi") or row["procedure_code"]
        row["department_name"] = _unit(row["department_code"])
    ctx = {
        "form": "07",
        "rows": rows,
        "desk_name": _unit(desk),
        "first": first,
        "last": last,
        "start": f"{first:%d/%m/%Y}",
        "end": f"{last:%d/%m/%Y}",
        "printed_at": datetime.now(UTC),
    }
    rendered = _render(request, session, "forms/register.html", ctx, pdf)
    if pdf:
        return await _pdf(rendered, f"so-theo-doi-{first:%Y%m%d}-{last:%Y%m%d}.pdf")
    page: Response = rendered
    return page


def _day(text: str, default: date | None) -> date:
    if not text:
        if default is None:
            raise WebError(422, "date_invalid")
        return default
    match = _DMY.match(text.strip())
    if match is None:
        raise WebError(422, "date_invalid")
    d, m, y = (int(g) for g in match.groups())
    try:
        return date(y, m, d)
    except ValueError:
        raise WebError(422, "date_invalid") from None


@router.get("/{code}/{form}", response_class=HTMLResponse)
async def dossier_form(request: Request, code: str, form: str) -> Response:
    return await _dossier_form(request, code, form, pdf=False)


@router.get("/{code}/{form}/pdf")
async def dossier_form_pdf(request: Request, code: str, form: str) -> Response:
    return await _dossier_form(request, code, form, pdf=True)


async def _dossier_form(request: Request, code: str, form: str, pdf: bool) -> Response:
    session = _staff_session(request)
    if not _CODE.match(code) or form not in DOSSIER_FORMS:
        raise WebError(404, "not_found")
    ctx = await form_context(request, session, code, form)
    rendered = _render(request, session, "forms/paper.html", ctx, pdf)
    if pdf:
        return await _pdf(rendered, f"mau-{form}-{code}.pdf")
    page: Response = rendered
    return page


__all__ = ["form_context", "form_time", "router", "short_time"]
