"""The words of a processing case: its states, the steps an officer takes, and the clock's verdict.

``StrEnum``s: a member is its own string, so a stored row reads and writes the same text as
before these existed, and JSON (stored events, the API, the contracts) carries the plain value.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    IN_PROCESSING = "in_processing"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    DECIDED = "decided"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    STOPPED = "stopped"
    CLOSED = "closed"


class Action(StrEnum):
    """A step an officer (or the postal service, or a sweeper) takes on a case."""

    ASSIGN = "assign"
    TRANSFER = "transfer"
    REQUEST_SUPPLEMENT = "request_supplement"
    RECEIVE_SUPPLEMENT = "receive_supplement"
    CLOSE_FOR_NO_SUPPLEMENT = "close_for_no_supplement"
    REPORT_TO_LEADERSHIP = "report_to_leadership"
    ACKNOWLEDGE_LEADERSHIP = "acknowledge_leadership"
    ISSUE_APOLOGY = "issue_apology"
    MARK_OVERDUE = "mark_overdue"
    DECIDE = "decide"
    MAKE_RESULT_READY = "make_result_ready"
    ISSUE_RESULT = "issue_result"
    RETURN_RESULT = "return_result"
    BACK_AT_DESK = "back_at_desk"
    WITHDRAW = "withdraw"


class StopKind(StrEnum):
    WITHDRAWN = "withdrawn"  # the citizen withdrew the dossier
    STOPPED = "stopped"  # the department stopped processing it


class ReturnVia(StrEnum):
    DESK = "desk"
    POST = "post"
    ONLINE = "online"


class PausePolicy(StrEnum):
    """What the clock does when a supplemented dossier comes back complete."""

    RESTART = "restart"  # a full new legal time
    RESUME = "resume"  # the time used before the pause is deducted


class ClockVerdict(StrEnum):
    """The clock's status at a moment: running (the first three) or finished (the rest)."""

    ON_TIME = "on_time"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    FINISHED_EARLY = "finished_early"
    FINISHED_ON_TIME = "finished_on_time"
    FINISHED_LATE = "finished_late"
