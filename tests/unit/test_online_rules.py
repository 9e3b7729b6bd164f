"""Online filing's rules without servers: what is offered online, when a filing the desk receives
counts as received, the desk's verdict on the dossier, and what an upload is by its content."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.intake.catalogue import load_catalogue
from services.intake.domain import Dossier, NotRegistered
from services.intake.online import OnlineRefused, check_documents, online_level_of, online_receipt_time, owns
from shared.clock.calendars import calendar_named
from shared.documents import DocumentRefused, checked_upload, sniff

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = calendar_named("standard")
CITIZEN = {"user_id": "congdan.ngoc", "role": "citizen", "agency": "CONGDAN", "channel": 2}
DESK = {"user_id": "tiepnhan", "role": "front_desk", "agency": "TTPVHCC", "channel": 2}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


@pytest.mark.parametrize(
    ("acted", "received"),
    [
        ("2026-03-03 09:15", "2026-03-03 09:15"),  # a Tuesday morning: at once
        ("2026-03-03 12:10", "2026-03-03 13:30"),  # lunch break: the afternoon session
        ("2026-03-06 18:40", "2026-03-09 07:00"),  # Friday evening: Monday's opening
        ("2026-03-07 22:00", "2026-03-09 07:00"),  # Saturday night
        ("2026-04-30 10:00", "2026-05-04 07:00"),  # Reunification Day, May Day, then a weekend
    ],
)
def test_outside_office_hours_counts_from_the_next_working_period(acted: str, received: str) -> None:
    assert online_receipt_time(_at(acted), CALENDAR) == _at(received)


def test_only_procedures_offered_online_are_filed_online() -> None:
    catalogue = load_catalogue()
    assert online_level_of(catalogue.procedure("LLTP")) == "full"
    assert online_level_of(catalogue.procedure("GPXD-CT")) == "partial"
    with pytest.raises(OnlineRefused) as refused:
        online_level_of(catalogue.procedure("CT-CHUKY"))
    assert refused.value.code == "not_offered_online" and refused.value.status == 422


@pytest.mark.parametrize(("count", "code"), [(0, "documents_required"), (11, "too_many_documents")])
def test_a_filing_has_between_one_and_ten_documents(count: int, code: str) -> None:
    check_documents(1)
    check_documents(10)
    with pytest.raises(OnlineRefused) as refused:
        check_documents(count)
    assert refused.value.code == code


def _filed(at: datetime) -> Dossier:
    return Dossier(
        code="000.00.20.H99-260303-0001",
        filing={
            "procedure_code": "LLTP",
            "department_code": "STP",
            "receiving_point": "TTPVHCC",
            "channel": 2,
        },
        outcome="registered",
        terms=None,
        missing_items=None,
        refusal_reasons=None,
        occurred_at=at,
        backdate_reason=None,
        actor=CITIZEN,
        applicant={"key_ref": "x", "ciphertext": "y"},
        online={"tracking_hash": "0" * 64, "documents": [], "postal_return": False},
    )


def _verdict(outcome: str, at: datetime, **given: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "terms": given.get("terms"),
        "missing_items": given.get("missing_items"),
        "refusal_reasons": given.get("refusal_reasons"),
        "occurred_at": at,
        "backdate_reason": None,
        "actor": DESK,
    }


def test_the_desk_receives_a_filing_once_and_the_clock_starts_then() -> None:
    filed_at = _at("2026-03-07 22:00")
    dossier = _filed(filed_at)
    assert dossier.national_status() == 1 and dossier.received_at is None and dossier.filed_online
    checked_at = _at("2026-03-09 08:05")
    terms = {
        "received_at": online_receipt_time(checked_at, CALENDAR),
        "due_at": checked_at + timedelta(days=14),
    }
    dossier.check(**_verdict("received", checked_at, terms=terms))
    assert dossier.outcome == "received" and dossier.national_status() == 2
    assert dossier.received_at == checked_at and dossier.registered_at == filed_at
    with pytest.raises(NotRegistered):
        dossier.check(**_verdict("refused", checked_at, refusal_reasons="x"))


@pytest.mark.parametrize(
    ("outcome", "given", "status"),
    [
        ("incomplete", {"missing_items": ["Tờ khai"]}, 5),
        ("refused", {"refusal_reasons": "Sai thẩm quyền"}, 3),
    ],
)
def test_the_desk_asks_for_completion_or_refuses(outcome: str, given: dict[str, Any], status: int) -> None:
    dossier = _filed(_at("2026-03-03 09:00"))
    dossier.check(**_verdict(outcome, _at("2026-03-03 10:00"), **given))
    assert dossier.national_status() == status and dossier.received_at is None


@pytest.mark.parametrize(
    ("outcome", "given", "at"),
    [
        ("incomplete", {}, "2026-03-03 10:00"),  # nothing listed as missing
        ("refused", {"refusal_reasons": "  "}, "2026-03-03 10:00"),  # no reasons
        ("received", {}, "2026-03-03 10:00"),  # received without terms
        ("refused", {"refusal_reasons": "x"}, "2026-03-03 08:00"),  # before it was filed
        ("archived", {}, "2026-03-03 10:00"),  # not an outcome of the counter
    ],
)
def test_a_verdict_the_counter_would_not_give_is_refused(
    outcome: str, given: dict[str, Any], at: str
) -> None:
    dossier = _filed(_at("2026-03-03 09:00"))
    with pytest.raises(ValueError):
        dossier.check(**_verdict(outcome, _at(at), **given))
    assert dossier.outcome == "registered"


def test_a_counter_dossier_is_not_checked_as_an_online_filing() -> None:
    dossier = _filed(_at("2026-03-03 09:00"))
    dossier.outcome = "received"
    with pytest.raises(NotRegistered):
        dossier.check(**_verdict("refused", _at("2026-03-03 10:00"), refusal_reasons="x"))


def test_only_the_citizen_who_filed_owns_it() -> None:
    assert owns(CITIZEN, "congdan.ngoc")
    assert not owns(CITIZEN, "congdan.minh")
    assert not owns({**CITIZEN, "role": "front_desk"}, "congdan.ngoc")


@pytest.mark.parametrize(
    ("content", "declared", "found"),
    [
        (b"%PDF-1.7\n...", "application/pdf", "application/pdf"),
        (b"%PDF-1.7\n...", None, "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png", "image/png"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpg", "image/jpeg"),
        (b"\xff\xd8\xff\xe0JFIF", "application/octet-stream", "image/jpeg"),
    ],
)
def test_an_upload_is_what_its_content_says(content: bytes, declared: str | None, found: str) -> None:
    assert sniff(content) == found
    assert checked_upload(content, declared, max_bytes=1024) == found


@pytest.mark.parametrize(
    ("content", "declared", "code"),
    [
        (b"", "application/pdf", "document_empty"),
        (b"%PDF-" + b"0" * 1024, "application/pdf", "document_too_large"),
        (b"<html>%PDF-</html>", "application/pdf", "document_type_not_allowed"),
        (b"GIF89a....", "image/gif", "document_type_not_allowed"),
        (b"%PDF-1.7", "image/png", "document_type_mismatch"),
    ],
)
def test_an_upload_is_refused_with_its_reason(content: bytes, declared: str, code: str) -> None:
    with pytest.raises(DocumentRefused) as refused:
        checked_upload(content, declared, max_bytes=1024)
    assert refused.value.code == code and refused.value.vi and refused.value.en
