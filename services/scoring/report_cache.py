"""Heavy reports (the 766 index, the ranking) computed once and shared while nothing changed.

Both fold every dossier of the period at the judgement moment, which takes seconds at scale. A
report is reused while no new event was projected and for at most a few seconds (unfinished
dossiers turn overdue as time passes); concurrent requests for the same report wait for one
computation instead of each starting their own. Responses say when they were computed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from typing import Any

TTL_S = float(os.environ.get("MOTCUA_REPORT_TTL_S", "5"))


class ReportCache:
    def __init__(self, version: Callable[[], int], ttl_s: float = TTL_S, size: int = 256) -> None:
        self.version = version  # changes whenever the projection changed
        self.ttl_s = ttl_s
        self.size = size
        self._entries: dict[Hashable, tuple[int, float, datetime, Any]] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> tuple[Any, datetime]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._entries.get(key)
            if hit and hit[0] == self.version() and time.monotonic() - hit[1] < self.ttl_s:
                return hit[3], hit[2]
            version, started = self.version(), time.monotonic()
            value = await compute()
            computed_at = datetime.now(UTC)
            if len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (version, started, computed_at, value)
            return value, computed_at
