"""Issue 13, the clock and lifecycle rules (points 1-5, 8), in memory: hand-computed dates."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest

from services.intake.appointment import appointment
from services.intake.catalogue import load_catalogue
from services.processing.rules import CaseRuleViolation
from services.processing.translate import case_contract
from services.processing.values import StepMeta
from services.processing.views import clock_view, history_view
from shared.clock import (
    Finished,
    LegalTime,
    Received,
    SupplementCompleted,
    SupplementRequested,
    read_clock,
)
from shared.contracts import DossierDecided
from tests.unit.clock.helpers import vn
from tests.unit.test_case_rules import LEADER, MONDAY, OFFICER, at, new_case

FIVE_DAYS = LegalTime.days(5)


# -- 1. same-day procedures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (vn(2026, 3, 2, 8), vn(2026, 3, 2, 17)),  # Monday morning: the end of Monday
        (vn(2026, 3, 2, 14, 59), vn(2026, 3, 2, 17)),
        (vn(2026, 3, 2, 15), vn(2026, 3, 3, 17)),  # at the 15:00 cut-off: the end of Tuesday
        (vn(2026, 3, 6, 16), vn(2026, 3, 9, 17)),  # Friday after the cut-off: Monday
    ],
)
def test_same_day_procedure_is_due_at_the_end_of_the_receipt_day(received: Any, due: Any) -> None:
    copy = load_catalogue().procedure("CT-BANSAO")
    assert copy.same_day and copy.legal_hours is None
    assert appointment(copy, received) == due


def test_the_slip_says_same_day_with_its_cutoff() -> None:
    from shared.clock.explain import legal_time_text

    text = legal_time_text({"same_day": True, "same_day_cutoff": "15:00"})
    assert "trong ngày" in text and "15:00" in text
    assert legal_time_text({"legal_days": 10}) == "10 ngày làm việc"


def test_a_same_day_case_reads_the_same_day_clock() -> None:
    case = new_case()
    case.legal_days, case.same_day, case.same_day_cutoff = None, True, "15:00"
    assert case.due_at(MONDAY) == vn(2026, 3, 2, 17)


# -- 2. the supplement window ----------------------------------------------------------------


def test_the_window_runs_from_the_restart_so_a_second_return_is_possible() -> None:
    case = new_case()
    case.request_supplement(["CCCD"], "thiếu", at(2))  # Mon 10:00
    # Back on Wednesday 09:00 (49 wall-clock hours, 26 working hours after the receipt).
    case.receive_supplement(at(49))
    case.report_to_leadership("còn thiếu", at(50))
    case.acknowledge_leadership(None, at(51).acting_as(LEADER))
    case.request_supplement(["Tờ khai"], "thiếu lần 2", at(53))  # Wed 13:00: 2.5 h after restart
    assert case.supplements == 2 and case.state == "awaiting_supplement"


def test_the_window_counts_running_time_only_and_closes_after_eight_hours() -> None:
    case = new_case()
    case.request_supplement(["CCCD"], "thiếu", at(2))
    case.receive_supplement(at(49))  # Wed 09:00: the clock restarts
    case.report_to_leadership("còn thiếu", at(50))
    case.acknowledge_leadership(None, at(51).acting_as(LEADER))
    with pytest.raises(CaseRuleViolation) as refused:
        case.request_supplement(["Tờ khai"], "quá muộn", at(74))  # Thu 10:00: 9 working hours
    assert refused.value.code == "supplement_window_passed"
    assert refused.value.details["working_minutes_since_start"] == 540
    assert refused.value.details["window_started_at"].startswith("2026-03-04T09:00")


def test_every_number_of_the_rule_set_cites_its_source() -> None:
    from shared.clock.rulesets import SOURCES, RuleSet

    numbers = {f.name for f in fields(RuleSet)} - {"effective_from", "legal_basis"}
    assert numbers == set(SOURCES)
    assert all(len(source) > 20 for source in SOURCES.values())


# -- 3. one verdict --------------------------------------------------------------------------


def _returned_twice_finished_early() -> list[Any]:
    return [
        Received(vn(2026, 3, 2, 8)),
        SupplementRequested(vn(2026, 3, 2, 9), 1),
        SupplementCompleted(vn(2026, 3, 3, 8)),
        SupplementRequested(vn(2026, 3, 3, 9), 2),
        SupplementCompleted(vn(2026, 3, 3, 10)),
        Finished(vn(2026, 3, 3, 11)),
    ]


def test_a_second_return_is_late_in_the_clock_itself_with_the_reason() -> None:
    reading = read_clock(_returned_twice_finished_early(), legal_time=FIVE_DAYS, now=vn(2026, 3, 4, 8))
    assert reading.status == "finished_late" and reading.late
    assert [r.code for r in reading.late_reasons] == ["returned_more_than_allowed"]
    assert reading.late_reasons[0].en == "late under Decision 766: returned twice for supplements"
    assert "Quyết định 766" in reading.late_reasons[0].vi


def test_one_return_finished_early_is_not_late() -> None:
    facts = _returned_twice_finished_early()
    reading = read_clock([*facts[:3], facts[-1]], legal_time=FIVE_DAYS, now=vn(2026, 3, 4, 8))
    assert reading.status == "finished_early" and not reading.late and reading.late_reasons == ()


def test_past_the_appointment_gives_its_own_reason() -> None:
    reading = read_clock([Received(vn(2026, 3, 2, 8))], legal_time=FIVE_DAYS, now=vn(2026, 3, 10, 8))
    assert reading.late and reading.late_reasons[0].code == "past_appointment"
    assert "2026-03-09 08:00" in reading.late_reasons[0].en


def _case_returned_twice() -> Any:
    case = new_case()
    case.assign("cb.an", at(0.5))
    case.request_supplement(["CCCD"], "thiếu", at(1))
    case.receive_supplement(at(24))  # Tue 08:00
    case.report_to_leadership("còn thiếu", at(24.5))
    case.acknowledge_leadership(None, at(24.6).acting_as(LEADER))
    case.request_supplement(["Tờ khai"], "thiếu lần 2", at(25))
    case.receive_supplement(at(26))
    case.decide(True, None, at(27))  # Tue 11:00, days before its appointment
    return case


def test_processing_view_and_decided_event_carry_the_verdict() -> None:
    case = _case_returned_twice()
    view = clock_view(case, MONDAY + timedelta(days=3))
    assert view["status"] == "finished_late" and view["late"]
    assert view["late_reasons"][0]["en"] == "late under Decision 766: returned twice for supplements"
    decided = next(e for e in case.collect_events() if type(e).__name__ == "Decided")
    contract = case_contract(decided, case)
    assert isinstance(contract, DossierDecided)
    assert contract.on_time is False
    assert contract.late_reasons == ["late under Decision 766: returned twice for supplements"]


# -- 4. the back-date reason of the receipt ----------------------------------------------------


def test_the_opened_case_keeps_the_receipts_backdate_reason() -> None:
    case = new_case()
    case2 = type(case)(**{**_fields(case), "backdate_reason": "mất điện (outage)"})
    rows = history_view(case2.collect_events())
    assert rows[0]["backdate_reason"] == "mất điện (outage)"


def _fields(case: Any) -> dict[str, Any]:
    return {
        "dossier_id": case.dossier_id,
        "dossier_code": case.dossier_code,
        "department_code": case.department_code,
        "procedure_code": case.procedure_code,
        "legal_days": case.legal_days,
        "legal_hours": case.legal_hours,
        "same_day_cutoff": None,
        "supplement_policy": case.supplement_policy,
        "agency_shares": None,
        "received_at": case.received_at,
        "due_at": case.appointment_at,
        "postal_return": False,
        "occurred_at": case.received_at,
        "actor": OFFICER,
        "calendar": "standard",
        "receiving_point": "TTPVHCC",
        "tracking_hash": None,
        "same_day": False,
        "intake_steps": None,
    }


# -- 5. a paused clock -----------------------------------------------------------------------


def test_a_paused_dossier_shows_since_when_and_hours_left_not_a_date_from_today() -> None:
    case = new_case(policy="resume")  # Mon 08:00, 5 days
    case.request_supplement(["CCCD"], "thiếu", at(3))  # Mon 11:00: 3 h used
    view = clock_view(case, MONDAY + timedelta(days=280))  # read in December
    assert view["paused"] and view["due_at"] is None
    pause = view["pause"]
    assert pause["since"] == "2026-03-02T11:00:00+07:00"
    assert pause["working_minutes_left"] == 5 * 480 - 180
    assert pause["summary"]["en"] == "paused since 2026-03-02 11:00, 37 working hours left"
    assert pause["summary"]["vi"].startswith("Tạm dừng từ 2026-03-02 11:00, còn 37 giờ")
    assert (
        "projected_due_at_if_completed_today" in pause
        and "not an appointment" in (pause["projection_note"]["en"])
    )


# -- 8. a decision without an assignment -----------------------------------------------------


def test_a_decision_on_an_unassigned_case_records_the_takeover() -> None:
    case = new_case()
    case.decide(True, None, at(2))
    assert case.officer == OFFICER["user_id"] and case.taken_over
    rows = history_view(case.collect_events())
    assert [r["event"] for r in rows] == ["Opened", "OfficerAssigned", "Decided"]
    assert rows[1]["details"]["taken_over"] is True


def test_an_assigned_case_is_not_taken_over() -> None:
    case = new_case()
    case.assign("cb.binh", at(1))
    case.decide(True, None, at(2))
    assert case.officer == "cb.binh" and not case.taken_over


# -- 7. history in instant order, local time, never cut ---------------------------------------


def test_cli_history_sorts_by_instant_and_prints_whole_local_timestamps_at_80_columns() -> None:
    import io
    from datetime import UTC, datetime
    from uuid import uuid4

    from rich.console import Console

    from services.ops.history_print import history_lines
    from shared.contracts import Actor, OfficerAssigned

    actor = Actor(user_id="canbo.nguyenvana.phongtuphap", role="officer", agency="STP", channel=1)
    dossier = uuid4()

    def assigned(at: datetime, version: int) -> OfficerAssigned:
        return OfficerAssigned(
            event_id=f"processing:{dossier}:{version}",
            dossier_id=dossier,
            dossier_code="H99-260302-0001",
            occurred_at=at,
            recorded_at=at,
            actor=actor,
            backdate_reason="mất điện (outage) tại bộ phận một cửa, nhập lại sau khi có điện",
            department_code="STP",
            due_at=at,
            officer="cb.an",
        )

    later_in_utc = assigned(datetime(2026, 3, 2, 8, 30, tzinfo=UTC), 2)  # 15:30 in Hanoi
    earlier_local = assigned(vn(2026, 3, 2, 9), 1)
    lines = history_lines([later_in_utc, earlier_local])
    assert lines[0].startswith("2026-03-02T09:00:00+07:00")
    assert lines[3].startswith("2026-03-02T15:30:00+07:00")
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    for line in lines:
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    text = out.getvalue()
    assert "2026-03-02T15:30:00+07:00" in text and "…" not in text
    assert "nhập lại sau khi có điện" in text


def test_processing_history_is_in_local_time_with_offset() -> None:
    from datetime import UTC, datetime

    case = new_case()
    case.assign("cb.an", StepMeta(occurred_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC), actor=OFFICER))
    rows = history_view(case.collect_events())
    assert [r["occurred_at"] for r in rows] == ["2026-03-02T08:00:00+07:00", "2026-03-02T09:00:00+07:00"]
    assert rows[1]["recorded_at"].endswith("+07:00")


def test_a_delivery_opened_from_a_late_entered_result_keeps_its_reason() -> None:
    import uuid
    from datetime import UTC, datetime

    from services.postal.application import PostalApplication
    from services.postal.translate import shipment_contract

    app = PostalApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.open_shipment(
        dossier_id=uuid.uuid4(),
        dossier_code="000.00.01.H99-260302-0002",
        kind="delivery",
        occurred_at=datetime(2026, 3, 2, 2, tzinfo=UTC),
        actor={"user_id": "system", "role": "system", "agency": "TTHCC", "channel": 1},
        backdate_reason=OUTAGE_REASON,
    )
    from services.postal.domain import shipment_id_for

    shipment = app.repository.get(shipment_id_for("000.00.01.H99-260302-0002", "delivery"))
    opened = next(iter(app.events.get(shipment.id)))
    contract = shipment_contract(opened, shipment)
    assert contract is not None and contract.backdate_reason == OUTAGE_REASON


OUTAGE_REASON = "mất điện (outage)"
