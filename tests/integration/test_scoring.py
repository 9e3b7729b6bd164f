"""Scoring against the running services: figures, drill-down, replay, verify, as-of, ops.

A hand-built set of dossiers goes through intake and processing over HTTP; every expected
number below is counted by hand from the paths the test drives.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import nats
import pytest
from typer.testing import CliRunner

from services.ops import replay_parts
from services.ops.cli import app as cli
from services.ops.event_log import STORE_TABLES, open_logs
from services.scoring.verify import Cut, compare_whole
from shared.eventlog.topology import STREAM, consumers_of, subject_for
from shared.host.settings import Settings
from tests.identity import auth
from tests.system import System, eventually, receive_body, running_system

BACKDATED = "Hệ thống gián đoạn, nhập lại từ sổ"


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def _receive(system: System, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    response = await system.intake.post("/dossiers", json=receive_body("LLTP", **overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    code = body["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    return body


async def _act(system: System, code: str, action: str, **body: Any) -> None:
    response = await system.processing.post(f"/dossiers/{code}/{action}", json=body)
    assert response.status_code == 200, response.text


async def _cli(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def _figures(system: System, **params: Any) -> dict[str, Any]:
    response = await system.scoring.get("/figures", params={"period": "year", **params})
    assert response.status_code == 200, response.text
    return {row["unit"]: row for row in response.json()["units"]}


async def _tables(url: str) -> tuple[list[Any], list[Any], int]:
    conn = await asyncpg.connect(url)
    try:
        facts = [dict(r) for r in await conn.fetch("SELECT * FROM scoring.dossier_facts ORDER BY dossier_id")]
        figures = [
            dict(r)
            for r in await conn.fetch(
                "SELECT * FROM scoring.figures WHERE received + registered + resolved + stopped > 0"
                " ORDER BY dimension, period_kind, period_start, unit, procedure_code"
            )
        ]
        return facts, figures, await conn.fetchval("SELECT count(*) FROM scoring.events")
    finally:
        await conn.close()


async def _indexes(url: str) -> list[str]:
    """Scoring's keys and indexes as PostgreSQL would create them (replays rebuild them)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'scoring' ORDER BY indexname"
        )
        keys = await conn.fetch(
            "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'scoring' ORDER BY conname"
        )
        return [r[0] for r in rows] + [f"{k[0]} {k[1]}" for k in keys]
    finally:
        await conn.close()


async def _settled(system: System, timeout: float = 30.0) -> None:
    """Every relay has published all of its service's events and every consumer has acknowledged
    all it was handed (lag 0), and nothing moved between two looks."""

    async def probe() -> tuple[Any, ...]:
        relays = []
        for name in system.apps:
            relay = system.host(name).relay
            if relay is not None:
                top = await asyncio.to_thread(relay.app.recorder.max_notification_id)
                relays.append((await relay.position(), top or 0))
        lag = (await system.scoring.get("/ops/lag")).json()
        # Consumers of services this system does not run (payments, notify) are never read here.
        running = {spec.durable for name in system.apps for spec in consumers_of(name)}
        lags = tuple(c["lag"] for c in lag["consumers"] if c["declared"] and c["consumer"] in running)
        return lag["last_seq"], tuple(relays), lags

    previous: list[tuple[Any, ...]] = []

    def quiet(now: tuple[Any, ...]) -> bool:
        _, relays, lags = now
        settled = all(position >= top for position, top in relays) and not any(lags)
        steady = bool(previous) and previous[-1] == now
        previous.append(now)
        return settled and steady

    await eventually(probe, quiet, timeout=timeout)


