"""Receipts published by intake's group committer as they commit; the relay as the recovery.

Against real NATS JetStream and PostgreSQL: every receipt lands in the stream exactly once and
byte for byte as the relay would have published it, whether the writer published it or (its
publish failing) the relay did from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import asyncpg
import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout

from services.intake.catalogue import load_catalogue
from services.intake.translate import translator
from shared.contracts.registry import dump_event
from shared.eventlog.relay import OutboxRelay
from shared.eventlog.topology import STREAM, SUBJECT_ROOT
from shared.host.settings import Settings
from tests.system import APPLICANT, System, eventually, receive_body, running_system


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url), ("intake",)) as s:
        yield s


def _procedure_code() -> str:
    return next(p.code for p in load_catalogue().procedures if p.legal_days is not None and 1 in p.channels)


async def _relay_tailing(system: System) -> OutboxRelay:
    relay = system.host("intake").relay
    assert relay is not None
    await eventually(lambda: _true(), lambda _: relay.status()["position"] is not None, timeout=20)
    return relay


async def _true() -> bool:
    return True


async def _intake_messages(nats_url: str) -> list[bytes]:
    """Every intake event in the stream, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"{SUBJECT_ROOT}.intake.>", stream=STREAM)
        found: list[bytes] = []
        while True:
            try:
                batch = await sub.fetch(500, timeout=1.0)
            except (NatsTimeout, TimeoutError):  # nats-py raises either
                return found
            found.extend(m.data for m in batch)
            for m in batch:
                await m.ack()
    finally:
        await nc.close()


def _relay_would_publish(system: System) -> list[bytes]:
    """What the relay makes of intake's stored receipts, read back from PostgreSQL."""
    app = system.host("intake").relay.app  # type: ignore[union-attr]
    translate = translator(app)
    made = []
    for n in app.recorder.select_notifications(start=1, limit=10_000):
        contract = translate(app.mapper.to_domain_event(n))
        if contract is not None and contract.event_type.startswith(("intake.dossier_", "intake.completion_")):
            made.append(dump_event(contract))
    return made


async def _file(system: System, count: int) -> list[str]:
    answers = await asyncio.gather(
        *(system.intake.post("/dossiers", json=receive_body(_procedure_code())) for _ in range(count))
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    return [a.json()["code"] for a in answers]


async def _published_all(relay: OutboxRelay, system: System) -> None:
    app = relay.app
    last = app.recorder.max_notification_id() or 0
    await eventually(lambda: _true(), lambda _: (relay.status()["position"] or 0) >= last, timeout=20)


async def _saved_types(database_url: str) -> Counter[str]:
    """What intake's relay saved with its position as published, by event type."""
    conn = await asyncpg.connect(database_url)
    try:
        text = await conn.fetchval(
            "SELECT published_types::text FROM intake.relay_position WHERE relay = 'intake'"
        )
    finally:
        await conn.close()
    return Counter(json.loads(text))


def _types_of(messages: list[bytes]) -> Counter[str]:
    return Counter(json.loads(m)["event_type"] for m in messages)


def _varied_filings() -> list[tuple[str, dict[str, Any]]]:
    """Every shape a counter filing's contract takes: received with the documents list, post,
    online payment, a notification channel and a desk; asked to complete; refused."""
    lltp = next(p for p in load_catalogue().procedures if p.code == "LLTP")
    required = [{"id": d.id} for d in lltp.missing_documents(set())]
    people = [{**APPLICANT, "citizen_id": f"0011900{n:05d}", "email": f"a{n}@example.vn"} for n in range(8)]
    return [
        ("/dossiers", receive_body("LLTP", applicant=people[0], documents=required)),
        ("/dossiers", receive_body("LLTP", applicant=people[1], postal_return=True, paid_online=True)),
        (
            "/dossiers",
            receive_body("LLTP", applicant=people[2], notify_channel="email", documents_scanned=False),
        ),
        ("/dossiers", receive_body(_procedure_code(), applicant=people[3], receiving_point="TTPVHCC")),
        (
            "/dossiers/incomplete",
            receive_body("LLTP", applicant=people[4], documents=required[:1], missing_items=["Tờ khai"]),
        ),
        ("/dossiers/refusals", receive_body("LLTP", applicant=people[5], reasons="Không thuộc thẩm quyền")),
    ]


async def test_receipts_are_published_once_by_their_writer_as_the_relay_would(
    system: System, nats_url: str, database_url: str
) -> None:
    relay = await _relay_tailing(system)
    before = relay.status()["published_directly"]
    filed = await asyncio.gather(*(system.intake.post(path, json=body) for path, body in _varied_filings()))
    assert [f.status_code for f in filed] == [201] * len(filed), [f.text for f in filed]
    await _file(system, 24)
    await _published_all(relay, system)
    assert relay.status()["published_directly"] > before, "the writer published them itself"
    messages = await _intake_messages(nats_url)
    receipts = [m for m in messages if b'"intake.dossier_' in m or b'"intake.completion_' in m]
    assert len(receipts) == 24 + len(_varied_filings()), "each filing exactly once"
    assert sorted(receipts) == sorted(_relay_would_publish(system))
    assert relay.status()["published"] == len(messages), "counted once, whoever published"
    status = relay.status()
    # published once, not once by the writer and again by the relay (the stream would hide it)
    assert status["published_directly"] + status["published_by_relay"] == len(messages)
    assert await _saved_types(database_url) == _types_of(messages), "and by type, whoever published"


async def test_a_failed_direct_publish_is_published_by_the_relay(
    system: System, nats_url: str, database_url: str
) -> None:
    relay = await _relay_tailing(system)
    real = relay._publish
    failed: list[int] = []

    async def failing_once(contracts: Any) -> int:
        if not failed:
            failed.append(len(contracts))
            raise ConnectionError("NATS went away mid-publish")
        return await real(contracts)

    relay._publish = failing_once  # type: ignore[method-assign]
    codes = await _file(system, 5)
    await _published_all(relay, system)
    assert failed, "the writer tried and failed"
    assert relay.status()["published_directly"] == 0, "none of it published by the writer"
    messages = await _intake_messages(nats_url)
    receipts = [m for m in messages if b'"intake.dossier_received.' in m]
    assert len(receipts) == 5
    assert all(any(code.encode() in m for m in receipts) for code in codes)
    assert sorted(receipts) == sorted(_relay_would_publish(system))
    assert await _saved_types(database_url) == _types_of(messages)
