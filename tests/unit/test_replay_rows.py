"""The replay's readers make from a stored row exactly the contract the relay publishes.

The replay decodes intake's and processing's rows straight from their JSON into contracts,
built without validation (``services/*/translate.py``, ``replay_reader``); the relay decodes
them with the library's mapper and validates every contract. Both are fed the same rows,
written by the services' own aggregates through the store's own encoding (the library's
transcoder), including steps stored before steps carried their clock reading, steps whose
meta and clock were stored as plain dicts (before ``StepMeta`` and ``StepClock``: the rows of
``data/processing_rows_2026_11.json`` among them), and dossiers recorded before the applicant
was encrypted.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.intake.application import IntakeApplication
from services.intake.domain import Dossier
from services.intake.translate import replay_reader as intake_reader
from services.intake.translate import translator as intake_translator
from services.processing.application import ProcessingApplication
from services.processing.domain import Case, step_meta
from services.processing.rules import CaseRuleViolation
from services.processing.transcodings import STEP_CLOCK, STEP_META
from services.processing.translate import _BUILDERS
from services.processing.translate import replay_reader as processing_reader
from services.processing.translate import translator as processing_translator
from services.processing.values import StepClock, StepMeta
from shared.contracts import AnyEvent, dump_event
from shared.eventlog.stored_json import StoredRow, StoredState, Unreadable
from tests.unit.test_fold_state import ACTIONS, MON, OFFICER, _without_clock, worked_case

# processing's rows as stored before StepMeta and StepClock, and the contracts then published
ROWS_2026_11 = Path(__file__).parent / "data" / "processing_rows_2026_11.json"

_ids = count(1)
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
DESK = {"user_id": "tiepnhan", "role": "front_desk", "agency": "TTPVHCC", "channel": 1}
CITIZEN = {"user_id": "cd", "role": "citizen", "agency": "CONG", "channel": 2}
SEALED = {"key_ref": str(uuid.UUID(int=7)), "ciphertext": "c2VhbGVk"}
# a dossier recorded before encryption: published as v1, without its applicant
CLEAR = {"full_name": "Nguyễn Văn A", "citizen_id": "001234567890", "address": "Hà Nội"}


class WatchedRow(StoredRow):
    """A row that tells whether its reader fell back on the library's mapper."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.through_library = False

    def domain_event(self, mapper: Any) -> Any:
        self.through_library = True
        return super().domain_event(mapper)


def watched(rows: list[StoredRow]) -> list[WatchedRow]:
    return [WatchedRow(r.notification_id, r.originator_id, r.version, r.topic, r.data) for r in rows]


def same_types(a: Any, b: Any) -> bool:
    """Equal is not enough: ``Channel.IN_PERSON == 1``, a dict may equal a model's dump."""
    if type(a) is not type(b):
        return False
    if isinstance(a, BaseModel):
        return all(same_types(a.__dict__[k], b.__dict__[k]) for k in type(a).model_fields)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_types(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_types(x, y) for x, y in zip(a, b, strict=True))
    return True


def rows_of(
    app: Application[Any], aggregate_id: uuid.UUID, older: int = 0, dicts: int = 0
) -> list[StoredRow]:
    """The aggregate's rows as the store holds them (today's: ``StepMeta`` and ``StepClock``
    transcoded); the first ``older`` re-encoded as they were stored before steps carried their
    clock, the ``dicts`` after them as they were stored before ``StepMeta`` (plain dicts)."""
    stored: list[StoredEvent] = list(app.recorder.select_events(aggregate_id))
    rows = []
    for n, s in enumerate(stored):
        if n < older:
            s = app.mapper.to_stored_event(_without_clock(app.mapper.to_domain_event(s)))
        elif n < older + dicts:
            s = app.mapper.to_stored_event(_as_dicts(app.mapper.to_domain_event(s)))
        rows.append(StoredRow(next(_ids), s.originator_id, s.originator_version, s.topic, s.state))
    return rows


def _clock_as_dict(clock: StepClock) -> dict[str, Any]:
    return {
        "due_at": clock.due_at,
        "original_due_at": clock.original_due_at,
        "working_minutes": clock.working_minutes,
        "minutes_left": clock.minutes_left,
        "supplement_minutes": clock.supplement_minutes,
        "paused": clock.paused,
        "status": clock.status.value,
        "late": clock.late,
        "late_reasons_en": list(clock.late_reasons_en),
        "late_reasons_vi": list(clock.late_reasons_vi),
    }


