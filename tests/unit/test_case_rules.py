"""The processing case's rules, in memory: no database, no broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from services.processing.case_commands import OpenCase
from services.processing.domain import Case
from services.processing.rules import CaseRuleViolation, InvalidCommand, InvalidTransition
from services.processing.values import PausePolicy, StepMeta
from shared.clock import DEFAULT_CALENDAR, LegalTime, appointment_for

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICER = {"user_id": "cb.an", "role": "officer", "agency": "STP", "channel": 1}
LEADER = {"user_id": "ld.binh", "role": "leader", "agency": "STP", "channel": 1}
# Monday 2026-03-02 08:00, a plain working week.
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=VN)


def at(hours: float) -> StepMeta:
    """Meta for a step `hours` wall-clock hours after Monday 08:00."""
    return StepMeta(occurred_at=MONDAY + timedelta(hours=hours), actor=OFFICER)


def new_case(
    days: int = 5, policy: str = "restart", shares: dict[str, int] | None = None, postal: bool = False
) -> Case:
    due = appointment_for(MONDAY, LegalTime.days(days))
    return Case.open(
        OpenCase(
            dossier_id=uuid4(),
            dossier_code="000.00.01.H99-260302-0001",
            department_code="STP",
            procedure_code="LLTP",
            legal_days=days,
            legal_hours=None,
            same_day_cutoff=None,
            supplement_policy=PausePolicy(policy),
            agency_shares=shares,
            received_at=MONDAY,
            due_at=due,
            postal_return=postal,
            occurred_at=MONDAY,
            actor=OFFICER,
            calendar="standard",
            receiving_point="TTPVHCC",
            tracking_hash=None,
            same_day=False,
            backdate_reason=None,
            intake_steps=None,
        )
    )


def test_happy_path_ends_returned_with_national_status_10() -> None:
    case = new_case()
    assert case.national_status() == 4
    case.assign("cb.an", at(1))
    case.decide(True, None, at(2))
    assert case.national_status() == 9
    case.make_result_ready(at(3))
    case.return_result("desk", "Nguyễn Văn A", at(4))
    assert case.state == "returned" and case.national_status() == 10
    reading = case.read_clock(MONDAY + timedelta(hours=10))
    assert reading.status == "finished_early"


def test_invalid_transition_lists_what_is_allowed_now() -> None:
    case = new_case()
    with pytest.raises(InvalidTransition) as refused:
        case.make_result_ready(at(1))
    assert refused.value.state == "in_processing"
    assert "decide" in refused.value.allowed


def test_supplement_stops_the_clock_and_restart_gives_a_full_new_time() -> None:
    case = new_case(days=5)
    case.request_supplement(["Bản sao CCCD"], "thiếu giấy tờ", at(2))  # Mon 10:00
    assert case.state == "awaiting_supplement" and case.national_status() == 5
    # Completed Wednesday 08:00: restart gives 5 full working days from then -> next Wed 08:00.
    case.receive_supplement(at(48))
    due = case.due_at(MONDAY + timedelta(hours=48))
    assert due == datetime(2026, 3, 11, 8, 0, tzinfo=VN)


def test_resume_deducts_the_time_already_used() -> None:
    case = new_case(days=5, policy="resume")
    case.request_supplement(["Tờ khai"], "thiếu", at(2))  # 2 working hours used (08:00-10:00)
    # Completed Wed 4 Mar 08:00 with 38 h left: Wed 7 h (08:00-11:30, 13:30-17:00) -> 31 left,
    # Thu, Fri, Mon 8 h each -> 7 left, Tue 07:00-11:30 4.5 h -> 2.5 left -> 13:30 + 2.5 h = 16:00.
    case.receive_supplement(at(48))
    assert case.due_at(MONDAY + timedelta(hours=48)) == datetime(2026, 3, 10, 16, 0, tzinfo=VN)


def test_second_return_needs_an_acknowledged_leadership_report() -> None:
    case = new_case()
    case.request_supplement(["A"], "thiếu", at(1))
    case.receive_supplement(at(2))
    with pytest.raises(CaseRuleViolation) as refused:
        case.request_supplement(["B"], "thiếu tiếp", at(3))
    assert refused.value.code == "leadership_report_required"
    case.report_to_leadership("trả lần 2 vì thiếu B", at(3))
    with pytest.raises(CaseRuleViolation) as not_leader:
        case.acknowledge_leadership(None, at(3.5))
    assert not_leader.value.code == "leader_role_required"
    case.acknowledge_leadership("đồng ý", at(4).acting_as(LEADER))
    case.request_supplement(["B"], "thiếu tiếp", at(5))
    assert case.supplements == 2


def test_supplement_request_after_eight_working_hours_is_refused() -> None:
    case = new_case()
    with pytest.raises(CaseRuleViolation) as refused:
        case.request_supplement(["A"], "muộn", at(26))  # Tue 10:00: 10 working hours later
    assert refused.value.code == "supplement_window_passed"


def test_appointment_may_be_reset_only_once_and_only_later() -> None:
    case = new_case(days=5)
    current = case.due_at(MONDAY)
    with pytest.raises(InvalidCommand):
        case.issue_apology("chậm", current - timedelta(hours=1), at(1))
    later = current + timedelta(days=7)
    case.issue_apology("cần xác minh thêm", later, at(1))
    assert case.due_at(MONDAY + timedelta(hours=1)) == later
    with pytest.raises(CaseRuleViolation) as again:
        case.issue_apology("lại chậm", later + timedelta(days=7), at(2))
    assert again.value.code == "reappointment_limit"


def test_withdrawal_only_before_a_decision() -> None:
    case = new_case()
    case.decide(False, "không đủ điều kiện", at(1))
    with pytest.raises(InvalidTransition):
        case.withdraw("withdrawn", "công dân rút", at(2))
    other = new_case()
    other.withdraw("withdrawn", "công dân rút", at(2))
    assert other.state == "stopped" and other.national_status() == 7


def test_rejection_needs_reasons() -> None:
    with pytest.raises(InvalidCommand):
        new_case().decide(False, " ", at(1))


def test_steps_cannot_go_back_in_business_time() -> None:
    case = new_case()
    case.assign("cb.an", at(3))
    with pytest.raises(InvalidCommand) as refused:
        case.decide(True, None, at(2))
    assert refused.value.code == "out_of_order"


def test_closing_for_no_supplement_waits_fifteen_working_days() -> None:
    case = new_case()
    case.request_supplement(["A"], "thiếu", at(1))  # Mon 09:00
    with pytest.raises(CaseRuleViolation):
        case.close_for_no_supplement(at(24 * 14))  # two weeks later: 10 working days
    # 15 working days after Mon 2 Mar 09:00 is Mon 23 Mar 09:00 (no holidays in March 2026).
    after = datetime(2026, 3, 23, 9, 0, tzinfo=VN)
    assert DEFAULT_CALENDAR.working_minutes_between(MONDAY + timedelta(hours=1), after) == 15 * 480
    case.close_for_no_supplement(replace(at(0), occurred_at=after))
    assert case.state == "closed" and case.national_status() == 8


def test_overdue_is_recorded_once() -> None:
    case = new_case(days=1)  # due Tue 08:00
    with pytest.raises(CaseRuleViolation):
        case.mark_overdue(at(23))
    case.mark_overdue(at(25))
    with pytest.raises(InvalidTransition):
        case.mark_overdue(at(26))


def test_transfer_takes_the_agency_share() -> None:
    case = new_case(days=10, shares={"STP": 7, "THUE": 3})
    case.transfer("THUE", at(1))
    assert case.department_code == "THUE"
    agencies = {a.agency: a for a in case.read_clock(MONDAY + timedelta(hours=2)).agencies}
    assert agencies["THUE"].share_minutes == 3 * 480


def test_a_delivery_reported_before_the_last_step_is_recorded_at_that_step() -> None:
    from services.processing.handlers import _not_before

    case = new_case(postal=True)
    case.decide(True, None, at(2))
    case.make_result_ready(at(3))
    early = _not_before(case, at(2.5))
    assert early.occurred_at == MONDAY + timedelta(hours=3)
    assert early.backdate_reason is not None and "operator reported" in early.backdate_reason
    case.return_result("post", "Nguyễn Văn A", early)
    assert case.state == "returned"
    assert _not_before(case, at(5)) == at(5)
