"""Online filing: a citizen files a dossier for a procedure offered online (applicant from their
sign-in, documents uploaded, a summary to confirm), gets the code and tracking secret; the desk
checks each filing from its "online, to check" queue: receive, ask for completion, or refuse.

The web decides nothing: intake checks the uploads by content, the procedure, the citizen's right
to the filing and the desk's verdict; the web shows what it answers."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from services.web.backend import BackendError, fetch_document, send_document
from services.web.context import WebError, check_csrf, require_role, see_other, web_of
from services.web.formats import day, qr_svg
from services.web.sessions import Session
from services.web.texts import t
from shared.auth.principal import Role
from shared.documents import max_document_bytes
from shared.units import name_of

router = APIRouter()

_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_ID = re.compile(r"^[0-9a-f-]{36}$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
APPLICANT_FIELDS = ("full_name", "citizen_id", "date_of_birth", "address", "phone", "email")
# The documents a filing asks for: the request form itself, then whatever the procedure needs.
DOCUMENT_FIELDS = (("doc_form", "doc_form_label"), ("doc_other", "doc_other_label"))
DRAFTS_KEPT = 5
# How the citizen may be told of their dossier, and the contact each channel needs.
NOTIFY_CHANNELS = {"email": "email", "sms": "phone", "zalo": "phone"}
DESKS = ("TTPVHCC", "PHUONG-DT", "XA-TH")  # the desks receiving now (the district tier ended)


def _citizen(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, Role.CITIZEN)
    return session


def _desk(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, Role.FRONT_DESK)
    return session


def _identity(session: Session) -> dict[str, str]:
    """The applicant as the citizen's sign-in knows them (OIDC claims; docs/web.md)."""
    claims = jwt.decode(session.token, options={"verify_signature": False})  # verified at sign-in
    address = claims.get("address")
    birth = str(claims.get("birthdate") or "")
    found = {
        "full_name": claims.get("name"),
        "citizen_id": claims.get("citizen_id"),
        "date_of_birth": "/".join(reversed(birth.split("-")))
        if re.match(r"^\d{4}-\d\d-\d\d$", birth)
        else "",
        "address": address.get("formatted") if isinstance(address, dict) else address,
        "phone": claims.get("phone_number"),
        "email": claims.get("email"),
    }
    return {k: str(v) for k, v in found.items() if isinstance(v, str) and v}


async def _offered_online(request: Request) -> list[dict[str, Any]]:
    procedures: list[dict[str, Any]] = await request.app.state.procedures.all()
    return [p for p in procedures if p.get("online_level") in ("full", "partial")]


@router.get("/online", response_class=HTMLResponse)
async def online_home(request: Request) -> Response:
    session = _citizen(request)
    web = web_of(request)
    filings = await web.backend.call("intake", "GET", "/online/filings", session.token)
    return web.render(
        request,
        "online_home.html",
        session=session,
        procedures=await _offered_online(request),
        filings=filings,
    )


async def _form(
    request: Request,
    session: Session,
    procedure: dict[str, Any],
    values: dict[str, str],
    status: int = 200,
    error: Any = None,
) -> Response:
    return web_of(request).render(
        request,
        "online_form.html",
        status,
        session=session,
        procedure=procedure,
        values=values,
        desks=[(code, name_of(code)) for code in DESKS],
        error=error,
        max_kb=max_document_bytes() // 1024,
    )


async def _procedure(request: Request, code: str) -> dict[str, Any]:
    procedure = next((p for p in await _offered_online(request) if p["code"] == code), None)
    if procedure is None:
        raise WebError(404, "procedure_not_online")
    return procedure


@router.get("/online/new/{code}", response_class=HTMLResponse)
async def new_filing(request: Request, code: str) -> Response:
    session = _citizen(request)
    procedure = await _procedure(request, code)
    return await _form(request, session, procedure, {**_identity(session), "receiving_point": "TTPVHCC"})