def _as_dicts(e: Any) -> Any:
    """The stored step as it was recorded with its clock before ``StepMeta`` (as the rows of
    ``data/processing_rows_2026_11.json``): meta and clock plain dicts, no null keys."""
    state = dict(e.__dict__)
    if "meta" in state:
        meta = StepMeta.from_stored(state["meta"])
        old: dict[str, Any] = {"occurred_at": meta.occurred_at, "actor": meta.actor}
        if meta.backdate_reason is not None:
            old["backdate_reason"] = meta.backdate_reason
        if meta.clock is not None:
            old["clock"] = _clock_as_dict(meta.clock)
        state["meta"] = old
    if state.get("opening_clock") is not None:
        state["opening_clock"] = _clock_as_dict(StepClock.from_stored(state["opening_clock"]))
    made = object.__new__(type(e))
    object.__setattr__(made, "__dict__", state)
    return made


def typed(row: StoredRow) -> bool:
    """The row holds its meta or its opening clock as today's transcodings write them."""
    return (
        f'{{"_type_":"{STEP_META}"'.encode() in row.data
        or f'"opening_clock":{{"_type_":"{STEP_CLOCK}"'.encode() in row.data
    )


def assert_same(read: list[AnyEvent | None], published: list[AnyEvent | None]) -> None:
    assert read == published
    assert all(same_types(a, b) for a, b in zip(read, published, strict=True))
    assert [dump_event(e) for e in read if e] == [dump_event(e) for e in published if e]
    assert any(e is not None for e in read)


# -- processing ------------------------------------------------------------------------------

MORE_ACTIONS: dict[str, Any] = {
    **ACTIONS,
    "issue_result": lambda case, meta: case.issue_result(
        {"document_id": str(uuid.uuid4()), "media_type": "application/pdf", "size": 10, "sha256": "a" * 64},
        {"algorithm": "Ed25519", "key_id": "k1", "value": "c2ln", "public_key": "cGs="},
        meta,
    ),
    "back_at_desk": lambda case, meta: case.back_at_desk("không phát được", meta),
    "rate": lambda case, meta: case.rate(4, "tốt", "tracking", meta),
    "complain": lambda case, meta: case.complain("chậm", "kiosk", meta),
}


def processing_rows(case: Case, older: int, dicts: int) -> tuple[ProcessingApplication, list[StoredRow]]:
    app = ProcessingApplication(env=POPO)
    app.save(case)
    return app, rows_of(app, case.id, older, dicts)


def compare_processing(app: ProcessingApplication, rows: list[StoredRow]) -> None:
    relay, reader = processing_translator(app), processing_reader(app)
    published = [relay(row.domain_event(app.mapper)) for row in rows]
    fresh = watched(rows)
    assert reader.dossier_of(fresh[0]) == published[0].dossier_id  # type: ignore[union-attr]
    assert_same([reader.read(row) for row in fresh], published)
    # every step stored with its clock was read from its JSON; older steps, and feedback (which
    # does not move the clock, so is stored without it), through the library
    stamped = [step_meta(row.domain_event(app.mapper)).clock is not None for row in rows]
    assert [row.through_library for row in fresh] == [not s for s in stamped]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_processing_rows_read_as_the_relay_translates(data: st.DataObject) -> None:
    _, case = worked_case(data)
    for _ in range(data.draw(st.integers(0, 4))):  # the steps after the decision, sometimes
        action = data.draw(st.sampled_from(["issue_result", "back_at_desk", "rate", "complain"]))
        try:
            MORE_ACTIONS[action](case, StepMeta(occurred_at=case.last_business_time, actor=OFFICER))
        except (CaseRuleViolation, ValueError):
            continue
    pending = len(case.pending_events)
    # a case's rows in the order the formats came: unstamped, plain dicts, today's
    older = data.draw(st.integers(0, pending))
    dicts = data.draw(st.integers(0, pending - older))
    app, rows = processing_rows(case, older, dicts)
    compare_processing(app, rows)


