"""The relying party's side of the authorization code flow: PKCE, state and nonce, and the
pending log-ins they guard.

RFC 9700 (OAuth 2.0 Security Best Current Practice) asks a web client for the code flow with
PKCE (S256), a ``state`` bound to the browser, and — with OpenID Connect — a ``nonce`` checked in
the ID token. This module holds those rules without any HTTP: the web's adapter calls it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

# How long a user may spend on the provider's log-in page before the attempt is forgotten.
ATTEMPT_TTL_S = 15 * 60
# Pending attempts kept at most: a flood of /login requests must not grow memory without bound.
MAX_ATTEMPTS = 10_000


def pkce_challenge(verifier: str) -> str:
    """S256 (RFC 7636 §4.2): BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class LoginAttempt:
    state: str
    nonce: str
    # the PKCE verifier: 43 characters of 256 random bits (RFC 7636 §4.1)
    verifier: str
    created_at: float = field(default_factory=time.time)

    @classmethod
    def new(cls) -> LoginAttempt:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(32))

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)


class LoginRefused(Exception):
    """The callback does not complete a log-in this browser started (its ``code`` says why)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PendingLogins:
    """Attempts by state, each completed at most once and only by the browser that started it."""

    def __init__(self, ttl_s: float = ATTEMPT_TTL_S, limit: int = MAX_ATTEMPTS) -> None:
        self._attempts: dict[str, LoginAttempt] = {}
        self.ttl_s = ttl_s
        self.limit = limit

    def start(self) -> LoginAttempt:
        self._sweep()
        while len(self._attempts) >= self.limit:
            del self._attempts[next(iter(self._attempts))]
        attempt = LoginAttempt.new()
        self._attempts[attempt.state] = attempt
        return attempt

    def complete(self, state: str | None, browser_state: str | None) -> LoginAttempt:
        """The attempt ``state`` names — if this browser's cookie carries the same state.

        A state that does not match the browser's is a forged or crossed callback (log-in CSRF);
        one that matches but is unknown was already used (a replayed callback) or expired."""
        if not state or not browser_state or not hmac.compare_digest(state.encode(), browser_state.encode()):
            raise LoginRefused("login_state_mismatch")
        attempt = self._attempts.pop(state, None)
        if attempt is None or attempt.created_at + self.ttl_s <= time.time():
            raise LoginRefused("login_state_unknown")
        return attempt

    def _sweep(self) -> None:
        now = time.time()
        for state in [s for s, a in self._attempts.items() if a.created_at + self.ttl_s <= now]:
            del self._attempts[state]

    def __len__(self) -> int:
        return len(self._attempts)
