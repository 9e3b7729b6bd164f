"""The counter's rules without HTTP or PostgreSQL: each refusal with its code, each finding exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from services.intake.catalogue import Catalogue, load_catalogue
from services.intake.receipt_rules import (
    check_channel,
    check_open,
    check_own_desk,
    check_pickup_channel,
    documents_handed,
    new_tracking_secret,
    procedure_in,
    receipt_terms,
    receiving_point,
    tracking_hash,
    with_pickup,
)
from shared.clock import LegalTime, appointment_for
from shared.clock.calendars import calendar_named
from shared.contracts import Channel
from shared.refusal import Refusal

CATALOGUE: Catalogue = load_catalogue()
AT = datetime(2026, 3, 3, 2, 30, tzinfo=UTC)  # Tuesday 09:30 in Hà Nội


@dataclass(frozen=True)
class Ticked:
    id: str
    form: str | None = None
    count: int | None = None


def _refused(call: object, *args: object) -> Refusal:
    with pytest.raises(Refusal) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value


def test_a_procedure_is_found_by_our_code_and_an_unknown_one_refused() -> None:
    assert procedure_in(CATALOGUE, "LLTP").code == "LLTP"
    refusal = _refused(procedure_in, CATALOGUE, "NO-SUCH")
    assert (refusal.status, refusal.code) == (422, "unknown_procedure")
    assert "NO-SUCH" in refusal.vi and "NO-SUCH" in refusal.en


def test_channels_the_procedure_does_not_offer_are_refused_with_the_allowed_ones() -> None:
    only_counter = procedure_in(CATALOGUE, "CT-CHUKY")
    check_channel(only_counter, Channel.IN_PERSON, None)
    refusal = _refused(check_channel, only_counter, Channel.POSTAL, None)
    assert refusal.code == "channel_not_allowed"
    assert refusal.details["allowed_channels"] == [1]


@pytest.mark.parametrize(
    ("channel", "level", "ok"),
    [
        (Channel.ONLINE, "full", True),
        (Channel.ONLINE, None, False),
        (Channel.IN_PERSON, "partial", False),
        (Channel.IN_PERSON, None, True),
    ],
)
def test_an_online_level_goes_with_the_online_channel_only(
    channel: Channel, level: str | None, ok: bool
) -> None:
    lltp = procedure_in(CATALOGUE, "LLTP")
    if ok:
        check_channel(lltp, channel, level)
    else:
        assert _refused(check_channel, lltp, channel, level).code == "online_level_mismatch"


def test_documents_are_named_from_the_list_and_default_to_its_form_and_count() -> None:
    lltp = procedure_in(CATALOGUE, "LLTP")
    required = [d.id for d in lltp.missing_documents(set())]
    handed = documents_handed(lltp, [Ticked(i) for i in required], "received")
    assert handed is not None
    by_id = {d.id: d for d in lltp.documents}
    assert [h["id"] for h in handed] == required
    for h in handed:
        assert h["name"] == by_id[h["id"]].name_vi
        assert h["form"] == str(by_id[h["id"]].form.value)
        assert h["count"] == by_id[h["id"]].count
    copy = documents_handed(lltp, [Ticked(required[0], "copy", 3), *map(Ticked, required[1:])], "received")
    assert copy is not None and (copy[0]["form"], copy[0]["count"]) == ("copy", 3)
    assert documents_handed(lltp, None, "received") is None  # the desk ticked nothing


def test_missing_repeated_and_unknown_documents() -> None:
    lltp = procedure_in(CATALOGUE, "LLTP")
    required = [d.id for d in lltp.missing_documents(set())]
    missing = _refused(documents_handed, lltp, [Ticked(required[0])], "received")
    assert missing.code == "documents_missing"
    assert missing.details["missing"] == required[1:]
    # the same papers may be recorded when the desk asks for the rest (form 02)
    asked = documents_handed(lltp, [Ticked(required[0])], "incomplete")
    assert asked is not None and len(asked) == 1
    assert (
        _refused(documents_handed, lltp, [Ticked(required[0])] * 2, "incomplete").code == "document_repeated"
    )
    unknown = _refused(documents_handed, lltp, [Ticked("not-a-paper")], "incomplete")
    assert unknown.code == "unknown_document" and set(unknown.details["known"]) == {
        d.id for d in lltp.documents
    }


def test_the_default_desk_is_the_provincial_centre_and_unknown_desks_are_refused() -> None:
    assert receiving_point(CATALOGUE, None).code == "TTPVHCC"
    assert receiving_point(CATALOGUE, "XA-TH").code == "XA-TH"
    refusal = _refused(receiving_point, CATALOGUE, "NOWHERE")
    assert refusal.code == "unknown_receiving_point" and "TTPVHCC" in refusal.details["known"]


def test_an_officer_receives_only_at_their_own_desk() -> None:
    check_own_desk("TTPVHCC", "TTPVHCC")
    refusal = _refused(check_own_desk, "XA-TH", "TTPVHCC")
    assert (refusal.status, refusal.code, refusal.details["your_unit"]) == (403, "other_desk", "XA-TH")


def test_a_retired_desk_receives_up_to_its_last_day_only() -> None:
    district = receiving_point(CATALOGUE, "HUYEN-SL")
    assert district.until == date(2025, 6, 30)
    check_open(district, datetime(2025, 6, 30, 9, tzinfo=UTC))
    refusal = _refused(check_open, district, datetime(2025, 7, 1, 9, tzinfo=UTC))
    assert refusal.code == "desk_retired" and refusal.details["until"] == "2025-06-30"
    check_open(receiving_point(CATALOGUE, "TTPVHCC"), AT)  # no last day


def test_a_pickup_comes_through_the_postal_channel() -> None:
    check_pickup_channel(Channel.POSTAL)
    assert _refused(check_pickup_channel, Channel.IN_PERSON).code == "pickup_needs_postal_channel"


@pytest.mark.parametrize("code", ["LLTP", "CT-BANSAO", "HT-KETHON", "MT-GPMT"])
def test_the_terms_carry_the_procedure_and_the_appointment_from_the_legal_clock(code: str) -> None:
    procedure = procedure_in(CATALOGUE, code)
    terms = receipt_terms(CATALOGUE, procedure, AT, True, False, True, "h" * 64)
    calendar = CATALOGUE.department(procedure.department).calendar
    assert terms["calendar"] == calendar
    assert (terms["legal_days"], terms["same_day"]) == (procedure.legal_days, procedure.same_day)
    assert (terms["postal_return"], terms["paid_online"], terms["documents_scanned"]) == (True, False, True)
    assert terms["received_at"] == AT and terms["tracking_hash"] == "h" * 64
    assert terms["supplement_policy"] == str(CATALOGUE.supplement_policy(code).value)
    assert terms["due_at"] > AT
    if procedure.legal_days is not None and not procedure.same_day:
        expected = appointment_for(AT, LegalTime.days(procedure.legal_days), calendar_named(calendar))
        assert terms["due_at"] == expected
    assert "pickup_reference" not in with_pickup(terms, None)
    assert with_pickup(terms, "BC-1")["pickup_reference"] == "BC-1"


def test_tracking_secrets_are_long_random_and_only_their_hash_is_kept() -> None:
    secrets = [new_tracking_secret() for _ in range(200)]
    assert len(set(secrets)) == len(secrets)
    for secret in secrets:
        assert len(secret) >= 22  # 16 random bytes, URL-safe base64: 128 bits
        digest = tracking_hash(secret)
        assert len(digest) == 64 and secret not in digest
        assert digest == tracking_hash(secret) and digest != tracking_hash(secret + "x")
