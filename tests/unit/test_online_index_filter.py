"""The online filings' tail skips receipts at the counter without decoding them, and only those."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application

from services.intake.domain import Dossier
from services.intake.online_index import _may_change_a_row

AT = datetime(2026, 3, 3, 8, 30, tzinfo=UTC)
ACTOR = {"user_id": "u", "role": "front_desk", "agency": "TTPVHCC", "channel": "desk"}


def _dossier(code: str, online: dict[str, Any] | None, reasons: str | None = None) -> Dossier:
    return Dossier(
        code=code,
        filing={"procedure_code": "LLTP", "department_code": "STP", "receiving_point": "TTPVHCC"},
        outcome="registered" if online else "received",
        terms=None,
        missing_items=None,
        refusal_reasons=reasons,
        occurred_at=AT,
        backdate_reason=None,
        actor=ACTOR,
        # a counter receipt whose text mentions "online": null must still be told apart by the key
        applicant={"key_ref": "x", "ciphertext": '{"online": null}'},
        online=online,
    )


def _stored(dossier: Dossier) -> list[Any]:
    mapper = Application[Any]().mapper  # the library's own encoding, as the store writes it
    return [mapper.to_stored_event(e) for e in dossier.collect_events()]


def test_a_counter_receipt_is_skipped_and_an_online_filing_read() -> None:
    (counter,) = _stored(_dossier("A-1", None))
    (online,) = _stored(_dossier("A-2", {"tracking_hash": "0" * 64, "documents": []}))
    assert _may_change_a_row(counter) is False
    assert _may_change_a_row(online) is True
    # a text value that spells the key out is escaped in the stored JSON: still read
    tricky = _dossier("A-5", {"tracking_hash": "0" * 64, "documents": []}, reasons='see "online":null')
    (stored,) = _stored(tricky)
    assert _may_change_a_row(stored) is True


def test_later_steps_and_unreadable_states_are_always_read() -> None:
    dossier = _dossier("A-3", None)
    dossier.outcome = "incomplete"  # asked at the counter to complete it, then completed there
    dossier.collect_events()
    dossier.complete(terms={}, occurred_at=AT, backdate_reason=None, actor=ACTOR)
    (completed,) = _stored(dossier)
    assert _may_change_a_row(completed) is True
    (counter,) = _stored(_dossier("A-4", None))
    garbled = type(counter)(
        originator_id=counter.originator_id,
        originator_version=counter.originator_version,
        topic=counter.topic,
        state=b"\x00compressed",
    )
    assert _may_change_a_row(garbled) is True
