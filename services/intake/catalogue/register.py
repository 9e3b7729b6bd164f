"""The procedure catalogue as event-sourced aggregates: one per procedure, department and desk.

A procedure is published, changed (only the fields that changed) and withdrawn; a department or
a desk is opened, renamed, changed, merged into another and retired. Every event carries the
date from which it applies (``effective_from``), so the catalogue in force on any date is a fold
of the events (``version_at``) and a dossier can be judged by the version in force when it was
received. An import (``plan_import``) compares a whole catalogue with the recorded one and yields
only the differences, so importing the same file twice records nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

CATALOGUE_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/catalogue")
KINDS = ("procedure", "department", "desk")
# The fields of a unit whose change is a renaming (the rest is a plain change).
NAME_FIELDS = ("name_vi", "name_en")


def entry_id(kind: str, code: str) -> UUID:
    return uuid5(CATALOGUE_NAMESPACE, f"{kind}:{code}")


class CatalogueEntry(Aggregate):
    """One procedure, department or desk, with the dated history of what was in force."""

    @staticmethod
    def create_id(kind: str, code: str, **_: Any) -> UUID:
        return entry_id(kind, code)

    @event("Published")
    def __init__(
        self, *, kind: str, code: str, data: dict[str, Any], effective_from: str, actor: dict[str, Any]
    ) -> None:
        # Dates are stored as ISO text (the event store's JSON has no date type).
        self.kind = kind
        self.code = code
        self.data = dict(data)
        self.in_force = True
        self.merged_into: str | None = None
        # (effective_from, data or None when withdrawn): what applies from each date on.
        self.versions: list[tuple[date, dict[str, Any] | None]] = [
            (date.fromisoformat(effective_from), dict(data))
        ]

    @event("Changed")
    def change(self, changes: dict[str, Any], effective_from: str, actor: dict[str, Any]) -> None:
        self.data = {**self.data, **changes}
        self.data = {k: v for k, v in self.data.items() if v is not None}
        self.in_force = True
        self._add_version(effective_from, dict(self.data))

    @event("Withdrawn")
    def withdraw(self, effective_from: str, merged_into: str | None, actor: dict[str, Any]) -> None:
        self.in_force = False
        self.merged_into = merged_into
        self._add_version(effective_from, None)

    def _add_version(self, effective_from: str, data: dict[str, Any] | None) -> None:
        # A correction with the same date replaces that version; versions stay in date order.
        since = date.fromisoformat(effective_from)
        kept = [v for v in self.versions if v[0] != since]
        self.versions = sorted([*kept, (since, data)], key=lambda v: v[0])

    def version_at(self, day: date) -> dict[str, Any] | None:
        """What was in force on ``day`` (None: not yet published, or withdrawn)."""
        found: dict[str, Any] | None = None
        for start, data in self.versions:
            if start <= day:
                found = data
        return found


@dataclass(frozen=True)
class Difference:
    """One event an import records: publish, change or withdraw one entry."""

    kind: str
    code: str
    action: str  # "publish" | "change" | "withdraw"
    # the whole entry (publish), the changed fields (change), or ``merged_into`` (a withdrawal)
    data: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.code)


def plan_import(
    recorded: Mapping[tuple[str, str], CatalogueEntry],
    wanted: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    withdraw_missing: Iterable[str] = (),
) -> list[Difference]:
    """The differences between what is recorded and a whole catalogue (``(kind, entry)`` pairs).

    Entries of the kinds in ``withdraw_missing`` that the catalogue no longer lists are withdrawn
    (a full export of the national database lists every procedure in force). An entry that says
    ``retired: true`` or ``merged_into: CODE`` is withdrawn (a unit retired, or merged into
    another) if it is in force; one never recorded is left alone.
    """
    out: list[Difference] = []
    seen: set[tuple[str, str]] = set()
    for kind, entry in wanted:
        if kind not in KINDS:
            raise ValueError(f"unknown catalogue kind {kind!r}")
        code = str(entry["code"])
        seen.add((kind, code))
        current = recorded.get((kind, code))
        if entry.get("retired") or entry.get("merged_into"):
            if current is not None and current.in_force:
                into = entry.get("merged_into")
                out.append(Difference(kind, code, "withdraw", {"merged_into": into} if into else {}))
            continue
        data = {k: _plain(v) for k, v in entry.items() if k != "code" and v is not None}
        if current is None:
            out.append(Difference(kind, code, "publish", data))
            continue
        changes = {k: v for k, v in data.items() if current.data.get(k) != v}
        changes.update({k: None for k in current.data if k not in data})
        if changes or not current.in_force:
            out.append(Difference(kind, code, "change", changes))
    for (kind, code), current in sorted(recorded.items()):
        if kind in withdraw_missing and (kind, code) not in seen and current.in_force:
            out.append(Difference(kind, code, "withdraw", {}))
    return out


def _plain(value: Any) -> Any:
    """Stored and compared as JSON would give it back: tuples as lists, dates as ISO text."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value
