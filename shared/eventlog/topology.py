"""The one place that declares JetStream streams and durable consumers.

Services bind to what is declared here: a durable consumer that already exists is bound to as
it is, and streams declared from several services get their configs merged (docs/pitfalls.md,
"NATS and FastStream"; the decision: docs/decisions/0003-one-owner-declares-the-topology.md).
``declare_topology`` creates what is missing and updates what drifted, so changing a setting
here reaches the server. On a bus with users (``nats_users``), only the ops user may declare;
the launcher, the tests and ``motcua topology declare`` do it before services bind. The NATS
users' permissions are generated from this file too, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

# Both can be renamed per deployment (staging beside production on one NATS cluster, or
# parallel test runs on one server): streams may not overlap in subjects.
STREAM = os.environ.get("MOTCUA_STREAM", "MOTCUA")
SUBJECT_ROOT = os.environ.get("MOTCUA_SUBJECT_ROOT", "motcua.evt")


# Core-NATS request subjects (outside the stream, never stored) on which the service owning a
# durable consumer re-runs one of its dead letters: ``<REDRIVE_PREFIX>.<durable>``.
def redrive_prefix(subject_root: str) -> str:
    return f"ctl.{subject_root}.redrive"


REDRIVE_PREFIX = redrive_prefix(SUBJECT_ROOT)
SERVICES = ("intake", "processing", "postal", "scoring", "payments", "notify")
# Services that publish events of their own (scoring and notify only consume).
PUBLISHERS = ("intake", "processing", "postal", "payments")
# Long enough to cover a relay that crashed and restarted; consumers are idempotent anyway.
DUPLICATE_WINDOW_S = 15 * 60
# Redelivery back-off for transient failures (PostgreSQL restarting, a dependency down).
REDELIVERY_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# How long a delivered message waits for its ack before JetStream delivers it again: what a
# consumer loses when its fetch dies with a NATS node (or its process) is back after this long.
# Shorter means a faster recovery and more redeliveries of slow batches (skipped: consumers are
# idempotent); the tests' short fault runs lower it, the operator decides elsewhere.
# A message fetched by a replica that died unacknowledged waits as long before another gets it.
ACK_WAIT_S = float(os.environ.get("MOTCUA_ACK_WAIT_S", "30"))


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    filter_subject: str
    description: str
    max_deliver: int = -1  # transient failures retry until they succeed; poison is dead-lettered

    @property
    def owner(self) -> str:
        """The service that consumes it (and alone may fetch from it): the durable's first word."""
        return self.durable.partition("-")[0]

    @property
    def redrive_subject(self) -> str:
        return f"{REDRIVE_PREFIX}.{self.durable}"

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            description=self.description,
            filter_subject=self.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            max_deliver=self.max_deliver,
            max_ack_pending=20_000,
        )


PROCESSING_FROM_INTAKE = ConsumerSpec(
    "processing-intake", f"{SUBJECT_ROOT}.intake.>", "processing opens a case per received dossier"
)
PROCESSING_FROM_POSTAL = ConsumerSpec(
    "processing-postal", f"{SUBJECT_ROOT}.postal.>", "processing learns of deliveries and failures"
)
PROCESSING_QUEUES = ConsumerSpec(
    "processing-queues", f"{SUBJECT_ROOT}.processing.>", "processing's own work queues"
)
POSTAL_FROM_PROCESSING = ConsumerSpec(
    "postal-processing", f"{SUBJECT_ROOT}.processing.>", "postal books deliveries of results"
)
SCORING_ALL = ConsumerSpec("scoring", f"{SUBJECT_ROOT}.>", "scoring projects every event")

POSTAL_FROM_INTAKE = ConsumerSpec(
    "postal-intake", f"{SUBJECT_ROOT}.intake.>", "postal learns which dossiers return by post"
)

INTAKE_FROM_POSTAL = ConsumerSpec(
    "intake-postal", f"{SUBJECT_ROOT}.postal.>", "intake learns when picked-up dossiers reach the desk"
)

PAYMENTS_FROM_INTAKE = ConsumerSpec(
    "payments-intake", f"{SUBJECT_ROOT}.intake.>", "payments opens the fee of each received dossier"
)
NOTIFY_FROM_INTAKE = ConsumerSpec(
    "notify-intake", f"{SUBJECT_ROOT}.intake.>", "notify learns who wants to be told, and how"
)
NOTIFY_FROM_PROCESSING = ConsumerSpec(
    "notify-processing",
    f"{SUBJECT_ROOT}.processing.>",
    "notify tells citizens of supplements, apologies, results",
)
NOTIFY_FROM_POSTAL = ConsumerSpec(
    "notify-postal", f"{SUBJECT_ROOT}.postal.>", "notify tells citizens of failed deliveries"
)

