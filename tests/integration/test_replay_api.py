"""A replay started over HTTP rebuilds scoring's tables from the stores, and its progress can be
followed to the end: every phase complete, the counts those of the log."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.intake.catalogue import load_catalogue
from services.ops import replay_parts
from services.scoring.replays import REPLAY_LOCK
from shared.eventlog.singleton import NAMESPACE
from shared.host.settings import Settings
from tests.identity import auth
from tests.system import System, eventually, receive_body, running_system

OPS = auth("vanhanh")


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def test_a_replay_rebuilds_scoring_and_reports_its_progress(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
    codes = []
    for _ in range(3):
        received = await system.intake.post("/dossiers", json=receive_body(procedure.code))
        assert received.status_code == 201, received.text
        codes.append(received.json()["code"])
    for code in codes:
        await eventually(lambda c=code: system.scoring.get(f"/dossiers/{c}"), lambda r: r.status_code == 200)
    before = (await system.scoring.get("/figures")).json()
    assert before["units"], before

    started = await system.scoring.post("/ops/replays", headers=OPS)
    assert started.status_code == 202, started.text
    replay = started.json()
    assert started.headers["location"] == f"/ops/replays/{replay['id']}"
    assert replay["state"] == "running" and replay["started_by"] == "vanhanh"
    # one at a time: a second start is refused and names the running one
    again = await system.scoring.post("/ops/replays", headers=OPS)
    assert again.status_code == 409 and again.json()["error"]["running"] == replay["id"], again.text

    done = await eventually(
        lambda: system.scoring.get(f"/ops/replays/{replay['id']}"),
        lambda r: r.json()["state"] != "running",
        timeout=30,
    )
    view = done.json()
    assert view["state"] == "done", view
    assert [p["phase"] for p in view["phases"]] == ["read", "fold", "write"]
    assert all(p["finished"] and p["done"] == p["total"] and p["percent"] == 100.0 for p in view["phases"]), (
        view
    )
    read, fold, _ = view["phases"]
    assert read["total"] >= 3 and fold["total"] == 3 and view["result"]["dossiers"] == 3
    assert view["result"]["events"] >= 3
    listed = (await system.scoring.get("/ops/replays", headers=auth("thanhtra"))).json()  # auditors read
    assert [r["id"] for r in listed] == [replay["id"]]
    assert (await system.scoring.get("/figures")).json()["units"] == before["units"]
    for code in codes:  # rebuilt, not emptied
        assert (await system.scoring.get(f"/dossiers/{code}")).status_code == 200

    # A log too big for the service's memory is folded bucket by bucket: the same tables.
    monkeypatch.setattr(replay_parts, "EVENTS_IN_MEMORY", 2)
    assert replay_parts.buckets_for(read["total"], 1) > 1
    bucketed = (await system.scoring.post("/ops/replays", headers=OPS)).json()
    finished = await eventually(
        lambda: system.scoring.get(f"/ops/replays/{bucketed['id']}"),
        lambda r: r.json()["state"] != "running",
        timeout=30,
    )
    assert finished.json()["state"] == "done" and finished.json()["result"] == view["result"], finished.text
    assert (await system.scoring.get("/figures")).json()["units"] == before["units"]

    # the auditor follows but may not start; unknown replays are a 404 with a code
    refused = await system.scoring.post("/ops/replays", headers=auth("thanhtra"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_role"
    missing = await system.scoring.get("/ops/replays/0000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_a_replay_running_in_another_replica_is_refused(system: System, database_url: str) -> None:
    """Two replicas of scoring would each replace the tables with what they read: one at a time."""
    other = await asyncpg.connect(database_url)  # another replica's replay, holding the lock
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, REPLAY_LOCK)
        refused = await system.scoring.post("/ops/replays", headers=OPS)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "replay_running" and error["running"] == "another replica", error
        assert error["message"]["vi"] and error["message"]["en"]
    finally:
        await other.close()  # its session ends: the lock is free again
    started = await system.scoring.post("/ops/replays", headers=OPS)
    assert started.status_code == 202, started.text
    await eventually(
        lambda: system.scoring.get(f"/ops/replays/{started.json()['id']}"),
        lambda r: r.json()["state"] == "done",
    )
