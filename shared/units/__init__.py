"""The province's units: competent departments (sở, ban, ngành) and one-stop desks (bộ phận một cửa).

Both intake (its procedure catalogue) and scoring (names beside codes in every report) need
them, and a service may not import another's code, so the data lives here in ``units.json``.
Intake validates the full records with its catalogue models; this module reads only what every
reader needs: the code and the names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

UNITS_FILE = Path(__file__).with_name("units.json")


@dataclass(frozen=True)
class UnitName:
    code: str
    name_vi: str
    name_en: str
    kind: str  # "department" | "receiving_point"


def units_data() -> dict[str, Any]:
    """The raw records (``departments``, ``receiving_points``), for the catalogue to validate."""
    data: dict[str, Any] = json.loads(UNITS_FILE.read_text(encoding="utf-8"))
    data.pop("$comment", None)
    return data


@cache
def unit_names() -> dict[str, UnitName]:
    data = units_data()
    names: dict[str, UnitName] = {}
    for kind, key in (("department", "departments"), ("receiving_point", "receiving_points")):
        for record in data.get(key, ()):
            names[record["code"]] = UnitName(record["code"], record["name_vi"], record["name_en"], kind)
    return names


def name_of(code: str | None) -> UnitName | None:
    """The unit's names, or None for a code no longer (or never) in the list."""
    return unit_names().get(code) if code else None
