"""Personal data at rest and on the bus: a dossier through the four services leaves no CCCD or
name in PostgreSQL, JetStream, dead letters or the logs; reads are logged; erasure shreds it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import asyncpg
import nats
import pytest
from typer.testing import CliRunner

from services.intake.catalogue import load_catalogue
from services.ops.cli import app as cli
from shared.eventlog.topology import STREAM
from shared.pii import ERASED, KeyRing, master_key_from_env
from shared.signals.logs import JsonFormatter
from tests.identity import auth
from tests.integration.test_postal_support import postal_world
from tests.system import APPLICANT, eventually, receive_body

CCCD = APPLICANT["citizen_id"]
NAME = APPLICANT["full_name"]
DPO = auth("baove.dulieu")  # the data protection officer


def _leaks(value: Any) -> list[str]:
    """Which of the test citizen's CCCD and name appear in ``value`` (text, bytes, JSON)."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    else:
        text = value if isinstance(value, str) else str(value)
    # JSON may escape non-ASCII: look for the escaped name as well.
    escaped = json.dumps(NAME)[1:-1]
    return [what for what, needle in (("cccd", CCCD), ("name", NAME), ("name", escaped)) if needle in text]


async def _scan_postgres(database_url: str) -> dict[str, list[str]]:
    """Every row of every table of the services' and pii schemas, as stored."""
    found: dict[str, list[str]] = {}
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        )
        assert {t["table_schema"] for t in tables} >= {"intake", "processing", "postal", "scoring", "pii"}
        for t in tables:
            for row in await conn.fetch(f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"'):
                for column, value in row.items():
                    leaks = _leaks(value)
                    if leaks:
                        found.setdefault(f"{t['table_schema']}.{t['table_name']}.{column}", []).extend(leaks)
    finally:
        await conn.close()
    return found


async def _scan_jetstream(nats_url: str) -> tuple[int, list[str]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        leaks: list[str] = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(STREAM, seq)
            leaks += [f"{msg.subject}: {w}" for w in _leaks(msg.data or b"") + _leaks(msg.headers or {})]
        return info.state.messages, leaks
    finally:
        await nc.close()


async def _dead_letter_a_real_intake_message(nats_url: str) -> None:
    """Re-publishes intake's message with a broken field: every consumer dead-letters it as is."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(STREAM, seq)
            if msg.subject and msg.subject.endswith("dossier_received.v2") and msg.data:
                broken = {**json.loads(msg.data), "dossier_code": 7}
                await js.publish(msg.subject, json.dumps(broken).encode(), stream=STREAM)
                return
        raise AssertionError("no intake message in the stream")
    finally:
        await nc.close()


async def test_no_personal_data_at_rest_on_the_bus_or_in_logs_and_erasure_shreds_it(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    nats_url: str,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The same records as the services' processes write them: JSON lines, with the dossier code
    # and trace id taken from context when each is written.
    json_lines = io.StringIO()
    json_handler = logging.StreamHandler(json_lines)
    json_handler.setFormatter(JsonFormatter("test"))
    json_handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(json_handler)
    request.addfinalizer(lambda: logging.getLogger().removeHandler(json_handler))
    # The operator reports a failed delivery: its "delivered_to" (who signed, as the operator
    # reports it) is outside what this test covers.
    async with postal_world(monkeypatch, database_url, nats_url, failure_share=1.0) as world:
        system = world.system
        code = await world.result_ready_by_post()
        await eventually(world.bookings, lambda b: len(b) == 1)  # postal opened the address to book
        await eventually(
            lambda: world.shipments(code), lambda s: bool(s) and s[0]["status"] == "returned_to_sender"
        )
        # The same citizen again: the same data key (one subject, keyed hash of the CCCD).
        procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
        second = (await system.intake.post("/dossiers", json=receive_body(procedure.code))).json()["code"]
        scoring = system.scoring

        await eventually(
            lambda: scoring.get(f"/dossiers/{second}/history"), lambda r: r.status_code == 200 and r.json()
        )
        await _dead_letter_a_real_intake_message(nats_url)
        await eventually(
            lambda: scoring.get("/ops/dead-letters"), lambda r: r.status_code == 200 and len(r.json()) >= 1
        )

        # At rest and on the bus: ciphertext only.
        assert await _scan_postgres(database_url) == {}
        messages, leaks = await _scan_jetstream(nats_url)
        assert messages >= 6 and leaks == []
        conn = await asyncpg.connect(database_url)
        try:
            keys = await conn.fetch(
                "SELECT dossier_code, key_ref FROM pii.subject_dossiers WHERE dossier_code = ANY($1)",
                [code, second],
            )
            assert len(keys) == 2 and len({k["key_ref"] for k in keys}) == 1
        finally:
            await conn.close()

        # A read in clear is logged with its reader and purpose.
        view = await system.intake.get(f"/dossiers/{code}", params={"purpose": "kiểm tra hồ sơ"})
        assert view.status_code == 200 and view.json()["applicant"]["citizen_id"] == CCCD
        receipt = await system.intake.get(f"/dossiers/{code}/forms/receipt")
        assert NAME in receipt.text
        accesses = (
            await system.intake.get(f"/dossiers/{code}/personal-data-access", headers=auth("thanhtra"))
        ).json()
        assert [a["purpose"] for a in accesses] == ["kiểm tra hồ sơ", "form receipt: xem hồ sơ / view"]
        assert accesses[0]["actor"]["user_id"] == "tiepnhan", "the reader is the token's user"

        # Erasure: only the DPO or ops, not during retention without a legal obligation.
        erasure = f"/dossiers/{code}/erasure"
        refused = await system.intake.post(erasure, json={"reason": "yêu cầu số 12"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_role"
        running = await system.intake.post(erasure, json={"reason": "yêu cầu số 12"}, headers=DPO)
        assert running.status_code == 409, running.text
        assert running.json()["error"]["code"] == "retention_period_running"
        assert sorted(running.json()["error"]["dossiers"]) == sorted([code, second])
        unknown = await system.intake.post(
            "/dossiers/NOPE-000000-0000/erasure", json={"reason": "x"}, headers=DPO
        )
        assert unknown.status_code == 404
        erased = await system.intake.post(
            erasure,
            json={"reason": "yêu cầu số 12", "legal_obligation": "Quyết định 34/QĐ-TA, Điều 2"},
            headers=DPO,
        )
        assert erased.status_code == 200, erased.text
        assert sorted(erased.json()["dossiers"]) == sorted([code, second])
        again = await system.intake.post(erasure, json={"reason": "x", "legal_obligation": "y"}, headers=DPO)
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_erased"

        # Afterwards: placeholders, never an error; the erasure is in the dossier's history.
        for c in (code, second):
            shown = await system.intake.get(f"/dossiers/{c}")
            assert shown.status_code == 200
            assert shown.json()["applicant"] == {
                "full_name": ERASED, "citizen_id": ERASED, "date_of_birth": None, "phone": None,
                "email": None, "address": ERASED, "erased": True,
            }  # fmt: skip
        form = await system.intake.get(f"/dossiers/{second}/forms/receipt")
        assert form.status_code == 200 and ERASED in form.text and NAME not in form.text
        history = (await system.intake.get(f"/dossiers/{code}/history")).json()
        assert history[-1]["event"] == "PersonalDataErased" and history[-1]["actor"]["role"] == "dpo"

        # The dossiers still count, and the figures recomputed from the logs agree.
        drill = await scoring.get(
            "/figures/dossiers",
            params={"period": "year", "unit": procedure.department, "counter": "received"},
        )
        assert drill.status_code == 200
        assert second in {d["dossier_code"] for d in drill.json()["dossiers"]}
        verified = await asyncio.to_thread(
            CliRunner().invoke, cli, ["verify", "--database-url", database_url]
        )
        assert verified.exit_code == 0, verified.output

    # Nothing the services logged during the whole run names the citizen.
    assert caplog.records, "the run logged something"
    assert _leaks(caplog.text) == []
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert len(lines) >= len(caplog.records) // 2, "the JSON handler saw the run"
    assert _leaks(json_lines.getvalue()) == []


async def test_cli_erase_and_the_key_ring(database_url: str, nats_url: str) -> None:
    async with postal_world(pytest.MonkeyPatch(), database_url, nats_url) as world:
        procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
        body = receive_body(procedure.code, applicant={**APPLICANT, "citizen_id": "079190001111"})
        code = (await world.system.intake.post("/dossiers", json=body)).json()["code"]
        runner = CliRunner()
        args = ["erase", code, "--database-url", database_url, "--reason", "đơn 7", "--user", "dpo.le"]
        kept = await asyncio.to_thread(runner.invoke, cli, args)
        assert kept.exit_code == 1 and "retention_period_running" in kept.output
        done = await asyncio.to_thread(runner.invoke, cli, [*args, "--legal-obligation", "Bản án 12/2026"])
        assert done.exit_code == 0, done.output
        # Another process erased it: this intake's cache may keep the key for its time to live;
        # a fresh key ring (a restarted or other process) reads the placeholder.
        world.system.apps["intake"].state.keyring.forget_all()
        shown = (await world.system.intake.get(f"/dossiers/{code}")).json()
        assert shown["applicant"]["full_name"] == ERASED

    # The key ring on its own: a new subject gets a key, the same subject the same key, an
    # erased key opens nothing (None), and the subject comes back with a new key.
    conn = await asyncpg.connect(database_url)
    try:
        ring = KeyRing(master_key_from_env())
        await ring.start(conn)
        subject = ring.subject_of("cccd", "001190099999")
        assert subject == ring.subject_of("cccd", "001190099999") and "001190099999" not in subject
        first = (await ring.keys_for(conn, [subject, subject]))[subject]
        assert (await ring.keys_for(conn, [subject]))[subject].key_ref == first.key_ref
        sealed = ring.seal(first, {"full_name": "X"})
        assert await ring.open(conn, sealed) == {"full_name": "X"}
        assert await ring.erase(conn, first.key_ref) is True
        assert await ring.open(conn, sealed) is None
        assert await KeyRing(master_key_from_env()).open(conn, sealed) is None
        assert (await ring.keys_for(conn, [subject]))[subject].key_ref != first.key_ref
    finally:
        await conn.close()
