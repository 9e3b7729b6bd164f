"""One row of facts per dossier (dữ liệu hồ sơ), as scoring sees it.

Every field is a function of the dossier's events alone (never of the wall clock), so the row
can be recomputed from the log at any time and compared with the projection (``motcua verify``).
Clock-derived fields (due date, working time, timeliness) come from the shared legal clock read
at the dossier's last event, or at an explicit moment for "as of" reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

# On the 5-level scale, 1 (very dissatisfied) and 2 (dissatisfied) are Decision 766's "dislike".
DISLIKE_AT_MOST = 2
ChannelKind = str  # "desk" | "online_partial" | "online_full" | "post"
Timeliness = str  # "early" | "on_time" | "late"


@dataclass(frozen=True)
class DossierFacts:
    dossier_id: UUID
    dossier_code: str
    # received | incomplete | refused (at the counter) | registered (filed online, waiting for the
    # desk); None: no intake event
    outcome: str | None = None
    department_code: str | None = None  # the competent agency
    procedure_code: str | None = None
    receiving_point: str | None = None  # the desk that received it (district / commune / centre)
    channel_kind: ChannelKind | None = None
    postal_return: bool = False
    fee_vnd: int = 0
    paid_online: bool = False  # a charge paid online: intake's flag, or the payment platform
    obligations_vnd: int = 0  # financial obligations requested during processing (payments)
    obligations_due: int = 0  # of those, not paid yet (national status 6 while any is due)
    documents_scanned: bool = False
    electronic_result: bool = False  # the procedure issues an electronic result
    registered_at: datetime | None = None  # first event at the counter, whatever its outcome
    received_at: datetime | None = None  # complete dossier received: the clock starts
    due_at: datetime | None = None  # appointment in force (provisional while paused)
    original_due_at: datetime | None = None
    finished_at: datetime | None = None  # decided, withdrawn, stopped or closed
    finish_kind: str | None = None  # decided | withdrawn | stopped | closed
    approved: bool | None = None
    result_ready_at: datetime | None = None
    result_issued_at: datetime | None = None  # the result document issued electronically
    returned_at: datetime | None = None
    returned_via: str | None = None
    timeliness: Timeliness | None = None  # finished dossiers only
    late: bool = False  # the clock's verdict at the reading moment (sticky: once late, always late)
    late_reason: str | None = None  # why, in English ("late under Decision 766: returned twice …")
    late_reason_vi: str | None = None  # the same in Vietnamese
    paused: bool = False  # awaiting a supplement at the reading moment
    working_minutes: int = 0  # running clock time since receipt, pauses excluded
    supplement_minutes: int = 0  # paused working time (Decision 766 subtracts it)
    supplement_requests: int = 0  # returns to the citizen (trả hồ sơ yêu cầu bổ sung)
    escalations: int = 0  # reports to the leadership
    apologies: int = 0
    transfers: int = 0
    overdue_marked: bool = False
    backdated_entries: int = 0
    postal_delivery_at: datetime | None = None  # delivery of the result booked
    postal_delivered_at: datetime | None = None
    postal_failures: int = 0
    rating: int | None = None  # the citizen's 5-level rating (1 very dissatisfied … 5 very satisfied)
    rated_at: datetime | None = None
    complaints: int = 0  # phản ánh, kiến nghị filed about this dossier
    complained_at: datetime | None = None  # the first one
    pickup_reference: str | None = None  # the postal pickup (BC-…) the dossier came from
    national_status: int = 1
    event_count: int = 0
    last_event_at: datetime | None = None
    clock_note: str | None = None  # why the clock could not be read (events missing so far)

    def dissatisfied_by(self, moment: datetime) -> bool:
        """Disliked (rated 1-2) or complained about, as known at ``moment``."""
        disliked = self.rating is not None and self.rating <= DISLIKE_AT_MOST
        rated = disliked and self.rated_at is not None and self.rated_at <= moment
        return rated or (self.complained_at is not None and self.complained_at <= moment)

    def gave_feedback_by(self, moment: datetime) -> bool:
        rated = self.rated_at is not None and self.rated_at <= moment
        return rated or (self.complained_at is not None and self.complained_at <= moment)

    @property
    def second_return(self) -> bool:
        return self.supplement_requests >= 2

    def row(self) -> dict[str, Any]:
        # Every field is an immutable scalar: nothing to copy (``asdict`` deep-copied each value,
        # 15 % of scoring's consumer).
        return dict(zip(COLUMNS, self.values(), strict=True))

    def values(self) -> tuple[Any, ...]:
        """The fields in ``COLUMNS`` order, as the facts table's upsert takes them."""
        values: tuple[Any, ...] = _VALUES(self)
        return values

    @classmethod
    def from_row(cls, row: Any) -> DossierFacts:
        return cls.of({name: row[name] for name in COLUMNS})

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> DossierFacts:
        """The facts with these fields (the rest at their defaults), made without the generated
        ``__init__``: a frozen dataclass's sets each of its 51 fields through
        ``object.__setattr__``, which was a fifth of folding a dossier. The names are checked as
        ``__init__`` would: every field given or defaulted, and no other."""
        made = object.__new__(cls)
        state = made.__dict__
        state.update(_DEFAULTS)
        state.update(values)
        if state.keys() != _NAMES:
            missing, unknown = _NAMES - state.keys(), state.keys() - _NAMES
            raise TypeError(f"DossierFacts: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return made


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(DossierFacts))
_VALUES = attrgetter(*COLUMNS)
_NAMES = frozenset(COLUMNS)
_DEFAULTS = {f.name: f.default for f in fields(DossierFacts) if f.default is not MISSING}
