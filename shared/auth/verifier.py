"""Bearer token verification: signature against the issuer's keys, issuer, audience, time.

PyJWT does the cryptography; this module decides what is acceptable: an allow-list of
algorithms (never ``none``, never a symmetric one that a public key could be confused with),
the expected issuer and audience, ``exp`` required, and a small leeway for clock drift.
Verified tokens are remembered until they expire, so a busy desk pays for one check per token,
not one per request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import jwt

from shared.auth.claims import ClaimMap, ClaimsRefused
from shared.auth.jwks import JwksCache
from shared.auth.principal import Principal
from shared.expiring_cache import ExpiringCache

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class InvalidToken(Exception):
    """Why a token was refused (said to the caller; never echoes the token)."""


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache,
        claims: ClaimMap | None = None,
        algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256"),
        leeway_s: float = 30.0,
        cache_size: int = 4096,
    ) -> None:
        unsafe = [a for a in algorithms if a not in ALLOWED_ALGORITHMS]
        if unsafe:
            raise ValueError(f"algorithms not allowed for bearer tokens: {unsafe}")
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.claims = claims or ClaimMap()
        self.algorithms = list(algorithms)
        self.leeway_s = leeway_s
        # a verified token until it expires (on the wall clock, as its ``exp``), leeway included
        self._cache: ExpiringCache[bytes, Principal] = ExpiringCache(cache_size)

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._cache.get(digest, time.time())
        if cached is not None:
            return cached
        principal, expires = await self._verify(token)
        return self._cache.put(digest, principal, expires + self.leeway_s, time.time())

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise InvalidToken("not a JWT") from exc
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        key = await self.jwks.key(kid if isinstance(kid, str) else None)
        if key is None:
            raise InvalidToken("signed with a key the issuer does not publish")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken("the token is not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("the token is from another issuer") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from exc
        try:
            principal = self.claims.principal(claims)
        except ClaimsRefused as exc:
            raise InvalidToken(str(exc)) from exc
        return principal, float(claims["exp"])


async def verify_id_token(
    verifier: TokenVerifier, token: str, *, client_id: str, nonce: str
) -> dict[str, Any]:
    """An ID token's claims (OpenID Connect Core §3.1.3.7): signed by the issuer's keys, from the
    issuer, for this client, not expired — and carrying the nonce this log-in sent, so a token
    captured from another log-in cannot be injected here."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise InvalidToken("not a JWT") from exc
    algorithm = header.get("alg")
    if algorithm not in verifier.algorithms:
        raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
    kid = header.get("kid")
    key = await verifier.jwks.key(kid if isinstance(kid, str) else None)
    if key is None:
        raise InvalidToken("signed with a key the issuer does not publish")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=verifier.issuer,
            leeway=verifier.leeway_s,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"the ID token is not valid: {exc}") from exc
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise InvalidToken("the ID token's nonce is not this log-in's")
    azp = claims.get("azp")
    if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and azp != client_id:
        raise InvalidToken("the ID token was issued to another party")
    return claims
