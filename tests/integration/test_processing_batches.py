"""Processing writes in batches: the cases of a pulled batch open with one save, a sweep saves
its steps together, and the consumer's and the cases' guarantees hold all the same.

The consumer is driven with hand-made messages, so each test decides exactly what one pulled
batch holds; PostgreSQL (tracking, dead letters, the event store) is real.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from nats.aio.msg import Msg

from services.processing.application import ProcessingApplication
from services.processing.handlers import _opening, on_intake_event, open_received_cases
from services.processing.sweepers import SYSTEM_ACTOR, system_step
from services.processing.values import StepMeta
from shared.contracts import Actor, DossierReceived, SealedPersonalData
from shared.eventlog import PROCESSING_FROM_INTAKE, TrackedConsumer, ensure_schema, eventstore_env
from shared.eventlog.consumer import PoisonMessage, all_in_one_savepoint
from shared.eventlog.tables import ensure_eventlog_tables

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MON = datetime(2026, 3, 2, 8, 0, tzinfo=VN)


@dataclass
class FakeMsg:
    """What the consumer reads of a JetStream message, and what it answered."""

    data: bytes
    seq: int
    subject: str = "motcua.evt.intake.x.dossier_received.v1"
    headers: dict[str, str] | None = None
    reply: str = "reply"
    answers: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(sequence=SimpleNamespace(stream=self.seq), num_delivered=1)

    async def ack(self) -> None:
        self.answers.append("ack")

    async def term(self) -> None:
        self.answers.append("term")

    async def nak(self, delay: float | None = None) -> None:
        self.answers.append("nak")


def received(n: int) -> DossierReceived:
    dossier_id = uuid.uuid4()
    return DossierReceived(
        event_id=f"intake:{dossier_id}:1",
        dossier_id=dossier_id,
        dossier_code=f"B-{n:05d}-{dossier_id.hex[:6]}",
        occurred_at=MON,
        recorded_at=MON,
        actor=Actor(user_id="cb", role="front_desk", agency="TTHCC", channel=1),
        procedure_code="LLTP",
        department_code="STP",
        receiving_point="TTHCC",
        channel=1,
        applicant=SealedPersonalData(key_ref=uuid.UUID(int=1), ciphertext="c2VhbGVk"),
        postal_return=False,
        legal_days=3,
        received_at=MON,
        due_at=MON + timedelta(days=3),
    )


def messages(events: list[DossierReceived], first_seq: int = 1) -> list[FakeMsg]:
    return [FakeMsg(e.model_dump_json().encode(), first_seq + i) for i, e in enumerate(events)]


@dataclass
class Processing:
    app: ProcessingApplication
    pool: asyncpg.Pool
    consumer: TrackedConsumer
    saves: list[int]  # aggregates per save() the application was asked to do

    async def handle(self, msgs: list[FakeMsg]) -> None:
        await self.consumer.handle_batch(cast(list[Msg], msgs))

    def history_lengths(self, events: list[DossierReceived]) -> list[int]:
        return [len(self.app.history(e.dossier_code)) for e in events]


@pytest.fixture
async def processing(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Processing]:
    ensure_schema(database_url, "processing")
    app = ProcessingApplication(env=eventstore_env(database_url, "processing"))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await ensure_eventlog_tables(conn, "processing")
    saves: list[int] = []
    save = app.save

    def counting_save(*objs: Any, **kwargs: Any) -> Any:
        saves.append(len(objs))
        return save(*objs, **kwargs)

    monkeypatch.setattr(app, "save", counting_save)
    consumer = TrackedConsumer(
        spec=PROCESSING_FROM_INTAKE,
        schema="processing",
        pool=lambda: pool,
        handler=on_intake_event(app),
        apply=open_received_cases(app),
    )
    yield Processing(app, pool, consumer, saves)
    await pool.close()
    app.close()


async def test_a_batch_of_new_dossiers_opens_every_case_with_one_save(processing: Processing) -> None:
    events = [received(i) for i in range(7)]
    msgs = messages(events)
    await processing.handle(msgs)

    assert processing.saves == [7]
    assert [m.answers for m in msgs] == [["ack"]] * 7
    assert processing.history_lengths(events) == [1] * 7
    assert processing.consumer.stats.processed == 7
    tracked = await processing.pool.fetchval("SELECT count(*) FROM processing.processed_events")
    assert tracked == 7


async def test_a_redelivered_batch_opens_nothing_twice_and_acks_everything(processing: Processing) -> None:
    events = [received(i) for i in range(6)]
    # The first three were handled and tracked in an earlier batch.
    await processing.handle(messages(events[:3]))
    # The fourth's case was saved, but its batch rolled back before the tracking committed.
    assert processing.app.open_cases([_opening(events[3])]) == {events[3].dossier_code}
    processing.saves.clear()

    msgs = messages(events, first_seq=10)
    await processing.handle(msgs)

    assert [m.answers for m in msgs] == [["ack"]] * 6
    assert processing.history_lengths(events) == [1] * 6
    # Tracked ones never reach the store; the batch save of the other three fails on the
    # open one, which is then left out: only the two new cases are saved.
    assert processing.saves == [3, 2]
    assert processing.consumer.stats.duplicates == 3
    assert processing.consumer.stats.dead_lettered == 0

    # A batch redelivered once more changes nothing at all.
    processing.saves.clear()
    again = messages(events, first_seq=20)
    await processing.handle(again)
    assert processing.saves == []
    assert [m.answers for m in again] == [["ack"]] * 6
    assert processing.history_lengths(events) == [1] * 6


async def test_a_poison_message_in_a_batch_is_dead_lettered_while_the_other_cases_open(
    processing: Processing,
) -> None:
    events = [received(i) for i in range(4)]
    good = messages(events)
    bad = [FakeMsg(b"{not json", 90), FakeMsg(b'{"event_type": "intake.dossier_received.v1"}', 91)]
    msgs = [good[0], bad[0], good[1], good[2], bad[1], good[3]]
    await processing.handle(msgs)

    assert processing.saves == [4]
    assert [m.answers for m in good] == [["ack"]] * 4
    assert [m.answers for m in bad] == [["term"]] * 2
    assert processing.history_lengths(events) == [1] * 4
    letters = await processing.pool.fetch(
        "SELECT stream_seq, reason FROM processing.dead_letters ORDER BY id"
    )
    assert [r["stream_seq"] for r in letters] == [90, 91]
    assert all("invalid payload" in r["reason"] for r in letters)


async def test_cases_that_cannot_open_together_open_one_by_one(
    processing: Processing, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = processing.app.save

    def refuses_batches(*objs: Any, **kwargs: Any) -> Any:
        if len(objs) > 1:
            raise RuntimeError("the store refuses this batch")
        return save(*objs, **kwargs)

    monkeypatch.setattr(processing.app, "save", refuses_batches)
    events = [received(i) for i in range(3)]
    msgs = messages(events)
    await processing.handle(msgs)

    assert processing.saves == [1, 1, 1]
    assert [m.answers for m in msgs] == [["ack"]] * 3
    assert processing.history_lengths(events) == [1] * 3


async def opened(processing: Processing, n: int) -> tuple[list[DossierReceived], list[str]]:
    """Cases opened through the consumer, received long enough ago to be overdue now."""
    events = [received(i) for i in range(n)]
    await processing.handle(messages(events))
    processing.saves.clear()
    return events, [e.dossier_code for e in events]


async def test_a_sweep_saves_its_steps_together_and_cases_that_refuse_are_left_alone(
    processing: Processing,
) -> None:
    events, codes = await opened(processing, 5)
    mark = system_step("mark_overdue")
    processing.app.act(codes[0], mark)  # marked by an earlier sweep: the case refuses again
    processing.saves.clear()

    marked = processing.app.act_on_each([*codes, "NO-SUCH-CASE"], mark)

    assert marked == codes[1:]
    assert processing.saves == [4]
    assert processing.history_lengths(events) == [2] * 5


async def test_a_sweep_raced_by_another_command_redoes_each_case_on_its_fresh_state(
    processing: Processing,
) -> None:
    events, codes = await opened(processing, 3)
    mark = system_step("mark_overdue")
    raced: list[str] = []

    def officer_assigns_meanwhile(case: Any) -> None:
        if case.dossier_code == codes[1] and not raced:
            raced.append(case.dossier_code)
            meta = StepMeta(occurred_at=datetime.now(VN), actor=SYSTEM_ACTOR)
            processing.app.act(case.dossier_code, lambda fresh: fresh.assign("cb.a", meta))
        mark(case)

    marked = processing.app.act_on_each(codes, officer_assigns_meanwhile)

    assert marked == codes
    # the officer's save, the shared save refused on the raced case's version, then one each
    assert processing.saves == [1, 3, 1, 1, 1]
    assert processing.history_lengths(events) == [2, 3, 2]
    assert all(processing.app.case(code).overdue_marked for code in codes)


async def test_a_tracking_only_handler_runs_the_batch_in_one_savepoint_and_isolates_poison(
    processing: Processing,
) -> None:
    await processing.pool.execute("CREATE TABLE processing.seen (dossier_code text PRIMARY KEY)")
    events = [received(i) for i in range(5)]
    poison = events[2].dossier_code
    calls: list[str] = []

    async def record(conn: asyncpg.Connection, event: Any) -> None:
        calls.append(event.dossier_code)
        await conn.execute("INSERT INTO processing.seen VALUES ($1)", event.dossier_code)
        if event.dossier_code == poison:
            raise PoisonMessage("refused")

    consumer = TrackedConsumer(
        spec=PROCESSING_FROM_INTAKE,
        schema="processing",
        pool=lambda: processing.pool,
        handler=record,
        apply=all_in_one_savepoint(record),
    )
    clean = messages(events[:2] + events[3:])
    await consumer.handle_batch(cast(list[Msg], clean))
    # Clean: the batch went through the hook alone, once per event.
    assert calls == [e.dossier_code for e in events[:2] + events[3:]]
    assert [m.answers for m in clean] == [["ack"]] * 4

    calls.clear()
    await processing.pool.execute("TRUNCATE processing.seen, processing.processed_events")
    msgs = messages(events, first_seq=10)
    await consumer.handle_batch(cast(list[Msg], msgs))

    assert [m.answers for m in msgs] == [["ack"], ["ack"], ["term"], ["ack"], ["ack"]]
    seen = await processing.pool.fetch("SELECT dossier_code FROM processing.seen")
    assert sorted(r["dossier_code"] for r in seen) == sorted(
        e.dossier_code for i, e in enumerate(events) if i != 2
    )
    tracked = await processing.pool.fetch("SELECT stream_seq FROM processing.processed_events ORDER BY 1")
    assert [r["stream_seq"] for r in tracked] == [10, 11, 13, 14]
    letters = await processing.pool.fetch("SELECT stream_seq, reason FROM processing.dead_letters")
    assert [(r["stream_seq"], r["reason"]) for r in letters] == [(12, "rejected by handler: refused")]
    assert consumer.stats.processed == 8 and consumer.stats.dead_lettered == 1


async def test_a_consumer_with_only_an_apply_hook_tracks_applies_once_and_dead_letters_what_it_gives_up(
    processing: Processing,
) -> None:
    # Scoring's shape: no per-event handler, the whole batch applied in its transaction.
    await processing.pool.execute("CREATE TABLE processing.applied (dossier_code text PRIMARY KEY)")
    events = [received(i) for i in range(4)]
    refused = events[1].dossier_code
    offered: list[list[str]] = []

    async def apply(conn: asyncpg.Connection, batch: list[Any]) -> list[str]:
        offered.append([e.dossier_code for e in batch])
        kept = [e for e in batch if e.dossier_code != refused]
        await conn.executemany(
            "INSERT INTO processing.applied VALUES ($1)", [(e.dossier_code,) for e in kept]
        )
        return [e.event_id for e in kept]

    consumer = TrackedConsumer(
        spec=PROCESSING_FROM_INTAKE, schema="processing", pool=lambda: processing.pool, apply=apply
    )
    msgs = messages(events, first_seq=30)
    await consumer.handle_batch(cast(list[Msg], msgs))

    # The batch once, then the refused one alone; refused again, it is dead-lettered.
    assert offered == [[e.dossier_code for e in events], [refused]]
    assert [m.answers for m in msgs] == [["ack"], ["term"], ["ack"], ["ack"]]
    applied = await processing.pool.fetch("SELECT dossier_code FROM processing.applied")
    assert sorted(r["dossier_code"] for r in applied) == sorted(
        e.dossier_code for i, e in enumerate(events) if i != 1
    )
    tracked = await processing.pool.fetch("SELECT stream_seq FROM processing.processed_events ORDER BY 1")
    assert [r["stream_seq"] for r in tracked] == [30, 32, 33]
    letters = await processing.pool.fetch("SELECT stream_seq, reason FROM processing.dead_letters")
    assert [r["stream_seq"] for r in letters] == [31]
    assert "no handler" in letters[0]["reason"]
    assert (consumer.stats.processed, consumer.stats.dead_lettered) == (3, 1)

    # Redelivered: the applied ones are acked as duplicates and never offered again.
    offered.clear()
    again = messages([events[0], events[2], events[3]], first_seq=40)
    await consumer.handle_batch(cast(list[Msg], again))
    assert offered == []
    assert [m.answers for m in again] == [["ack"]] * 3
    assert consumer.stats.duplicates == 3


def test_a_consumer_needs_a_handler_or_an_apply_hook() -> None:
    with pytest.raises(ValueError, match="handler"):
        TrackedConsumer(spec=PROCESSING_FROM_INTAKE, schema="processing", pool=lambda: cast(Any, None))
