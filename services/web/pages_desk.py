"""The front desk: receive a dossier with the keyboard (a CCCD scan fills the applicant), print
the receipt (form 01) with the QR code of the citizen's tracking page."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.web.backend import BackendError
from services.web.cccd import CccdCard, CccdLineInvalid, parse_cccd_line
from services.web.context import WebError, check_csrf, require_role, see_other, web_of
from services.web.formats import day
from services.web.pages_forms import form_context
from services.web.sessions import Session
from shared.auth.principal import Role

router = APIRouter(prefix="/desk")

APPLICANT_FIELDS = ("full_name", "citizen_id", "date_of_birth", "address", "phone", "email")
FORM_FIELDS = ("procedure", "cccd_line", *APPLICANT_FIELDS, "channel", "postal_return", "idempotency_key")
_DMY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")


def _desk_session(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, Role.FRONT_DESK)
    return session


async def _render_form(
    request: Request, session: Session, values: dict[str, str], status: int = 200, error: Any = None
) -> Response:
    web = web_of(request)
    values.setdefault("idempotency_key", secrets.token_urlsafe(16))
    values.setdefault("channel", "1")
    return web.render(
        request,
        "desk.html",
        status,
        session=session,
        procedures=await request.app.state.procedures.all(),
        values=values,
        error=error,
    )


@router.get("", response_class=HTMLResponse)
async def desk(request: Request) -> Response:
    return await _render_form(request, _desk_session(request), {})


@router.post("/cccd")
async def cccd(request: Request) -> Response:
    """The scanner's line, parsed: the page's script fills the fields with it (JSON)."""
    session = _desk_session(request)
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    try:
        card = parse_cccd_line(str(form.get("line", "")))
    except CccdLineInvalid as exc:
        return JSONResponse(
            {"error": {"code": exc.code, "message": {"vi": exc.vi, "en": exc.en}}}, status_code=422
        )
    return JSONResponse(_card_fields(card))


def _card_fields(card: CccdCard) -> dict[str, str]:
    return {
        "full_name": card.full_name,
        "citizen_id": card.citizen_id,
        "date_of_birth": day(card.date_of_birth),
        "address": card.address,
    }


@router.post("/receive", response_class=HTMLResponse)
async def receive(request: Request) -> Response:
    session = _desk_session(request)
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    values = {name: str(form.get(name, ""))[:1000].strip() for name in FORM_FIELDS}
    try:
        body = await _filing(request, values)
    except WebError as exc:
        return await _render_form(request, session, values, exc.status, exc)
    web = web_of(request)
    try:
        made = await web.backend.call(
            "intake",
            "POST",
            "/dossiers",
            session.token,
            json=body,
            headers={"Idempotency-Key": values["idempotency_key"] or secrets.token_urlsafe(16)},
        )
    except BackendError as exc:
        if exc.status >= 500:
            raise
        return await _render_form(request, session, values, exc.status, exc)
    if made.get("tracking_secret"):
        session.remember_receipt(made["code"], made["tracking_secret"])
    return see_other(f"/desk/receipts/{made['code']}")


async def _filing(request: Request, values: dict[str, str]) -> dict[str, Any]:
    """The intake request from the form; a CCCD line fills what the form left empty (the same
    parser as the page's script, so it works without JavaScript too)."""
    if values["cccd_line"]:
        try:
            card = parse_cccd_line(values["cccd_line"])
        except CccdLineInvalid as exc:
            raise WebError(422, exc.code, exc.vi, exc.en) from None
        for name, value in _card_fields(card).items():
            if not values[name]:
                values[name] = value
    procedure = await request.app.state.procedures.find(values["procedure"])
    if procedure is None:
        raise WebError(422, "procedure_unknown")
    values["procedure"] = f"{procedure['code']} — {procedure['name_vi']}"
    applicant: dict[str, Any] = {
        "full_name": values["full_name"],
        "citizen_id": values["citizen_id"],
        "address": values["address"],
    }
    if values["date_of_birth"]:
        applicant["date_of_birth"] = _iso_date(values["date_of_birth"])
    for optional in ("phone", "email"):
        if values[optional]:
            applicant[optional] = values[optional]
    channel = 3 if values["channel"] == "3" else 1
    return {
        "procedure_code": procedure["code"],
        "applicant": applicant,
        "channel": channel,
        "postal_return": values["postal_return"] == "on",
    }


def _iso_date(text: str) -> str:
    match = _DMY.match(text)
    if match is None:
        raise WebError(422, "date_invalid")
    d, m, y = (int(g) for g in match.groups())
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        raise WebError(422, "date_invalid") from None


@router.get("/receipts/{code}", response_class=HTMLResponse)
async def receipt(request: Request, code: str) -> Response:
    """Form 01 (Circular 03/2025 Annex I): receipt and appointment slip, printable on A4 (and as
    PDF, ``/forms/{code}/01/pdf``), with the QR code of the tracking URL."""
    session = _desk_session(request)
    if not _CODE.match(code):
        raise WebError(404, "not_found")
    ctx = await form_context(request, session, code, "01")
    return web_of(request).render(request, "forms/paper.html", session=session, pdf=False, **ctx)
