"""Heavy reports are served at once from memory and refreshed behind the reader."""

from __future__ import annotations

import asyncio

from services.scoring.report_cache import ReportCache


async def test_concurrent_first_requests_share_one_computation() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    cache = ReportCache(lambda: 0, ttl_s=60, min_refresh_s=0)
    results = await asyncio.gather(*(cache.get("ranking", compute) for _ in range(5)))
    assert [r.value for r in results] == [1] * 5 and calls == 1
    other = await cache.get("index766", compute)
    assert other.value == 2, "each report has its own entry"


async def test_a_new_event_refreshes_in_the_background_and_the_reader_never_waits() -> None:
    version, calls = 0, 0
    release = asyncio.Event()

    async def compute() -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            await release.wait()
        return calls

    cache = ReportCache(lambda: version, ttl_s=60, min_refresh_s=0)
    assert (await cache.get("k", compute)).value == 1
    version = 1  # a new event was projected
    # Refreshes are spaced by twice the last computation's duration: let that pass, so the
    # test does not depend on how quickly this line follows the first computation.
    await asyncio.sleep(0.05)
    served = await cache.get("k", compute)
    assert served.value == 1 and served.refreshing, "the old copy, said to be refreshing"
    assert served.freshness(version)["events_since"] == 1
    await asyncio.sleep(0.01)
    again = await cache.get("k", compute)
    assert again.value == 1 and calls == 2, "one refresh at a time"
    release.set()
    await asyncio.sleep(0.01)
    fresh = await cache.get("k", compute)
    assert fresh.value == 2 and not fresh.refreshing and fresh.freshness(version)["events_since"] == 0


async def test_without_events_a_report_is_refreshed_after_its_time_to_live() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return calls

    cache = ReportCache(lambda: 0, ttl_s=0.05, min_refresh_s=0)
    assert (await cache.get("k", compute)).value == 1
    assert (await cache.get("k", compute)).value == 1
    await asyncio.sleep(0.06)
    assert (await cache.get("k", compute)).value == 1  # served, refresh started
    await asyncio.sleep(0.01)
    assert (await cache.get("k", compute)).value == 2


async def test_refreshes_are_spaced_by_the_minimum_interval() -> None:
    version, calls = 0, 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return calls

    cache = ReportCache(lambda: version, ttl_s=60, min_refresh_s=30)
    await cache.get("k", compute)
    version = 5
    await cache.get("k", compute)
    await asyncio.sleep(0.01)
    assert calls == 1, "no refresh sooner than the minimum interval"


async def test_a_copy_too_old_is_recomputed_before_answering() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return calls

    cache = ReportCache(lambda: 0, ttl_s=0.01, max_stale_s=0.02, min_refresh_s=0)
    await cache.get("k", compute)
    await asyncio.sleep(0.03)
    assert (await cache.get("k", compute)).value == 2
