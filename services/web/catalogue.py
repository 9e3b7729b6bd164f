"""The procedure catalogue as the web needs it: read once from intake's public API, then kept."""

from __future__ import annotations

import time
from typing import Any

from services.web.backend import Backend

TTL_S = 300.0  # the catalogue changes by decision of the province, not by the minute


class Procedures:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._items: list[dict[str, Any]] = []
        self._read_at = float("-inf")

    async def all(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._read_at > TTL_S:
            items = await self.backend.call("intake", "GET", "/procedures")
            self._items = list(items)
            self._read_at = time.monotonic()
        return self._items

    async def get(self, code: str) -> dict[str, Any] | None:
        return next((p for p in await self.all() if p["code"] == code), None)

    async def find(self, typed: str) -> dict[str, Any] | None:
        """What the desk typed or picked: a code, ``CODE — name`` from the list, or a name (or a
        unique part of one)."""
        text = typed.strip()
        if not text:
            return None
        head = text.split(" — ", 1)[0].strip().upper()
        items = await self.all()
        for p in items:
            if p["code"].upper() == head:
                return p
        folded = text.casefold()
        exact = [p for p in items if p["name_vi"].casefold() == folded]
        if exact:
            return exact[0]
        partial = [p for p in items if folded in p["name_vi"].casefold()]
        return partial[0] if len(partial) == 1 else None
