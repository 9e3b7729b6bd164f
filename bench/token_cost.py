"""What checking a bearer token costs a service: ``python -m bench.token_cost``.

Measured in process, with the services' own verifier built from the same settings they read
(``shared.auth.settings.verifier_from_env``) against the bench's development issuer (RS256,
2048-bit key, JWKS from a file). Tokens are signed beforehand: signing is the identity
provider's cost, not ours.

* ``cached``: the same token again, as every request of a desk officer's session after the
  first (the verifier remembers verified tokens until they expire): a SHA-256 and a lookup;
* ``uncached``: a new token each time (the first request of a session, or a client that
  signs in per request): header, key lookup, RS256 signature and claims, the principal;
* ``jwt.decode``: PyJWT's signature and claims check alone, the floor of ``uncached``;
* ``guard``: what the services' access guard adds to a request (route match, the policy
  lookup, the cached verification, the caller handed to the handler), as the difference between
  the same ``POST /dossiers`` route in an app with and without the guard (in process, ASGI).

CPU time per call (``time.process_time``), so the figure does not move with the neighbours.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import FastAPI, Response

from bench.identity import DESK_USER, identity_env, issuer_in
from shared.auth.dev_issuer import demo_user
from shared.auth.guard import acting_caller, install_guard
from shared.auth.settings import verifier_from_env


def _median_us(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1e6, 1)


async def _measure(n_cached: int, n_uncached: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="motcua-bench-token-") as folder:
        issuer, jwks = issuer_in(Path(folder))
        saved = {k: os.environ.get(k) for k in identity_env(issuer, jwks)}
        os.environ.update(identity_env(issuer, jwks))
        try:
            verifier = verifier_from_env()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        user = demo_user(DESK_USER)
        session = issuer.token_for(user)
        await verifier.verify(session)  # the JWKS read once, as at a service's first request
        key = (await verifier.jwks.key(issuer.kid)).key  # type: ignore[union-attr]
        samples: dict[str, list[float]] = {"cached": [], "uncached": [], "decode": []}
        # Alternating rounds, median per kind: a busy neighbour slows one round, not one kind.
        for _ in range(rounds):
            fresh = [issuer.token_for(user) for _ in range(n_uncached)]
            others = [issuer.token_for(user) for _ in range(n_uncached)]

            began = time.process_time()
            for _ in range(n_cached):
                await verifier.verify(session)
            samples["cached"].append((time.process_time() - began) / n_cached)

            began = time.process_time()
            for token in fresh:
                await verifier.verify(token)
            samples["uncached"].append((time.process_time() - began) / n_uncached)

            began = time.process_time()
            for token in others:
                jwt.decode(
                    token, key=key, algorithms=["RS256"], audience=issuer.audience, issuer=issuer.issuer
                )
            samples["decode"].append((time.process_time() - began) / n_uncached)
        samples["guard"] = await _guard_samples(verifier, session, rounds)
    return {
        "algorithm": "RS256 (2048-bit)",
        "token_bytes": len(session),
        "cached_us": _median_us(samples["cached"]),
        "uncached_us": _median_us(samples["uncached"]),
        "jwt_decode_us": _median_us(samples["decode"]),
        "guard_us": _median_us(samples["guard"]),
        "calls": {"cached": n_cached, "uncached": n_uncached, "rounds": rounds},
    }


async def _guard_samples(verifier: Any, token: str, rounds: int, n: int = 2_000) -> list[float]:
    """CPU per request with the guard minus without it, per round."""

    def app(guarded: bool) -> FastAPI:
        made = FastAPI()
        made.state.verifier = verifier
        if guarded:
            install_guard(made, "intake")

            @made.post("/dossiers")
            async def receive() -> Response:
                acting_caller()  # as every guarded handler reads the verified caller
                return Response(b"{}", status_code=201, media_type="application/json")

        else:

            @made.post("/dossiers")
            async def receive_open() -> Response:
                return Response(b"{}", status_code=201, media_type="application/json")

        return made

    headers = {"Authorization": f"Bearer {token}"}
    clients = {
        guarded: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app(guarded)), base_url="http://x", headers=headers
        )
        for guarded in (True, False)
    }
    differences = []
    try:
        for _ in range(rounds):
            spent = {}
            for guarded, client in clients.items():
                assert (await client.post("/dossiers", content=b"{}")).status_code == 201
                began = time.process_time()
                for _ in range(n):
                    await client.post("/dossiers", content=b"{}")
                spent[guarded] = (time.process_time() - began) / n
            differences.append(spent[True] - spent[False])
    finally:
        for client in clients.values():
            await client.aclose()
    return differences


def measure(n_cached: int = 20_000, n_uncached: int = 300, rounds: int = 5) -> dict[str, Any]:
    """CPU µs per ``TokenVerifier.verify`` (cached, uncached) and per ``jwt.decode``."""
    return asyncio.run(_measure(n_cached, n_uncached, rounds))


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
