"""Processing's stored case events across format changes, and what the relay publishes of them.

``data/processing_rows_2026_11.json`` holds scripted case histories as processing stored them
before the case's state became enums and value objects (plain dicts and strings in each row),
with the contracts the relay then published for them. Today's code must load those rows, fold
them into the same case, and publish byte for byte the same contracts; and the same scripts run
through today's aggregate must publish them too.

Regenerate (only with the code of the format the file is named after):
``python -m tests.unit.test_case_stored_formats``.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from services.processing.application import ProcessingApplication
from services.processing.case_commands import OpenCase
from services.processing.domain import Case
from services.processing.rules import CaseRuleViolation
from services.processing.translate import translator
from services.processing.values import PausePolicy, StepMeta
from services.processing.views import clock_view, history_view
from shared.contracts import dump_event
from tests.unit.test_fold_state import ACTIONS, MON, OFFICER

ROWS = Path(__file__).parent / "data" / "processing_rows_2026_11.json"
SCRIPTS = 24
CITIZEN = {"user_id": "citizen:tracking", "role": "citizen", "agency": "TTHCC", "channel": 2}
DOCUMENT = {
    "document_id": "00000000-0000-0000-0000-00000000d0c5",
    "name": "Kết quả",
    "media_type": "application/pdf",
    "size": 1234,
    "sha256": "ab" * 32,
}
SIGNATURE = {"algorithm": "ed25519", "key_id": "k1", "value": "c2ln", "public_key": "cHVi"}

# Beyond the officers' steps of test_fold_state: the late parts of a case's life.
LATE_ACTIONS: dict[str, Any] = {
    "issue_result": lambda case, meta: case.issue_result(DOCUMENT, SIGNATURE, meta),
    "back_at_desk": lambda case, meta: case.back_at_desk("failed: nobody home", meta),
    "return_by_post": lambda case, meta: case.return_result("post", "Nguyễn Văn A", meta),
    "rate": lambda case, meta: case.rate(4, "tốt", "tracking", meta.acting_as(CITIZEN)),
    "complain": lambda case, meta: case.complain("chậm", "kiosk", meta.acting_as(CITIZEN)),
}

# A whole life: a transfer, two returns for supplements (the second reported to a leader), a decision, an
# electronic result, a failed delivery, the result handed over, the citizen's feedback.
PLAN = (
    "assign",
    "transfer",
    "request_supplement",
    "receive_supplement",
    "report_to_leadership",
    "acknowledge_leadership",
    "request_supplement",
    "receive_supplement",
    "decide",
    "make_result_ready",
    "issue_result",
    "back_at_desk",
    "return_result",
    "rate",
    "complain",
)


def scripted_case(seed: int) -> Case:
    """A case worked by a fixed script of steps (those it refuses at the time are skipped)."""
    rnd = random.Random(seed)
    dossier_id = uuid.UUID(int=rnd.getrandbits(128))
    policy = rnd.choice(["restart", "resume"])
    case = Case.open(
        OpenCase(
            dossier_id=dossier_id,
            dossier_code=f"H-SCRIPT-{seed:03d}",
            department_code="STP",
            procedure_code="LLTP",
            legal_days=3,
            legal_hours=None,
            same_day_cutoff=None,
            supplement_policy=PausePolicy(policy),
            agency_shares={"STNMT": 1},
            received_at=MON,
            due_at=MON + timedelta(days=3),
            postal_return=rnd.random() < 0.5,
            occurred_at=MON,
            actor=OFFICER,
            calendar="standard",
            receiving_point="TTHCC",
            tracking_hash=None,
            same_day=False,
            backdate_reason="mất điện" if rnd.random() < 0.3 else None,
            intake_steps=None,
        )
    )
    actions = {**ACTIONS, **LATE_ACTIONS}
    plan = list(PLAN)
    at = MON
    for _ in range(rnd.randint(6, 30)):
        at += timedelta(minutes=rnd.choice([0, 1, 5, 60, 240, 1440, 4320]))
        # mostly the plan's next step (a whole life, to its rating), now and then anything
        action = plan.pop(0) if plan and rnd.random() < 0.7 else rnd.choice(sorted(actions))
        meta = StepMeta(
            occurred_at=at, actor=OFFICER, backdate_reason="nhập lùi" if rnd.random() < 0.2 else None
        )
        try:
            actions[action](case, meta)
        except (CaseRuleViolation, ValueError):
            continue
    return case


def _app() -> ProcessingApplication:
    return ProcessingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _published(app: ProcessingApplication, events: list[Any]) -> tuple[list[str], list[str]]:
    relay, replay = translator(app), translator(app, trusted=True)
    relayed = [dump_event(c).decode() for c in map(relay, events) if c is not None]
    replayed = [dump_event(c).decode() for c in map(replay, events) if c is not None]
    return relayed, replayed


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        uuid.UUID(row["originator_id"]), row["originator_version"], row["topic"], row["state"].encode()
    )


def _fixture() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(ROWS.read_text())
    return loaded


@pytest.mark.parametrize("seed", range(SCRIPTS))
def test_rows_stored_in_the_older_format_load_and_publish_the_same_contracts(seed: int) -> None:
    script = _fixture()[seed]
    app = _app()
    app.recorder.insert_events([_stored(row) for row in script["rows"]])
    events = [app.mapper.to_domain_event(_stored(row)) for row in script["rows"]]
    relayed, replayed = _published(app, events)
    assert relayed == script["published"]
    assert replayed == script["published"]
    # and the case they fold into is the one the same script builds today
    old, new = None, None
    for e in events:
        old = e.mutate(old)
    today = scripted_case(seed)
    for e in today.collect_events():
        new = e.mutate(new)
    assert old is not None and new is not None
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert clock_view(old, now) == clock_view(new, now)
    assert old.state == new.state and old.allowed_actions(now) == new.allowed_actions(now)
    assert old.leadership_reports == new.leadership_reports
    assert getattr(old, "electronic_result", None) == getattr(new, "electronic_result", None)
    assert [_timeless(r) for r in history_view(events)] == script["history"]


@pytest.mark.parametrize("seed", range(SCRIPTS))
def test_todays_aggregate_publishes_byte_identical_contracts(seed: int) -> None:
    """The same script through today's aggregate and store: the stored rows may differ in form,
    what the relay and the replay publish may not (recorded_at is the old rows' own)."""
    script = _fixture()[seed]
    app = _app()
    case = scripted_case(seed)
    pending = case.collect_events()
    assert [e.originator_version for e in pending] == [r["originator_version"] for r in script["rows"]]
    for e, row in zip(pending, script["rows"], strict=True):
        object.__setattr__(e, "timestamp", _stored_timestamp(app, row))
    app.recorder.insert_events([app.mapper.to_stored_event(e) for e in pending])
    events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(case.id)]
    relayed, replayed = _published(app, events)
    assert relayed == script["published"]
    assert replayed == script["published"]
    assert [_timeless(r) for r in history_view(events)] == script["history"]


