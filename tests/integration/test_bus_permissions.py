"""The bus is not open: against the suite's own nats-server, run with the users of ``nats_users``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from services.ops.devservers import RunningServers
from shared.eventlog import declare_topology
from shared.eventlog.nats_users import connect, inbox_prefix, strip_credentials
from shared.eventlog.topology import PROCESSING_FROM_INTAKE, STREAM, SUBJECT_ROOT, subject_for


@pytest.fixture
async def bus(servers: RunningServers, nats_url: str) -> AsyncIterator[dict[str, Any]]:
    if not servers.nats_passwords:
        pytest.skip("NATS_URL points at a server whose users are not the suite's")
    ops = await connect(nats_url)
    await declare_topology(ops.jetstream())
    yield {"ops": ops, "url": servers.plain_nats_url, "passwords": servers.nats_passwords}
    await ops.close()


async def _as(bus: dict[str, Any], user: str, errors: list[str]) -> Client:
    async def collect(err: Exception) -> None:
        errors.append(str(err))

    return await nats.connect(
        bus["url"],
        user=user,
        password=bus["passwords"][user],
        inbox_prefix=inbox_prefix(user),
        error_cb=collect,
        allow_reconnect=False,
    )


def _event(event_type: str) -> bytes:
    return json.dumps({"event_type": event_type, "probe": True}).encode()


async def _messages(ops: Client) -> int:
    return int((await ops.jetstream().stream_info(STREAM)).state.messages)


async def test_a_service_publishes_its_own_events_and_no_one_elses(bus: dict[str, Any]) -> None:
    errors: list[str] = []
    intake = await _as(bus, "intake", errors)
    js = intake.jetstream()
    ack = await js.publish(subject_for("intake.dossier_received.v1", "d-1"), _event("x"), stream=STREAM)
    assert ack.stream == STREAM and ack.seq == 1

    with pytest.raises(nats.errors.TimeoutError):  # a denied publish is only a timeout here…
        await js.publish(
            subject_for("processing.case_opened.v1", "d-1"), _event("x"), stream=STREAM, timeout=1
        )
    await asyncio.sleep(0.2)
    # …and the server's reason arrives through the error callback, which services log.
    assert any("permissions violation" in e.lower() and "processing" in e for e in errors), errors
    assert await _messages(bus["ops"]) == 1
    await intake.close()


async def test_a_service_cannot_fetch_another_services_consumer(bus: dict[str, Any]) -> None:
    ops = bus["ops"]
    await ops.jetstream().publish(
        subject_for("intake.dossier_received.v1", "d-2"), _event("x"), stream=STREAM
    )
    errors: list[str] = []
    postal = await _as(bus, "postal", errors)
    theirs = await postal.jetstream().pull_subscribe_bind(
        durable=PROCESSING_FROM_INTAKE.durable, stream=STREAM
    )
    with pytest.raises(nats.errors.TimeoutError):
        await theirs.fetch(1, timeout=1)
    # Nothing was handed out: processing still has the message to itself.
    info = await ops.jetstream().consumer_info(STREAM, PROCESSING_FROM_INTAKE.durable)
    assert (info.num_pending, info.num_ack_pending) == (1, 0)
    assert any("permissions violation" in e.lower() for e in errors), errors

    # Its own durable of the same subjects works.
    mine = await postal.jetstream().pull_subscribe_bind(durable="postal-intake", stream=STREAM)
    [msg] = await mine.fetch(1, timeout=5)
    await msg.ack_sync()
    await postal.close()

    processing = await _as(bus, "processing", [])
    own = await processing.jetstream().pull_subscribe_bind(
        durable=PROCESSING_FROM_INTAKE.durable, stream=STREAM
    )
    [msg] = await own.fetch(1, timeout=5)
    assert msg.subject == subject_for("intake.dossier_received.v1", "d-2")
    await msg.ack_sync()
    await processing.close()


async def test_no_one_reads_the_bus_around_jetstream(bus: dict[str, Any]) -> None:
    """Core subscriptions to the events, or to another user's inbox (where JetStream delivers
    its fetched messages), are refused; so are connections without a user."""
    errors: list[str] = []
    scoring = await _as(bus, "scoring", errors)
    await scoring.subscribe(f"{SUBJECT_ROOT}.>")
    await scoring.subscribe(f"{inbox_prefix('processing')}.>")
    await scoring.flush()
    await asyncio.sleep(0.2)
    denied = [e for e in errors if "permissions violation for subscription" in e.lower()]
    assert len(denied) == 2, errors
    await scoring.close()

    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(strip_credentials(bus["url"]), allow_reconnect=False, max_reconnect_attempts=0)
