"""The backbone end to end: four services, one event log, real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import nats
import pytest

from services.intake.catalogue import load_catalogue
from services.processing.case_commands import OpenCase
from shared.eventlog.topology import STREAM, subject_for
from shared.host.settings import Settings
from tests.system import System, eventually, receive_body, running_system


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


def _procedure(channel: int = 1) -> Any:
    return next(
        p
        for p in load_catalogue().procedures
        if channel in {int(c) for c in p.channels} and p.legal_days is not None
    )


async def _counts(system: System, department: str) -> dict[str, Any]:
    response = await system.scoring.get(f"/departments/{department}")
    return response.json() if response.status_code == 200 else {}


async def _receive(system: System, **overrides: Any) -> dict[str, Any]:
    procedure = _procedure()
    response = await system.intake.post("/dossiers", json=receive_body(procedure.code, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_received_dossier_reaches_processing_and_is_counted_once(system: System) -> None:
    dossier = await _receive(system)
    code, department = dossier["code"], dossier["department_code"]

    case = await eventually(
        lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200
    )
    assert case.json()["state"] == "in_processing"
    assert datetime.fromisoformat(case.json()["clock"]["due_at"]) == datetime.fromisoformat(dossier["due_at"])

    counts = await eventually(lambda: _counts(system, department), lambda c: c.get("received") == 1)
    counted = {k: v for k, v in counts.items() if not k.startswith("unit_name")}
    assert counted == {"department_code": department, "received": 1, "resolved": 0, "on_time": 0, "late": 0}
    assert counts["unit_name"], "the department is named beside its code"

    fetched = await system.intake.get(f"/dossiers/{code}")
    assert fetched.status_code == 200
    assert fetched.json()["code"] == code


async def test_idempotency_key_receives_once(system: System) -> None:
    procedure = _procedure()
    body = receive_body(procedure.code)
    first = await system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": "k-1"})
    again = await system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["code"] == first.json()["code"]
    other = receive_body(procedure.code, postal_return=True)
    reused = await system.intake.post("/dossiers", json=other, headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


async def test_concurrent_requests_with_one_key_store_one_dossier(system: System) -> None:
    # Sent together, the requests land in the same group-commit batch or in consecutive ones:
    # either way exactly one dossier exists and every answer names it or says "in progress".
    body = receive_body(_procedure().code)
    answers = await asyncio.gather(
        *(
            system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": "k-burst"})
            for _ in range(8)
        )
    )
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 1, [a.status_code for a in answers]
    code = created[0].json()["code"]
    for a in answers:
        assert a.status_code in (200, 201, 409), a.text
        if a.status_code == 200:
            assert a.json()["code"] == code
        if a.status_code == 409:
            assert a.json()["error"]["code"] == "request_in_progress"
    again = await system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": "k-burst"})
    assert again.status_code == 200 and again.json()["code"] == code


async def test_commit_notifies_the_relay_whoever_wrote(system: System, database_url: str) -> None:
    # A write that bypasses the API (an operator's tool, a consumer) must still wake the relay:
    # the event store itself notifies in the transaction of every insert, delivered at commit.
    relay = system.host("intake").relay
    assert relay is not None
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener(relay.channel, lambda *args: heard.put_nowait(args[2]))
        await _receive(system)
        assert await asyncio.wait_for(heard.get(), timeout=10) == relay.channel
        # ... once per insert: the trigger earlier releases added (a second NOTIFY) is gone
        assert not await _old_trigger_installed(listener)
    finally:
        await listener.close()


async def _old_trigger_installed(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname = 'events_committed'"))


async def test_the_trigger_of_earlier_releases_is_dropped(system: System, database_url: str) -> None:
    relay = system.host("intake").relay
    assert relay is not None
    table = f"{relay.schema}.{relay.app.recorder.events_table_name}"  # type: ignore[attr-defined]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(  # as an earlier release left it
            f"CREATE OR REPLACE FUNCTION {relay.schema}.notify_events_committed() RETURNS trigger"
            f" LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('x', ''); RETURN NULL; END $$;"
            f" CREATE OR REPLACE TRIGGER events_committed AFTER INSERT ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {relay.schema}.notify_events_committed();"
        )
        assert await _old_trigger_installed(conn)
        await relay._drop_old_trigger(conn)
        assert not await _old_trigger_installed(conn)
        await relay._drop_old_trigger(conn)  # and again, on a database that has none
    finally:
        await conn.close()


async def test_redelivery_and_relay_rewind_change_no_count(system: System) -> None:
    dossier = await _receive(system)
    department = dossier["department_code"]
    await eventually(lambda: _counts(system, department), lambda c: c.get("received") == 1)

    # The relay crashed before saving its position: it publishes everything again.
    relay = system.host("intake").relay
    assert relay is not None
    await relay.reset(0)
    assert await relay.publish_pending() >= 1

    # The same event again, past the stream's duplicate window (a new Nats-Msg-Id).
    nc = await nats.connect(system.ops_nats_url)
    js = nc.jetstream()
    msgs = await js.subscribe(
        subject_for("intake.dossier_received.v2", dossier["dossier_id"]), ordered_consumer=True
    )
    original = await msgs.next_msg(timeout=5)
    await js.publish(original.subject, original.data, stream=STREAM, headers={"Nats-Msg-Id": "replayed-1"})
    await nc.close()

    scoring = system.host("scoring").consumers[0]
    await eventually(lambda: _value(scoring.stats.duplicates), lambda d: d >= 1)
    await eventually(
        lambda: _value(system.host("processing").consumers[0].stats.duplicates), lambda d: d >= 1
    )
    assert (await _counts(system, department))["received"] == 1


async def _value(v: int) -> int:
    return v


async def test_invalid_payload_is_dead_lettered_and_consumer_carries_on(system: System) -> None:
    nc = await nats.connect(system.ops_nats_url)
    js = nc.jetstream()
    bad_id = uuid.uuid4()
    subject = subject_for("intake.dossier_received.v1", bad_id)
    await js.publish(subject, b"{not json", stream=STREAM)
    await js.publish(
        subject, b'{"event_type": "intake.dossier_received.v1", "dossier_code": 7}', stream=STREAM
    )
    await nc.close()

    dossier = await _receive(system)
    await eventually(lambda: _counts(system, dossier["department_code"]), lambda c: c.get("received") == 1)

    rows = await system.host("scoring").pool.fetch(
        "SELECT subject, reason FROM scoring.dead_letters ORDER BY id"
    )
    assert [r["subject"] for r in rows] == [subject, subject]
    assert "invalid payload" in rows[0]["reason"]
    assert "dossier_code" in rows[1]["reason"]
    # processing read the same poison from its own consumer and dead-lettered it too
    processing_rows = await eventually(
        lambda: system.host("processing").pool.fetch("SELECT reason FROM processing.dead_letters"),
        lambda r: len(r) == 2,
    )
    assert len(processing_rows) == 2


async def test_postal_return_opens_exactly_one_shipment(system: System) -> None:
    dossier = await _receive(system, postal_return=True)
    code = dossier["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    decided = await system.processing.post(f"/dossiers/{code}/decision", json={"approved": True})
    assert decided.status_code == 200, decided.text
    ready = await system.processing.post(f"/dossiers/{code}/result-ready", json={})
    assert ready.status_code == 200, ready.text
    again = await system.processing.post(f"/dossiers/{code}/result-ready", json={})
    assert again.status_code == 409
    assert again.json()["error"]["state"] == "result_ready"

    shipments = await eventually(
        lambda: system.postal.get(f"/dossiers/{code}/shipments"), lambda r: len(r.json()) == 1
    )
    assert shipments.json()[0]["kind"] == "delivery"

    # processing's relay publishes its events again: still one shipment
    relay = system.host("processing").relay
    assert relay is not None
    await relay.reset(0)
    await relay.publish_pending()
    postal = system.host("postal").consumers[0]
    await eventually(lambda: _value(postal.stats.processed + postal.stats.duplicates), lambda n: n >= 1)
    # of processing's events postal is given the result ready alone (not the opening, the decision)
    assert postal.stats.processed == 1
    assert len((await system.postal.get(f"/dossiers/{code}/shipments")).json()) == 1
    facts = await eventually(
        lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.json().get("delivery_shipments") == 1
    )
    assert facts.json()["result_ready_at"] is not None
    counts = await _counts(system, dossier["department_code"])
    assert counts["resolved"] == 1 and counts["on_time"] == 1 and counts["late"] == 0


async def test_opening_a_case_twice_changes_nothing(system: System) -> None:
    dossier = await _receive(system)
    code = dossier["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    app = system.apps["processing"].state.application
    case = app.case(code)
    fields = {
        "dossier_id": case.dossier_id,
        "dossier_code": code,
        "department_code": case.competent_department,
        "procedure_code": case.procedure_code,
        "legal_days": case.legal_days,
        "legal_hours": case.legal_hours,
        "same_day_cutoff": case.same_day_cutoff,
        "supplement_policy": case.supplement_policy,
        "agency_shares": case.agency_shares,
        "received_at": case.received_at,
        "due_at": case.appointment_at,
        "postal_return": case.postal_return,
        "occurred_at": case.received_at,
        "actor": {"user_id": "tiepnhan", "role": "front_desk", "agency": "TTPVHCC", "channel": 1},
        "calendar": case.calendar,
        "receiving_point": case.receiving_point,
        "tracking_hash": case.tracking_hash,
        "same_day": case.same_day,
        "backdate_reason": None,
        "intake_steps": None,
    }
    assert app.open_case(OpenCase(**fields)) is False
    assert len(app.history(code)) == 1


async def test_a_relay_saved_before_it_counted_by_type_counts_its_log_once(
    system: System, database_url: str
) -> None:
    """The ops check expects of each consumer the types it is given, from the relays' counts by
    type: a relay position saved by an older release has none, and they are counted from the log."""
    await _receive(system)
    relay = system.host("intake").relay
    assert relay is not None
    conn = await asyncpg.connect(database_url)
    query = "SELECT published, published_types::text FROM intake.relay_position WHERE relay = 'intake'"
    try:
        row = await eventually(
            lambda: conn.fetchrow(query),
            lambda r: r is not None and "intake.dossier_received.v2" in (r["published_types"] or ""),
        )
        counted = json.loads(row["published_types"])
        assert counted["intake.dossier_received.v2"] == 1 and sum(counted.values()) == row["published"]
        await conn.execute(
            "UPDATE intake.relay_position SET published_types = NULL, checkpoint_published_types = NULL"
        )
        relay._position = None  # a new term: the relay reads its saved state again
        await relay.publish_pending()
        again = await conn.fetchrow(query)
        assert json.loads(again["published_types"]) == counted and again["published"] == row["published"]
        checkpoint = await conn.fetchval(
            "SELECT checkpoint_published_types FROM intake.relay_position WHERE relay = 'intake'"
        )
        assert checkpoint is not None
    finally:
        await conn.close()
