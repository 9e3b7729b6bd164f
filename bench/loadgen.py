"""The load generator, run as its own process so that it never shares the services' event loop.

``closed``: N clients each POST the next filing as soon as the last one answered, for D seconds.
``open``: filings are offered at a fixed rate whatever the answers; each committed dossier is
printed as ``<code> <unix time of the answer>`` so the caller can time its way to scoring.
The summary (every latency, so often megabytes) is written to the file ``--summary`` names, never
to stdout: uvloop leaves stdout non-blocking, and one large write to a pipe was cut at 64 KiB.

Every request carries ``Authorization: Bearer <token>``, one token for the whole run as a desk
officer's session has: the token comes from ``MOTCUA_BENCH_TOKEN`` (not the command line, which
every user of the machine can read), so intake verifies it inside what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

from bench.rawhttp import Connection, HttpError, get_json
from bench.workload import Filings

MAX_IN_FLIGHT = 128
TOKEN_ENV = "MOTCUA_BENCH_TOKEN"  # noqa: S105 - the variable's name, not a token


def _authorization() -> dict[str, str]:
    token = os.environ.get(TOKEN_ENV, "")
    return {"Authorization": f"Bearer {token}"} if token else {}


AUTHORIZATION = _authorization()


def _emit(line: str) -> None:
    """One short line to the parent. The event loop may have made stdout non-blocking; a line
    is far below PIPE_BUF, and with the descriptor made blocking again a full pipe waits rather
    than raising or cutting the line."""
    if not os.get_blocking(sys.stdout.fileno()):
        os.set_blocking(sys.stdout.fileno(), True)
    sys.stdout.write(line)
    sys.stdout.flush()


async def _post(connection: Connection, filings: Filings, tag: str) -> tuple[float, int, str | None]:
    path, body, key = filings.next(tag)
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = {**AUTHORIZATION, "Idempotency-Key": key} if key else AUTHORIZATION
    started = time.perf_counter()
    status, content = await connection.request("POST", path, payload, headers)
    elapsed = time.perf_counter() - started
    code = json.loads(content).get("code") if status in (200, 201) else None
    return elapsed, status, code


def _count(errors: dict[str, int], what: str) -> None:
    errors[what] = errors.get(what, 0) + 1


async def closed_loop(url: str, concurrency: int, duration: float, tag: str) -> dict[str, Any]:
    filings = Filings(await get_json(url, "/procedures"), seed=concurrency)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    started = time.time()
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        connection = Connection(url)  # one keep-alive connection per client, as a browser tab
        try:
            while time.perf_counter() < deadline:
                try:
                    elapsed, status, _ = await _post(connection, filings, tag)
                except HttpError:
                    _count(errors, "HttpError")
                    continue
                if status in (200, 201):
                    latencies.append(elapsed)
                else:
                    _count(errors, str(status))
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"started": started, "ended": time.time(), "latencies": latencies, "errors": errors}


async def open_loop(url: str, rate: float, duration: float, tag: str) -> dict[str, Any]:
    filings = Filings(await get_json(url, "/procedures"), seed=int(rate))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    pending: set[asyncio.Task[None]] = set()
    # Beyond what intake takes, offered requests wait here for a free connection.
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(MAX_IN_FLIGHT):
        idle.put_nowait(Connection(url))

    async def one() -> None:
        connection = await idle.get()
        try:
            elapsed, status, code = await _post(connection, filings, tag)
        except HttpError:
            _count(errors, "HttpError")
            return
        finally:
            idle.put_nowait(connection)
        if code is None:
            _count(errors, str(status))
            return
        latencies.append(elapsed)
        _emit(f"{code} {time.time():.6f}\n")

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
    while not idle.empty():
        await idle.get_nowait().close()
    return {"started": started, "ended": time.time(), "latencies": latencies, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["closed", "open"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--tag", default="bench")
    parser.add_argument("--summary", required=True, help="file the JSON summary is written to")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop  # the generator's own event loop must not be what limits the rate

        uvloop.install()
    if args.mode == "closed":
        result = asyncio.run(closed_loop(args.url, args.concurrency, args.duration, args.tag))
    else:
        result = asyncio.run(open_loop(args.url, args.rate, args.duration, args.tag))
    with open(args.summary, "w", encoding="utf-8") as summary:
        json.dump(result, summary)


if __name__ == "__main__":
    main()
