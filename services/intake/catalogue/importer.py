"""Recording a catalogue import: the differences, as events on intake's log (the outbox).

Used at intake's start (the demo catalogue is the first import) and by ``motcua catalogue import
FILE``. ``intake.catalogue_entries`` lists the entries ever recorded, so that an import can
withdraw what a full export no longer lists without reading the whole log; it is written after
the events, and an entry missing from it (a crash in between) is found again by the next import
of a file that lists it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.intake.catalogue import DATA_FILE, Procedure
from services.intake.catalogue.in_force import NothingInForce, catalogue_on
from services.intake.catalogue.models import Department, ReceivingPoint
from services.intake.catalogue.national import from_national, national_file
from services.intake.catalogue.register import CatalogueEntry, Difference, entry_id, plan_import
from shared.units import units_data

DDL = """
CREATE TABLE IF NOT EXISTS intake.catalogue_entries (
    kind text NOT NULL,
    code text NOT NULL,
    PRIMARY KEY (kind, code)
);
-- the entry's recorded version: intake's read model reloads an entry when it moves
ALTER TABLE intake.catalogue_entries ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
"""
IMPORT_ACTOR = {"user_id": "catalogue-import", "role": "ops", "agency": "TTPVHCC", "channel": 1}
_MODELS: dict[str, Any] = {"procedure": Procedure, "department": Department, "desk": ReceivingPoint}


def normal(kind: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as the catalogue's model reads it (defaults filled, channels sorted), as JSON."""
    extra = {k: entry[k] for k in ("documents",) if k in entry}
    model = _MODELS[kind].model_validate({k: v for k, v in entry.items() if k not in extra})
    out: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return {**out, **extra}


def demo_entries() -> list[tuple[str, dict[str, Any]]]:
    """The demo catalogue (departments, desks, procedures) in the order it is recorded."""
    units = units_data()
    raw = json.loads(DATA_FILE.read_bytes())
    return [
        *(("department", normal("department", d)) for d in units["departments"]),
        *(("desk", normal("desk", r)) for r in units.get("receiving_points", [])),
        *(("procedure", normal("procedure", p)) for p in raw["procedures"]),
    ]


def demo_national_file() -> dict[str, Any]:
    """The demo's procedures in the national database's layout (``motcua catalogue export``)."""
    agency_ids = {d["code"]: d["agency_id"] for d in units_data()["departments"]}
    raw = json.loads(DATA_FILE.read_bytes())
    return national_file(raw["procedures"], agency_ids)


# The units' lists of an import file: the national procedure database has none, so a file may
# carry the province's own (our field names), each entry possibly ``retired`` or ``merged_into``.
UNIT_LISTS = (("department", "CoQuan"), ("desk", "DiemTiepNhan"))
WITHDRAWALS = ("retired", "merged_into")


class ImportRefused(ValueError):
    """The import would leave a catalogue in force that does not hold together."""


def read_national_file(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The file's units (if it lists them) then its procedures, as the catalogue's entries."""
    data = json.loads(path.read_bytes())
    records = data["DanhSachTTHC"] if isinstance(data, dict) else data
    units: list[tuple[str, dict[str, Any]]] = []
    for kind, key in UNIT_LISTS if isinstance(data, dict) else ():
        for raw in data.get(key, ()):
            if any(raw.get(k) for k in WITHDRAWALS):
                gone = {k: raw[k] for k in WITHDRAWALS if raw.get(k)}
                units.append((kind, {"code": str(raw["code"]), **gone}))
            else:
                units.append((kind, normal(kind, raw)))
    departments = {d["agency_id"]: d["code"] for d in units_data()["departments"]}
    opened = [e for k, e in units if k == "department" and "agency_id" in e]
    departments.update({e["agency_id"]: e["code"] for e in opened})
    return [*units, *(("procedure", normal("procedure", from_national(r, departments))) for r in records)]


def _check_in_force(entries: Iterable[CatalogueEntry], days: Iterable[date]) -> None:
    """Refuses a plan after which, on a day it changes, a procedure names a department (or the
    catalogue a desk) not in force: intake could judge no dossier that day."""
    for day in sorted(set(days)):
        try:
            catalogue_on(entries, day)
        except NothingInForce as exc:
            raise ImportRefused(f"on {day.isoformat()} the catalogue would not hold: {exc.why}") from None


def ensure_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(DDL)


def recorded_entries(
    app: Application[Any], database_url: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], CatalogueEntry]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        listed = [(r[0], r[1]) for r in conn.execute("SELECT kind, code FROM intake.catalogue_entries")]
    found: dict[tuple[str, str], CatalogueEntry] = {}
    for kind, code in {*listed, *keys}:
        try:
            found[(kind, code)] = app.repository.get(entry_id(kind, code))
        except AggregateNotFoundError:
            continue
    return found


def import_catalogue(
    app: Application[Any],
    database_url: str,
    wanted: list[tuple[str, dict[str, Any]]],
    *,
    effective_from: date,
    withdraw_missing: Iterable[str] = (),
    actor: Mapping[str, Any] = IMPORT_ACTOR,
) -> list[Difference]:
    """Records the differences between ``wanted`` and the recorded catalogue; returns them."""
    ensure_table(database_url)
    recorded = recorded_entries(app, database_url, [(k, str(e["code"])) for k, e in wanted])
    plan = plan_import(recorded, wanted, withdraw_missing=withdraw_missing)
    entries: list[CatalogueEntry] = []
    days: list[date] = []
    for diff in plan:
        # A procedure's own effective_from (its legal time's) dates its first version.
        since = date.fromisoformat(diff.data["effective_from"]) if "effective_from" in diff.data else None
        when = (since or effective_from).isoformat()
        days.append(since or effective_from)
        if diff.action == "publish":
            entries.append(
                CatalogueEntry(
                    kind=diff.kind, code=diff.code, data=diff.data, effective_from=when, actor=dict(actor)
                )
            )
            continue
        entry = recorded[diff.key]
        if diff.action == "change":
            entry.change(changes=diff.data, effective_from=when, actor=dict(actor))
        else:
            entry.withdraw(
                effective_from=effective_from.isoformat(),
                merged_into=diff.data.get("merged_into"),
                actor=dict(actor),
            )
        entries.append(entry)
    if entries:
        # checked on the changed aggregates before anything is saved
        _check_in_force({**recorded, **{(e.kind, e.code): e for e in entries}}.values(), days)
        try:
            app.save(*entries)
        except IntegrityError:
            # Another process (a second intake starting) recorded the same import meanwhile.
            return []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for saved in entries:
            conn.execute(
                "INSERT INTO intake.catalogue_entries (kind, code, version) VALUES (%s, %s, %s)"
                " ON CONFLICT (kind, code) DO UPDATE"
                " SET version = GREATEST(catalogue_entries.version, EXCLUDED.version)",
                (saved.kind, saved.code, saved.version),
            )
    return plan
