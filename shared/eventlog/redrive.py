"""Re-driving a dead letter through the one consumer that failed on it.

Re-publishing the payload to the stream would hand it to every consumer of its subject again
(and, with a new message id, past the duplicate window), so another consumer could fail on it
and dead-letter it anew. Instead ops sends a core-NATS request on the consumer's own redrive
subject (``topology.REDRIVE_PREFIX.<durable>``, not part of the stream); the service that owns
the consumer answers it by running the stored payload through that consumer (``apply_one``), in one
transaction with its tracking (``processed_events``) and with the dead letter marked redriven.
A second request for the same letter, or for an event processed meanwhile, changes nothing.
Only the owner may subscribe to the subject (``nats_users``), so nobody else can answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from shared.contracts import parse_event
from shared.eventlog.consumer import PoisonMessage, TrackedConsumer
from shared.eventlog.topology import REDRIVE_PREFIX

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 15.0


class RedriveFailed(Exception):
    """The owner could not redrive the letter; ``code`` says why (machine-readable)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


async def redrive_letter(
    consumer: TrackedConsumer, conn: asyncpg.Connection, letter_id: int
) -> dict[str, Any]:
    """Runs dead letter ``letter_id`` of ``consumer`` through it again; the outcome as a dict.

    Outcomes: ``processed`` (the consumer did its work now), ``already_processed`` (the event
    had been processed since: nothing to do), ``already_redriven``. Raises ``RedriveFailed``
    (``unknown_dead_letter``, ``still_failing``) and leaves the letter as it was.
    """
    schema, durable = consumer.schema, consumer.spec.durable
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT payload, stream_seq, redriven_at FROM {schema}.dead_letters"
            " WHERE id = $1 AND consumer = $2 FOR UPDATE",
            letter_id,
            durable,
        )
        if row is None:
            raise RedriveFailed("unknown_dead_letter", f"{durable} has no dead letter {letter_id}")
        if row["redriven_at"] is not None:
            return {"outcome": "already_redriven", "redriven_at": row["redriven_at"].isoformat()}
        try:
            event = parse_event(bytes(row["payload"]))
        except ValidationError as exc:
            raise RedriveFailed("still_failing", f"invalid payload: {exc.error_count()} error(s)") from exc
        try:
            async with conn.transaction():  # a savepoint: a handler that refuses again leaves no trace
                fresh = await conn.fetchval(
                    f"INSERT INTO {schema}.processed_events (consumer, event_id, stream_seq)"
                    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
                    durable,
                    event.event_id,
                    row["stream_seq"],
                )
                if fresh:
                    await consumer.apply_one(conn, event)
        except (PoisonMessage, asyncpg.DataError) as exc:
            raise RedriveFailed("still_failing", f"rejected by handler: {exc}") from exc
        await conn.execute(f"UPDATE {schema}.dead_letters SET redriven_at = now() WHERE id = $1", letter_id)
    if fresh:
        consumer.stats.processed += 1
    log.info(
        "consumer %s: dead letter %s redriven (%s)", durable, letter_id, "processed" if fresh else "duplicate"
    )
    return {"outcome": "processed" if fresh else "already_processed", "event_id": event.event_id}


async def serve_redrives(
    nc: Client, consumer: TrackedConsumer, pool: Callable[[], asyncpg.Pool]
) -> Subscription:
    """Answers redrive requests for ``consumer`` (a queue group: one replica answers each)."""

    async def answer(msg: Msg) -> None:
        reply: dict[str, Any]
        try:
            letter_id = int(json.loads(msg.data)["id"])
            async with pool().acquire() as conn:
                reply = {"ok": True, **await redrive_letter(consumer, conn, letter_id)}
        except RedriveFailed as exc:
            reply = {"ok": False, "code": exc.code, "detail": exc.detail}
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "code": "bad_request", "detail": f"expected {{'id': <int>}}: {exc!r}"}
        except Exception as exc:
            log.exception("consumer %s: redrive failed", consumer.spec.durable)
            reply = {"ok": False, "code": "transient_failure", "detail": repr(exc)[:500]}
        if msg.reply:
            await msg.respond(json.dumps(reply).encode())

    return await nc.subscribe(consumer.spec.redrive_subject, queue=consumer.spec.durable, cb=answer)


async def request_redrive(nc: Client, durable: str, letter_id: int) -> dict[str, Any]:
    """Asks the service owning ``durable`` to redrive ``letter_id``; its answer, or RedriveFailed."""
    try:
        msg = await nc.request(
            f"{REDRIVE_PREFIX}.{durable}", json.dumps({"id": letter_id}).encode(), timeout=REQUEST_TIMEOUT_S
        )
    except NoRespondersError as exc:
        raise RedriveFailed("owner_unavailable", f"no running service consumes {durable}") from exc
    except (NatsTimeout, TimeoutError) as exc:
        raise RedriveFailed("owner_unavailable", f"the service consuming {durable} did not answer") from exc
    answer: dict[str, Any] = json.loads(msg.data)
    if not answer.pop("ok", False):
        raise RedriveFailed(str(answer.get("code", "failed")), str(answer.get("detail", "")))
    return answer
