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
    """A durable consumer and the subjects it is given: only the events its service handles, so
    that no process receives, parses and acknowledges events it ignores (JetStream's
    ``filter_subjects``; a service's whole tree, ``<root>.<service>.>``, or the whole stream)."""

    durable: str
    filter_subjects: tuple[str, ...]
    description: str
    max_deliver: int = -1  # transient failures retry until they succeed; poison is dead-lettered

    @property
    def owner(self) -> str:
        """The service that consumes it (and alone may fetch from it): the durable's first word."""
        return self.durable.partition("-")[0]

    @property
    def redrive_subject(self) -> str:
        return f"{REDRIVE_PREFIX}.{self.durable}"

    def receives(self, subject: str) -> bool:
        return any(subject_matches(wanted, subject) for wanted in self.filter_subjects)

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            description=self.description,
            # Always the list (JetStream 2.10): one subject or several read alike, and a filter
            # changed here replaces the server's on the next declaration (``declare_topology``).
            filter_subjects=list(self.filter_subjects),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            max_deliver=self.max_deliver,
            max_ack_pending=20_000,
        )


def events_of(service: str, *names: str) -> tuple[str, ...]:
    """The subjects of these events of ``service`` (any dossier, any version):
    ``events_of("intake", "dossier_received")`` -> ``(<root>.intake.*.dossier_received.*,)``."""
    return tuple(f"{SUBJECT_ROOT}.{service}.*.{name}.*" for name in names)


def all_of(service: str) -> tuple[str, ...]:
    return (f"{SUBJECT_ROOT}.{service}.>",)


def subject_matches(filter_subject: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` one or more at the end."""
    wanted, parts = filter_subject.split("."), subject.split(".")
    for i, want in enumerate(wanted):
        if want == ">":
            return len(parts) > i
        if i >= len(parts) or want not in ("*", parts[i]):
            return False
    return len(wanted) == len(parts)


# Each consumer takes the events its handlers act on (services/*/handlers.py, intake's pickups,
# notify's templates) and nothing else: a handler that starts acting on another event type
# needs its subject added here.
PROCESSING_FROM_INTAKE = ConsumerSpec(
    "processing-intake",
    events_of("intake", "dossier_received"),
    "processing opens a case per received dossier",
)
PROCESSING_FROM_POSTAL = ConsumerSpec(
    "processing-postal",
    events_of("postal", "shipment_delivered", "shipment_failed"),
    "processing learns of deliveries and failures",
)
PROCESSING_QUEUES = ConsumerSpec("processing-queues", all_of("processing"), "processing's own work queues")
POSTAL_FROM_PROCESSING = ConsumerSpec(
    "postal-processing", events_of("processing", "result_ready"), "postal books deliveries of results"
)
SCORING_ALL = ConsumerSpec("scoring", (f"{SUBJECT_ROOT}.>",), "scoring projects every event")

POSTAL_FROM_INTAKE = ConsumerSpec(
    "postal-intake", events_of("intake", "dossier_received"), "postal learns which dossiers return by post"
)

INTAKE_FROM_POSTAL = ConsumerSpec(
    "intake-postal",
    events_of("postal", "shipment_delivered", "shipment_failed"),
    "intake learns when picked-up dossiers reach the desk",
)

PAYMENTS_FROM_INTAKE = ConsumerSpec(
    "payments-intake",
    events_of("intake", "dossier_received"),
    "payments opens the fee of each received dossier",
)
NOTIFY_FROM_INTAKE = ConsumerSpec(
    "notify-intake", events_of("intake", "dossier_received"), "notify learns who wants to be told, and how"
)
NOTIFY_FROM_PROCESSING = ConsumerSpec(
    "notify-processing",
    events_of("processing", "supplement_requested", "apology_issued", "result_ready"),
    "notify tells citizens of supplements, apologies, results",
)
NOTIFY_FROM_POSTAL = ConsumerSpec(
    "notify-postal", events_of("postal", "shipment_failed"), "notify tells citizens of failed deliveries"
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
    """The services whose events ``spec`` receives (its subjects are one service's, or all)."""
    if f"{SUBJECT_ROOT}.>" in spec.filter_subjects:
        return PUBLISHERS
    services = [s.removeprefix(f"{SUBJECT_ROOT}.").partition(".")[0] for s in spec.filter_subjects]
    return tuple(dict.fromkeys(services))


def receives_event_type(spec: ConsumerSpec, event_type: str) -> bool:
    """Whether events of this type reach ``spec`` (whatever their dossier)."""
    return spec.receives(subject_for(event_type, "any"))


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
        # add_consumer creates the consumer or updates its editable fields in place (its
        # subjects among them: the durable keeps its acknowledgements).
        await js.add_consumer(STREAM, spec.config())


async def missing_topology(js: JetStreamContext) -> list[str]:
    """What of the declared topology the server does not have (the stream, or consumers), or
    has otherwise: a consumer whose subjects are not those declared (an older release's)."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        return [f"stream {STREAM}"]
    missing = []
    for spec in CONSUMERS:
        try:
            info = await js.consumer_info(STREAM, spec.durable)
        except NotFoundError:
            missing.append(f"consumer {spec.durable}")
            continue
        if server_filters(info.config) != set(spec.filter_subjects):
            missing.append(f"consumer {spec.durable}'s subjects {sorted(spec.filter_subjects)}")
    return missing


def server_filters(config: ConsumerConfig) -> set[str]:
    """The subjects a consumer on the server is given (one filter, several, or the whole stream)."""
    if config.filter_subjects:
        return set(config.filter_subjects)
    return {config.filter_subject or f"{SUBJECT_ROOT}.>"}


# How often the keeper looks: a lost stream blocks every relay until it is back.
KEEP_INTERVAL_S = float(os.environ.get("MOTCUA_TOPOLOGY_KEEP_S", "1.0"))


async def keep_topology(
    js: JetStreamContext, stop: asyncio.Event, *, interval_s: float = KEEP_INTERVAL_S
) -> int:
    """The topology's owner, watching: re-declares the stream or a consumer that went missing,
    and updates in place a consumer whose subjects differ from those declared here (a release
    that narrowed them: the durable keeps its position, only what it is given changes).

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
                log.warning("topology: %s missing; re-declaring", ", ".join(missing))  # or out of date
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
