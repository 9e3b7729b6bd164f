"""The demo procedure catalogue (danh mục thủ tục hành chính) of a fictional province.

``load_catalogue()`` reads ``procedures.json`` and the province's units (departments and desks,
``shared/units/units.json``, shared with scoring), validated and cached. Every figure's source is in
``SOURCES.md``; agency ID codes are demo values for a fictional province ("H99").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Self

from pydantic import Field, PrivateAttr, model_validator

from services.intake.catalogue.models import (
    Channel,
    Department,
    DocumentForm,
    Level,
    OnlineLevel,
    Procedure,
    ReceivingPoint,
    RequiredDocument,
    SupplementPolicy,
    _Frozen,
)
from shared.units import units_data

DATA_FILE = Path(__file__).with_name("procedures.json")

__all__ = [
    "Catalogue",
    "Channel",
    "Department",
    "DocumentForm",
    "Level",
    "OnlineLevel",
    "Procedure",
    "ReceivingPoint",
    "RequiredDocument",
    "SupplementPolicy",
    "UnknownDepartment",
    "UnknownProcedure",
    "load_catalogue",
]


class UnknownProcedure(LookupError):
    """No procedure with this code (ours or the national mã TTHC) is in the catalogue."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown procedure code {code!r}: not in the procedure catalogue")
        self.code = code


class UnknownDepartment(LookupError):
    """No department with this code is in the catalogue."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown department code {code!r}: not in the procedure catalogue")
        self.code = code


class Catalogue(_Frozen):
    """Departments, receiving points and procedures, checked against each other."""

    as_of: str = Field(min_length=1, description="when the data was compiled")
    notes: tuple[str, ...] = ()
    departments: tuple[Department, ...] = Field(min_length=1)
    receiving_points: tuple[ReceivingPoint, ...] = ()
    procedures: tuple[Procedure, ...] = Field(min_length=1)
    _index: dict[str, Procedure] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        _require_unique("department", [d.code for d in self.departments])
        _require_unique(
            "agency_id",
            [d.agency_id for d in self.departments] + [r.agency_id for r in self.receiving_points],
        )
        _require_unique("receiving point", [r.code for r in self.receiving_points])
        _require_unique("procedure", [p.code for p in self.procedures])
        _require_unique(
            "national code", [p.national_code for p in self.procedures if p.national_code is not None]
        )
        known = {d.code for d in self.departments}
        for proc in self.procedures:
            used = {proc.department, *(proc.agency_shares or {})}
            missing = sorted(used - known)
            if missing:
                raise ValueError(f"{proc.code}: unknown department(s) {missing}")
        self._index = {p.national_code: p for p in self.procedures if p.national_code}
        self._index.update({p.code: p for p in self.procedures})
        return self

    def procedure(self, code: str) -> Procedure:
        """Look a procedure up by our code or by its national code (mã TTHC)."""
        # read through __pydantic_private__ directly: a private attribute's normal access goes
        # through BaseModel.__getattr__, and this runs for every receipt
        private = self.__pydantic_private__
        assert private is not None  # set by pydantic for a model with private fields
        found: Procedure | None = private["_index"].get(code)
        if found is None:
            raise UnknownProcedure(code)
        return found

    def department(self, code: str) -> Department:
        for dept in self.departments:
            if dept.code == code:
                return dept
        raise UnknownDepartment(code)

    def supplement_policy(self, code: str) -> SupplementPolicy:
        """The procedure's own policy, else its competent department's (default restart)."""
        proc = self.procedure(code)
        return proc.supplement_policy or self.department(proc.department).supplement_policy


def _require_unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} code {value!r}")
        seen.add(value)


def parse_catalogue(raw: str | bytes) -> Catalogue:
    """Validate catalogue JSON text (no caching)."""
    data = json.loads(raw)
    data.pop("$comment", None)
    # The units live in shared/ (scoring names them too); a test may still pass its own.
    units = units_data()
    for key in ("departments", "receiving_points"):
        data.setdefault(key, units.get(key, []))
    return Catalogue.model_validate(data)


@cache
def load_catalogue() -> Catalogue:
    """The packaged demo catalogue, read and validated once per process."""
    return parse_catalogue(DATA_FILE.read_bytes())
