"""The catalogue's national layout and its import plan (issue 14 point 1), in pure code."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.intake.catalogue.importer import demo_entries, demo_national_file, normal
from services.intake.catalogue.national import from_national
from services.intake.catalogue.register import CatalogueEntry, plan_import
from shared.units import units_data

ACTOR = {"user_id": "t", "role": "ops", "agency": "TTPVHCC", "channel": 1}


def test_the_demo_catalogue_survives_the_national_layout_both_ways() -> None:
    departments = {d["agency_id"]: d["code"] for d in units_data()["departments"]}
    records = demo_national_file()["DanhSachTTHC"]
    demo = {e["code"]: e for kind, e in demo_entries() if kind == "procedure"}
    assert len(records) == len(demo) > 20
    for record in records:
        # MaTTHC is left out where the national code is not confirmed (see SOURCES.md)
        assert {"TenTTHC", "CoQuanThucHien", "ThoiHanGiaiQuyet", "PhiLePhi", "KenhThucHien"} <= set(record)
        back = normal("procedure", from_national(record, departments))
        assert back == demo[back["code"]]


def _recorded(entries: list[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], CatalogueEntry]:
    out = {}
    for kind, e in entries:
        data = {k: v for k, v in e.items() if k != "code"}
        out[(kind, e["code"])] = CatalogueEntry(
            kind=kind, code=e["code"], data=data, effective_from="2025-01-01", actor=ACTOR
        )
    return out


def test_an_import_records_only_the_differences() -> None:
    entries = demo_entries()
    recorded = _recorded(entries)
    assert plan_import(recorded, entries) == []
    changed = [
        (kind, {**e, "fee_vnd": 123_000} if e["code"] == "LLTP" else e)
        for kind, e in entries
        if e["code"] != "RUOU-BL"
    ]
    plan = plan_import(recorded, changed, withdraw_missing=("procedure",))
    assert [(d.action, d.code, d.data) for d in plan] == [
        ("change", "LLTP", {"fee_vnd": 123_000}),
        ("withdraw", "RUOU-BL", {}),
    ]


def test_a_version_applies_from_its_date() -> None:
    entry = CatalogueEntry(
        kind="procedure", code="X", data={"fee_vnd": 1}, effective_from="2025-01-01", actor=ACTOR
    )
    entry.change(changes={"fee_vnd": 2}, effective_from="2026-01-01", actor=ACTOR)
    entry.withdraw(effective_from="2027-01-01", merged_into=None, actor=ACTOR)
    assert entry.version_at(date(2024, 12, 31)) is None
    assert entry.version_at(date(2025, 6, 1)) == {"fee_vnd": 1}
    assert entry.version_at(date(2026, 6, 1)) == {"fee_vnd": 2}
    assert entry.version_at(date(2027, 1, 1)) is None


def test_catalogue_indicators_count_in_a_departments_points() -> None:
    from services.scoring.domain.catalogue import with_catalogue
    from services.scoring.domain.index766 import Tally, _indicator, indicators_of, total_points

    dossiers = {"STP": indicators_of(Tally(members=2, on_time=2, received=2, online=1, digital=2))}
    catalogue = {
        "STP": [
            _indicator("publicity", "Công khai", 18, 1, 2, None),
            _indicator("online_procedures", "TTHC trực tuyến", 12, 2, 2, 0.8),
        ],
        "SXD": [_indicator("publicity", "Công khai", 18, 3, 3, None)],
    }
    merged = with_catalogue(dossiers, catalogue)
    stp = {i.key: i for i in merged["STP"]}
    assert stp["publicity"].points == 9 and stp["online_procedures"].points == 6
    # the online group keeps its 12 points: 6 for procedures offered, 6 for dossiers filed online
    assert stp["online_submission"].max_points == 6 and stp["online_submission"].points == 6
    assert total_points(merged["STP"]) == (20 + 6 + 6 + 22 + 9, 20 + 6 + 6 + 22 + 18)
    # a department with procedures but no dossier in the period has no index for it
    assert "SXD" not in merged
    # one with dossiers but nothing in force: the catalogue's indicators are not applicable
    alone = with_catalogue({"STC": dossiers["STP"]}, {})["STC"]
    assert {i.key: i.status for i in alone}["publicity"] == "not_applicable"
