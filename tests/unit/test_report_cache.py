"""Heavy reports are shared while nothing changed, recomputed when something did."""

from __future__ import annotations

import asyncio

from services.scoring.report_cache import ReportCache


async def test_concurrent_requests_share_one_computation_until_the_projection_moves() -> None:
    version = 0
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    cache = ReportCache(lambda: version, ttl_s=60)
    results = await asyncio.gather(*(cache.get("ranking", compute) for _ in range(5)))
    assert [value for value, _ in results] == [1] * 5 and calls == 1
    version = 1  # a new event was projected
    value, _ = await cache.get("ranking", compute)
    assert value == 2
    other, _ = await cache.get("index766", compute)
    assert other == 3, "each report has its own entry"


async def test_a_report_expires_after_its_time_to_live() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return calls

    cache = ReportCache(lambda: 0, ttl_s=0.05)
    assert (await cache.get("k", compute))[0] == 1
    assert (await cache.get("k", compute))[0] == 1
    await asyncio.sleep(0.06)
    assert (await cache.get("k", compute))[0] == 2
