"""A fix for how nats-py 2.16 and FastStream 0.7.8 disagree on a fetch that times out.

nats-py's ``PullSubscription.fetch`` sometimes raises ``asyncio.TimeoutError`` (when a batch's
deadline has run out between its two pull requests) and otherwise ``nats.errors.TimeoutError``.
FastStream's pull loops catch only the latter; the former escapes, the loop's task is
restarted by FastStream's supervisor, and any messages already fetched in that round are
dropped unacknowledged until their ``ack_wait`` runs out (30 s of needless latency).
Converting the one into the other keeps every fetched message in its batch.
"""

from __future__ import annotations

import functools
from typing import Any

import nats.errors
from nats.js.client import JetStreamContext

_original_fetch = JetStreamContext.PullSubscription.fetch


@functools.wraps(_original_fetch)
async def _fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await _original_fetch(self, *args, **kwargs)
    except nats.errors.TimeoutError:
        raise
    except TimeoutError as exc:
        raise nats.errors.TimeoutError from exc


def install() -> None:
    if JetStreamContext.PullSubscription.fetch is not _fetch:
        JetStreamContext.PullSubscription.fetch = _fetch  # type: ignore[method-assign]
