"""A per-client rate limit for routes that a guesser would hammer (the citizen's tracking page).

A token bucket per client address, in memory: each service replica limits on its own, which
is what matters against guessing — 128-bit secrets are not guessed, but a scraper counting
through dossier codes should meet a wall, not a database.
"""

from __future__ import annotations

import math
import time

from shared.expiring_cache import ExpiringCache
from shared.host.errors import ApiError


class RateLimiter:
    def __init__(self, per_minute: float = 30.0, burst: int = 10, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        # (tokens, when counted) per client, kept until the bucket would be full again: a client
        # not kept has a full bucket, so the limiter holds only those who asked lately.
        self._buckets: ExpiringCache[str, tuple[float, float]] = ExpiringCache(max_clients)

    def check(self, client: str, now: float | None = None) -> None:
        """Takes one token for ``client`` or raises 429 with the seconds until the next one."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client, now) or (self.burst, now)
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._keep(client, tokens, now)
            wait = max(1, round((1.0 - tokens) / self.rate))
            error = ApiError(
                429,
                "too_many_requests",
                f"Quá nhiều yêu cầu, vui lòng thử lại sau {wait} giây",
                f"Too many requests; retry in {wait} s",
                retry_after_s=wait,
            )
            error.headers = {"Retry-After": str(wait)}
            raise error
        self._keep(client, tokens - 1.0, now)

    def _keep(self, client: str, tokens: float, now: float) -> None:
        full_at = now + (self.burst - tokens) / self.rate if self.rate > 0 else math.inf
        self._buckets.put(client, (tokens, now), full_at, now)
