"""The event log: streams and consumers, the outbox relay, tracked consumers, dead letters."""

from shared.eventlog.consumer import PoisonMessage, TrackedConsumer
from shared.eventlog.relay import OutboxRelay
from shared.eventlog.store import ensure_schema, eventstore_env
from shared.eventlog.tables import ensure_eventlog_tables
from shared.eventlog.topology import (
    CONSUMERS,
    INTAKE_FROM_POSTAL,
    NOTIFY_FROM_INTAKE,
    NOTIFY_FROM_POSTAL,
    NOTIFY_FROM_PROCESSING,
    PAYMENTS_FROM_INTAKE,
    POSTAL_FROM_INTAKE,
    POSTAL_FROM_PROCESSING,
    PROCESSING_FROM_INTAKE,
    PROCESSING_FROM_POSTAL,
    PROCESSING_QUEUES,
    SCORING_ALL,
    STREAM,
    declare_topology,
    subject_for,
)

__all__ = [
    "CONSUMERS",
    "INTAKE_FROM_POSTAL",
    "NOTIFY_FROM_INTAKE",
    "NOTIFY_FROM_POSTAL",
    "NOTIFY_FROM_PROCESSING",
    "PAYMENTS_FROM_INTAKE",
    "POSTAL_FROM_INTAKE",
    "POSTAL_FROM_PROCESSING",
    "PROCESSING_FROM_INTAKE",
    "PROCESSING_FROM_POSTAL",
    "PROCESSING_QUEUES",
    "SCORING_ALL",
    "STREAM",
    "OutboxRelay",
    "PoisonMessage",
    "TrackedConsumer",
    "declare_topology",
    "ensure_eventlog_tables",
    "ensure_schema",
    "eventstore_env",
    "subject_for",
]
