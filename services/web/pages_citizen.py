"""The citizen's tracking page: what the QR code on the receipt opens. Public (the secret is the
key), no personal data, readable on a phone."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.backend import BackendError, fetch_document
from services.web.context import web_of
from services.web.explain import citizen_explanation, step_of

router = APIRouter()
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_CHARGE = re.compile(r"^[0-9a-f-]{36}$")


@router.get("/track", response_class=HTMLResponse)
async def track_form(request: Request) -> Response:
    return _no_referrer(web_of(request).render(request, "track.html", view=None))


@router.get("/track/{code}", response_class=HTMLResponse)
async def track(request: Request, code: str, s: Annotated[str, Query(max_length=64)] = "") -> Response:
    web = web_of(request)
    if not _CODE.match(code) or not s:
        return _no_referrer(web.render(request, "track.html", 404, view=None, error_key="track_not_found"))
    # The services limit tracking per client address: say whose request this is.
    client = request.client.host if request.client else ""
    headers = {"X-Tracking-Secret": s, **({"X-Forwarded-For": client} if client else {})}
    try:
        view = await web.backend.call("processing", "GET", f"/track/{code}", headers=headers)
    except BackendError as exc:
        if exc.status >= 500:
            raise
        try:
            # not (yet) a case in processing: a filing made online that the desk has not received
            view = await web.backend.call("intake", "GET", f"/track/{code}", headers=headers)
        except BackendError as online_exc:
            if online_exc.status >= 500:
                raise
            return _no_referrer(
                web.render(request, "track.html", exc.status, view=None, error=exc, code=code)
            )
    charges = await _charges(web, code, headers)
    # The services' clock speaks English with Vietnamese in brackets: the citizen reads Vietnamese.
    for step in view.get("history") or []:
        step["step"] = step_of(step)
    return _no_referrer(
        web.render(
            request,
            "track.html",
            view=view,
            code=code,
            secret=s,
            rated=request.query_params.get("rated") == "1",
            charges=charges,
            explanation=citizen_explanation(view) if view.get("received_at") else [],
        )
    )


@router.post("/track/{code}/rating", response_class=HTMLResponse)
async def rate(request: Request, code: str) -> Response:
    """The citizen's rating (5-level scale, once per dossier, after the result): processing checks
    the secret and the rules; the page shows their answer. The secret is the form's key, so no
    session (and no CSRF token, which a page without a session could not check) is involved."""
    web = web_of(request)
    form = await request.form()
    secret, score, comment = (str(form.get(k) or "") for k in ("s", "score", "comment"))
    if not _CODE.match(code) or not secret or len(secret) > 64:
        return _no_referrer(web.render(request, "track.html", 404, view=None, error_key="track_not_found"))
    if score not in {"1", "2", "3", "4", "5"}:
        return _no_referrer(
            web.render(request, "track.html", 422, view=None, error_key="rating_pick", code=code)
        )
    client = request.client.host if request.client else ""
    headers = {"X-Tracking-Secret": secret, **({"X-Forwarded-For": client} if client else {})}
    body = {"score": int(score), **({"comment": comment.strip()[:1000]} if comment.strip() else {})}
    try:
        await web.backend.call("processing", "POST", f"/track/{code}/rating", json=body, headers=headers)
    except BackendError as exc:
        if exc.status >= 500:
            raise
        return _no_referrer(web.render(request, "track.html", exc.status, view=None, error=exc, code=code))
    return _no_referrer(RedirectResponse(f"/track/{code}?s={quote(secret)}&rated=1", status_code=303))


async def _charges(web: Any, code: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The dossier's fees and obligations, if the web knows payments; none when it does not answer
    (the page still tells the dossier's status: paying is a part of it, not a condition)."""
    if "payments" not in web.config.services:
        return []
    try:
        found = await web.backend.call("payments", "GET", f"/track/{code}/charges", headers=headers)
    except BackendError:
        return []
    return list(found)


@router.post("/track/{code}/charges/{charge_id}/pay", response_class=HTMLResponse)
async def pay(request: Request, code: str, charge_id: str) -> Response:
    """Online payment of a fee or obligation: payments opens the platform's checkout, the page
    sends the citizen there (the platform calls payments back, signed, once paid)."""
    web = web_of(request)
    form = await request.form()
    secret = str(form.get("s") or "")
    if not _CODE.match(code) or not _CHARGE.match(charge_id) or not secret or len(secret) > 64:
        return _no_referrer(web.render(request, "track.html", 404, view=None, error_key="track_not_found"))
    client = request.client.host if request.client else ""
    headers = {"X-Tracking-Secret": secret, **({"X-Forwarded-For": client} if client else {})}
    try:
        made = await web.backend.call(
            "payments", "POST", f"/track/{code}/charges/{charge_id}/checkout", headers=headers
        )
    except BackendError as exc:
        if exc.status >= 500:
            raise
        return _no_referrer(web.render(request, "track.html", exc.status, view=None, error=exc, code=code))
    return _no_referrer(RedirectResponse(str(made["pay_url"]), status_code=303))


@router.get("/track/{code}/result")
async def track_result(request: Request, code: str, s: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The electronic result, through the tracking link: processing checks the secret and the hash."""
    web = web_of(request)
    if not _CODE.match(code) or not s:
        return _no_referrer(web.render(request, "track.html", 404, view=None, error_key="track_not_found"))
    client = request.client.host if request.client else ""
    headers = {"X-Tracking-Secret": s, **({"X-Forwarded-For": client} if client else {})}
    try:
        content, media_type = await fetch_document(
            web.backend, f"/track/{code}/result", None, service="processing", headers=headers
        )
    except BackendError as exc:
        if exc.status >= 500:
            raise
        return _no_referrer(web.render(request, "track.html", exc.status, view=None, error=exc, code=code))
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(media_type, "bin")
    return _no_referrer(
        Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="ket-qua-{code}.{extension}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    )


def _no_referrer(response: Response) -> Response:
    # The URL carries the tracking secret: never hand it to another site as a referrer, never cache it.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