def test_every_kind_of_processing_step_is_read_from_its_row() -> None:
    """Cases through every step that publishes: the long way, closed for no supplement, withdrawn."""
    scripts = [
        [
            "assign",
            "transfer",
            "request_supplement",
            "receive_supplement",
            "report_to_leadership",
            "acknowledge_leadership",
            "issue_apology",
            "mark_overdue_later",
            "decide",
            "make_result_ready",
            "issue_result",
            "back_at_desk",
            "return_result",
            "rate",
            "complain",
        ],
        ["request_supplement", "close_for_no_supplement"],
        ["withdraw"],
    ]
    seen: set[type] = set()
    for script in scripts:
        _, case = worked_case(_Draws(["restart", 0]))
        for action in script:
            # the citizen has 15 working days to supplement before the case may be closed
            wait = timedelta(days=30 if action == "close_for_no_supplement" else 0, minutes=30)
            at = case.last_business_time + wait
            MORE_ACTIONS[action](case, StepMeta(occurred_at=at, actor=OFFICER))
        seen |= {type(e) for e in case.pending_events}
        app = ProcessingApplication(env=POPO)
        app.save(case)
        today = rows_of(app, case.id)
        assert all(typed(row) for row in today)  # every step of today's code, transcoded
        compare_processing(app, today)
        steps = len(script) + 1
        for older, dicts in ((0, steps), (3, 0), (3, max(steps - 4, 0)), (steps, 0)):
            rows = rows_of(app, case.id, older, dicts)
            assert [typed(row) for row in rows] == [n >= older + dicts for n in range(len(rows))]
            compare_processing(app, rows)
    assert set(_BUILDERS) <= seen, {c.__name__ for c in set(_BUILDERS) - seen}


def _rows_2026_11() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(ROWS_2026_11.read_text())
    return loaded


@pytest.mark.parametrize("script", range(len(_rows_2026_11())))
def test_rows_stored_before_the_typed_case_read_as_then_published(script: int) -> None:
    """The rows themselves, as processing stored them in November 2026, and what its relay
    published of them then: read from their JSON, the stamped ones, to the same bytes."""
    fixture = _rows_2026_11()[script]
    app = ProcessingApplication(env=POPO)
    rows = [
        StoredRow(
            next(_ids),
            uuid.UUID(r["originator_id"]),
            r["originator_version"],
            r["topic"],
            r["state"].encode(),
        )
        for r in fixture["rows"]
    ]
    assert not any(typed(row) for row in rows)
    # in the store too: the library's way reads a step's case from it
    app.recorder.insert_events([StoredEvent(r.originator_id, r.version, r.topic, r.data) for r in rows])
    compare_processing(app, rows)
    reader = processing_reader(app)
    assert [dump_event(e).decode() for e in map(reader.read, watched(rows)) if e] == fixture["published"]