async def test_figures_drill_down_replay_verify_and_as_of(system: System, database_url: str) -> None:
    points = (await system.intake.get("/departments")).json()["receiving_points"]
    # the district tier ended on 2025-06-30; a commune centre's own desk receives now
    local_desk = next(p["code"] for p in points if p["level"] == "commune")
    # A: decided at once and returned at the desk (early).
    a = (await _receive(system))["code"]
    await _act(system, a, "decision", approved=True)
    await _act(system, a, "result-ready")
    await _act(system, a, "result-returned", via="desk", received_by="chính chủ")
    # B: one supplement request (returned once, restart), then decided (early) at a commune desk.
    b = (await _receive(system, auth("tiepnhan.dongthanh"), receiving_point=local_desk))["code"]
    await _act(system, b, "supplement-requests", missing_items=["Tờ khai"], reason="thiếu tờ khai")
    await _act(system, b, "supplement-received")
    await _act(system, b, "decision", approved=False, reasons="Không đủ điều kiện")
    # C: withdrawn by the citizen.
    c = (await _receive(system))["code"]
    await _act(system, c, "withdrawal", kind="withdrawn", reason="Công dân xin rút")
    # D: refused at the counter (not received).
    refused = await system.intake.post(
        "/dossiers/refusals", json=receive_body("LLTP", reasons="Sai thẩm quyền")
    )
    assert refused.status_code == 201
    # E: result by post: decided, result ready, the postal service opens a delivery.
    e = (await _receive(system, postal_return=True, paid_online=True, channel=2, online_level="full"))["code"]
    await _act(system, e, "decision", approved=True)
    await _act(system, e, "result-ready")
    # F: received 30 h ago during an outage (back-dated), still in progress.
    past = datetime.now(UTC) - timedelta(hours=30)
    f = (await _receive(system, occurred_at=past.isoformat(), backdate_reason=BACKDATED))["code"]

    expected_status = [(3, 1), (4, 1), (7, 1), (9, 2), (10, 1)]
    await eventually(
        lambda: system.scoring.get("/national-status"),
        lambda r: [(row["code"], row["dossiers"]) for row in r.json()["statuses"]] == expected_status,
    )
    await eventually(
        lambda: system.scoring.get(f"/dossiers/{e}"), lambda r: r.json().get("postal_delivery_at") is not None
    )

    stp = (await _figures(system))["STP"]
    counted = {
        k: stp[k]
        for k in (
            "registered",
            "received",
            "refused",
            "resolved",
            "resolved_early",
            "resolved_late",
            "stopped",
            "returns",
            "returned_dossiers",
            "second_returns",
            "postal_return",
            "online_full",
            "desk",
            "fee_bearing",
            "paid_online",
            "backdated_entries",
            "in_progress_on_time",
            "in_progress_overdue",
        )
    }
    assert counted == {
        "registered": 6,
        "received": 5,
        "refused": 1,
        "resolved": 3,
        "resolved_early": 3,
        "resolved_late": 0,
        "stopped": 1,
        "returns": 1,
        "returned_dossiers": 1,
        "second_returns": 0,
        "postal_return": 1,
        "online_full": 1,
        "desk": 4,
        "fee_bearing": 5,
        "paid_online": 1,
        "backdated_entries": 1,
        "in_progress_on_time": 1,
        "in_progress_overdue": 0,
    }
    assert stp["online_share"] == 0.2 and stp["postal_return_share"] == 0.2
    by_desk = await _figures(system, dimension="receiving_point")
    assert by_desk[local_desk]["received"] == 1 and by_desk[local_desk]["resolved"] == 1

    drill = await system.scoring.get(
        "/figures/dossiers", params={"period": "year", "unit": "STP", "counter": "resolved_early"}
    )
    assert sorted(d["dossier_code"] for d in drill.json()["dossiers"]) == sorted([a, b, e])
    history = (await system.scoring.get(f"/dossiers/{a}/history")).json()
    assert [h["event_type"] for h in history] == [
        "intake.dossier_received.v2",
        "processing.case_opened.v1",
        "processing.officer_assigned.v1",  # decided unassigned: the decision-maker took it over
        "processing.dossier_decided.v1",
        "processing.result_ready.v1",
        "processing.result_returned.v1",
    ]

    index = (await system.scoring.get("/index766", params={"period": "year"})).json()
    progress = next(i for i in index["units"][0]["indicators"] if i["key"] == "progress")
    # A, B, E finished early; C withdrawn in time; F in progress and not due: 5 of 5 on time.
    assert (progress["numerator"], progress["denominator"], progress["points"]) == (5, 5, 20)
    ranking = (await system.scoring.get("/ranking", params={"period": "year"})).json()["ranking"]
    assert ranking[0]["unit"] == "STP" and ranking[0]["rank"] == 1

    # Replay from the services' event stores rebuilds identical tables; verify finds nothing.
    # The "before" is taken once scoring has counted everything (on a busy machine it may still
    # be catching up on events the checks above did not wait for).
    await _settled(system)
    before = await _tables(database_url)
    indexes = await _indexes(database_url)
    # A replay counts the stores' rows by their tables' names, without building the services'
    # applications: the names the applications give their tables.
    logs = await asyncio.to_thread(open_logs, database_url, create=False)
    names = {log.name: f"{log.name}.{log.app.recorder.events_table_name}" for log in logs}  # type: ignore[attr-defined]
    for log in logs:
        log.close()
    assert names == STORE_TABLES
    assert await asyncio.to_thread(replay_parts.stored_events, database_url) > 0
    replayed = await _cli("replay", "scoring", "--database-url", database_url)
    assert replayed.exit_code == 0, replayed.output
    assert await _tables(database_url) == before
    # The staged tables are loaded bare and get their keys and indexes afterwards: all of them.
    assert await _indexes(database_url) == indexes
    # The live consumer's tracking is exactly the replayed events (staged and swapped in too).
    conn = await asyncpg.connect(database_url)
    tracked = await conn.fetch("SELECT consumer, event_id FROM scoring.processed_events ORDER BY 2")
    replayed_ids = await conn.fetch("SELECT event_id FROM scoring.events ORDER BY 1")
    await conn.close()
    assert [tuple(r) for r in tracked] == [("scoring", r["event_id"]) for r in replayed_ids]
    # A log too big to fold at once is spilled to files and folded bucket by bucket: the same.
    await asyncio.to_thread(replay_parts.replay, database_url, 2, buckets=3)
    assert await _tables(database_url) == before
    # Intake's rows are split between the parts by PostgreSQL when the parts divide 256 (4), by
    # the readers otherwise (3): every dossier in exactly one part either way.
    for parts in (3, 4):
        await asyncio.to_thread(replay_parts.replay, database_url, parts)
        assert await _tables(database_url) == before, parts
    # The live consumer goes on while a replay runs: events the log gains after the workers have
    # read it are applied to the old tables, and kept on top of the replayed ones at the swap (they
    # were acknowledged: nothing would bring them back). G: received while the replay runs.
    loop = asyncio.get_running_loop()
    received_meanwhile: list[str] = []

    def received_during_the_replay(_staged: Any) -> None:
        async def receive() -> None:
            response = await system.intake.post("/dossiers", json=receive_body("HKD"))
            assert response.status_code == 201, response.text
            g = response.json()["code"]
            received_meanwhile.append(g)
            await eventually(  # received, and its case opened: both applied to the old tables
                lambda: system.scoring.get(f"/dossiers/{g}"),
                lambda r: r.status_code == 200 and r.json()["event_count"] == 2,
            )

        asyncio.run_coroutine_threadsafe(receive(), loop).result()

    share = await asyncio.to_thread(
        replay_parts.replay, database_url, 2, before_swap=received_during_the_replay
    )
    assert share.late == 2
    kept = await system.scoring.get(f"/dossiers/{received_meanwhile[0]}")
    assert kept.status_code == 200 and kept.json()["event_count"] == 2
    await _settled(system)
    clean = await _cli("verify", "--database-url", database_url)
    assert clean.exit_code == 0 and "0 differences" in clean.output, clean.output

    # An audit reads the log and scoring's tables at one instant (its cut): what changes after the
    # cut, while a large log is folded for minutes, is not seen. Read without the cut, it is.
    holder = await asyncpg.connect(database_url)
    async with holder.transaction(isolation="repeatable_read", readonly=True):
        cut = Cut(*await holder.fetchrow("SELECT pg_export_snapshot(), now()"))
        changed = await asyncpg.connect(database_url)
        await changed.execute(
            "UPDATE scoring.dossier_facts SET fee_vnd = fee_vnd + 1 WHERE dossier_code = $1", a
        )
        for at, found in ((cut, 0), (None, 1)):
            audit = await asyncio.to_thread(replay_parts.audit_part, database_url, 0, 1, buckets=2, cut=at)
            diffs = await compare_whole(changed, audit, at)
            assert (audit.difference_count, audit.in_flight) == (found, 0), diffs
        await changed.execute(
            "UPDATE scoring.dossier_facts SET fee_vnd = fee_vnd - 1 WHERE dossier_code = $1", a
        )
        await changed.close()
    await holder.close()

    # An injected difference is found, and verify fails. In one month's row: for 30 hours after a
    # month begins (the centre's time) the back-dated F is counted in the month before.
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        "UPDATE scoring.figures SET received = received + 1 WHERE dimension = 'department'"
        " AND unit = 'STP' AND period_kind = 'month' AND period_start = (SELECT max(period_start)"
        " FROM scoring.figures WHERE dimension = 'department' AND unit = 'STP' AND period_kind = 'month')"
    )
    await conn.close()
    dirty = await _cli("verify", "--database-url", database_url)
    assert dirty.exit_code == 1 and "1 difference" in dirty.output, dirty.output
    # Each part compares its own dossiers with their live rows (here in buckets, as a log too big
    # for memory is); a row of a dossier the log does not have is found once the parts are merged.
    conn = await asyncpg.connect(database_url)
    await conn.execute("UPDATE scoring.dossier_facts SET fee_vnd = fee_vnd + 1 WHERE dossier_code = $1", a)
    await conn.execute("DELETE FROM scoring.dossier_facts WHERE dossier_code = $1", b)
    await conn.execute(
        "CREATE TEMP TABLE ghost AS SELECT * FROM scoring.dossier_facts WHERE dossier_code = $1;"
        " UPDATE ghost SET dossier_id = gen_random_uuid(), dossier_code = 'GHOST';"
        " INSERT INTO scoring.dossier_facts SELECT * FROM ghost".replace("$1", f"'{c}'")
    )
    await conn.close()
    audit, diffs = await asyncio.to_thread(replay_parts.verify, database_url, 2, buckets=3)
    facts = {(d.key, d.column): (d.expected, d.actual) for d in diffs if d.table == "dossier_facts"}
    assert set(facts) == {(a, "fee_vnd"), (b, "*"), ("GHOST", "*")}, facts
    assert facts[(a, "fee_vnd")][1] == facts[(a, "fee_vnd")][0] + 1
    assert facts[(b, "*")] == (True, False) and facts[("GHOST", "*")] == (False, True)
    assert [d.column for d in diffs if d.table == "figures"] == ["received"]
    assert audit.difference_count == len(diffs) == 4
    assert (await _cli("replay", "scoring", "--database-url", database_url)).exit_code == 0

    # As of: a report made now, then a back-dated decision on F placed before it.
    report_time = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await _act(
        system,
        f,
        "decision",
        approved=True,
        occurred_at=(report_time - timedelta(minutes=10)).isoformat(),
        backdate_reason=BACKDATED,
    )
    await eventually(lambda: system.scoring.get(f"/dossiers/{f}"), lambda r: r.json()["national_status"] == 9)
    as_of = {"as_of": report_time.isoformat()}
    corrected = (await _figures(system, **as_of))["STP"]
    published = (await _figures(system, **as_of, known_at=report_time.isoformat()))["STP"]
    assert (corrected["resolved"], corrected["in_progress_on_time"]) == (4, 0)
    assert (published["resolved"], published["in_progress_on_time"]) == (3, 1), "the report as published"

    history_out = await _cli("history", a, "--database-url", database_url)
    assert history_out.exit_code == 0
    assert "intake.dossier_received.v2" in history_out.output
    assert "processing.result_returned.v1" in history_out.output


