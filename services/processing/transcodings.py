"""How the case's records are stored: one ``Transcoding`` each, on processing's transcoder.

The library's JSON transcoder stores a registered object as ``{"_type_": name, "_data_": ...}``
and gives the object back when it reads that form. The names are written into every row from
now on: never rename one. Rows stored before these existed hold plain dicts instead, read by the
records' ``from_stored``; the enums need no transcoding (a ``StrEnum`` is already JSON text).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Generic, TypeVar

from eventsourcing.persistence import JSONTranscoder, Transcoding

from services.processing.values import ClockVerdict, ElectronicResult, LeadershipReport, StepClock, StepMeta
from shared.clock.facts import (
    Finished,
    Reappointed,
    Received,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
)

_Record = TypeVar("_Record")

# The names of the records a step stores (the replay's reader of rows looks for them too).
STEP_CLOCK = "step_clock"
STEP_META = "step_meta"


class RecordAsDict(Transcoding, Generic[_Record]):
    """A frozen dataclass as the dict of its fields (their values transcoded in turn)."""

    def __init__(self, record: type[_Record], name: str) -> None:
        self.type = record
        self.name = name
        self._fields = tuple(f.name for f in fields(record))  # type: ignore[arg-type]

    def encode(self, obj: _Record) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> _Record:
        return self.type(**data)  # type: ignore[no-any-return]


class StepClockAsDict(RecordAsDict[StepClock]):
    """JSON gives the verdict back as text and the reasons as lists: made the record's again."""

    def __init__(self) -> None:
        super().__init__(StepClock, STEP_CLOCK)

    def decode(self, data: dict[str, Any]) -> StepClock:
        return StepClock(
            **{
                **data,
                "status": ClockVerdict(data["status"]),
                "late_reasons_en": tuple(data["late_reasons_en"]),
                "late_reasons_vi": tuple(data["late_reasons_vi"]),
            }
        )


def register_case_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(StepClockAsDict())
    transcoder.register(RecordAsDict(StepMeta, STEP_META))
    # Kept in the case's state only: stored when a snapshot of a case is taken.
    transcoder.register(RecordAsDict(LeadershipReport, "leadership_report"))
    transcoder.register(RecordAsDict(ElectronicResult, "electronic_result"))
    for fact, name in (
        (Received, "clock_received"),
        (SupplementRequested, "clock_supplement_requested"),
        (SupplementCompleted, "clock_supplement_completed"),
        (Transferred, "clock_transferred"),
        (Reappointed, "clock_reappointed"),
        (Finished, "clock_finished"),
    ):
        transcoder.register(RecordAsDict(fact, name))
