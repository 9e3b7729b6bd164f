"""Online filing against the real system: a citizen uploads documents and files; the desk
receives it from its "online, to check" queue (processing opens the case, the citizen's secret
still tracks it), asks for completion or refuses it; uploads are checked by content and size;
a citizen sees only their own filings and documents."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from services.ops.devservers import RunningServers
from shared.documents import max_document_bytes
from shared.host.settings import Settings
from tests.identity import auth
from tests.system import APPLICANT, System, eventually, running_system

CITIZEN = auth("congdan.ngoc")
OTHER_CITIZEN = auth("congdan.minh")
DESK = auth("tiepnhan")  # the provincial centre's desk (TTPVHCC)
OTHER_DESK = auth("tiepnhan.dongthanh")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n\x00\x01binary\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    settings = Settings(nats_url=nats_url, database_url=database_url)
    async with running_system(settings, ("intake", "processing")) as s:
        yield s


def database_url_of(system: System) -> str:
    return system.host("intake").settings.database_url


async def upload(
    client: httpx.AsyncClient,
    content: bytes,
    media_type: str,
    name: str = "Tờ khai",
    who: Any = CITIZEN,
    for_citizen: str = APPLICANT["citizen_id"],
) -> httpx.Response:
    return await client.post(
        "/online/documents",
        content=content,
        params={"name": name},
        headers={**who, "Content-Type": media_type, "X-Applicant-Citizen-Id": for_citizen},
    )


async def file_online(system: System, procedure: str = "LLTP", who: Any = CITIZEN) -> dict[str, Any]:
    made = await upload(system.intake, PDF, "application/pdf", who=who)
    assert made.status_code == 201, made.text
    response = await system.intake.post(
        "/online/filings",
        json={"procedure_code": procedure, "applicant": APPLICANT, "documents": [made.json()["document_id"]]},
        headers=who,
    )
    assert response.status_code == 201, response.text
    filing: dict[str, Any] = response.json()
    return filing


async def test_citizen_files_online_and_the_desk_receives_it(system: System) -> None:
    made = await upload(system.intake, PDF, "application/pdf", "Tờ khai lý lịch tư pháp")
    assert made.status_code == 201, made.text
    document = made.json()
    assert document["media_type"] == "application/pdf" and document["size"] == len(PDF)
    assert len(document["sha256"]) == 64
    response = await system.intake.post(
        "/online/filings",
        json={"procedure_code": "LLTP", "applicant": APPLICANT, "documents": [document["document_id"]]},
        headers=CITIZEN,
    )
    assert response.status_code == 201, response.text
    filing = response.json()
    code, secret = filing["code"], filing["tracking_secret"]
    assert filing["outcome"] == "registered" and filing["national_status"] == 1
    assert filing["channel"] == 2 and filing["online_level"] == "full"
    assert filing["receiving_point"] == "TTPVHCC"
    assert filing["online"]["documents"] == [document]
    assert "tracking_hash" not in filing["online"] and secret

    # the document cannot be taken into a second filing
    again = await system.intake.post(
        "/online/filings",
        json={"procedure_code": "LLTP", "applicant": APPLICANT, "documents": [document["document_id"]]},
        headers=CITIZEN,
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "document_unavailable"

    # the citizen follows it with the secret; nothing is known to processing yet
    tracked = await system.intake.get(f"/track/{code}", headers={"X-Tracking-Secret": secret})
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["state"] == "registered" and tracked.json()["national_status"] == 1
    wrong = await system.intake.get(f"/track/{code}", headers={"X-Tracking-Secret": "x" * 22})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "tracking_not_found"

    # only the citizen who filed it sees it (and its documents)
    doc_path = f"/online/filings/{code}/documents/{document['document_id']}"
    assert (await system.intake.get(f"/online/filings/{code}", headers=CITIZEN)).status_code == 200
    for path in (f"/online/filings/{code}", doc_path):
        other = await system.intake.get(path, headers=OTHER_CITIZEN)
        assert other.status_code == 404 and other.json()["error"]["code"] == "not_found", path
    assert [f["code"] for f in (await system.intake.get("/online/filings", headers=CITIZEN)).json()] == [code]
    assert (await system.intake.get("/online/filings", headers=OTHER_CITIZEN)).json() == []

    # the desk it was filed to has it in its queue, reads the document as filed; another desk does not
    queue = (await system.intake.get("/online/queue", headers=DESK)).json()
    assert [f["code"] for f in queue] == [code]
    assert (await system.intake.get("/online/queue", headers=OTHER_DESK)).json() == []
    downloaded = await system.intake.get(doc_path, headers=DESK)
    assert downloaded.status_code == 200 and downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert (await system.intake.get(doc_path, headers=OTHER_DESK)).status_code == 404
    stranger = await system.intake.post(f"/online/filings/{code}/receive", json={}, headers=OTHER_DESK)
    assert stranger.status_code == 404

    received = await system.intake.post(f"/online/filings/{code}/receive", json={}, headers=DESK)
    assert received.status_code == 200, received.text
    view = received.json()
    assert view["outcome"] == "received" and view["national_status"] == 2
    assert view["received_at"] and view["due_at"] and view["tracking_secret"] is None
    assert (await system.intake.get("/online/queue", headers=DESK)).json() == []
    twice = await system.intake.post(f"/online/filings/{code}/receive", json={}, headers=DESK)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "invalid_transition"

    # processing opens the case from the published receipt; the citizen's secret still tracks it
    case = await eventually(
        lambda: system.processing.get(f"/track/{code}", headers={"X-Tracking-Secret": secret}),
        lambda r: r.status_code == 200,
    )
    assert case.json()["state"] == "in_processing"
    opened = await system.processing.get(f"/dossiers/{code}")
    assert opened.status_code == 200 and opened.json()["state"] == "in_processing"


async def test_desk_asks_for_completion_or_refuses(system: System) -> None:
    first = await file_online(system)
    asked = await system.intake.post(
        f"/online/filings/{first['code']}/completion-request",
        json={"missing_items": ["Bản sao CCCD có chứng thực"]},
        headers=DESK,
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["outcome"] == "incomplete" and asked.json()["national_status"] == 5
    tracked = await system.intake.get(f"/track/{first['code']}", params={"s": first["tracking_secret"]})
    assert tracked.json()["state"] == "incomplete"
    assert tracked.json()["missing_items"] == ["Bản sao CCCD có chứng thực"]
    assert [step["details"] for step in tracked.json()["history"]][-1] == {
        "missing_items": ["Bản sao CCCD có chứng thực"]
    }

    second = await file_online(system, "DN-TNHH1")
    empty = await system.intake.post(f"/online/filings/{second['code']}/refusal", json={}, headers=DESK)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_request"
    refused = await system.intake.post(
        f"/online/filings/{second['code']}/refusal",
        json={"reasons": "Không thuộc thẩm quyền"},
        headers=DESK,
    )
    assert refused.status_code == 200 and refused.json()["national_status"] == 3
    late = await system.intake.post(
        f"/online/filings/{second['code']}/completion-request", json={"missing_items": ["x"]}, headers=DESK
    )
    assert late.status_code == 409
    # a citizen cannot act as the desk
    own = await system.intake.post(f"/online/filings/{first['code']}/receive", json={}, headers=CITIZEN)
    assert own.status_code == 403 and own.json()["error"]["code"] == "forbidden_role"


@pytest.mark.parametrize(
    ("content", "media_type", "status", "code"),
    [
        (b"hello, not a document", "application/pdf", 415, "document_type_not_allowed"),
        (b"MZ\x90\x00binary", "application/octet-stream", 415, "document_type_not_allowed"),
        (PNG, "application/pdf", 415, "document_type_mismatch"),
        (b"", "application/pdf", 422, "document_empty"),
        (b"%PDF-" + b"0" * (max_document_bytes() - 4), "application/pdf", 413, "document_too_large"),
        (b"%PDF-" + b"0" * (max_document_bytes() + 10), "application/pdf", 413, "body_too_large"),
    ],
    ids=["text", "executable", "png-as-pdf", "empty", "one-byte-over", "far-over"],
)
async def test_uploads_are_checked_by_content_and_size(
    system: System, content: bytes, media_type: str, status: int, code: str
) -> None:
    response = await upload(system.intake, content, media_type)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]["vi"] and error["message"]["en"]


async def test_filings_refused_with_reasons(system: System) -> None:
    png = (await upload(system.intake, PNG, "image/png", "Ảnh chân dung")).json()
    assert png["media_type"] == "image/png"
    cases: list[tuple[dict[str, Any], Any, int, str]] = [
        (
            {"procedure_code": "CT-CHUKY", "documents": [png["document_id"]]},
            CITIZEN,
            422,
            "not_offered_online",
        ),
        ({"procedure_code": "LLTP", "documents": []}, CITIZEN, 422, "documents_required"),
        ({"procedure_code": "NOPE", "documents": [png["document_id"]]}, CITIZEN, 422, "unknown_procedure"),
        (
            {"procedure_code": "LLTP", "documents": [png["document_id"]]},
            OTHER_CITIZEN,
            422,
            "document_unavailable",
        ),
        ({"procedure_code": "LLTP", "documents": [png["document_id"]]}, DESK, 403, "forbidden_role"),
    ]
    for body, who, status, code in cases:
        response = await system.intake.post(
            "/online/filings", json={**body, "applicant": APPLICANT}, headers=who
        )
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    officer_upload = await upload(system.intake, PDF, "application/pdf", who=auth("canbo.stp"))
    assert officer_upload.status_code == 403

    # the citizen chooses how to be told (issue 14): the channel's contact must come with it
    by_mail = await system.intake.post(
        "/online/filings",
        json={
            "procedure_code": "LLTP",
            "applicant": APPLICANT,
            "documents": [png["document_id"]],
            "notify_channel": "email",
        },
        headers=CITIZEN,
    )
    assert by_mail.status_code == 422 and "applicant.email" in by_mail.text
    by_sms = await system.intake.post(
        "/online/filings",
        json={
            "procedure_code": "LLTP",
            "applicant": APPLICANT,
            "documents": [png["document_id"]],
            "notify_channel": "sms",
        },
        headers=CITIZEN,
    )
    assert by_sms.status_code == 201 and by_sms.json()["notify_channel"] == "sms", by_sms.text
    code = by_sms.json()["code"]
    received = await system.intake.post(f"/online/filings/{code}/receive", json={}, headers=DESK)
    assert received.status_code == 200 and received.json()["notify_channel"] == "sms", received.text


async def test_documents_are_sealed_and_erasure_shreds_them(system: System, servers: RunningServers) -> None:
    # a marker no other test's data holds: found anywhere at rest, it was stored in clear
    marker = f"MARKER-{uuid.uuid4().hex}".encode()
    pdf = b"%PDF-1.4\n% " + marker + b"\n%%EOF\n"
    document = (await upload(system.intake, pdf, "application/pdf", "CCCD (ảnh chụp)")).json()
    assert document["sha256"] == hashlib.sha256(pdf).hexdigest(), "the hash is of the clear bytes"
    # a document uploaded for another applicant cannot go into this applicant's filing
    other = (await upload(system.intake, PDF, "application/pdf", for_citizen="079085001234")).json()
    mixed = await system.intake.post(
        "/online/filings",
        json={"procedure_code": "LLTP", "applicant": APPLICANT, "documents": [other["document_id"]]},
        headers=CITIZEN,
    )
    assert mixed.status_code == 422 and mixed.json()["error"]["code"] == "document_other_applicant"
    missing = await system.intake.post(
        "/online/documents",
        content=PDF,
        params={"name": "x"},
        headers={**CITIZEN, "Content-Type": "application/pdf"},
    )
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_request"

    filed = await system.intake.post(
        "/online/filings",
        json={"procedure_code": "LLTP", "applicant": APPLICANT, "documents": [document["document_id"]]},
        headers=CITIZEN,
    )
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    path = f"/online/filings/{code}/documents/{document['document_id']}"
    read = await system.intake.get(path, headers=DESK)
    assert read.status_code == 200 and read.content == pdf

    # nowhere in PostgreSQL in clear: not in any row, not in its files (after a checkpoint)
    conn = await asyncpg.connect(database_url_of(system))
    try:
        row = await conn.fetchrow("SELECT content, key_ref FROM intake.documents WHERE id = $1",
                                  uuid.UUID(document["document_id"]))  # fmt: skip
        assert row["key_ref"] is not None and marker not in bytes(row["content"])
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        )
        for t in tables:
            for r in await conn.fetch(f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"'):
                assert not any(marker in (bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode())
                               for v in r.values()), t  # fmt: skip
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    assert servers.data_dir is not None
    leaked = [p for p in servers.data_dir.rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert leaked == []

    # erasure shreds the document with the applicant: a clear "erased" answer, never an error
    erased = await system.intake.post(
        f"/dossiers/{code}/erasure",
        json={"reason": "yêu cầu số 7", "legal_obligation": "Quyết định 12/QĐ-TA"},
        headers=auth("baove.dulieu"),
    )
    assert erased.status_code == 200, erased.text
    for who in (DESK, CITIZEN):
        gone = await system.intake.get(path, headers=who)
        assert gone.status_code == 410, gone.text
        error = gone.json()["error"]
        assert error["code"] == "document_erased" and error["message"]["vi"] and error["message"]["en"]


async def test_scans_at_the_counter_are_stored_sealed_with_the_receipt(
    system: System, servers: RunningServers
) -> None:
    """Issue 14 point 4: the desk's scans go into the document store, sealed under the applicant's
    key, tied to the receipt (their hashes in its event), and count for digitisation."""
    marker = f"SCAN-{uuid.uuid4().hex}".encode()
    pdf = b"%PDF-1.4\n% " + marker + b"\n%%EOF\n"

    async def scan(content: bytes, media: str, citizen: str = APPLICANT["citizen_id"]) -> httpx.Response:
        return await system.intake.post(
            "/dossiers/scans",
            content=content,
            params={"name": "Tờ khai (bản quét)"},
            headers={"Content-Type": media, "X-Applicant-Citizen-Id": citizen},
        )

    stored = await scan(pdf, "application/pdf")
    assert stored.status_code == 201, stored.text
    assert stored.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (await scan(b"not a pdf", "application/pdf")).status_code == 415
    other = (await scan(PDF, "application/pdf", "079085001234")).json()
    citizen_cannot = await system.intake.post(
        "/dossiers/scans",
        content=PDF,
        params={"name": "x"},
        headers={
            **CITIZEN,
            "Content-Type": "application/pdf",
            "X-Applicant-Citizen-Id": APPLICANT["citizen_id"],
        },
    )
    assert citizen_cannot.status_code == 403

    body = {"procedure_code": "LLTP", "applicant": APPLICANT, "channel": 1}
    mixed = await system.intake.post("/dossiers", json={**body, "scanned_documents": [other["document_id"]]})
    assert mixed.status_code == 422 and mixed.json()["error"]["code"] == "scan_other_applicant"
    received = await system.intake.post(
        "/dossiers", json={**body, "scanned_documents": [stored.json()["document_id"]]}
    )
    assert received.status_code == 201, received.text
    code = received.json()["code"]
    again = await system.intake.post(
        "/dossiers", json={**body, "scanned_documents": [stored.json()["document_id"]]}
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "scan_unavailable"

    database = system.host("intake").settings.database_url
    conn = await asyncpg.connect(database)
    try:
        row = await conn.fetchrow(
            "SELECT dossier_code, key_ref, content FROM intake.documents WHERE id = $1",
            uuid.UUID(stored.json()["document_id"]),
        )
    finally:
        await conn.close()
    assert row["dossier_code"] == code and row["key_ref"] is not None
    assert marker not in bytes(row["content"]), "stored sealed, not in clear"
    # the receipt's published event names the scan by its hash; digitisation counts it
    from services.intake.translate import intake_contract

    application = system.apps["intake"].state.application
    dossier, events = await asyncio.to_thread(application.dossier_and_history, code)
    event = intake_contract(events[-1], dossier)
    assert event is not None and event.event_type.startswith("intake.dossier_received")
    assert [d.sha256 for d in event.scanned_documents] == [stored.json()["sha256"]]
    assert event.documents_scanned is True
