"""Operations: consumer lag, dead letters with a redrive button, replays with live progress.

Every figure comes from scoring's ``/ops`` API, called with the operator's token; auditors read
the same pages without the buttons (the API refuses them the commands anyway). The pages work
without JavaScript (forms post and redirect back); with htmx the lag table and a running
replay's progress refresh themselves, and a redrive answers in its own row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import BackendError
from services.web.context import WebError, check_csrf, require_role, see_other, web_of
from services.web.sessions import Session
from shared.auth.principal import Role

router = APIRouter(prefix="/ops")

_SCHEMA = re.compile(r"^[a-z_]{1,32}$")
_REPLAY_ID = re.compile(r"^[0-9a-f]{1,64}$")
REDRIVE_OUTCOMES = ("processed", "already_processed", "already_redriven")


def _ops_session(request: Request) -> Session:
    session = web_of(request).session(request)
    require_role(session, Role.OPS, Role.AUDITOR)
    return session


def _may_act(session: Session) -> bool:
    return Role.OPS in session.principal.roles


def _partial(request: Request) -> bool:
    """An htmx request wants the fragment it swaps in, not the whole page."""
    return request.headers.get("hx-request") == "true"


@router.get("", response_class=HTMLResponse)
async def ops_home(request: Request) -> Response:
    _ops_session(request)
    return see_other("/ops/lag")


@router.get("/lag", response_class=HTMLResponse)
async def lag(request: Request) -> Response:
    session = _ops_session(request)
    web = web_of(request)
    info = await web.backend.call("scoring", "GET", "/ops/lag", session.token)
    template = "ops_lag_table.html" if _partial(request) else "ops_lag.html"
    return web.render(
        request, template, session=session, tab="lag", info=info, refreshed_at=datetime.now(UTC)
    )


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters(request: Request) -> Response:
    session = _ops_session(request)
    web = web_of(request)
    letters = await web.backend.call(
        "scoring", "GET", "/ops/dead-letters", session.token, params={"include_redriven": "true"}
    )
    return web.render(
        request,
        "ops_dead_letters.html",
        session=session,
        tab="dead",
        letters=letters,
        may_act=_may_act(session),
    )


@router.post("/dead-letters/{schema}/{letter_id}/redrive", response_class=HTMLResponse)
async def redrive(request: Request, schema: str, letter_id: int) -> Response:
    session = _ops_session(request)
    check_csrf(session, (await request.form()).get("csrf"))
    if not _SCHEMA.match(schema):
        raise WebError(404, "not_found")
    web = web_of(request)
    try:
        answer = await web.backend.call(
            "scoring", "POST", f"/ops/dead-letters/{schema}/{letter_id}/redrive", session.token
        )
    except BackendError as exc:
        if not _partial(request) or exc.status == 401:
            raise
        # the refusal in the letter's own row, with the service's status, code and messages
        return web.render(
            request, "ops_redrive_result.html", exc.status, session=session, error=exc, answer=None
        )
    if _partial(request):
        return web.render(request, "ops_redrive_result.html", session=session, error=None, answer=answer)
    outcome = answer.get("outcome")
    return see_other(f"/ops/dead-letters?done={outcome if outcome in REDRIVE_OUTCOMES else ''}")


@router.get("/replay", response_class=HTMLResponse)
async def replays(request: Request) -> Response:
    session = _ops_session(request)
    web = web_of(request)
    recent = await web.backend.call("scoring", "GET", "/ops/replays", session.token)
    return web.render(
        request, "ops_replays.html", session=session, tab="replay", recent=recent, may_act=_may_act(session)
    )


@router.post("/replay", response_class=HTMLResponse)
async def start_replay(request: Request) -> Response:
    session = _ops_session(request)
    check_csrf(session, (await request.form()).get("csrf"))
    web = web_of(request)
    try:
        started = await web.backend.call("scoring", "POST", "/ops/replays", session.token)
    except BackendError as exc:
        running = exc.details.get("running")
        if exc.code == "replay_running" and isinstance(running, str) and _REPLAY_ID.match(running):
            return see_other(f"/ops/replay/{running}")  # follow the one that runs
        raise
    return see_other(f"/ops/replay/{started['id']}")


@router.get("/replay/{replay_id}", response_class=HTMLResponse)
async def replay(request: Request, replay_id: str) -> Response:
    session = _ops_session(request)
    if not _REPLAY_ID.match(replay_id):
        raise WebError(404, "not_found")
    web = web_of(request)
    progress: dict[str, Any] = await web.backend.call(
        "scoring", "GET", f"/ops/replays/{replay_id}", session.token
    )
    template = "ops_replay_progress.html" if _partial(request) else "ops_replay.html"
    return web.render(request, template, session=session, tab="replay", replay=progress)