@router.post("/online/new/{code}", response_class=HTMLResponse)
async def upload_and_summarise(request: Request, code: str) -> Response:
    session = _citizen(request)
    procedure = await _procedure(request, code)
    form = await request.form(max_files=20)
    check_csrf(session, form.get("csrf"))
    values = {name: str(form.get(name, ""))[:500].strip() for name in (*APPLICANT_FIELDS, "receiving_point")}
    values["postal_return"] = "on" if form.get("postal_return") == "on" else ""
    chosen = str(form.get("notify_channel") or "")
    values["notify_channel"] = chosen if chosen in NOTIFY_CHANNELS else ""
    try:
        applicant = _applicant(values)
        # the contact the chosen channel needs: said on the form, before any upload
        needed = NOTIFY_CHANNELS.get(values["notify_channel"])
        if needed and not applicant.get(needed):
            raise WebError(422, f"notify_needs_{needed}")
        if values["receiving_point"] not in DESKS:
            raise WebError(422, "desk_unknown")
        files = [
            (label, item)
            for field, label in DOCUMENT_FIELDS
            for item in form.getlist(field)
            if isinstance(item, UploadFile) and item.filename
        ]
        if not any(label == "doc_form_label" for label, _ in files):
            raise WebError(422, "document_missing")
        documents = []
        for label, item in files:
            content = await item.read(max_document_bytes() + 1)
            name = f"{t(label)}: {item.filename}"[:200]
            documents.append(
                await send_document(
                    web_of(request).backend,
                    "/online/documents",
                    session.token,
                    content,
                    item.content_type or "application/octet-stream",
                    {"name": name},
                    # sealed under the applicant's data key (intake; docs/security/personal-data.md)
                    headers={"X-Applicant-Citizen-Id": applicant["citizen_id"]},
                )
            )
    except WebError as exc:
        return await _form(request, session, procedure, values, exc.status, exc)
    except BackendError as exc:
        if exc.status >= 500:
            raise
        return await _form(request, session, procedure, values, exc.status, exc)
    draft_id = secrets.token_urlsafe(12)
    session.drafts[draft_id] = {
        "body": {
            "procedure_code": procedure["code"],
            "applicant": applicant,
            "receiving_point": values["receiving_point"],
            "documents": [d["document_id"] for d in documents],
            "postal_return": values["postal_return"] == "on",
            **({"notify_channel": values["notify_channel"]} if values["notify_channel"] else {}),
        },
        "documents": documents,
    }
    while len(session.drafts) > DRAFTS_KEPT:
        del session.drafts[next(iter(session.drafts))]
    return web_of(request).render(
        request,
        "online_summary.html",
        session=session,
        procedure=procedure,
        values=values,
        desk=name_of(values["receiving_point"]),
        documents=documents,
        draft_id=draft_id,
    )


def _applicant(values: dict[str, str]) -> dict[str, Any]:
    applicant: dict[str, Any] = {k: values[k] for k in ("full_name", "citizen_id", "address")}
    if not all(applicant.values()):
        raise WebError(422, "applicant_missing")
    if not re.fullmatch(r"\d{12}", values["citizen_id"]):
        raise WebError(422, "citizen_id_invalid")
    if values["date_of_birth"]:
        match = _DMY.match(values["date_of_birth"])
        if match is None:
            raise WebError(422, "date_invalid")
        d, m, y = (int(g) for g in match.groups())
        applicant["date_of_birth"] = f"{y:04d}-{m:02d}-{d:02d}"
    for optional in ("phone", "email"):
        if values[optional]:
            applicant[optional] = values[optional]
    return applicant


@router.post("/online/confirm")
async def confirm(request: Request) -> Response:
    session = _citizen(request)
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    draft = session.drafts.pop(str(form.get("draft", "")), None)
    if draft is None:
        raise WebError(409, "draft_gone")
    made = await web_of(request).backend.call(
        "intake", "POST", "/online/filings", session.token, json=draft["body"]
    )
    if made.get("tracking_secret"):
        session.remember_receipt(made["code"], made["tracking_secret"])
    return see_other(f"/online/filings/{made['code']}")


@router.get("/online/filings/{code}", response_class=HTMLResponse)
async def my_filing(request: Request, code: str) -> Response:
    session = _citizen(request)
    if not _CODE.match(code):
        raise WebError(404, "not_found")
    web = web_of(request)
    filing = await web.backend.call("intake", "GET", f"/online/filings/{code}", session.token)
    secret = session.receipts.get(code)
    tracking_url = f"{web.config.public_url}/track/{code}?s={secret}" if secret else None
    return web.render(
        request,
        "online_filed.html",
        session=session,
        filing=filing,
        procedure=await request.app.state.procedures.get(filing["procedure_code"]) or {},
        secret=secret,
        tracking_url=tracking_url,
        qr=qr_svg(tracking_url, tracking_url) if tracking_url else None,
    )


