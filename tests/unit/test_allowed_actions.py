"""``allowed_actions`` is exactly what the commands accept: for random histories of a case, at
random moments, every listed action succeeds (with valid inputs) and every other one is refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.processing.domain import ACTIONS, Case
from services.processing.rules import CaseRuleViolation
from services.processing.values import StepMeta
from tests.unit.test_case_rules import LEADER, MONDAY, OFFICER, new_case

ALL_ACTIONS = sorted({action for actions in ACTIONS.values() for action in actions})


def _meta(at: datetime, actor: dict[str, Any] = OFFICER) -> StepMeta:
    return StepMeta(occurred_at=at, actor=actor)


def _later_appointment(case: Case, at: datetime) -> datetime:
    """A working moment a working day after the current appointment: a valid new date."""
    cal = case.working_calendar
    return cal.add_working_time(cal.next_working_moment(case.due_at(at) + timedelta(minutes=1)), 60 * 8)


RESULT = {
    "document_id": "00000000-0000-0000-0000-000000000001",
    "name": "Quyết định",
    "media_type": "application/pdf",
    "size": 10,
    "sha256": "0" * 64,
}

# Each action with inputs that are valid for any case: only the case's state and time can refuse.
COMMANDS: dict[str, Callable[[Case, datetime], None]] = {
    "assign": lambda c, at: c.assign("cb.an", _meta(at)),
    "transfer": lambda c, at: c.transfer("STC" if c.department_code != "STC" else "STP", _meta(at)),
    "request_supplement": lambda c, at: c.request_supplement(["Bản sao CCCD"], "thiếu", _meta(at)),
    "receive_supplement": lambda c, at: c.receive_supplement(_meta(at)),
    "close_for_no_supplement": lambda c, at: c.close_for_no_supplement(_meta(at)),
    "report_to_leadership": lambda c, at: c.report_to_leadership("trả lần nữa", _meta(at)),
    "acknowledge_leadership": lambda c, at: c.acknowledge_leadership("đồng ý", _meta(at, LEADER)),
    "issue_apology": lambda c, at: c.issue_apology("cần xác minh", _later_appointment(c, at), _meta(at)),
    "decide": lambda c, at: c.decide(False, "không đủ điều kiện", _meta(at)),
    "make_result_ready": lambda c, at: c.make_result_ready(_meta(at)),
    "issue_result": lambda c, at: c.issue_result(RESULT, None, _meta(at)),
    "return_result": lambda c, at: c.return_result("desk", "Nguyễn Văn A", _meta(at)),
    "back_at_desk": lambda c, at: c.back_at_desk("không phát được", _meta(at)),
    "withdraw": lambda c, at: c.withdraw("withdrawn", "công dân rút", _meta(at)),
}

# Steps forward in time: minutes to a month, so that windows close and limits are reached.
gaps = st.sampled_from([0, 10, 45, 120, 60 * 5, 60 * 20, 60 * 24 * 3, 60 * 24 * 10, 60 * 24 * 30])
steps = st.lists(st.tuples(gaps, st.sampled_from(ALL_ACTIONS)), min_size=1, max_size=14)


def _accepted(case: Case, action: str, at: datetime) -> bool:
    trial = copy.deepcopy(case)
    try:
        COMMANDS[action](trial, at)
    except CaseRuleViolation:
        return False
    return True


def test_every_action_has_a_command() -> None:
    assert set(COMMANDS) == set(ALL_ACTIONS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_allowed_actions_are_exactly_the_accepted_ones(steps: list[tuple[int, str]]) -> None:
    case = new_case(days=5)
    at = MONDAY
    for gap, wanted in steps:
        at += timedelta(minutes=gap)
        allowed = case.allowed_actions(at)
        accepted = [action for action in ALL_ACTIONS if _accepted(case, action, at)]
        assert sorted(allowed) == accepted, (case.state, at)
        # Walk on with the wanted action if it is allowed, else with any allowed one.
        chosen = wanted if wanted in allowed else (allowed[0] if allowed else None)
        if chosen is not None:
            COMMANDS[chosen](case, at)


def test_a_second_return_becomes_possible_only_after_the_leaders_acknowledgement() -> None:
    case = new_case()
    t = MONDAY + timedelta(hours=1)
    case.request_supplement(["A"], "thiếu", _meta(t))
    case.receive_supplement(_meta(t + timedelta(hours=1)))
    now = t + timedelta(hours=2)
    allowed = case.allowed_actions(now)
    assert "request_supplement" not in allowed and "acknowledge_leadership" not in allowed
    assert "report_to_leadership" in allowed
    case.report_to_leadership("lần 2", _meta(now))
    allowed = case.allowed_actions(now)
    assert "acknowledge_leadership" in allowed and "report_to_leadership" not in allowed
    assert "request_supplement" not in allowed
    case.acknowledge_leadership(None, _meta(now, LEADER))
    assert "request_supplement" in case.allowed_actions(now)


def test_no_apology_after_the_one_allowed_and_no_request_after_the_window() -> None:
    case = new_case()
    t = MONDAY + timedelta(hours=1)
    case.issue_apology("chậm", _later_appointment(case, t), _meta(t))
    assert "issue_apology" not in case.allowed_actions(t)
    assert "request_supplement" in case.allowed_actions(t)
    # Tuesday 10:00: more than 8 working hours since the receipt.
    assert "request_supplement" not in case.allowed_actions(MONDAY + timedelta(hours=26))
