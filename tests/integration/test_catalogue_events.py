"""The catalogue as events (issue 14 point 1) through the real services: the demo catalogue is the
first import, a national-layout file records only its differences, and scoring computes publicity
and the share of procedures offering online service; replay and verify agree with the new events."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.intake.catalogue import load_catalogue
from services.intake.catalogue.importer import demo_national_file
from services.intake.catalogue.in_force import LOCAL_TZ
from services.ops.cli import app as cli
from shared.host.settings import Settings
from tests.system import System, eventually, receive_body, running_system


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def _cli(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


def _stp(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    unit = next(u for u in body["units"] if u["unit"] == "STP")
    return {i["key"]: i for i in unit["indicators"]}


async def test_import_records_differences_and_scoring_reads_them(
    system: System, database_url: str, tmp_path: Path
) -> None:
    stp = [p for p in load_catalogue().procedures if p.department == "STP"]
    first = await eventually(
        lambda: system.scoring.get("/catalogue/indicators"),
        lambda r: (
            r.status_code == 200
            and any(u["unit"] == "STP" for u in r.json()["units"])
            and _stp(r.json())["publicity"]["denominator"] == len(stp)
        ),
    )
    before = _stp(first.json())
    assert before["publicity"]["numerator"] == sum(1 for p in stp if p.national_code)
    assert before["online_procedures"]["numerator"] == sum(1 for p in stp if p.online_level != "none")
    online_before = before["online_procedures"]["numerator"]
    assert online_before >= 1
    early = (await system.scoring.get("/catalogue/indicators", params={"on": "2024-06-01"})).json()
    assert early["units"] == [], "nothing was in force before the first import's date"

    # A rated dossier too, so that the replay below includes feedback events.
    received = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    code, secret = received.json()["code"], received.json()["tracking_secret"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    for step, body in (("decision", {"approved": True}), ("result-ready", {}), ("result-returned", {})):
        assert (await system.processing.post(f"/dossiers/{code}/{step}", json=body)).status_code == 200
    rated = await system.processing.post(
        f"/track/{code}/rating", json={"score": 1}, headers={"X-Tracking-Secret": secret}
    )
    assert rated.status_code == 201, rated.text

    # The national database now lists LLTP without online service: one difference, once.
    export = demo_national_file()
    for record in export["DanhSachTTHC"]:
        if record["MotCua"]["code"] == "LLTP":
            record["KenhThucHien"] = [1, 3]
            record.pop("MucDo")
    path = tmp_path / "tthc.json"
    path.write_text(json.dumps(export, ensure_ascii=False))
    today = date.today().isoformat()
    imported = await _cli(
        "catalogue", "import", str(path), "--effective-from", today, "--database-url", database_url
    )
    assert imported.exit_code == 0, imported.output
    assert "1 difference(s) recorded" in imported.output and "LLTP" in imported.output
    assert "channels" in imported.output and "online_level" in imported.output
    again = await _cli(
        "catalogue", "import", str(path), "--effective-from", today, "--database-url", database_url
    )
    assert again.exit_code == 0 and "0 difference(s) recorded" in again.output, again.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"DanhSachTTHC": [{"TenTTHC": "x"}]}))
    refused = await _cli("catalogue", "import", str(bad), "--database-url", database_url)
    assert refused.exit_code == 1 and "cannot read" in refused.output

    after = await eventually(
        lambda: system.scoring.get("/catalogue/indicators", params={"on": today}),
        lambda r: _stp(r.json())["online_procedures"]["numerator"] == online_before - 1,
    )
    assert _stp(after.json())["publicity"] == before["publicity"]
    unsupported = (await system.scoring.get("/indicators/unsupported")).json()
    assert not any(
        "publicity" in u["indicator"] or "share of procedures" in u["indicator"] for u in unsupported
    )

    # Replay from the services' event stores, catalogue and feedback events included: no difference.
    await eventually(lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.json().get("rating") == 1)
    replayed = await _cli("replay", "scoring", "--database-url", database_url)
    assert replayed.exit_code == 0, replayed.output
    clean = await _cli("verify", "--database-url", database_url)
    assert clean.exit_code == 0, clean.output
    assert (await system.scoring.get(f"/dossiers/{code}")).json()["rating"] == 1


def _export_with(legal_days: dict[str, int]) -> dict[str, Any]:
    export = demo_national_file()
    for record in export["DanhSachTTHC"]:
        if record["MotCua"]["code"] in legal_days:
            record["ThoiHanGiaiQuyet"]["SoLuong"] = legal_days[record["MotCua"]["code"]]
    return export


async def _import(
    system: System, tmp_path: Path, database_url: str, export: dict[str, Any], since: date
) -> str:
    path = tmp_path / f"tthc-{since.isoformat()}.json"
    path.write_text(json.dumps(export, ensure_ascii=False))
    result = await _cli(
        "catalogue",
        "import",
        str(path),
        "--effective-from",
        since.isoformat(),
        "--database-url",
        database_url,
    )
    assert result.exit_code == 0, result.output
    # intake looks for an import's changes at most once per max_age_s (a second by default)
    await asyncio.sleep(system.apps["intake"].state.catalogue.max_age_s)
    return str(result.output)


def _days_given(view: dict[str, Any]) -> float:
    due, received = (datetime.fromisoformat(view[k]) for k in ("due_at", "received_at"))
    return (due - received).total_seconds() / 86400


async def test_a_dossier_is_judged_by_the_version_in_force_when_received(
    system: System, database_url: str, tmp_path: Path
) -> None:
    """Issue 14 point 1: intake reads the recorded catalogue, by the day of the receipt."""
    today = datetime.now(LOCAL_TZ).date()
    # DN-DNTN's legal time becomes 30 working days from tomorrow: today's receipts keep 3.
    out = await _import(
        system, tmp_path, database_url, _export_with({"DN-DNTN": 30}), today + timedelta(days=1)
    )
    assert "1 difference(s) recorded" in out and "DN-DNTN" in out
    now = await system.intake.post("/dossiers", json=receive_body("DN-DNTN"))
    assert now.status_code == 201, now.text
    assert _days_given(now.json()) < 10, "a change effective tomorrow reached today's receipt"
    listed = (await system.intake.get("/procedures/DN-DNTN")).json()
    assert listed["legal_days"] == 3

    # HKD's becomes 30 from yesterday: a receipt now has the new time, one dated before it the old.
    out = await _import(
        system, tmp_path, database_url, _export_with({"DN-DNTN": 30, "HKD": 30}), today - timedelta(days=1)
    )
    assert "1 difference(s) recorded" in out and "HKD" in out
    fresh = await system.intake.post("/dossiers", json=receive_body("HKD"))
    assert fresh.status_code == 201, fresh.text
    assert _days_given(fresh.json()) > 30
    earlier = datetime.now(LOCAL_TZ) - timedelta(hours=60)
    back = await system.intake.post(
        "/dossiers",
        json=receive_body("HKD", occurred_at=earlier.isoformat(), backdate_reason="mất điện, nhập lại sau"),
    )
    assert back.status_code == 201, back.text
    assert _days_given(back.json()) < 10, "a back-dated receipt was judged by a later version"
    # the dossier received before the change keeps what it was received with
    kept = (await system.intake.get(f"/dossiers/{now.json()['code']}")).json()
    assert kept["due_at"] == now.json()["due_at"]


async def test_the_import_opens_renames_merges_and_retires_units(
    system: System, database_url: str, tmp_path: Path
) -> None:
    """Issue 14 point 1, units: the import's own lists of departments and desks."""
    today = datetime.now(LOCAL_TZ).date()
    export: dict[str, Any] = demo_national_file()
    export["CoQuan"] = [
        {
            "code": "SKHCN",
            "name_vi": "Sở Khoa học và Công nghệ",
            "name_en": "Department of Science",
            "agency_id": "000.00.30.H99",
        },
        {
            "code": "STP",
            "name_vi": "Sở Tư pháp tỉnh",
            "name_en": "Provincial Department of Justice",
            "agency_id": "000.00.01.H99",
        },
        {"code": "SXD", "merged_into": "STC"},
    ]
    export["DiemTiepNhan"] = [{"code": "XA-TH", "retired": True}]
    # SXD's procedures still name it: the catalogue would not hold, so nothing is recorded.
    refused = await _import_raw(tmp_path, database_url, export, today)
    assert refused.exit_code == 1 and "import refused" in refused.output, refused.output
    assert "SXD" in [d["code"] for d in (await system.intake.get("/departments")).json()["departments"]]

    moved = []
    for record in export["DanhSachTTHC"]:
        if record["CoQuanThucHien"]["MaDinhDanh"] == "000.00.03.H99":
            record["CoQuanThucHien"]["MaDinhDanh"] = "000.00.02.H99"
            moved.append(record["MotCua"]["code"])
    out = await _import(system, tmp_path, database_url, export, today)
    assert "withdraw  department SXD" in out and "withdraw  desk       XA-TH" in out, out
    assert "publish   department SKHCN" in out and "change    department STP" in out, out
    units = (await system.intake.get("/departments")).json()
    codes = [d["code"] for d in units["departments"]]
    assert "SXD" not in codes and "SKHCN" in codes
    assert next(d for d in units["departments"] if d["code"] == "STP")["name_vi"] == "Sở Tư pháp tỉnh"
    assert "XA-TH" not in [r["code"] for r in units["receiving_points"]]
    received = await system.intake.post("/dossiers", json=receive_body(moved[0]))
    assert received.status_code == 201 and received.json()["department_code"] == "STC", received.text
    at_retired = await system.intake.post("/dossiers", json=receive_body("HKD", receiving_point="XA-TH"))
    assert at_retired.status_code == 422 and at_retired.json()["error"]["code"] == "unknown_receiving_point"

    # scoring reads the same events: SXD is gone from the catalogue indicators, STC has its procedures
    def units_of(r: Any) -> dict[str, Any]:
        return {u["unit"]: u for u in r.json()["units"]}

    after = await eventually(
        lambda: system.scoring.get("/catalogue/indicators", params={"on": today.isoformat()}),
        lambda r: "SXD" not in units_of(r),
    )
    stc = {i["key"]: i for i in units_of(after)["STC"]["indicators"]}
    stc_before = sum(1 for p in load_catalogue().procedures if p.department == "STC")
    assert stc["publicity"]["denominator"] == stc_before + len(moved)


async def _import_raw(tmp_path: Path, database_url: str, export: dict[str, Any], since: date) -> Any:
    path = tmp_path / f"raw-{since.isoformat()}.json"
    path.write_text(json.dumps(export, ensure_ascii=False))
    return await _cli(
        "catalogue",
        "import",
        str(path),
        "--effective-from",
        since.isoformat(),
        "--database-url",
        database_url,
    )
