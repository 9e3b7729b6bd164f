"""The pull loop of a durable consumer: a batch as soon as the first message is there.

FastStream's batch loop keeps fetching until the batch is full or its timeout has passed, so
every hop waits the whole timeout when the log is quiet (50 ms each, several hops per
dossier), and a shorter timeout means more empty pulls a second on every idle consumer.
Here one long pull waits for the first message (idle consumers ask the server a few times a
minute), then a pull of a few milliseconds gathers whatever else is already waiting, so a
burst is still handled in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from shared.eventlog.topology import STREAM

log = logging.getLogger(__name__)

# How long one idle pull lasts on the server; its only cost is one request per period.
IDLE_PULL_S = 5.0
# How long a batch waits for more once its first message arrived: the latency a hop adds.
# 20 ms was tried: it batched more at 16 clients (174/s against 155/s) but doubled the end-to-end
# p99 at 200/s (1.27 s against 0.6-0.67 s) in the same kind of run, so hops stay short.
GATHER_S = 0.005
# The longest pause between two tries while NATS is away (here and in the relay): once the bus
# is back, a hop waits at most this long, and an outage's delay does not add up to a 5 s step
# at each of the pipeline's four hops.
MAX_RETRY_S = 2.0

# nats-py's fetch raises the builtin TimeoutError when a deadline runs out between its pull
# requests and nats.errors.TimeoutError otherwise: both mean an empty pull.
_TIMEOUTS = (nats.errors.TimeoutError, TimeoutError)


async def pull_batches(
    js: JetStreamContext,
    durable: str,
    batch_size: int,
    handle: Callable[[list[Msg]], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Hands batches of the durable consumer's messages to ``handle`` until ``stop`` is set.

    A message ``handle`` neither acks nor terminates is redelivered by the server after its
    ack wait, so a failure here loses nothing; the loop logs it and carries on.
    """
    subscription = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
    delay = 0.1
    try:
        while not stop.is_set():
            try:
                batch = await _next_batch(subscription, batch_size)
                if batch:
                    await handle(batch)
                delay = 0.1
            except Exception:
                log.exception("consumer %s: pulling failed, retrying in %.1fs", durable, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, MAX_RETRY_S)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(subscription.unsubscribe(), timeout=1)


async def _next_batch(subscription: JetStreamContext.PullSubscription, batch_size: int) -> list[Msg]:
    try:
        first: list[Msg] = await subscription.fetch(1, timeout=IDLE_PULL_S)
    except _TIMEOUTS:
        return []
    if batch_size <= 1:
        return first
    try:
        more: list[Msg] = await subscription.fetch(batch_size - 1, timeout=GATHER_S)
    except _TIMEOUTS:
        more = []
    return first + more
