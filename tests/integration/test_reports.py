"""Scoring's reports as a reader meets them (issue 13, points 10–14), through the real services.

One dossier of the Department of Justice (STP) is received and decided; one of the Department of
Finance (STC) is refused at the counter, so STC has dossiers on record but nothing to judge.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.host.settings import Settings
from tests.identity import auth
from tests.system import System, eventually, receive_body, running_system

REPORT_ROUTES = (
    "/figures",
    "/figures/dossiers?counter=received",
    "/index766",
    "/ranking",
    "/national-status",
    "/indicators/unsupported",
    "/departments",
    "/departments/STP",
    "/progress",
    "/progress/months",
    "/progress/dossiers?counter=received_total",
)


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def _decided_and_refused(system: System) -> str:
    received = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert received.status_code == 201, received.text
    code: str = received.json()["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    decided = await system.processing.post(f"/dossiers/{code}/decision", json={"approved": True})
    assert decided.status_code == 200, decided.text
    refused = await system.intake.post(
        "/dossiers/refusals", json=receive_body("DN-DNTN", reasons="Sai thẩm quyền")
    )
    assert refused.status_code == 201, refused.text
    await eventually(
        lambda: system.scoring.get("/national-status"),
        lambda r: sorted((s["code"], s["dossiers"]) for s in r.json()["statuses"]) == [(3, 1), (9, 1)],
    )
    return code


async def test_unknown_query_parameters_are_refused_on_every_report_route(system: System) -> None:
    code = await _decided_and_refused(system)
    for route in (*REPORT_ROUTES, f"/dossiers/{code}", f"/dossiers/{code}/history"):
        joiner = "&" if "?" in route else "?"
        response = await system.scoring.get(f"{route}{joiner}kind=quarter")
        assert response.status_code == 422, (route, response.text)
        error = response.json()["error"]
        assert error["code"] == "unknown_parameter" and error["unknown"] == ["kind"], route
        assert "kind" in error["message"]["vi"] and "kind" in error["message"]["en"]
        ok = await system.scoring.get(route)
        assert ok.status_code == 200, (route, ok.text)
    quarter = await system.scoring.get("/figures", params={"period": "quarter"})
    assert quarter.status_code == 200 and quarter.json()["query"]["kind"] == "quarter"


async def test_units_named_ranked_only_with_data_and_satisfaction_not_measured(system: System) -> None:
    code = await _decided_and_refused(system)
    year = {"period": "year"}

    figures = (await system.scoring.get("/figures", params=year)).json()["units"]
    stp = next(u for u in figures if u["unit"] == "STP")
    assert (stp["unit_name"], stp["unit_name_en"]) == ("Sở Tư pháp", "Department of Justice")
    desks = (await system.scoring.get("/figures", params={**year, "dimension": "receiving_point"})).json()
    assert all(u["unit_name"] for u in desks["units"]), desks
    dossier = (await system.scoring.get(f"/dossiers/{code}")).json()
    assert dossier["department_name"] == "Sở Tư pháp"
    department = (await system.scoring.get("/departments/STP")).json()
    assert department["unit_name"] == "Sở Tư pháp"

    index = (await system.scoring.get("/index766", params=year)).json()
    stp_index = next(u for u in index["units"] if u["unit"] == "STP")
    assert stp_index["unit_name"] == "Sở Tư pháp"
    satisfaction = next(i for i in stp_index["indicators"] if i["key"] == "satisfaction")
    assert satisfaction["status"] == "not_measured" and satisfaction["points"] is None
    assert "not measured" in satisfaction["note"]
    # progress 20 + online 12 (6 procedures offered online, 6 dossiers filed online) + payment 10
    # + digitisation 22 + publicity 18 (the catalogue's): satisfaction's 18 is not available.
    assert stp_index["available"] == 82 and stp_index["points"] < 82
    by_key = {i["key"]: i for i in stp_index["indicators"]}
    assert by_key["publicity"]["status"] == "measured" and by_key["publicity"]["max_points"] == 18
    assert by_key["online_procedures"]["max_points"] == by_key["online_submission"]["max_points"] == 6
    assert by_key["online_procedures"]["denominator"] >= 1 and by_key["publicity"]["points"] > 0

    ranking = (await system.scoring.get("/ranking", params=year)).json()
    assert [(r["rank"], r["unit"], r["unit_name"]) for r in ranking["ranking"]] == [(1, "STP", "Sở Tư pháp")]
    assert [u["unit"] for u in ranking["not_ranked"]] == ["STC"]
    unranked = ranking["not_ranked"][0]
    assert unranked["unit_name"] == "Sở Tài chính" and "no dossier" in unranked["reason"]

    # the progress report: the refused dossier is not one to resolve; the decided one is
    progress = (await system.scoring.get("/progress", params=year)).json()
    row = next(u for u in progress["units"] if u["unit"] == "STP")
    assert row["unit_name"] == "Sở Tư pháp" and [u["unit"] for u in progress["units"]] == ["STP"]
    assert (row["received_total"], row["received_desk"], row["carried_over"]) == (1, 1, 0)
    assert row["resolved_total"] == 1 and row["in_progress_total"] == 0
    assert progress["total"]["received_total"] == 1
    months = (await system.scoring.get("/progress/months", params=year)).json()["months"]
    assert sum(m["early"] + m["on_time"] + m["late"] for m in months) == 1
    # the dossiers behind a number: the department's leader sees its code, another unit's not
    drill = {**year, "counter": "resolved_total"}
    own = await system.scoring.get("/progress/dossiers", params=drill, headers=auth("lanhdao.stp"))
    assert [d["dossier_code"] for d in own.json()["dossiers"]] == [code]
    other = (
        await system.scoring.get("/progress/dossiers", params=drill, headers=auth("lanhdao.ubndx"))
    ).json()
    assert (other["dossiers"], other["not_shown"]) == ([], 1)
    centre = (
        await system.scoring.get("/progress/dossiers", params=drill, headers=auth("lanhdao.tthcc"))
    ).json()
    assert [d["dossier_code"] for d in centre["dossiers"]] == [code]  # received at the centre's desk
    wrong = await system.scoring.get("/progress/dossiers", params={**year, "counter": "received"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_counter"


async def test_national_status_as_of_and_known_at(system: System) -> None:
    before = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await _decided_and_refused(system)
    now = datetime.now(UTC)

    empty = (await system.scoring.get("/national-status", params={"as_of": before.isoformat()})).json()
    assert empty["statuses"] == [] and empty["query"]["as_of"] is not None
    params = {"as_of": now.isoformat(), "department": "STP"}
    then = await system.scoring.get("/national-status", params=params)
    assert then.status_code == 200, then.text
    assert [(s["code"], s["dossiers"]) for s in then.json()["statuses"]] == [(9, 1)]
    assert then.json()["query"]["unit_name"] == "Sở Tư pháp"
    unknown_yet = await system.scoring.get("/national-status", params={"known_at": before.isoformat()})
    assert unknown_yet.json()["statuses"] == []
    naive = await system.scoring.get("/national-status", params={"as_of": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["error"]["code"] == "naive_datetime"
    far = await system.scoring.get("/national-status", params={"as_of": "7767-08-04T23:59:43Z"})
    assert far.status_code == 422 and far.json()["error"]["code"] == "moment_out_of_range"
    future = await system.scoring.get("/national-status", params={"as_of": "2099-01-01T00:00:00+07:00"})
    assert [(s["code"], s["dossiers"]) for s in future.json()["statuses"]] == [(3, 1), (9, 1)]