@router.post("/online/filings/{code}/completion", response_class=HTMLResponse)
async def complete_online(request: Request, code: str) -> Response:
    """The citizen uploads what the desk asked for and files again (intake puts it back in the
    desk's queue); the documents are sealed under the applicant's key like the first ones."""
    session = _citizen(request)
    if not _CODE.match(code):
        raise WebError(404, "not_found")
    form = await request.form(max_files=10)
    check_csrf(session, form.get("csrf"))
    web = web_of(request)
    filing = await web.backend.call("intake", "GET", f"/online/filings/{code}", session.token)
    files = [item for item in form.getlist("documents") if isinstance(item, UploadFile) and item.filename]
    try:
        if not files:
            raise WebError(422, "document_missing")
        ids = []
        for item in files:
            made = await send_document(
                web.backend,
                "/online/documents",
                session.token,
                await item.read(max_document_bytes() + 1),
                item.content_type or "application/octet-stream",
                {"name": f"{t('complete_online_file')}: {item.filename}"[:200]},
                headers={"X-Applicant-Citizen-Id": str(filing["applicant"]["citizen_id"])},
            )
            ids.append(made["document_id"])
        await web.backend.call(
            "intake", "POST", f"/online/filings/{code}/completion", session.token, json={"documents": ids}
        )
    except (WebError, BackendError) as exc:
        if isinstance(exc, BackendError) and exc.status >= 500:
            raise
        return web.render(
            request,
            "online_filed.html",
            exc.status,
            session=session,
            filing=filing,
            procedure=await request.app.state.procedures.get(filing["procedure_code"]) or {},
            secret=None,
            tracking_url=None,
            qr=None,
            error=exc,
        )
    return see_other(f"/online/filings/{code}")


# -- the desk ---------------------------------------------------------------------------------


@router.get("/desk/online", response_class=HTMLResponse)
async def desk_queue(request: Request) -> Response:
    session = _desk(request)
    web = web_of(request)
    filings = await web.backend.call("intake", "GET", "/online/queue", session.token)
    procedures = {p["code"]: p for p in await request.app.state.procedures.all()}
    return web.render(request, "desk_online.html", session=session, filings=filings, procedures=procedures)


@router.get("/desk/online/{code}", response_class=HTMLResponse)
async def desk_filing(request: Request, code: str, done: str = "") -> Response:
    session = _desk(request)
    return await _desk_filing(request, session, code, done=done)


async def _desk_filing(
    request: Request, session: Session, code: str, status: int = 200, error: Any = None, done: str = ""
) -> Response:
    if not _CODE.match(code):
        raise WebError(404, "not_found")
    web = web_of(request)
    filing = await web.backend.call(
        "intake",
        "GET",
        f"/online/filings/{code}",
        session.token,
    )
    return web.render(
        request,
        "desk_online_filing.html",
        status,
        session=session,
        filing=filing,
        procedure=await request.app.state.procedures.get(filing["procedure_code"]) or {},
        birth=day_of(filing["applicant"].get("date_of_birth")),
        error=error,
        done=done if done in ("received", "incomplete", "refused") else "",
    )


def day_of(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return day(date.fromisoformat(iso))
    except ValueError:
        return iso


ACTIONS = {
    "receive": ("/receive", "received"),
    "completion": ("/completion-request", "incomplete"),
    "refusal": ("/refusal", "refused"),
}


@router.post("/desk/online/{code}/{action}", response_class=HTMLResponse)
async def desk_act(request: Request, code: str, action: str) -> Response:
    session = _desk(request)
    if not _CODE.match(code) or action not in ACTIONS:
        raise WebError(404, "not_found")
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    body: dict[str, Any] = {}
    if action == "completion":
        items = [line.strip() for line in str(form.get("missing_items", "")).splitlines() if line.strip()]
        body["missing_items"] = items
    elif action == "refusal":
        body["reasons"] = str(form.get("reasons", "")).strip()
    path, outcome = ACTIONS[action]
    try:
        await web_of(request).backend.call(
            "intake", "POST", f"/online/filings/{code}{path}", session.token, json=body
        )
    except BackendError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        return await _desk_filing(request, session, code, exc.status, exc)
    return see_other(f"/desk/online/{code}?done={outcome}")


@router.get("/desk/online/{code}/documents/{document_id}")
@router.get("/online/filings/{code}/documents/{document_id}")
async def document(request: Request, code: str, document_id: str) -> Response:
    """A filed document, through the web: the services decide who may read it."""
    session = web_of(request).session(request)
    if not _CODE.match(code) or not _ID.match(document_id):
        raise WebError(404, "not_found")
    content, media_type = await fetch_document(
        web_of(request).backend, f"/online/filings/{code}/documents/{document_id}", session.token
    )
    return Response(
        content,
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )
