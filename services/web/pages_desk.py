"""The front desk: a dossier entered with the keyboard (a CCCD scan fills the applicant, the
procedure's documents list is ticked with Tab and space), then one of the counter's three
outcomes: receive it (form 01, with the QR code of the citizen's tracking page), ask for what is
missing (form 02) or refuse it (form 03). A dossier missing a required paper cannot be received:
the page offers the request to complete instead, listing what is missing."""

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
FORM_FIELDS = (
    "procedure",
    "cccd_line",
    *APPLICANT_FIELDS,
    "channel",
    "postal_return",
    "idempotency_key",
    "checklist_for",
    "other_missing",
    "refusal_reasons",
)
OUTCOMES = {"receive": "/dossiers", "incomplete": "/dossiers/incomplete", "refuse": "/dossiers/refusals"}
FORM_OF = {"receive": "01", "incomplete": "02", "refuse": "03"}
FORM_LABEL = {"original": "bản chính", "certified_copy": "bản sao có chứng thực", "copy": "bản chụp"}
_DMY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")


def _desk_session(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, Role.FRONT_DESK)
    return session


async def _render_form(
    request: Request,
    session: Session,
    values: dict[str, str],
    status: int = 200,
    error: Any = None,
    ticked: set[str] | None = None,
) -> Response:
    web = web_of(request)
    values.setdefault("idempotency_key", secrets.token_urlsafe(16))
    values.setdefault("channel", "1")
    procedure = await request.app.state.procedures.find(values.get("procedure", ""))
    checked = ticked or set()
    return web.render(
        request,
        "desk.html",
        status,
        session=session,
        procedures=await request.app.state.procedures.all(),
        values=values,
        error=error,
        checklist=procedure,
        ticked=checked,
        missing=_missing(procedure, checked, values.get("other_missing", "")) if procedure else [],
    )


@router.get("/checklist", response_class=HTMLResponse)
async def checklist(request: Request, procedure: str = "") -> Response:
    """The procedure's documents list as the desk ticks it (the page's script swaps it in when
    the procedure is chosen)."""
    session = _desk_session(request)
    found = await request.app.state.procedures.find(procedure[:300])
    return web_of(request).render(
        request, "desk_checklist.html", session=session, checklist=found, ticked=set(), missing=[]
    )


def document_label(document: dict[str, Any]) -> str:
    """ "Tờ khai ... (bản chính: 1)": the paper and how many of which form, as form 02 asks."""
    return (
        f"{document['name_vi']} ({FORM_LABEL.get(document['form'], document['form'])}: {document['count']})"
    )


def _missing(procedure: dict[str, Any], ticked: set[str], other: str) -> list[str]:
    """What the dossier lacks: the required papers not ticked, then what the desk wrote itself."""
    lines = [
        document_label(d) for d in procedure.get("documents") or [] if d["required"] and d["id"] not in ticked
    ]
    return lines + [line.strip() for line in other.splitlines() if line.strip()]


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
    """One of the three outcomes (``outcome``: receive, incomplete, refuse) for the dossier on
    the form; the page of its printed form follows (01, 02 or 03)."""
    session = _desk_session(request)
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    values = {name: str(form.get(name, ""))[:4000].strip() for name in FORM_FIELDS}
    outcome = str(form.get("outcome", "receive"))
    ticked = {str(v)[:40] for v in form.getlist("doc")}
    try:
        if outcome not in OUTCOMES:
            raise WebError(422, "invalid_input")
        body = await _filing(request, values, outcome, ticked)
    except WebError as exc:
        return await _render_form(request, session, values, exc.status, exc, ticked)
    web = web_of(request)
    try:
        made = await web.backend.call(
            "intake",
            "POST",
            OUTCOMES[outcome],
            session.token,
            json=body,
            headers={
                "Idempotency-Key": f"{values['idempotency_key'] or secrets.token_urlsafe(16)}-{outcome}"
            },
        )
    except BackendError as exc:
        if exc.status >= 500:
            raise
        return await _render_form(request, session, values, exc.status, exc, ticked)
    if made.get("tracking_secret"):
        session.remember_receipt(made["code"], made["tracking_secret"])
    if outcome == "receive":
        return see_other(f"/desk/receipts/{made['code']}")
    return see_other(f"/forms/{made['code']}/{FORM_OF[outcome]}")


async def _filing(request: Request, values: dict[str, str], outcome: str, ticked: set[str]) -> dict[str, Any]:
    """The intake request from the form; a CCCD line fills what the form left empty (the same
    parser as the page's script, so it works without JavaScript too). The outcome must fit the
    checklist: nothing missing to receive, something missing to ask for it, reasons to refuse."""
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
    body: dict[str, Any] = {"procedure_code": procedure["code"], "applicant": applicant, "channel": channel}
    listed = procedure.get("documents") or []
    if listed:
        if values["checklist_for"] != procedure["code"]:
            # the list on the page was another procedure's (or none, without the script)
            raise WebError(422, "checklist_not_ticked")
        known = {d["id"] for d in listed}
        body["documents"] = [{"id": d["id"]} for d in listed if d["id"] in ticked & known]
    missing = _missing(procedure, ticked, values["other_missing"])
    if outcome == "receive":
        if missing:
            raise WebError(422, "documents_missing")
        body["postal_return"] = values["postal_return"] == "on"
    elif outcome == "incomplete":
        if not missing:
            raise WebError(422, "nothing_missing")
        body["missing_items"] = missing
    else:
        if not values["refusal_reasons"]:
            raise WebError(422, "refusal_reasons_required")
        body["reasons"] = values["refusal_reasons"]
    return body


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
