"""The issuer's signing keys (JWKS), cached, refetched when a token names a key we do not have.

An identity provider rotates its keys by publishing the new one before signing with it, so an
unknown ``kid`` means "fetch again" — but at most every ``min_refetch_s``, or a stream of forged
tokens with random ``kid``s would turn every request into a call to the provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import jwt

log = logging.getLogger(__name__)


class JwksUnavailable(Exception):
    """The issuer's keys cannot be fetched: callers answer 503, not 401."""


class JwksCache:
    def __init__(self, url: str, *, max_age_s: float = 3600.0, min_refetch_s: float = 30.0) -> None:
        self.url = url
        self.max_age_s = max_age_s
        self.min_refetch_s = min_refetch_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key ``kid`` (or the only key, for a token without ``kid``), or None if unknown."""
        now = time.monotonic()
        stale = now - self._fetched_at > self.max_age_s
        found = self._pick(kid)
        if found is not None and not stale:
            return found
        if stale or now - self._fetched_at > self.min_refetch_s:
            await self._refresh()
        return self._pick(kid)

    def _pick(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        seen = self._fetched_at
        async with self._lock:
            if self._fetched_at != seen:
                return  # another request refreshed while this one waited
            try:
                document = await _fetch(self.url)
            except (OSError, httpx.HTTPError, ValueError) as exc:
                if not self._keys:
                    raise JwksUnavailable(f"cannot fetch the issuer's keys from {self.url}: {exc}") from exc
                log.warning("JWKS refresh from %s failed; keeping the keys we have: %s", self.url, exc)
                self._fetched_at = time.monotonic()
                return
            keys: dict[str, jwt.PyJWK] = {}
            for entry in document.get("keys", []):
                if entry.get("use", "sig") != "sig":
                    continue
                try:
                    key = jwt.PyJWK(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
                    log.warning("JWKS key %s skipped: %s", entry.get("kid"), exc)
                    continue
                keys[str(entry.get("kid") or len(keys))] = key
            self._keys = keys
            self._fetched_at = time.monotonic()


async def _fetch(url: str) -> dict[str, Any]:
    parts = urlparse(url)
    if parts.scheme == "file":
        text = await asyncio.to_thread(Path(parts.path).read_text)
        document: dict[str, Any] = json.loads(text)
        return document
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.get(url)
        response.raise_for_status()
        fetched: dict[str, Any] = response.json()
        return fetched
