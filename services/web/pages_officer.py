"""A department's officers and leaders: work queues, and the dossier page whose buttons are
exactly the actions processing allows now (``allowed_actions``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import BackendError
from services.web.context import WebError, check_csrf, require_role, see_other, web_of
from services.web.sessions import Session
from shared.auth.principal import Role

router = APIRouter(prefix="/officer")

QUEUES = ("active", "due-today", "overdue", "awaiting-supplement", "awaiting-leadership")
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")

# The buttons the web offers, by the processing action that must be allowed for each; an allowed
# action without a button here is done through the API for now.
BUTTONS: dict[str, tuple[str, ...]] = {
    "assign": ("assign",),
    "decide": ("approve", "reject"),
    "make_result_ready": ("make_result_ready",),
    "return_result": ("return_result",),
}
# button -> (processing route, body)
COMMANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "assign": ("assign", {}),
    "approve": ("decision", {"approved": True}),
    "reject": ("decision", {"approved": False}),
    "make_result_ready": ("result-ready", {}),
    "return_result": ("result-returned", {"via": "desk"}),
}


def _officer_session(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, Role.OFFICER, Role.LEADER, Role.AUDITOR)
    return session


def _check_code(code: str) -> None:
    if not _CODE.match(code):
        raise WebError(404, "not_found")


@router.get("", response_class=HTMLResponse)
async def officer_home(request: Request) -> Response:
    _officer_session(request)
    return see_other("/officer/queues/active")


@router.get("/queues/{queue}", response_class=HTMLResponse)
async def queue(request: Request, queue: str) -> Response:
    session = _officer_session(request)
    if queue not in QUEUES:
        raise WebError(404, "not_found")
    web = web_of(request)
    unit = session.principal.agency
    rows = await web.backend.call("processing", "GET", f"/queues/{unit}/{queue}", session.token)
    return web.render(
        request, "queues.html", session=session, queues=QUEUES, current=queue, rows=rows, unit=unit
    )


@router.get("/dossiers/{code}", response_class=HTMLResponse)
async def dossier(request: Request, code: str, done: str = "") -> Response:
    session = _officer_session(request)
    _check_code(code)
    web = web_of(request)
    case = await web.backend.call("processing", "GET", f"/dossiers/{code}", session.token)
    history = await web.backend.call("processing", "GET", f"/dossiers/{code}/history", session.token)
    return web.render(
        request,
        "dossier.html",
        session=session,
        case=case,
        history=history,
        buttons=buttons_for(case["allowed_actions"], session),
        done=done if done in COMMANDS else "",
    )


def buttons_for(allowed: list[str], session: Session) -> list[str]:
    """The buttons for what processing allows now, in its order; none for a reader (auditor)."""
    if not session.principal.roles & {Role.OFFICER, Role.LEADER}:
        return []
    return [button for action in allowed for button in BUTTONS.get(action, ())]


@router.post("/dossiers/{code}/actions/{button}", response_class=HTMLResponse)
async def act(request: Request, code: str, button: str) -> Response:
    session = _officer_session(request)
    _check_code(code)
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    if button not in COMMANDS:
        raise WebError(404, "not_found")
    route, body = COMMANDS[button]
    body = dict(body)
    reasons = str(form.get("reasons", "")).strip()[:4000]
    if route == "decision":
        if button == "reject" and not reasons:
            raise WebError(422, "reject_needs_reason")
        if reasons:
            body["reasons"] = reasons
    if route == "assign":
        body["officer"] = session.principal.user_id
    web = web_of(request)
    try:
        await web.backend.call("processing", "POST", f"/dossiers/{code}/{route}", session.token, json=body)
    except BackendError as exc:
        if exc.status >= 500:
            raise
        raise WebError(exc.status, exc.code, exc.vi, exc.en) from None
    return see_other(f"/officer/dossiers/{code}?done={button}")
