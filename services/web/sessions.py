"""Server-side sessions: the browser holds a random id, the server holds the user's token.

In memory, per process: a restart signs everyone out, and two web processes do not share
sessions. Enough for one web process at a centre; a shared store (PostgreSQL, Redis) is the
step before running several (docs/web.md).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from shared.auth.principal import Principal

COOKIE = "motcua_session"
# A desk officer's working day; the token's own expiry ends the session earlier if it comes first.
MAX_AGE_S = 9 * 3600
# Receipts whose tracking secret the session keeps so the desk can print them again.
RECEIPTS_KEPT = 50


@dataclass
class Session:
    id: str
    token: str
    principal: Principal
    expires_at: float
    # the access token's own expiry: the web refreshes it shortly before (refresh_token)
    token_expires_at: float = 0.0
    refresh_token: str | None = None
    # kept for log-out: the provider's end_session_endpoint takes it as id_token_hint
    id_token: str | None = None
    # sent back with every form: a POST without it was not made from our page
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # dossier code -> tracking secret, for the receipts this desk printed in this session only
    # (the secret is returned once by intake and stored nowhere else in clear)
    receipts: dict[str, str] = field(default_factory=dict)
    # a citizen's online filings waiting for their confirmation: draft id -> the intake request
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def remember_receipt(self, code: str, secret: str) -> None:
        self.receipts[code] = secret
        while len(self.receipts) > RECEIPTS_KEPT:
            del self.receipts[next(iter(self.receipts))]


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def create(
        self,
        token: str,
        principal: Principal,
        token_expires_at: float,
        *,
        refresh_token: str | None = None,
        refresh_expires_at: float | None = None,
        id_token: str | None = None,
    ) -> Session:
        """A session lives as long as its tokens can be renewed: the refresh token's lifetime
        when there is one, else the access token's — never beyond a working day."""
        self._sweep()
        renewable_until = (
            (refresh_expires_at or time.time() + MAX_AGE_S) if refresh_token else token_expires_at
        )
        session = Session(
            id=secrets.token_urlsafe(32),
            token=token,
            principal=principal,
            expires_at=min(time.time() + MAX_AGE_S, renewable_until),
            token_expires_at=token_expires_at,
            refresh_token=refresh_token,
            id_token=id_token,
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires_at <= time.time():
            del self._sessions[session_id]
            return None
        return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def _sweep(self) -> None:
        now = time.time()
        for sid in [sid for sid, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[sid]

    def __len__(self) -> int:
        return len(self._sessions)
