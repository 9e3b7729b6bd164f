"""The fault proxy itself: it passes bytes, holds them in a blackhole, and cuts."""

from __future__ import annotations

import asyncio

from tests.faults.proxy import Proxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def test_the_proxy_passes_holds_and_cuts() -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = Proxy(server.sockets[0].getsockname()[1]).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"xin chao")
        assert await asyncio.wait_for(reader.read(100), 2) == b"xin chao"

        await asyncio.to_thread(proxy.set, "blackhole")
        writer.write(b"held")
        try:
            await asyncio.wait_for(reader.read(100), 0.3)
            raise AssertionError("a blackhole let bytes through")
        except TimeoutError:
            pass
        await asyncio.to_thread(proxy.set, "pass")  # held bytes arrive once it heals
        assert await asyncio.wait_for(reader.read(100), 2) == b"held"

        await asyncio.to_thread(proxy.set, "cut")
        assert await asyncio.wait_for(reader.read(100), 2) == b""  # the connection was closed
        refused_reader, _ = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await asyncio.wait_for(refused_reader.read(100), 2) == b""
        writer.close()
    finally:
        await asyncio.to_thread(proxy.stop)
        server.close()
