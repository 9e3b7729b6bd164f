"""Log-in and log-out: a password grant at the identity provider, then a server-side session."""

from __future__ import annotations

import time
from typing import Annotated

import jwt
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import LoginRefused
from services.web.context import NotSignedIn, WebError, home_path, see_other, web_of
from services.web.sessions import COOKIE
from shared.auth.verifier import InvalidToken

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root(request: Request) -> Response:
    web = web_of(request)
    try:
        return see_other(home_path(web.session(request)))
    except NotSignedIn:
        return see_other("/login")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return web_of(request).render(request, "login.html")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    web = web_of(request)
    try:
        token = await web.backend.password_grant(username.strip(), password)
    except LoginRefused:
        return web.render(request, "login.html", 401, error="login_failed", username=username)
    try:
        principal = await web.verifier.verify(token)
    except InvalidToken:
        # the provider answered with a token the services would refuse: a configuration fault
        raise WebError(502, "identity_unavailable") from None
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp", time.time())
    session = web.sessions.create(token, principal, float(expires))
    response = see_other(home_path(session))
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=int(session.expires_at - time.time()),
        httponly=True,
        samesite="lax",
        secure=web.config.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    web = web_of(request)
    web.sessions.drop(request.cookies.get(COOKIE))
    response = see_other("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/home", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    web = web_of(request)
    session = web.session(request)
    return web.render(request, "home.html", session=session)
