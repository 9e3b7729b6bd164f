"""Consumers are given only the events their service handles, on the suite's own nats-server.

Each durable consumer takes its subjects from ``topology`` (``filter_subjects``); an older
release's consumer, declared with a whole service's tree, is narrowed in place by the topology
keeper without losing what it had acknowledged.
"""

from __future__ import annotations

import asyncio
import uuid

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.eventlog import declare_topology
from shared.eventlog.nats_users import connect
from shared.eventlog.topology import (
    CONSUMERS,
    POSTAL_FROM_INTAKE,
    POSTAL_FROM_PROCESSING,
    SCORING_ALL,
    STREAM,
    SUBJECT_ROOT,
    ConsumerSpec,
    keep_topology,
    missing_topology,
    subject_for,
)

# What the services publish for one dossier, beside what postal acts on.
EVENTS = [
    "intake.dossier_registered.v1",
    "intake.dossier_received.v2",
    "intake.dossier_received.v1",
    "processing.case_opened.v1",
    "processing.officer_assigned.v1",
    "processing.dossier_decided.v1",
    "processing.result_ready.v1",
    "postal.shipment_opened.v1",
    "postal.shipment_failed.v1",
    "postal.shipment_delivered.v1",
    "payments.charge_opened.v1",
]


async def _publish(js: JetStreamContext, event_types: list[str]) -> list[str]:
    subjects = [subject_for(t, uuid.uuid4()) for t in event_types]
    for subject in subjects:
        await js.publish(subject, b"{}", stream=STREAM)
    return subjects


async def _drain(js: JetStreamContext, spec: ConsumerSpec) -> list[str]:
    """Every subject the durable consumer is given, acknowledged."""
    sub = await js.pull_subscribe_bind(spec.durable, stream=STREAM)
    got: list[str] = []
    while (await js.consumer_info(STREAM, spec.durable)).num_pending:
        for msg in await sub.fetch(100, timeout=2):
            got.append(msg.subject)
            await msg.ack()
    await sub.unsubscribe()
    return got


async def test_each_consumer_gets_only_the_subjects_it_handles(nats_url: str) -> None:
    nc = await connect(nats_url)
    js = nc.jetstream()
    try:
        await declare_topology(js)
        published = await _publish(js, EVENTS)
        for spec in CONSUMERS:
            got = await _drain(js, spec)
            assert got == [s for s in published if spec.receives(s)], spec.durable
        # postal parses what it acts on and nothing else; scoring still sees everything
        postal = [
            s for s in published if POSTAL_FROM_INTAKE.receives(s) or POSTAL_FROM_PROCESSING.receives(s)
        ]
        assert [s.split(".")[-2] for s in postal] == ["dossier_received", "dossier_received", "result_ready"]
        assert all(SCORING_ALL.receives(s) for s in published)
        assert await missing_topology(js) == []
    finally:
        await nc.close()


async def test_the_keeper_narrows_an_older_consumer_in_place(nats_url: str) -> None:
    """A consumer an older release declared with intake's whole tree, half consumed: the keeper
    gives it its declared subjects, and it goes on after what it had acknowledged."""
    nc = await connect(nats_url)
    js = nc.jetstream()
    stop = asyncio.Event()
    try:
        await declare_topology(js)
        spec = POSTAL_FROM_INTAKE
        await js.add_consumer(
            STREAM,
            ConsumerConfig(
                durable_name=spec.durable,
                description=spec.description,
                filter_subject=f"{SUBJECT_ROOT}.intake.>",
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
        assert await missing_topology(js) == [
            f"consumer {spec.durable}'s subjects {sorted(spec.filter_subjects)}"
        ]
        before = await _publish(js, ["intake.dossier_registered.v1", "intake.dossier_received.v2"])
        assert await _drain(js, spec) == before  # the old filter: every intake event
        acked = (await js.consumer_info(STREAM, spec.durable)).ack_floor.stream_seq

        keeper = asyncio.create_task(keep_topology(js, stop, interval_s=0.05))
        for _ in range(100):
            if not await missing_topology(js):
                break
            await asyncio.sleep(0.05)
        assert await missing_topology(js) == []

        info = await js.consumer_info(STREAM, spec.durable)
        assert set(info.config.filter_subjects or []) == set(spec.filter_subjects)
        assert info.ack_floor.stream_seq == acked  # the same durable, its position kept
        after = await _publish(js, ["intake.dossier_registered.v1", "intake.dossier_received.v2"])
        assert await _drain(js, spec) == after[1:]  # nothing again, and only what postal handles
        stop.set()
        assert await keeper == 1
    finally:
        stop.set()
        await nc.close()
