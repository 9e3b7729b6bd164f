"""One holder at a time among replicas (``shared/eventlog/singleton.py``), on a real PostgreSQL:
the lock moves when its holder stops, and when its holder's session dies without a word."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from shared.eventlog.singleton import Loop, Singleton, singletons_ddl


class Work:
    """A loop that counts how many replicas run it at once."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.most_at_once = 0
        self.ran: list[str] = []

    def loop(self, who: str) -> Loop:
        async def run(term: asyncio.Event) -> None:
            self.running.add(who)
            self.ran.append(who)
            self.most_at_once = max(self.most_at_once, len(self.running))
            try:
                await term.wait()
            finally:
                self.running.discard(who)

        return run


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def schema(database_url: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(database_url)
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS svc; {singletons_ddl('svc')}")
    await conn.close()
    yield "svc"


def replica(database_url: str, who: str, work: Work) -> Singleton:
    return Singleton(
        "relay",
        service="svc",
        schema="svc",
        database_url=database_url,
        loop=work.loop(who),
        identity=who,
        retry_s=0.1,
        heartbeat_s=0.1,
    )


async def test_one_holder_at_a_time_and_the_lock_moves_on_stop_and_on_death(
    database_url: str, schema: str
) -> None:
    work = Work()
    replicas = {who: replica(database_url, who, work) for who in ("a", "b", "c")}
    stops = {who: asyncio.Event() for who in replicas}
    tasks = {who: asyncio.create_task(s.run(stops[who])) for who, s in replicas.items()}
    try:
        await until(lambda: len(work.running) == 1)
        first = next(iter(work.running))
        await asyncio.sleep(0.5)  # the others keep trying meanwhile, and fail
        assert work.running == {first} and work.most_at_once == 1
        others = [s for who, s in replicas.items() if who != first]
        await until(lambda: all(s.holder == first for s in others))
        assert replicas[first].status()["held_here"] and replicas[first].status()["terms"] == 1

        # A clean stop hands over.
        stops[first].set()
        await tasks[first]
        await until(lambda: len(work.running) == 1)
        second = next(iter(work.running))
        assert second != first and work.most_at_once == 1

        # The holder's session dies without a word (its process killed): PostgreSQL frees the lock.
        conn = await asyncpg.connect(database_url)
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name LIKE $1",
                f"% relay {second}",
            )
            assert killed == 1
            await until(lambda: work.running - {second} != set())
            third = next(iter(work.running - {second}))
            assert third not in (first, second)
            # The replica that lost its session stopped its loop at its next heartbeat.
            await until(lambda: second not in work.running)
            row = await conn.fetchrow("SELECT holder, terms FROM svc.singletons WHERE name = 'relay'")
            assert (row["holder"], row["terms"]) == (third, 3)
        finally:
            await conn.close()
        # ... and takes part again: it is next once the holder stops.
        stops[third].set()
        await tasks[third]
        await until(lambda: work.running == {second})
        assert work.ran == [first, second, third, second]
    finally:
        for stop in stops.values():
            stop.set()
        for task in tasks.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=5)
