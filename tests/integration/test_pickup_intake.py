"""A dossier collected by post is received with the handover time as its receipt time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from services.intake.catalogue import load_catalogue
from tests.integration.test_postal_support import postal_world
from tests.system import APPLICANT, eventually, receive_body


def _postal_procedure() -> str:
    return next(p.code for p in load_catalogue().procedures if 3 in {int(c) for c in p.channels})


async def test_intake_receives_a_picked_up_dossier_from_its_handover(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    async with postal_world(monkeypatch, database_url, nats_url) as world:
        procedure = _postal_procedure()
        intake = world.system.intake
        early = await intake.post(
            "/dossiers", json=receive_body(procedure, channel=3, pickup_reference="BC-UNKNOWN")
        )
        assert early.status_code == 409 and early.json()["error"]["code"] == "pickup_not_delivered"

        pickup = await world.system.postal.post(
            "/pickups",
            json={
                "procedure_code": procedure,
                "applicant": {k: APPLICANT[k] for k in ("full_name", "phone", "address")},
            },
        )
        assert pickup.status_code == 201, pickup.text
        reference = pickup.json()["reference"]
        shipments: list[dict[str, Any]] = await eventually(
            lambda: world.shipments(reference), lambda s: len(s) == 1 and s[0]["status"] == "delivered"
        )
        handed_over = datetime.fromisoformat(shipments[0]["history"][-1]["at"])

        wrong_channel = await intake.post(
            "/dossiers", json=receive_body(procedure, channel=1, pickup_reference=reference)
        )
        assert wrong_channel.status_code == 422
        assert wrong_channel.json()["error"]["code"] == "pickup_needs_postal_channel"

        async def received() -> Any:
            return await intake.post(
                "/dossiers", json=receive_body(procedure, channel=3, pickup_reference=reference)
            )

        made = await eventually(received, lambda r: r.status_code == 201, timeout=10)
        dossier = made.json()
        again = await received()
        assert again.status_code == 409 and again.json()["error"]["code"] == "pickup_already_used"
        assert datetime.fromisoformat(dossier["received_at"]) == handed_over
        assert reference in dossier["backdate_reason"]
        case = await eventually(
            lambda: world.system.processing.get(f"/dossiers/{dossier['code']}"),
            lambda r: r.status_code == 200,
        )
        assert datetime.fromisoformat(case.json()["clock"]["received_at"]) == handed_over
        # The received event names the pickup: scoring links the two and counts the dossier.
        facts = await eventually(
            lambda: world.system.scoring.get(f"/dossiers/{dossier['code']}"),
            lambda r: r.status_code == 200 and r.json().get("pickup_reference") is not None,
        )
        assert facts.json()["pickup_reference"] == reference
