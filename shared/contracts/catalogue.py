"""Events of the procedure catalogue (danh mục thủ tục hành chính), published by intake.

A catalogue entry is a procedure, a competent department or a one-stop desk. The envelope is the
one every event has: ``dossier_id`` is the entry's id (the key its events are filed under on the
bus, as a dossier's are) and ``dossier_code`` reads ``procedure:LLTP``, ``department:STP`` or
``desk:TTPVHCC``. ``effective_from`` is the date from which the entry's new version applies;
``occurred_at`` is when it was recorded. Consumers that judge dossiers ignore these events.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from shared.contracts.base import EventBase

Kind = Literal["procedure", "department", "desk"]


class CatalogueEvent(EventBase):
    kind: Kind
    code: str = Field(min_length=1, max_length=32)
    effective_from: date = Field(description="the version applies to dossiers received from this date")


class ProcedurePublished(CatalogueEvent):
    """A procedure enters the catalogue: everything the desk and the clock need to apply it."""

    event_type: Literal["intake.procedure_published.v1"] = "intake.procedure_published.v1"
    data: dict[str, Any] = Field(
        description="name, sector, department, legal time, channels, online level, fees, documents,"
        " supplement policy, same-day rule (the catalogue's procedure fields)"
    )


class ProcedureChanged(CatalogueEvent):
    """Only the fields that changed; a field set to null was removed."""

    event_type: Literal["intake.procedure_changed.v1"] = "intake.procedure_changed.v1"
    changes: dict[str, Any]


class ProcedureWithdrawn(CatalogueEvent):
    """No longer applies (bãi bỏ): dossiers received from ``effective_from`` cannot use it."""

    event_type: Literal["intake.procedure_withdrawn.v1"] = "intake.procedure_withdrawn.v1"


class UnitOpened(CatalogueEvent):
    """A department or a desk opens."""

    event_type: Literal["intake.unit_opened.v1"] = "intake.unit_opened.v1"
    data: dict[str, Any]


class UnitRenamed(CatalogueEvent):
    event_type: Literal["intake.unit_renamed.v1"] = "intake.unit_renamed.v1"
    name_vi: str
    name_en: str


class UnitChanged(CatalogueEvent):
    """Another attribute of a unit changed (its calendar, supplement policy, level…)."""

    event_type: Literal["intake.unit_changed.v1"] = "intake.unit_changed.v1"
    changes: dict[str, Any]


class UnitMerged(CatalogueEvent):
    """Merged into another unit (sáp nhập), which takes over its procedures and dossiers."""

    event_type: Literal["intake.unit_merged.v1"] = "intake.unit_merged.v1"
    into: str


class UnitRetired(CatalogueEvent):
    """Closed without a successor (a desk of an abolished district, say)."""

    event_type: Literal["intake.unit_retired.v1"] = "intake.unit_retired.v1"


CatalogueEventType = (
    ProcedurePublished
    | ProcedureChanged
    | ProcedureWithdrawn
    | UnitOpened
    | UnitRenamed
    | UnitChanged
    | UnitMerged
    | UnitRetired
)
