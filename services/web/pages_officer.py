"""A department's officers and leaders: work queues, and the dossier page whose buttons are
exactly the actions processing allows now (``allowed_actions``) that the user's role may take
(the services' policy table), each with the inputs it needs."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from services.web.backend import BackendError, send_document
from services.web.context import WebError, check_csrf, require_role, see_other, web_of
from services.web.explain import explanation, step_of, time_left, unit_name
from services.web.formats import LOCAL
from services.web.sessions import Session
from shared.auth.policy import POLICY
from shared.auth.principal import Role
from shared.documents import max_document_bytes
from shared.units import unit_names

router = APIRouter(prefix="/officer")

QUEUES = ("active", "due-today", "overdue", "awaiting-supplement", "awaiting-leadership", "mine")
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_LOCAL_INPUT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")


@dataclass(frozen=True)
class Button:
    """One button of the dossier page: the processing action it needs allowed, the route it
    posts to, the fixed part of its body, and the inputs the user fills."""

    action: str
    route: str
    body: tuple[tuple[str, Any], ...] = ()
    inputs: tuple[str, ...] = ()


BUTTONS: dict[str, Button] = dict(
    (
        ("assign", Button("assign", "assign", inputs=("officer",))),
        ("transfer", Button("transfer", "transfer", inputs=("to_department",))),
        (
            "request_supplement",
            Button("request_supplement", "supplement-requests", inputs=("missing_items", "reason")),
        ),
        ("receive_supplement", Button("receive_supplement", "supplement-received")),
        ("report_to_leadership", Button("report_to_leadership", "leadership-reports", inputs=("reason",))),
        (
            "acknowledge_leadership",
            Button("acknowledge_leadership", "leadership-acknowledgements", inputs=("note",)),
        ),
        ("issue_apology", Button("issue_apology", "apologies", inputs=("new_due_at", "reason"))),
        ("approve", Button("decide", "decision", (("approved", True),), inputs=("note",))),
        ("reject", Button("decide", "decision", (("approved", False),), inputs=("reasons",))),
        ("make_result_ready", Button("make_result_ready", "result-ready")),
        ("return_result", Button("return_result", "result-returned", inputs=("via", "received_by"))),
        ("close_for_no_supplement", Button("close_for_no_supplement", "close-unsupplemented")),
        ("withdraw", Button("withdraw", "withdrawal", inputs=("kind", "reason"))),
    )
)
# The inputs a user must fill (the others may stay empty).
REQUIRED = {"to_department", "missing_items", "reason", "reasons", "new_due_at"}


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
    rows: list[dict[str, Any]] = await web.backend.call(
        "processing", "GET", f"/queues/{unit}/{queue}", session.token, params={"limit": "100"}
    )
    masked: dict[str, str] = {}
    if rows:
        masked = await web.backend.call(
            "intake",
            "GET",
            "/applicants/masked",
            session.token,
            params=[("code", r["dossier_code"]) for r in rows],  # type: ignore[arg-type]
        )
    now = datetime.now(UTC)
    procedures = request.app.state.procedures
    for row in rows:
        procedure = await procedures.get(row.get("procedure_code") or "") or {}
        row["procedure_name"] = procedure.get("name_vi") or row.get("procedure_code") or ""
        row["applicant"] = masked.get(row["dossier_code"], "")
        row["left"], row["late"] = time_left(row["due_at"], now, paused=row["state"] == "awaiting_supplement")
    return web.render(
        request,
        "queues.html",
        session=session,
        queues=QUEUES,
        current=queue,
        rows=rows,
        unit=unit,
        unit_name=unit_name(unit) or unit,
    )


@router.get("/dossiers/{code}", response_class=HTMLResponse)
async def dossier(request: Request, code: str, done: str = "") -> Response:
    session = _officer_session(request)
    _check_code(code)
    web = web_of(request)
    case, history = await asyncio.gather(
        web.backend.call("processing", "GET", f"/dossiers/{code}", session.token),
        web.backend.call("processing", "GET", f"/dossiers/{code}/history", session.token),
    )
    for row in history:
        row["step"] = step_of(row)
        row["unit_name"] = unit_name(row["actor"].get("agency")) or row["actor"].get("agency", "")
    procedure = await request.app.state.procedures.get(case["procedure_code"]) or {}
    return web.render(
        request,
        "dossier.html",
        session=session,
        case=case,
        history=history,
        procedure=procedure,
        department_name=unit_name(case["department_code"]),
        explanation=explanation(case, history),
        buttons=buttons_for(case["allowed_actions"], session),
        departments=[
            u for u in unit_names().values() if u.kind == "department" and u.code != case["department_code"]
        ],
        done=done if done in BUTTONS or done == "issue_result" else "",
        can_issue_result="issue_result" in case["allowed_actions"] and _may_issue(session),
        forms=_forms_of(history),
    )


def _forms_of(history: list[dict[str, Any]]) -> list[str]:
    """The printed forms this dossier has now (the control sheet always)."""
    events = {row["event"] for row in history}
    forms = []
    if "SupplementRequested" in events:
        forms.append("02")
    if "Decided" in events and any(
        r["event"] == "Decided" and not r["details"].get("approved") for r in history
    ):
        forms.append("03")
    if "ApologyIssued" in events:
        forms.append("04")
    if events & {"Stopped", "ClosedForNoSupplement"}:
        forms.append("05")
    return [*forms, "06"]


def buttons_for(allowed: list[str], session: Session) -> list[str]:
    """The buttons for what processing allows now, in its order, that the user's role may use
    (the services' policy table); none for a reader (auditor)."""
    roles = session.principal.roles
    shown = []
    for action in allowed:
        for name, button in BUTTONS.items():
            rule = POLICY["processing"].get(("POST", f"/dossiers/{{code}}/{button.route}"))
            if button.action == action and rule is not None and rule.roles & roles:
                shown.append(name)
    return shown


def _may_issue(session: Session) -> bool:
    rule = POLICY["processing"].get(("POST", "/dossiers/{code}/result-document"))
    return rule is not None and bool(rule.roles & session.principal.roles)


@router.post("/dossiers/{code}/result-document", response_class=HTMLResponse)
async def issue_result(request: Request, code: str) -> Response:
    """The officer uploads the decision's result: processing stores, signs and publishes it."""
    session = _officer_session(request)
    _check_code(code)
    form = await request.form(max_files=1)
    check_csrf(session, form.get("csrf"))
    item = form.get("result")
    if not isinstance(item, UploadFile) or not item.filename:
        raise WebError(422, "result_file_missing")
    content = await item.read(max_document_bytes() + 1)
    name = str(form.get("name", "")).strip()[:200] or "Kết quả giải quyết"
    try:
        await send_document(
            web_of(request).backend,
            f"/dossiers/{code}/result-document",
            session.token,
            content,
            item.content_type or "application/octet-stream",
            {"name": name},
            service="processing",
        )
    except BackendError as exc:
        if exc.status >= 500:
            raise
        raise WebError(exc.status, exc.code, exc.vi, exc.en) from None
    return see_other(f"/officer/dossiers/{code}?done=issue_result")


def _body(button: Button, form: Any, session: Session) -> dict[str, Any]:
    body: dict[str, Any] = dict(button.body)
    values = {name: str(form.get(name, "")).strip()[:4000] for name in button.inputs}
    for name in button.inputs:
        if name in REQUIRED and not values[name]:
            raise WebError(422, f"{name}_required")
    if "officer" in values:
        body["officer"] = values["officer"] or session.principal.user_id
    if "to_department" in values:
        body["to_department"] = values["to_department"]
    if "missing_items" in values:
        body["missing_items"] = [
            line.strip() for line in values["missing_items"].splitlines() if line.strip()
        ]
    for name in ("reason", "reasons", "received_by"):
        if values.get(name):
            body[name] = values[name]
    if values.get("note"):
        body["note" if button.action == "acknowledge_leadership" else "reasons"] = values["note"]
    if "new_due_at" in values:
        if not _LOCAL_INPUT.match(values["new_due_at"]):
            raise WebError(422, "new_due_at_required")
        local = datetime.fromisoformat(values["new_due_at"]).replace(tzinfo=LOCAL)
        body["new_due_at"] = local.isoformat()
    if "via" in values:
        body["via"] = values["via"] if values["via"] in ("desk", "post") else "desk"
    if "kind" in values:
        body["kind"] = values["kind"] if values["kind"] in ("withdrawn", "stopped") else "withdrawn"
    return body


@router.post("/dossiers/{code}/actions/{name}", response_class=HTMLResponse)
async def act(request: Request, code: str, name: str) -> Response:
    session = _officer_session(request)
    _check_code(code)
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    button = BUTTONS.get(name)
    if button is None:
        raise WebError(404, "not_found")
    body = _body(button, form, session)
    web = web_of(request)
    try:
        await web.backend.call(
            "processing", "POST", f"/dossiers/{code}/{button.route}", session.token, json=body
        )
    except BackendError as exc:
        if exc.status >= 500:
            raise
        raise WebError(exc.status, exc.code, exc.vi, exc.en) from None
    return see_other(f"/officer/dossiers/{code}?done={name}")
