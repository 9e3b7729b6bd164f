"""Percentiles and rates, computed the same way for the system and its references."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_ms(values: Sequence[float]) -> dict[str, Any]:
    """Seconds in, milliseconds out."""

    def ms(q: float) -> float | None:
        v = percentile(values, q)
        return None if v is None else round(v * 1000, 2)

    return {"n": len(values), "p50_ms": ms(50), "p99_ms": ms(99), "max_ms": ms(100)}


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return round(value / reference, 3)