class _Draws:
    """A stand-in for hypothesis' ``data`` in ``worked_case``: these values, in turn."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def draw(self, strategy: Any) -> Any:
        return self.values.pop(0)


# -- intake ----------------------------------------------------------------------------------


def terms(draw: Any, received_at: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "calendar": draw(st.sampled_from(["standard", "saturday_morning"])),
        "postal_return": draw(st.booleans()),
        "legal_days": 15,
        "legal_hours": None,
        "same_day": False,
        "same_day_cutoff": None,
        "supplement_policy": draw(st.sampled_from(["restart", "resume"])),
        "agency_shares": draw(st.sampled_from([None, {"STP": 3, "STNMT": 5}])),
        "fee_vnd": 500000,
        "paid_online": False,
        "documents_scanned": True,
        "electronic_result": draw(st.booleans()),
        "received_at": received_at,
        "due_at": received_at + timedelta(days=21),
        "tracking_hash": "f" * 64,
    }
    if draw(st.booleans()):
        made["scanned_documents"] = [
            {
                "document_id": str(uuid.uuid4()),
                "name": "CCCD",
                "media_type": "image/png",
                "size": 9,
                "sha256": "0" * 64,
            }
        ]
    if draw(st.booleans()):
        made["pickup_reference"] = "BC-0001"
    return made


def filing(draw: Any, channel: int) -> dict[str, Any]:
    made: dict[str, Any] = {
        "procedure_code": "HT-KHAISINH",
        "department_code": "UBNDX",
        "receiving_point": "TTPVHCC",
        "channel": channel,
        "online_level": "full" if channel == 2 else None,
    }
    if draw(st.booleans()):
        made["documents"] = [{"id": "TP1", "name": "Tờ khai", "form": "original", "count": 1}]
    if draw(st.booleans()):
        made["notify_channel"] = "email"
    return made


def dossier(data: st.DataObject) -> Dossier:
    """A dossier at the counter or filed online, through whatever steps follow."""
    draw = data.draw
    at = MON
    online = draw(st.booleans())
    outcome = "registered" if online else draw(st.sampled_from(["received", "incomplete", "refused"]))
    made = Dossier(
        code=f"H99-{uuid.uuid4().hex[:10]}",
        filing=filing(draw, 2 if online else draw(st.sampled_from([1, 3]))),
        outcome=outcome,
        terms=terms(draw, at) if outcome == "received" else None,
        missing_items=["Tờ khai"] if outcome == "incomplete" else None,
        refusal_reasons="Không thuộc thẩm quyền" if outcome == "refused" else None,
        occurred_at=at,
        backdate_reason=draw(st.sampled_from([None, "mất điện"])),
        actor=CITIZEN if online else DESK,
        applicant=dict(draw(st.sampled_from([SEALED, CLEAR]))),
        **(
            {"online": {"documents": [{"document_id": str(uuid.uuid4()), "name": "Tờ khai"}]}}
            if online
            else {}
        ),
    )
    for _ in range(draw(st.integers(0, 3))):
        at += timedelta(hours=draw(st.sampled_from([1, 30])))
        if made.outcome == "registered":
            verdict = draw(st.sampled_from(["received", "incomplete", "refused"]))
            made.check(
                outcome=verdict,
                terms=terms(draw, at) if verdict == "received" else None,
                missing_items=["Bản sao"] if verdict == "incomplete" else None,
                refusal_reasons="Sai thủ tục" if verdict == "refused" else None,
                occurred_at=at,
                backdate_reason=None,
                actor=DESK,
            )
        elif made.outcome == "incomplete" and made.online is not None:
            made.complete_online(
                documents=[{"document_id": str(uuid.uuid4()), "name": "Bản sao"}],
                occurred_at=at,
                actor=CITIZEN,
            )
        elif made.outcome == "incomplete":
            made.complete(terms=terms(draw, at), occurred_at=at, backdate_reason=None, actor=DESK)
    if draw(st.booleans()):
        made.record_erasure(
            key_ref=SEALED["key_ref"],
            dossier_codes=[made.code],
            reason="yêu cầu",
            legal_obligation=None,
            occurred_at=at + timedelta(days=1),
            actor=DESK,
        )
    return made


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_intake_rows_read_as_the_relay_translates(data: st.DataObject) -> None:
    made = dossier(data)
    app = IntakeApplication(env=POPO)
    app.save(made)
    rows = rows_of(app, made.id)
    relay, trusted, reader = intake_translator(app), intake_translator(app, trusted=True), intake_reader(app)
    published = [relay(row.domain_event(app.mapper)) for row in rows]
    # the trusted translator (the replay's way for steps after the registration) ...
    assert_same([trusted(row.domain_event(app.mapper)) for row in rows], published)
    # ... and the reader of rows, which reads registrations straight from their JSON
    fresh = watched(rows)
    assert reader.dossier_of(fresh[0]) == made.id
    assert_same([reader.read(row) for row in fresh], published)
    assert not fresh[0].through_library  # the registration, read from its JSON


# -- the stored JSON --------------------------------------------------------------------------


def test_a_state_is_complete_only_when_every_transcoded_value_was_decoded() -> None:
    app = ProcessingApplication(env=POPO)
    _, case = worked_case(_Draws(["restart", 0]))
    app.save(case)
    data = next(iter(app.recorder.select_events(case.id))).state
    stored = StoredState(data)
    stored.dt("timestamp")
    assert not stored.complete
    for key in ("dossier_id", "received_at", "due_at", "occurred_at", "intake_steps"):
        stored.decode(key)
    assert not stored.complete  # the opening's clock, a record of processing's own
    with pytest.raises(Unreadable):
        stored.record("opening_clock", STEP_META)  # not the record stored there
    clock = stored.record("opening_clock", STEP_CLOCK)
    assert not stored.complete  # its datetimes, still as stored
    stored.dt("due_at", clock)
    stored.dt("original_due_at", clock)
    assert stored.complete
    library = app.mapper.to_domain_event(next(iter(app.recorder.select_events(case.id))))
    assert {k: v for k, v in vars(library).items() if k not in ("originator_id", "originator_version")} == {
        **{k: v for k, v in stored.state.items() if k != "_trace"},
        "opening_clock": StepClock.from_stored(clock),
    }


def test_a_record_stored_as_a_plain_dict_is_its_fields() -> None:
    """Rows stored before a record had its transcoding hold the same fields as a plain dict."""
    stored = StoredState(
        b'{"meta":{"occurred_at":{"_type_":"datetime_iso","_data_":"2026-03-02T08:30:00+07:00"}}}'
    )
    meta = stored.record("meta", STEP_META)
    assert meta is stored.state["meta"] and not stored.complete
    stored.dt("occurred_at", meta)
    assert stored.complete
    with pytest.raises(Unreadable):
        StoredState(b'{"meta":[1]}').record("meta", STEP_META)
