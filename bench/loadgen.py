"""The load generator, run as its own process so that it never shares the services' event loop.

``closed``: N clients each POST the next filing as soon as the last one answered, for D seconds.
``open``: filings are offered at a fixed rate whatever the answers; each committed dossier is
printed as ``<code> <unix time of the answer>`` so the caller can time its way to scoring.
The summary is printed last, as one JSON line starting with ``{``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import httpx

from bench.workload import Filings

MAX_IN_FLIGHT = 128


async def _post(client: httpx.AsyncClient, filings: Filings, tag: str) -> tuple[float, int, str | None]:
    path, body, key = filings.next(tag)
    headers = {"Idempotency-Key": key} if key else {}
    started = time.perf_counter()
    response = await client.post(path, json=body, headers=headers)
    elapsed = time.perf_counter() - started
    code = response.json().get("code") if response.status_code in (200, 201) else None
    return elapsed, response.status_code, code


async def closed_loop(url: str, concurrency: int, duration: float, tag: str) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        filings = Filings((await client.get("/procedures")).json(), seed=concurrency)
        latencies: list[float] = []
        errors: dict[str, int] = {}
        started = time.time()
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                try:
                    elapsed, status, _ = await _post(client, filings, tag)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                if status in (200, 201):
                    latencies.append(elapsed)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {"started": started, "ended": time.time(), "latencies": latencies, "errors": errors}


async def open_loop(url: str, rate: float, duration: float, tag: str) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        filings = Filings((await client.get("/procedures")).json(), seed=int(rate))
        latencies: list[float] = []
        errors: dict[str, int] = {}
        pending: set[asyncio.Task[None]] = set()
        # Beyond what intake takes, offered requests wait here, not in httpx's pool, whose
        # queue costs O(n) per released connection and would make the generator the bottleneck.
        in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one() -> None:
            try:
                async with in_flight:
                    elapsed, status, code = await _post(client, filings, tag)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            if code is None:
                errors[str(status)] = errors.get(str(status), 0) + 1
                return
            latencies.append(elapsed)
            sys.stdout.write(f"{code} {time.time():.6f}\n")
            sys.stdout.flush()

        started = time.time()
        begin = time.perf_counter()
        total = int(rate * duration)
        for i in range(total):
            # Fixed schedule: a late tick fires at once, it does not shift the ones after it.
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        return {"started": started, "ended": time.time(), "latencies": latencies, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["closed", "open"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--tag", default="bench")
    args = parser.parse_args()
    if args.mode == "closed":
        result = asyncio.run(closed_loop(args.url, args.concurrency, args.duration, args.tag))
    else:
        result = asyncio.run(open_loop(args.url, args.rate, args.duration, args.tag))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
