"""Consumers are given the event types their handlers act on; the ops check counts for each
consumer only what it was given (``operations.given_to``)."""

from __future__ import annotations

from services.scoring.operations import given_to
from shared.contracts.registry import _adapter
from shared.eventlog.topology import (
    CONSUMERS,
    NOTIFY_FROM_PROCESSING,
    POSTAL_FROM_INTAKE,
    POSTAL_FROM_PROCESSING,
    PROCESSING_QUEUES,
    SCORING_ALL,
    SUBJECT_ROOT,
    receives_event_type,
    sources_of,
    subject_for,
    subject_matches,
)


def _event_types() -> set[str]:
    schema = _adapter.json_schema()
    return {
        d["properties"]["event_type"].get("const") or v
        for d in schema["$defs"].values()
        if "event_type" in d.get("properties", {})
        for v in d["properties"]["event_type"].get("enum", [None])
    } - {None}


def test_postal_is_given_what_it_acts_on_and_scoring_everything() -> None:
    types = _event_types()
    assert "processing.case_opened.v1" in types  # the schema does list every published type
    assert {t for t in types if receives_event_type(POSTAL_FROM_INTAKE, t)} == {
        "intake.dossier_received.v1",
        "intake.dossier_received.v2",
    }
    assert {t for t in types if receives_event_type(POSTAL_FROM_PROCESSING, t)} == {
        "processing.result_ready.v1"
    }
    assert {t for t in types if receives_event_type(NOTIFY_FROM_PROCESSING, t)} == {
        "processing.supplement_requested.v1",
        "processing.apology_issued.v1",
        "processing.result_ready.v1",
    }
    assert all(receives_event_type(SCORING_ALL, t) for t in types)
    assert all(receives_event_type(PROCESSING_QUEUES, t) == t.startswith("processing.") for t in types)


def test_every_consumer_is_given_some_published_type_of_its_sources_only() -> None:
    types = _event_types()
    for spec in CONSUMERS:
        given = {t for t in types if receives_event_type(spec, t)}
        assert given, spec.durable
        assert {t.partition(".")[0] for t in given} <= set(sources_of(spec)), spec.durable


def test_subjects_match_as_nats_matches_them() -> None:
    subject = subject_for("intake.dossier_received.v2", "d-1")
    assert subject_matches(f"{SUBJECT_ROOT}.intake.*.dossier_received.*", subject)
    assert subject_matches(f"{SUBJECT_ROOT}.>", subject)
    assert not subject_matches(f"{SUBJECT_ROOT}.intake.*.dossier_refused.*", subject)
    assert not subject_matches(f"{SUBJECT_ROOT}.intake.*.dossier_received", subject)
    assert not subject_matches(f"{SUBJECT_ROOT}.intake.d-1.dossier_received.v2.>", subject)


def test_the_ops_check_expects_of_a_consumer_only_the_types_it_is_given() -> None:
    relay = {
        "published": 9,
        "published_types": {"intake.dossier_received.v2": 3, "intake.dossier_registered.v1": 6},
    }
    assert given_to(POSTAL_FROM_INTAKE, relay) == 3
    assert given_to(SCORING_ALL, relay) == 9
    assert given_to(POSTAL_FROM_INTAKE, {"published": 9, "published_types": None}) is None