async def test_ops_lag_dead_letters_redrive_and_bad_input(system: System, database_url: str) -> None:
    nc = await nats.connect(system.ops_nats_url)
    js = nc.jetstream()
    await js.publish(subject_for("intake.dossier_received.v1", "bad"), b"{not json", stream=STREAM)
    await nc.close()
    letters = await eventually(
        lambda: system.scoring.get("/ops/dead-letters"),
        lambda r: any(d["consumer"] == "scoring" for d in r.json()),
    )
    letter = next(d for d in letters.json() if d["consumer"] == "scoring")
    lag = (await system.scoring.get("/ops/lag")).json()
    scoring = next(c for c in lag["consumers"] if c["consumer"] == "scoring")
    assert lag["last_seq"] >= 1 and scoring["declared"] and scoring["ack_floor"] <= lag["last_seq"]

    # The payload is still not JSON: scoring refuses it again and the letter stays as it was.
    redriven = await system.scoring.post(f"/ops/dead-letters/scoring/{letter['id']}/redrive")
    assert redriven.status_code == 409 and redriven.json()["error"]["code"] == "still_failing", redriven.text
    listed = (await system.scoring.get("/ops/dead-letters")).json()
    assert any(d["id"] == letter["id"] and d["schema"] == "scoring" for d in listed)
    cli_list = await _cli("dead-letters", "--database-url", database_url)
    assert cli_list.exit_code == 0

    for path, code in [
        ("/ops/dead-letters/nosuch/1/redrive", "unknown_schema"),
        ("/ops/dead-letters/scoring/999999/redrive", "not_found"),
    ]:
        response = await system.scoring.post(path)
        assert 400 <= response.status_code < 500 and response.json()["error"]["code"] == code
    for params, code in [
        ({"period": "week"}, "unknown_period"),
        ({"dimension": "galaxy"}, "unknown_dimension"),
        ({"start": "1066-10-14"}, "period_out_of_range"),
        ({"as_of": "2026-01-01T00:00:00"}, "naive_datetime"),
        ({"start": "not-a-date"}, "invalid_request"),
    ]:
        response = await system.scoring.get("/figures", params=params)
        assert response.status_code == 422 and response.json()["error"]["code"] == code, response.text
        assert response.json()["error"]["message"]["vi"] and response.json()["error"]["message"]["en"]
    bad_counter = await system.scoring.get("/figures/dossiers", params={"counter": "nope"})
    assert bad_counter.status_code == 422 and bad_counter.json()["error"]["code"] == "unknown_counter"
    assert (await system.scoring.get("/dossiers/NOPE/history")).status_code == 404
