"""Heavy reports (the 766 index, the ranking) served from memory, refreshed behind the reader.

A report is computed once per key and kept. A reader always gets the kept copy at once, with
its age; if the projection moved since (a new event) or the copy is older than the refresh
interval (unfinished dossiers turn late as time passes), one refresh starts in the background
and the next reader gets its result. Only a first request, or one for a copy older than
``max_stale_s`` (nobody asked for a long time), waits for a computation; concurrent requests
for the same report wait for that one computation instead of each starting their own. A
refresh is never started sooner than twice its last duration (and a second) after the previous one, so a slow
report cannot keep the database busy more than half the time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TTL_S = float(os.environ.get("MOTCUA_REPORT_TTL_S", "5"))
MAX_STALE_S = float(os.environ.get("MOTCUA_REPORT_MAX_STALE_S", "60"))
MIN_REFRESH_S = float(os.environ.get("MOTCUA_REPORT_MIN_REFRESH_S", "1"))

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    value: Any
    computed_at: datetime  # when the computation started: nothing projected later is in it
    version: int  # the projection's version it saw
    duration_s: float
    refreshing: bool = False  # a newer copy is being computed

    def freshness(self, current_version: int) -> dict[str, Any]:
        return {
            "computed_at": self.computed_at.isoformat(),
            "age_s": round((datetime.now(UTC) - self.computed_at).total_seconds(), 3),
            "compute_s": round(self.duration_s, 3),
            "events_since": max(0, current_version - self.version),
            "refreshing": self.refreshing,
        }


class ReportCache:
    def __init__(
        self,
        version: Callable[[], int],
        ttl_s: float = TTL_S,
        size: int = 256,
        max_stale_s: float = MAX_STALE_S,
        min_refresh_s: float = MIN_REFRESH_S,
    ) -> None:
        self.min_refresh_s = min_refresh_s
        self.version = version  # changes whenever the projection changed
        self.ttl_s = ttl_s
        self.max_stale_s = max(max_stale_s, ttl_s)
        self.size = size
        self._entries: dict[Hashable, tuple[float, Served]] = {}  # key -> (monotonic start, report)
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Served:
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.max_stale_s:
            return await self._compute(key, compute, hit)
        started, served = hit
        age = time.monotonic() - started
        wanted = served.version != self.version() or age >= self.ttl_s
        if wanted and age >= max(self.min_refresh_s, 2 * served.duration_s):
            self._refresh(key, compute)
        if key in self._refreshing:
            return Served(served.value, served.computed_at, served.version, served.duration_s, True)
        return served

    def _refresh(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> None:
        if key in self._refreshing:
            return
        hit = self._entries.get(key)

        async def run() -> None:
            try:
                await self._compute(key, compute, hit)
            except Exception:  # readers keep the older copy; the next reader retries
                log.exception("scoring: background refresh of %r failed", key)
            finally:
                self._refreshing.pop(key, None)

        self._refreshing[key] = asyncio.create_task(run())

    async def _compute(
        self, key: Hashable, compute: Callable[[], Awaitable[Any]], seen: tuple[float, Served] | None
    ) -> Served:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._entries.get(key)
            if hit is not None and hit is not seen and time.monotonic() - hit[0] < self.max_stale_s:
                return hit[1]  # computed by whoever held the lock before us
            version, started, computed_at = self.version(), time.monotonic(), datetime.now(UTC)
            value = await compute()
            served = Served(value, computed_at, version, time.monotonic() - started)
            if key not in self._entries and len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (started, served)
            return served
