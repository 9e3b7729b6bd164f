"""A dead letter is re-driven through the one consumer that failed on it, and through no other."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import nats
import pytest
from typer.testing import CliRunner

from services.intake.catalogue import load_catalogue
from services.ops.cli import app as cli
from shared.contracts import AnyEvent
from shared.eventlog import PoisonMessage, TrackedConsumer
from shared.eventlog.topology import PROCESSING_FROM_INTAKE, STREAM
from shared.host.settings import Settings
from tests.system import System, eventually, receive_body, running_system


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


def _consumer(system: System, service: str, durable: str) -> TrackedConsumer:
    return next(c for c in system.host(service).consumers if c.spec.durable == durable)


async def _stream_messages(system: System) -> int:
    nc = await nats.connect(system.ops_nats_url)
    try:
        return int((await nc.jetstream().stream_info(STREAM)).state.messages)
    finally:
        await nc.close()


async def _letters(system: System) -> list[dict[str, Any]]:
    response = await system.scoring.get("/ops/dead-letters", params={"include_redriven": True})
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_redrive_runs_only_the_failed_consumer_again(system: System, database_url: str) -> None:
    # A bug in processing's intake handler: every received dossier is refused as poison.
    opening = _consumer(system, "processing", PROCESSING_FROM_INTAKE.durable)
    fixed_handler, fixed_apply = opening.handler, opening.apply

    async def buggy(_: asyncpg.Connection, event: AnyEvent) -> None:
        raise PoisonMessage(f"bug: cannot open {event.event_type}")

    opening.handler, opening.apply = buggy, None
    procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
    received = await system.intake.post("/dossiers", json=receive_body(procedure.code))
    assert received.status_code == 201, received.text
    code = received.json()["code"]

    letters = await eventually(lambda: _letters(system), lambda ls: len(ls) >= 1)
    [letter] = letters
    assert (letter["schema"], letter["consumer"]) == ("processing", PROCESSING_FROM_INTAKE.durable)
    scoring = _consumer(system, "scoring", "scoring")
    await eventually(lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    assert (await system.processing.get(f"/dossiers/{code}")).status_code == 404
    path = f"/ops/dead-letters/processing/{letter['id']}/redrive"

    # Still broken: the letter is refused again and left as it was.
    still = await system.scoring.post(path)
    assert still.status_code == 409 and still.json()["error"]["code"] == "still_failing", still.text
    assert [x["redriven_at"] for x in await _letters(system)] == [None]

    # Fixed: re-driven through processing's consumer alone. The stream gets nothing new, so
    # scoring (which had counted the dossier) sees nothing again and no other letter appears.
    opening.handler, opening.apply = fixed_handler, fixed_apply
    messages, scoring_seen = (
        await _stream_messages(system),
        scoring.stats.processed + scoring.stats.duplicates,
    )
    done = await system.scoring.post(path)
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "processed" and done.json()["consumer"] == PROCESSING_FROM_INTAKE.durable
    case = await system.processing.get(f"/dossiers/{code}")
    assert case.status_code == 200 and case.json()["state"] == "in_processing"

    # Opening the case published processing's own event: that is the only new message.
    await eventually(lambda: _stream_messages(system), lambda n: n == messages + 1)
    await asyncio.sleep(0.5)
    assert (
        scoring.stats.duplicates == 0
        and scoring.stats.processed + scoring.stats.duplicates == scoring_seen + 1
    )
    [after] = await _letters(system)
    assert after["id"] == letter["id"] and after["redriven_at"] is not None

    # Again, through the CLI as ops: nothing to do, nothing changes.
    again = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["dead-letters", "--database-url", database_url, "--nats-url", system.ops_nats_url,
         "--schema", "processing", "--redrive", str(letter["id"])],
    )  # fmt: skip
    assert again.exit_code == 0 and "already_redriven" in again.output, again.output
    assert await _stream_messages(system) == messages + 1


async def test_redrive_without_the_owner_running_is_a_clear_503(database_url: str, nats_url: str) -> None:
    """Scoring alone: processing's dead letter has nobody to run it."""
    settings = Settings(nats_url=nats_url, database_url=database_url)
    async with running_system(settings, names=("scoring",)) as system:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "CREATE SCHEMA IF NOT EXISTS processing; CREATE TABLE IF NOT EXISTS processing.dead_letters"
                " (LIKE scoring.dead_letters INCLUDING ALL)"
            )
            letter_id = await conn.fetchval(
                "INSERT INTO processing.dead_letters (consumer, subject, payload, headers, reason)"
                " VALUES ('processing-intake', 's', '\\x7b7d', '{}', 'r') RETURNING id"
            )
        finally:
            await conn.close()
        response = await system.scoring.post(f"/ops/dead-letters/processing/{letter_id}/redrive")
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "owner_unavailable" and error["message"]["vi"] and error["message"]["en"]