@pytest.mark.parametrize("seed", range(SCRIPTS))
def test_a_snapshot_of_a_case_restores_the_same_case(seed: int) -> None:
    """The case's records in its state (clock facts, leadership reports, the electronic result)
    go through their transcodings too."""
    app = ProcessingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "y"}
    )
    case = scripted_case(seed)
    app.save(case)
    app.take_snapshot(case.id)
    assert app.snapshots is not None and list(app.snapshots.get(case.id))
    restored = app.repository.get(case.id)
    assert restored.__dict__ == case.__dict__
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert restored.allowed_actions(now) == case.allowed_actions(now)
    assert restored.national_status() == case.national_status()


def test_the_scripts_cover_every_kind_of_step() -> None:
    kinds = {row["topic"].rsplit(".", 1)[-1] for script in _fixture() for row in script["rows"]}
    assert kinds >= {
        "Opened",
        "OfficerAssigned",
        "Transferred",
        "SupplementRequested",
        "SupplementReceived",
        "LeadershipReported",
        "LeadershipAcknowledged",
        "ApologyIssued",
        "MarkedOverdue",
        "Decided",
        "ResultReady",
        "ResultIssued",
        "ResultReturned",
        "ResultBackAtDesk",
        "Stopped",
        "RatingGiven",
        "ComplaintFiled",
    }


def _stored_timestamp(app: ProcessingApplication, row: dict[str, Any]) -> datetime:
    stamp: datetime = app.mapper.to_domain_event(_stored(row)).timestamp
    return stamp


def _timeless(row: dict[str, Any]) -> dict[str, Any]:
    """A history row as JSON, without what depends on when the rows were recorded."""
    kept = {k: v for k, v in row.items() if k not in ("recorded_at", "backdated")}
    return dict(json.loads(json.dumps(kept, default=str)))


def _write() -> None:
    scripts = []
    for seed in range(SCRIPTS):
        app = _app()
        case = scripted_case(seed)
        app.save(case)
        stored = list(app.recorder.select_events(case.id))
        events = [app.mapper.to_domain_event(s) for s in stored]
        relayed, replayed = _published(app, events)
        assert relayed == replayed
        rows = [
            {
                "originator_id": str(s.originator_id),
                "originator_version": s.originator_version,
                "topic": s.topic,
                "state": s.state.decode(),
            }
            for s in stored
        ]
        history = [_timeless(r) for r in history_view(events)]
        scripts.append({"seed": seed, "rows": rows, "published": relayed, "history": history})
    ROWS.write_text(json.dumps(scripts, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    _write()
