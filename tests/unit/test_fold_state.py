"""Scoring's fold state: applying a dossier's events one by one to its stored state gives the
facts of folding its whole history, and the clock processing publishes with its events gives
the facts the audit (the legal clock run again over every event) gives.

The histories are made by processing's own case aggregate and translator, so the events carry
the clock stamps processing really publishes.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from services.processing.application import ProcessingApplication
from services.processing.case_commands import OpenCase
from services.processing.domain import Case
from services.processing.rules import CaseRuleViolation
from services.processing.translate import CaseClocks, case_contract, translator
from services.processing.values import PausePolicy, StepMeta
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import FigureKey, contribution, total
from services.scoring.domain.fold import FoldState, apply, event_order, finish, fold
from services.scoring.store import fold_states
from shared.contracts import (
    Actor,
    AnyEvent,
    DossierReceived,
    SealedPersonalData,
    ShipmentOpened,
    dump_event,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MON = datetime(2026, 3, 2, 8, 30, tzinfo=VN)  # a Monday without holidays around it
OFFICER = {"user_id": "cb", "role": "officer", "agency": "STP", "channel": 1}
LEADER = {"user_id": "ld", "role": "leader", "agency": "STP", "channel": 1}
PERSON = SealedPersonalData(key_ref=uuid.UUID(int=1), ciphertext="c2VhbGVk")

# Each action with the inputs it needs; the case itself refuses what is not allowed at the time.
ACTIONS: dict[str, Any] = {
    "assign": lambda case, meta: case.assign("cb", meta),
    "transfer": lambda case, meta: case.transfer("STNMT" if case.department_code == "STP" else "STP", meta),
    "request_supplement": lambda case, meta: case.request_supplement(["giấy tờ"], "thiếu", meta),
    "receive_supplement": lambda case, meta: case.receive_supplement(meta),
    "close_for_no_supplement": lambda case, meta: case.close_for_no_supplement(meta),
    "report_to_leadership": lambda case, meta: case.report_to_leadership("lần hai", meta),
    "acknowledge_leadership": lambda case, meta: case.acknowledge_leadership(None, meta.acting_as(LEADER)),
    "issue_apology": lambda case, meta: case.issue_apology(
        "quá tải", case.due_at(meta.occurred_at) + timedelta(days=7), meta
    ),
    "mark_overdue": lambda case, meta: case.mark_overdue(meta),
    # the sweeper marks at the wall clock's time; officers may still enter earlier steps after it
    "mark_overdue_later": lambda case, meta: case.mark_overdue(
        replace(meta, occurred_at=meta.occurred_at + timedelta(days=10))
    ),
    "decide": lambda case, meta: case.decide(True, None, meta),
    "make_result_ready": lambda case, meta: case.make_result_ready(meta),
    "return_result": lambda case, meta: case.return_result("desk", None, meta),
    "withdraw": lambda case, meta: case.withdraw("withdrawn", "công dân rút", meta),
}


def _without_clock(e: Any) -> Any:
    """The stored step as it was recorded before steps carried their clock reading (and before
    its ``meta`` was a ``StepMeta``: a plain dict)."""
    state = dict(e.__dict__)
    if "meta" in state:
        meta = StepMeta.from_stored(state["meta"])
        state["meta"] = {
            "occurred_at": meta.occurred_at,
            "backdate_reason": meta.backdate_reason,
            "actor": meta.actor,
        }
    state.pop("opening_clock", None)
    old = object.__new__(type(e))
    object.__setattr__(old, "__dict__", state)
    return old


def received(dossier_id: uuid.UUID, code: str, at: datetime, policy: str) -> DossierReceived:
    return DossierReceived(
        event_id=f"intake:{dossier_id}:1",
        dossier_id=dossier_id,
        dossier_code=code,
        occurred_at=at,
        recorded_at=at,
        actor=Actor(user_id="tn", role="officer", agency="TTHCC", channel=1),
        procedure_code="LLTP",
        department_code="STP",
        receiving_point="TTHCC",
        channel=1,
        applicant=PERSON,
        postal_return=False,
        legal_days=3,
        supplement_policy=policy,
        received_at=at,
        due_at=at + timedelta(days=3),
    )


def worked_case(data: st.DataObject) -> tuple[DossierReceived, Case]:
    """A receipt and its case after some officers' steps (those the case accepts at the time)."""
    dossier_id, code = uuid.uuid4(), "H-" + uuid.uuid4().hex[:8]
    policy = data.draw(st.sampled_from(["restart", "resume"]))
    at = MON
    receipt = received(dossier_id, code, at, policy)
    case = Case.open(
        OpenCase(
            dossier_id=dossier_id,
            dossier_code=code,
            department_code="STP",
            procedure_code="LLTP",
            legal_days=3,
            legal_hours=None,
            same_day_cutoff=None,
            supplement_policy=PausePolicy(policy),
            agency_shares={"STNMT": 1},
            received_at=at,
            due_at=receipt.due_at,
            postal_return=False,
            occurred_at=at,
            actor=OFFICER,
            calendar="standard",
            receiving_point="TTHCC",
            tracking_hash=None,
            same_day=False,
            backdate_reason=None,
            intake_steps=None,
        )
    )
    for _ in range(data.draw(st.integers(0, 12))):
        # mostly short steps, so that supplements (requested within hours) happen often enough
        at += timedelta(minutes=data.draw(st.sampled_from([0, 1, 5, 60, 240, 1440, 4320])))
        action = data.draw(st.sampled_from(sorted(ACTIONS)))
        try:
            ACTIONS[action](case, StepMeta(occurred_at=at, actor=OFFICER))
        except (CaseRuleViolation, ValueError):
            continue  # refused at this moment: the case is unchanged
    return receipt, case