CONSUMERS: tuple[ConsumerSpec, ...] = (
    INTAKE_FROM_POSTAL,
    PROCESSING_FROM_INTAKE,
    PROCESSING_FROM_POSTAL,
    PROCESSING_QUEUES,
    POSTAL_FROM_PROCESSING,
    POSTAL_FROM_INTAKE,
    SCORING_ALL,
    PAYMENTS_FROM_INTAKE,
    NOTIFY_FROM_INTAKE,
    NOTIFY_FROM_PROCESSING,
    NOTIFY_FROM_POSTAL,
)


def consumers_of(service: str) -> tuple[ConsumerSpec, ...]:
    return tuple(spec for spec in CONSUMERS if spec.owner == service)


def consumers_reading(service: str) -> tuple[ConsumerSpec, ...]:
    """The durable consumers that receive ``service``'s events: its relay's audience."""
    return tuple(spec for spec in CONSUMERS if service in sources_of(spec))


def sources_of(spec: ConsumerSpec) -> tuple[str, ...]:
    """The services whose events ``spec`` receives (its filter is one service's subjects, or all)."""
    if spec.filter_subject == f"{SUBJECT_ROOT}.>":
        return PUBLISHERS
    service = spec.filter_subject.removeprefix(f"{SUBJECT_ROOT}.").partition(".")[0]
    return (service,)


def stream_config() -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="motcua: every published event, one durable log",
        subjects=[f"{SUBJECT_ROOT}.>"],
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=int(os.environ.get("NATS_REPLICAS", "1")),
        # Direct get by subject: processing looks up a dossier's intake event it has not applied
        # yet (a 404 that says "not yet opened"), with a permission scoped to intake's subjects.
        allow_direct=True,
    )


async def declare_topology(js: JetStreamContext) -> None:
    wanted = stream_config()
    try:
        await js.stream_info(STREAM)
        await js.update_stream(wanted)
    except NotFoundError:
        await js.add_stream(wanted)
    for spec in CONSUMERS:
        # add_consumer creates the consumer or updates its editable fields in place.
        await js.add_consumer(STREAM, spec.config())


async def missing_topology(js: JetStreamContext) -> list[str]:
    """What of the declared topology the server does not have (the stream, or consumers)."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        return [f"stream {STREAM}"]
    missing = []
    for spec in CONSUMERS:
        try:
            await js.consumer_info(STREAM, spec.durable)
        except NotFoundError:
            missing.append(f"consumer {spec.durable}")
    return missing


# How often the keeper looks: a lost stream blocks every relay until it is back.
KEEP_INTERVAL_S = float(os.environ.get("MOTCUA_TOPOLOGY_KEEP_S", "1.0"))


async def keep_topology(
    js: JetStreamContext, stop: asyncio.Event, *, interval_s: float = KEEP_INTERVAL_S
) -> int:
    """The topology's owner, watching: re-declares the stream or a consumer that went missing.

    JetStream may lose its store (a deleted or corrupted directory, a volume not kept): the
    stream and every consumer are then gone, and no service may declare them (only ops may).
    Consumers come back with ``DeliverPolicy.ALL`` and the relays re-publish from PostgreSQL
    what they may not have processed (``relay.py``). Returns how many times it re-declared.
    """
    healed = 0
    while not stop.is_set():
        try:
            missing = await missing_topology(js)
            if missing:
                log.warning("topology: %s missing; re-declaring", ", ".join(missing))
                await declare_topology(js)
                healed += 1
                log.warning("topology: re-declared (%d time(s) since start)", healed)
        except Exception as exc:  # noqa: BLE001 - NATS down or restarting: look again later
            log.info("topology: cannot check now: %r", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
    return healed


def subject_for(event_type: str, dossier_id: object) -> str:
    """``intake.dossier_received.v1`` -> ``motcua.evt.intake.<dossier id>.dossier_received.v1``.

    The dossier id sits in the subject so that one dossier's whole history can be read from
    the stream with a subject filter (``motcua.evt.*.<id>.>``).
    """
    service, _, rest = event_type.partition(".")
    return f"{SUBJECT_ROOT}.{service}.{dossier_id}.{rest}"
