"""A bounded in-memory cache whose entries each last until a deadline of their own.

Three parts of the kernel keep something per caller in memory for a while: the data keys a
service has unwrapped (``shared/pii/keyring.py``), the bearer tokens it has verified
(``shared/auth/verifier.py``) and the rate limit's buckets (``shared/host/rate_limit.py``).
Each must stay small whatever the traffic (a bulk load passes a million applicants through
intake), and none may hand out what has expired. So: at most ``size`` entries, the least
recently used dropped first; an expired entry is never returned; and expired entries at the
cold end are dropped as new ones come, so the cache holds what was used lately, not the last
``size`` ever made (most keys and tokens are never asked for again).

Times are the caller's (``now``, ``until``), on whatever clock suits it: the keyring and the
rate limit count on ``time.monotonic``, tokens expire on the wall clock.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.size = size
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K, now: float) -> V | None:
        """The value, if it has not expired by ``now`` (it becomes the most recently used)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] < now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, until: float, now: float) -> V:
        """Keeps ``value`` until ``until`` (replacing what ``key`` held) and returns it."""
        entries = self._entries
        entries.pop(key, None)
        entries[key] = (value, until)
        if len(entries) > self.size:
            entries.popitem(last=False)
        while entries:
            _, oldest_until = next(iter(entries.values()))
            if oldest_until >= now:
                break
            entries.popitem(last=False)
        return value

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
