"""What every page handler needs: the session, the backend, rendering, and the web's errors."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.web import formats, i18n
from services.web.backend import Backend
from services.web.config import WebConfig
from services.web.sessions import COOKIE, Session, SessionStore
from services.web.texts import TEXTS, t
from shared.auth.oidc import PendingLogins
from shared.auth.principal import Role
from shared.auth.verifier import TokenVerifier

TEMPLATES = Path(__file__).with_name("templates")


class WebError(Exception):
    """A refusal the page explains: its status, a code, and the message in both languages."""

    def __init__(self, status: int, code: str, vi: str | None = None, en: str | None = None) -> None:
        default_vi, default_en = TEXTS.get(code, (code, code))
        super().__init__(en or default_en)
        self.status = status
        self.code = code
        self.vi = vi or default_vi
        self.en = en or default_en


class NotSignedIn(Exception):
    """No session (or it expired): the page sends the browser to the log-in page."""


@dataclass
class Web:
    config: WebConfig
    backend: Backend
    sessions: SessionStore
    verifier: TokenVerifier
    templates: Jinja2Templates
    logins: PendingLogins = field(default_factory=PendingLogins)
    _refresh_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def refreshing(self, session_id: str) -> asyncio.Lock:
        """One refresh at a time per session: the provider rotates refresh tokens, so a second
        concurrent refresh with the same token would be refused and sign the user out."""
        if len(self._refresh_locks) > 2 * max(len(self.sessions), 64):
            self._refresh_locks = {k: v for k, v in self._refresh_locks.items() if v.locked()}
        return self._refresh_locks.setdefault(session_id, asyncio.Lock())

    def session(self, request: Request) -> Session:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            raise NotSignedIn
        return session

    def render(
        self, request: Request, template: str, status: int = 200, session: Session | None = None, **ctx: Any
    ) -> HTMLResponse:
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "session": session,
                "user": session.principal if session else None,
                "lang": i18n.current(),
                **ctx,
            },
            status_code=status,
        )


def new_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.globals["t"] = t
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["lang_url"] = lambda request, lang: i18n.lang_url(request.url.path, request.url.query, lang)
    env.globals["format_number"] = formats.number
    env.filters["form_time"] = formats.form_time
    env.filters["short_time"] = formats.short_time
    env.filters["clock_time"] = formats.clock_time
    env.filters["state_text"] = lambda state: t(f"state_{state}")
    env.filters["local_date"] = formats.local_date
    env.filters["verdict"] = lambda status: (
        t(f"verdict_{status}") if f"verdict_{status}" in TEXTS else t("verdict_on_time")
    )
    return templates


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def require_role(session: Session, *roles: Role) -> None:
    if not session.principal.roles & set(roles):
        raise WebError(403, "forbidden")


def check_csrf(session: Session, sent: object) -> None:
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise WebError(403, "csrf_failed")


def home_path(session: Session) -> str:
    """Where each role lands after signing in."""
    roles = session.principal.roles
    if Role.FRONT_DESK in roles:
        return "/desk"
    if Role.OPS in roles:
        return "/ops"
    if Role.LEADER in roles or Role.AUDITOR in roles or Role.OPS in roles:
        return "/leader"
    if Role.OFFICER in roles:
        return "/officer"
    if Role.CITIZEN in roles:
        return "/online"
    return "/home"


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)
