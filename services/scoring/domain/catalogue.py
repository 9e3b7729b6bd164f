"""The procedure catalogue as scoring reads it from intake's catalogue events, on any date.

Two indicators of Decision 766 come from the catalogue rather than from dossiers, per competent
department and date (docs/domain-rules.md, "Index 766"):

* publicity: procedures in force that are published with their national code (mã TTHC, the key
  of their page on the National Public Service Portal) over the procedures in force. The decision
  gives publicity its own group; we score the share proportionally (rate x 18), no threshold.
* online_procedures: procedures in force offering an online service (full or partial) over the
  procedures in force; full at >= 80 %, else rate x 12 / 80 %.

In ``/index766`` (``with_catalogue``) both count in a department's points: publicity is its own
18-point group, and the 12-point online group is shared half and half between the procedures
offering online service (6) and the dossiers filed online (``online_submission``, 6), so the six
groups add up to the decision's 100.

A version applies from its ``effective_from`` date: a change published today for next month
does not count until next month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from services.scoring.domain.index766 import Indicator, _indicator
from shared.contracts.catalogue import (
    CatalogueEvent,
    ProcedureChanged,
    ProcedurePublished,
    ProcedureWithdrawn,
)

CATALOGUE_TYPES = (
    "intake.procedure_published.v1",
    "intake.procedure_changed.v1",
    "intake.procedure_withdrawn.v1",
    "intake.unit_opened.v1",
    "intake.unit_renamed.v1",
    "intake.unit_changed.v1",
    "intake.unit_merged.v1",
    "intake.unit_retired.v1",
)
CATALOGUE_TYPES_SQL = ", ".join(f"'{t}'" for t in CATALOGUE_TYPES)


def procedures_in_force(events: Iterable[CatalogueEvent], day: date) -> dict[str, dict[str, Any]]:
    """Each procedure's fields in force on ``day`` (withdrawn and future ones left out)."""
    state: dict[str, dict[str, Any] | None] = {}
    # In the order they apply, then as recorded: a later correction of the same date wins.
    ordered = sorted(
        (e for e in events if e.kind == "procedure" and e.effective_from <= day),
        key=lambda e: (e.effective_from, e.occurred_at, e.event_id),
    )
    for e in ordered:
        if isinstance(e, ProcedurePublished):
            state[e.code] = dict(e.data)
        elif isinstance(e, ProcedureChanged):
            merged = {**(state.get(e.code) or {}), **e.changes}
            state[e.code] = {k: v for k, v in merged.items() if v is not None}
        elif isinstance(e, ProcedureWithdrawn):
            state[e.code] = None
    return {code: data for code, data in state.items() if data is not None}


def catalogue_indicators(events: Iterable[CatalogueEvent], day: date) -> dict[str, list[Indicator]]:
    """Per competent department: publicity and the share of procedures offering online service."""
    by_department: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for data in procedures_in_force(events, day).values():
        by_department[str(data.get("department", "?"))].append(data)
    out: dict[str, list[Indicator]] = {}
    for unit, procedures in sorted(by_department.items()):
        published = sum(1 for p in procedures if p.get("national_code"))
        online = sum(1 for p in procedures if p.get("online_level", "none") != "none")
        out[unit] = [
            _indicator("publicity", "Công khai, minh bạch", 18, published, len(procedures), None),
            _indicator(
                "online_procedures", "TTHC cung cấp dịch vụ công trực tuyến", 12, online, len(procedures), 0.8
            ),
        ]
    return out


ONLINE_GROUP = 12  # points of the online group, shared by its procedure and dossier halves


def with_catalogue(
    dossiers: dict[str, list[Indicator]], catalogue: dict[str, list[Indicator]]
) -> dict[str, list[Indicator]]:
    """Each department's index with its catalogue indicators counted in its points.

    The units are those with dossiers in the period, as before (a department with procedures but
    no dossier has no index for the period: ``/catalogue/indicators`` shows its catalogue share);
    one with dossiers but nothing in force gets publicity and online procedures "not applicable",
    never zero."""
    out: dict[str, list[Indicator]] = {}
    for unit, items in dossiers.items():
        extra = {i.key: i for i in catalogue.get(unit, ())}
        half = ONLINE_GROUP / 2
        merged: list[Indicator] = []
        for item in items:
            if item.key == "online_submission":
                merged.append(_resized(item, half))
                procedures = extra.get("online_procedures")
                merged.append(
                    _resized(procedures, half)
                    if procedures
                    else _indicator("online_procedures", ONLINE_NAME, half, 0, 0, 0.8)
                )
            else:
                merged.append(item)
        merged.append(extra.get("publicity") or _indicator("publicity", PUBLICITY_NAME, 18, 0, 0, None))
        out[unit] = merged
    return out


PUBLICITY_NAME = "Công khai, minh bạch"
ONLINE_NAME = "TTHC cung cấp dịch vụ công trực tuyến"


def _resized(item: Indicator, max_points: float) -> Indicator:
    if item.status == "not_measured":
        return item
    return _indicator(item.key, item.name_vi, max_points, item.numerator, item.denominator, item.threshold)
