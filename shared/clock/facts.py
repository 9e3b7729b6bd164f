"""Inputs and output of the legal clock: clock facts in business time, and the clock reading.

Facts carry the *business* time (when it happened), never the recording time: back-dated entries
move the clock exactly as if they had been recorded on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shared.clock.explanation import Explanation

Status = Literal["on_time", "due_today", "overdue", "finished_early", "finished_on_time", "finished_late"]


@dataclass(frozen=True)
class Received:
    """A complete dossier received (for postal filings: taken over from the postal staff)."""

    at: datetime
    agency: str = "receiving agency"


@dataclass(frozen=True)
class SupplementRequested:
    at: datetime
    number: int  # 1 for the first request; Decision 766 counts more than one as late


@dataclass(frozen=True)
class SupplementCompleted:
    at: datetime  # the complete dossier is back: the clock restarts or resumes


@dataclass(frozen=True)
class Transferred:
    at: datetime
    agency: str
    share_days: int | None = None  # the agency's share of the legal time, if the procedure sets one


@dataclass(frozen=True)
class Reappointed:
    at: datetime
    new_due: datetime  # replaces the due date (apology + new appointment)
    reason: str


@dataclass(frozen=True)
class Finished:
    at: datetime  # decided, stopped or withdrawn


ClockFact = Received | SupplementRequested | SupplementCompleted | Transferred | Reappointed | Finished


@dataclass(frozen=True)
class AgencyTime:
    """Working time an agency held the dossier while the clock ran (inter-agency one-stop)."""

    agency: str
    minutes_used: int
    share_minutes: int | None

    @property
    def over_share(self) -> bool:
        return self.share_minutes is not None and self.minutes_used > self.share_minutes


@dataclass(frozen=True)
class LateReason:
    """Why a dossier is late, in words a citizen and an auditor can read (both languages)."""

    code: str  # "past_appointment" | "returned_more_than_allowed"
    vi: str
    en: str


@dataclass(frozen=True)
class ClockReading:
    received_at: datetime
    clock_started_at: datetime
    due_at: datetime  # current appointment; provisional while paused (see legal_clock)
    original_due_at: datetime
    minutes_used: int  # against the current legal time (a restart sets it back to 0)
    minutes_left: int
    processing_minutes: int  # all running time since receipt, pauses excluded
    paused: bool
    status: Status
    supplement_count: int
    supplement_minutes: int  # paused working time, subtracted by Decision 766
    reappointments: int
    finished_at: datetime | None
    agencies: tuple[AgencyTime, ...]
    explained: Explanation  # worded when read: ``explanation``
    # The latest (re)start of the clock; None while paused. Windows counted "from receipt"
    # (the supplement request window) run from here, over running time only.
    running_since: datetime | None = None
    paused_since: datetime | None = None
    # The one lateness verdict every service uses (processing's view, the decided event,
    # scoring's figures and the 766 index): past the appointment, or more supplement requests
    # than the rule set allows (Decision 766/QĐ-TTg, 2022). Sticky like the status.
    late: bool = False
    late_reasons: tuple[LateReason, ...] = ()

    @property
    def explanation(self) -> list[str]:
        """How the clock came to this reading, line by line (worded on first reading)."""
        return self.explained.lines()