def history(data: st.DataObject) -> list[AnyEvent]:
    """A dossier's published events: the receipt, the case's steps as processing translates them,
    and sometimes a postal event in between (an event of another service moves the reading moment)."""
    receipt, case = worked_case(data)
    dossier_id, code, at = receipt.dossier_id, receipt.dossier_code, case.last_business_time
    events: list[AnyEvent] = [receipt]
    clocks, aggregate = CaseClocks(), None
    for e in case.collect_events():
        aggregate = e.mutate(aggregate)
        contract = case_contract(e, aggregate, clocks)
        assert contract is not None
        # the replay's trusted translation (no validation) publishes exactly the same event
        trusted = case_contract(e, aggregate, clocks, trusted=True)
        assert trusted == contract and dump_event(trusted) == dump_event(contract)
        # and so does a step stored before steps carried their clock (the clock is read then)
        assert case_contract(_without_clock(e), aggregate) == contract
        events.append(contract)
    if data.draw(st.booleans()):
        at += timedelta(minutes=data.draw(st.integers(0, 3 * 24 * 60)))
        events.append(
            ShipmentOpened(
                event_id=f"postal:{uuid.uuid4()}:1",
                dossier_id=dossier_id,
                dossier_code=code,
                occurred_at=at,
                recorded_at=at,
                actor=Actor(user_id="bd", role="postal", agency="VNPOST", channel=3),
                shipment_id=uuid.uuid4(),
                kind="delivery",
                operator="VNPOST",
            )
        )
    return sorted(events, key=event_order)


def _as_written_before(text: str) -> str:
    """The same state as rows written before states kept only the facts their events set:
    every field of the facts row, nulls and defaults included."""
    raw = json.loads(text)
    rows = TypeAdapter(DossierFacts)
    full = rows.dump_python(rows.validate_python(raw["facts"]), mode="json")
    assert set(full) > set(raw["facts"])  # the fields no event set are there too
    return json.dumps({**raw, "facts": full})


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_applying_each_event_to_the_stored_state_is_folding_the_history(data: st.DataObject) -> None:
    events = history(data)
    state: FoldState | None = None
    for n, event in enumerate(events, start=1):
        # the state goes through its row between events, as in the consumer
        state = FoldState.new(event.dossier_id, event.dossier_code) if state is None else state
        text = fold_states.dump(state)
        if data.draw(st.booleans()):
            text = _as_written_before(text)
        stored = fold_states.load(text)
        assert stored is not None
        assert stored.follows(event)
        apply(stored, event)
        state = stored
        assert finish(state) == fold(events[:n])
        assert not state.follows(event)  # the same event again would be out of order


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_published_clock_gives_what_the_audit_computes(data: st.DataObject) -> None:
    events = history(data)
    for n in range(1, len(events) + 1):
        assert fold(events[:n]) == fold(events[:n], audit=True)
    # and the published readings were really used where they cover the history
    if len(events) > 1 and events[-1].event_id.startswith("processing:"):
        state = FoldState.new(events[0].dossier_id, events[0].dossier_code)
        for event in events:
            apply(state, event)
        assert state.stamp is not None


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_the_replay_translates_stored_steps_as_the_relay_does(data: st.DataObject) -> None:
    """Through the store's own encoding, with the first steps stored as before steps carried
    their clock (a case that was open when processing started recording it)."""
    _, case = worked_case(data)
    app = ProcessingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(case)
    stored = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(case.id)]
    older = data.draw(st.integers(0, len(stored)))
    stored = [_without_clock(e) for e in stored[:older]] + stored[older:]
    relay, replay = translator(app), translator(app, trusted=True)
    published = [relay(e) for e in stored]
    replayed = [replay(e) for e in stored]
    assert replayed == published
    assert [dump_event(e) for e in replayed if e] == [dump_event(e) for e in published if e]


def test_a_state_of_another_schema_version_is_folded_again() -> None:
    event = received(uuid.uuid4(), "H-1", MON, "restart")
    state = FoldState.new(event.dossier_id, event.dossier_code)
    apply(state, event)
    text = fold_states.dump(state).replace(f'"v":{fold_states.V}', '"v":0')
    assert fold_states.load(text) is None


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_replays_figure_totals_are_the_sums_of_each_dossiers_contribution(data: st.DataObject) -> None:
    """``total`` adds into its sums directly; it must equal adding up ``contribution``, which
    the live consumer uses (through ``delta``) for the same figures."""
    facts = [fold(history(data)) for _ in range(data.draw(st.integers(1, 4)))]
    expected: dict[FigureKey, Counter[str]] = {}
    for f in facts:
        for key, part in contribution(f).items():
            expected.setdefault(key, Counter()).update(part)
    totals = total(facts)
    assert totals == {k: v for k, v in expected.items() if any(v.values())}
    assert totals, "the histories reach the counter: some figure is counted"
