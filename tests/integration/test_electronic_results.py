"""Electronic results against the real system: the officer uploads the decision's result, it is
stored with its hash in the event and signed (detached, Ed25519), the citizen downloads it with
the tracking secret and checks the signature; scoring's digitisation counts only the results
actually issued electronically, and `motcua verify` still finds no difference."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shared.documents.signing import verify
from shared.host.settings import Settings
from tests.identity import auth
from tests.integration.test_scoring import _cli, _settled
from tests.system import System, eventually, receive_body, running_system

RESULT = b"%PDF-1.7\n% Phieu ly lich tu phap so 12/2026\n\x00\x01\n%%EOF\n"
PDF = {"Content-Type": "application/pdf"}


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def _received(system: System) -> tuple[str, str]:
    response = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert response.status_code == 201, response.text
    code, secret = response.json()["code"], response.json()["tracking_secret"]
    await eventually(
        lambda: system.processing.get(f"/dossiers/{code}", headers=auth("thanhtra")),
        lambda r: r.status_code == 200,
    )
    return code, secret


async def test_result_issued_signed_downloaded_and_counted(system: System, database_url: str) -> None:
    issued, secret = await _received(system)
    paper, _ = await _received(system)
    path = f"/dossiers/{issued}/result-document"
    early = await system.processing.post(path, content=RESULT, headers=PDF)
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_transition"
    for code in (issued, paper):
        decided = await system.processing.post(f"/dossiers/{code}/decision", json={"approved": True})
        assert decided.status_code == 200, decided.text
    assert "issue_result" in decided.json()["allowed_actions"]

    wrong_type = await system.processing.post(path, content=b"not a pdf", headers=PDF)
    assert wrong_type.status_code == 415
    other_department = await system.processing.post(
        path, content=RESULT, headers={**PDF, **auth("canbo.stc")}
    )
    assert other_department.status_code in (403, 404)
    made = await system.processing.post(path, content=RESULT, headers=PDF, params={"name": "Phiếu LLTP số 1"})
    assert made.status_code == 201, made.text
    assert "issue_result" not in made.json()["allowed_actions"]
    twice = await system.processing.post(path, content=RESULT, headers=PDF)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "result_already_issued"

    # the citizen sees it on the tracking page and downloads it; the signature holds
    tracked = (await system.processing.get(f"/track/{issued}", headers={"X-Tracking-Secret": secret})).json()
    result = tracked["electronic_result"]
    assert result["sha256"] == hashlib.sha256(RESULT).hexdigest() and result["name"] == "Phiếu LLTP số 1"
    signature = result["signature"]
    assert signature["algorithm"] == "Ed25519"
    downloaded = await system.processing.get(f"/track/{issued}/result", params={"secret": secret})
    assert downloaded.status_code == 200 and downloaded.content == RESULT
    assert downloaded.headers["content-type"] == "application/pdf"
    assert verify(signature["public_key"], signature["value"], downloaded.content)
    assert not verify(signature["public_key"], signature["value"], downloaded.content + b" ")
    wrong = await system.processing.get(f"/track/{issued}/result", params={"secret": "x" * 22})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "tracking_not_found"

    # both handed over at the desk: only the one issued electronically counts as digitised
    for code in (issued, paper):
        assert (await system.processing.post(f"/dossiers/{code}/result-ready", json={})).status_code == 200
        returned = await system.processing.post(
            f"/dossiers/{code}/result-returned", json={"via": "desk", "received_by": "chính chủ"}
        )
        assert returned.status_code == 200, returned.text

    async def digitisation() -> dict[str, Any]:
        index = (await system.scoring.get("/index766", params={"period": "year"})).json()
        found: dict[str, Any] = next(i for i in index["units"][0]["indicators"] if i["key"] == "digitisation")
        return found

    counted = await eventually(digitisation, lambda d: d["denominator"] == 2 and d["numerator"] == 1)
    assert counted["numerator"] == 1
    unsupported = (await system.scoring.get("/indicators/unsupported")).json()
    assert not any("electronic result" in u["indicator"] for u in unsupported)

    await _settled(system)
    clean = await _cli("verify", "--database-url", database_url)
    assert clean.exit_code == 0 and "0 differences" in clean.output, clean.output
