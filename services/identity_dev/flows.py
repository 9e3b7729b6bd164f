"""The provider's side of the authorization code flow: clients, codes, refresh tokens, sessions.

No framework here: the app module turns HTTP into these calls. Everything is in memory — the
development provider forgets its sessions on restart, which only signs people out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

CODE_TTL_S = 60  # RFC 6749 §4.1.2: short-lived; Keycloak's default is one minute
REFRESH_TTL_S = 10 * 3600
SSO_TTL_S = 10 * 3600


@dataclass(frozen=True)
class Client:
    """A registered relying party: its secret and the exact URIs it may be sent back to."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()

    def authenticates(self, secret: str) -> bool:
        return hmac.compare_digest(secret.encode(), self.secret.encode())


@dataclass(frozen=True)
class Grant:
    """What an authorization code or a refresh token stands for."""

    client_id: str
    username: str
    session_id: str
    redirect_uri: str = ""
    code_challenge: str = ""
    nonce: str = ""
    expires_at: float = 0.0


class FlowError(Exception):
    """An OAuth error (RFC 6749 §5.2): its code and a description for the developer."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Flows:
    clients: dict[str, Client]
    _codes: dict[str, Grant] = field(default_factory=dict)
    _refresh: dict[str, Grant] = field(default_factory=dict)
    # provider (SSO) session id -> (user name, expiry)
    _sessions: dict[str, tuple[str, float]] = field(default_factory=dict)

    def client(self, client_id: str) -> Client:
        found = self.clients.get(client_id)
        if found is None:
            raise FlowError("invalid_client", "unknown client", 401)
        return found

    def check_request(
        self, client_id: str, redirect_uri: str, response_type: str, method: str, challenge: str
    ) -> Client:
        """An authorization request this provider will serve (before the user is asked anything)."""
        client = self.client(client_id)
        if redirect_uri not in client.redirect_uris:
            # never redirect to an unregistered URI: that would hand the code to anyone
            raise FlowError("invalid_request", "redirect_uri is not registered for this client")
        if response_type != "code":
            raise FlowError("unsupported_response_type", "only the authorization code flow")
        if method != "S256" or not (43 <= len(challenge) <= 128):
            raise FlowError("invalid_request", "PKCE with S256 is required")
        return client

    def start_session(self, username: str) -> str:
        self._sweep()
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = (username, time.time() + SSO_TTL_S)
        return sid

    def session_user(self, sid: str | None) -> str | None:
        found = self._sessions.get(sid or "")
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    def end_session(self, sid: str | None) -> None:
        self._sessions.pop(sid or "", None)
        # refresh tokens of the ended session die with it: log-out is log-out everywhere
        for token in [t for t, g in self._refresh.items() if g.session_id == sid]:
            del self._refresh[token]

    def issue_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = Grant(**{**grant.__dict__, "expires_at": time.time() + CODE_TTL_S})
        return code

    def redeem_code(self, code: str, client: Client, redirect_uri: str, verifier: str) -> Grant:
        # popped before any check: a code is tried once, right or wrong (RFC 6749 §4.1.2)
        grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at <= time.time():
            raise FlowError("invalid_grant", "unknown, expired or already used code")
        if grant.client_id != client.client_id or grant.redirect_uri != redirect_uri:
            raise FlowError("invalid_grant", "the code was issued to another client or redirect_uri")
        if not hmac.compare_digest(s256(verifier).encode(), grant.code_challenge.encode()):
            raise FlowError("invalid_grant", "PKCE verification failed")
        if self.session_user(grant.session_id) is None:
            raise FlowError("invalid_grant", "the session has ended")
        return grant

    def issue_refresh(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(32)
        self._refresh[token] = Grant(
            client_id=grant.client_id,
            username=grant.username,
            session_id=grant.session_id,
            expires_at=time.time() + REFRESH_TTL_S,
        )
        return token

    def redeem_refresh(self, token: str, client: Client) -> Grant:
        # rotated: each refresh token is used once (RFC 9700 §2.2.2)
        grant = self._refresh.pop(token, None)
        if grant is None or grant.expires_at <= time.time() or grant.client_id != client.client_id:
            raise FlowError("invalid_grant", "unknown, expired or already used refresh token")
        if self.session_user(grant.session_id) is None:
            raise FlowError("invalid_grant", "the session has ended")
        return grant

    def _sweep(self) -> None:
        now = time.time()
        for store in (self._codes, self._refresh):
            for key in [k for k, g in store.items() if g.expires_at <= now]:
                del store[key]
        for sid in [s for s, (_, exp) in self._sessions.items() if exp <= now]:
            del self._sessions[sid]
