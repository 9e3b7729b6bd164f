"""The words and the small records of a processing case.

The words (states, steps, the clock's verdict) are ``StrEnum``s: a member is its own string, so
stored rows hold the same text as before they existed, and JSON (stored events, the API, the
contracts) carries the plain value; compare them with ``==``, since a case restored from a
snapshot holds those plain strings. The records are frozen dataclasses, stored through the
transcodings in ``services.processing.transcodings``; rows written before them hold plain dicts,
which ``from_stored`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.clock.facts import ClockReading


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


class FeedbackSource(StrEnum):
    """Where a citizen gave feedback on a dossier."""

    TRACKING = "tracking"  # the page behind the receipt's tracking secret
    KIOSK = "kiosk"  # the desk's kiosk


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


@dataclass(frozen=True, slots=True)
class StepClock:
    """The clock as it read right after a step, kept with the step, so that its published event
    (and scoring, and the replay) need not run the clock again."""

    due_at: datetime
    original_due_at: datetime
    working_minutes: int
    minutes_left: int
    supplement_minutes: int
    paused: bool
    status: ClockVerdict
    late: bool
    late_reasons_en: tuple[str, ...]
    late_reasons_vi: tuple[str, ...]

    @classmethod
    def of(cls, reading: ClockReading) -> StepClock:
        return cls(
            due_at=reading.due_at,
            original_due_at=reading.original_due_at,
            working_minutes=reading.processing_minutes,
            minutes_left=reading.minutes_left,
            supplement_minutes=reading.supplement_minutes,
            paused=reading.paused,
            status=ClockVerdict(reading.status),
            late=reading.late,
            late_reasons_en=tuple(r.en for r in reading.late_reasons),
            late_reasons_vi=tuple(r.vi for r in reading.late_reasons),
        )

    @classmethod
    def from_stored(cls, raw: StepClock | Mapping[str, Any]) -> StepClock:
        """Also a reading stored as a plain dict (the same fields), as steps were before."""
        if isinstance(raw, StepClock):
            return raw
        return cls(
            due_at=raw["due_at"],
            original_due_at=raw["original_due_at"],
            working_minutes=raw["working_minutes"],
            minutes_left=raw["minutes_left"],
            supplement_minutes=raw["supplement_minutes"],
            paused=raw["paused"],
            status=ClockVerdict(raw["status"]),
            late=raw["late"],
            late_reasons_en=tuple(raw["late_reasons_en"]),
            late_reasons_vi=tuple(raw["late_reasons_vi"]),
        )


@dataclass(frozen=True, slots=True)
class StepMeta:
    """When a step happened (business time), who took it, why it was entered late, and (once
    recorded) the clock right after it.

    ``actor`` stays the dict the caller's identity gives (user id, role, agency, channel): its
    shape belongs to the auth layer and to the published ``Actor``, not to the case.
    """

    occurred_at: datetime
    actor: dict[str, Any]
    backdate_reason: str | None = None
    clock: StepClock | None = None

    def stamped(self, clock: StepClock) -> StepMeta:
        return replace(self, clock=clock)

    def acting_as(self, actor: dict[str, Any]) -> StepMeta:
        return replace(self, actor=actor)

    @classmethod
    def from_stored(cls, raw: StepMeta | Mapping[str, Any]) -> StepMeta:
        """Also a step's ``meta`` stored as a plain dict, as steps were before (``clock`` then
        a plain dict too, or absent on steps stored before steps carried it)."""
        if isinstance(raw, StepMeta):
            return raw
        clock = raw.get("clock")
        return cls(
            occurred_at=raw["occurred_at"],
            actor=raw["actor"],
            backdate_reason=raw.get("backdate_reason"),
            clock=None if clock is None else StepClock.from_stored(clock),
        )


# A step's ``meta`` as an event may hold it: rows stored before ``StepMeta`` hold a dict.
StoredMeta = StepMeta | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LeadershipReport:
    """A report to the leadership before a second (or later) return for supplements."""

    return_number: int
    reason: str
    acknowledged_by: str | None = None


@dataclass(frozen=True, slots=True)
class ElectronicResult:
    """The result document as issued: ``document`` is the document store's record of it (id,
    name, media type, size, SHA-256) and ``signature`` the signer's; both shapes are theirs."""

    document: dict[str, Any]
    signature: dict[str, Any] | None
