"""A small TCP proxy between the services and NATS or PostgreSQL, to break the network on purpose.

Modes:

* ``pass``: bytes flow both ways, each chunk delayed by ``latency_s`` (0: none);
* ``blackhole``: connections stay open but nothing flows (a switch dropping packets): writes
  pile up unanswered until the clients' own timeouts notice;
* ``cut``: every connection is closed and new ones are refused (a link or a host gone).

It runs on its own event loop in a thread, so the fault suite's load and checks never wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Literal

Mode = Literal["pass", "blackhole", "cut"]


class Proxy:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.mode: Mode = "pass"
        self.latency_s = 0.0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    def start(self) -> Proxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def set(self, mode: Mode, latency_s: float = 0.0) -> None:
        """Changes the mode at once: ``cut`` closes every open connection."""
        asyncio.run_coroutine_threadsafe(self._set(mode, latency_s), self._loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _listen(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set(self, mode: Mode, latency_s: float) -> None:
        self.mode, self.latency_s = mode, latency_s
        if mode == "pass":
            self._flowing.set()
        else:
            self._flowing.clear()
        if mode == "cut":
            for link in list(self._links):
                link.cancel()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(self.host, self.target_port)
            await asyncio.gather(self._pump(reader, upstream), self._pump(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._links.discard(task)
            for w in (writer, upstream):
                if w is not None:
                    w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            # A blackhole holds every byte (nothing is lost: TCP would retransmit once it heals).
            await self._flowing.wait()
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()
