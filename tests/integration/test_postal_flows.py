"""Results and dossiers through the post, end to end: four services, the simulator, real servers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.integration.test_postal_support import PostalWorld, postal_world
from tests.system import eventually


def _statuses(shipment: dict[str, Any]) -> list[str]:
    return [step["status"] for step in shipment["history"]]


async def _finished(world: PostalWorld, code: str) -> dict[str, Any]:
    shipments = await eventually(
        lambda: world.shipments(code),
        lambda s: len(s) == 1 and s[0]["status"] in ("delivered", "returned_to_sender"),
    )
    return shipments[0]


async def test_delivered_result_counts_as_returned_at_delivery(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    async with postal_world(monkeypatch, database_url, nats_url) as world:
        code = await world.result_ready_by_post()
        shipment = await _finished(world, code)
        assert shipment["status"] == "delivered"
        assert _statuses(shipment) == ["opened", "booked", "accepted", "picked_up", "in_transit", "delivered"]
        assert shipment["delivered_to"] == "Trần Thị Bích Ngọc"
        assert shipment["tracking_number"] == (await world.bookings())[0]["tracking_number"]

        case = await eventually(
            lambda: world.system.processing.get(f"/dossiers/{code}"),
            lambda r: r.json()["state"] == "returned",
        )
        assert case.json()["result_at_desk"] is False
        history = (await world.system.processing.get(f"/dossiers/{code}/history")).json()
        returned = [h for h in history if h["event"] == "ResultReturned"]
        assert len(returned) == 1
        assert _instant(returned[0]["occurred_at"]) == _instant(
            shipment["history"][-1]["at"]
        )  # delivery time

        figures = await eventually(lambda: _figures(world), lambda f: f["dossiers"]["returned_by_post"] == 1)
        assert figures["dossiers"]["received"] == 1 and figures["dossiers"]["returned_share"] == 1.0
        (vnpost,) = figures["operators"]
        assert vnpost["operator"] == "VNPOST" and vnpost["delivered"] == 1 and vnpost["failure_rate"] == 0.0
        assert vnpost["delivery_hours"]["average"] is not None


async def test_failed_delivery_sends_the_result_back_to_the_desk(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    async with postal_world(monkeypatch, database_url, nats_url, failure_share=1.0) as world:
        code = await world.result_ready_by_post()
        shipment = await _finished(world, code)
        assert shipment["status"] == "returned_to_sender"
        assert _statuses(shipment)[-2:] == ["failed", "returned_to_sender"]

        case = await eventually(
            lambda: world.system.processing.get(f"/dossiers/{code}"), lambda r: r.json()["result_at_desk"]
        )
        assert case.json()["state"] == "result_ready"  # waiting at the desk, not returned
        history = (await world.system.processing.get(f"/dossiers/{code}/history")).json()
        back = [h for h in history if h["event"] == "ResultBackAtDesk"]
        assert len(back) == 1
        assert back[0]["details"]["reason"].startswith("failed: ")
        assert shipment["failure_reason"] in back[0]["details"]["reason"]

        figures = await eventually(lambda: _figures(world), lambda f: f["operators"][0]["failed"] == 1)
        assert figures["operators"][0]["failure_rate"] == 1.0
        assert figures["dossiers"]["returned_by_post"] == 0


async def test_booking_retried_after_a_timeout_books_once(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    # The operator books, then answers only after the client gave up: the retry must not book again.
    async with postal_world(
        monkeypatch, database_url, nats_url, booking_timeout_s=0.3, slow_responses=1, slow_response_s=1.0
    ) as world:
        code = await world.result_ready_by_post()
        shipment = await _finished(world, code)
        (booking,) = await world.bookings()
        assert booking["calls"] >= 2, booking  # the first answer came too late: it was retried
        assert booking["key"] == shipment["shipment_id"]
        assert shipment["tracking_number"] == booking["tracking_number"]
        assert _statuses(shipment).count("booked") == 1


async def test_duplicated_and_reordered_notices_change_nothing_twice(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    async with postal_world(
        monkeypatch, database_url, nats_url, duplicate_share=1.0, reorder_share=1.0
    ) as world:
        code = await world.result_ready_by_post()
        shipment = await _finished(world, code)
        (booking,) = await eventually(world.bookings, lambda b: len(b[0]["sent"]) == 8)
        sent = booking["sent"]
        assert [s["status"] for s in sent[::2]] == ["accepted", "in_transit", "picked_up", "delivered"]
        assert all(s["answers"][-1] == 200 for s in sent), sent
        # picked up arrived after in transit: kept in the history, marked late, status not moved back
        late = [step for step in shipment["history"] if step.get("late")]
        assert [step["status"] for step in late] == ["picked_up"]
        assert shipment["status"] == "delivered"
        receipts = await world.system.host("postal").pool.fetchval(
            "SELECT count(*) FROM postal.webhook_receipts"
        )
        assert receipts == 4
        await eventually(
            lambda: world.system.processing.get(f"/dossiers/{code}"),
            lambda r: r.json()["state"] == "returned",
        )
        history = (await world.system.processing.get(f"/dossiers/{code}/history")).json()
        assert [h["event"] for h in history].count("ResultReturned") == 1


async def test_pickup_requested_once_and_collected(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    async with postal_world(monkeypatch, database_url, nats_url) as world:
        body = {
            "procedure_code": "STP-LLTP-01",
            "applicant": {"full_name": "Lê Văn Tám", "phone": "0987654321", "address": "Số 3 Lý Thái Tổ"},
        }
        first = await world.system.postal.post("/pickups", json=body, headers={"Idempotency-Key": "p-1"})
        again = await world.system.postal.post("/pickups", json=body, headers={"Idempotency-Key": "p-1"})
        assert first.status_code == 201, first.text
        assert again.status_code == 200 and again.json()["reference"] == first.json()["reference"]
        other = {**body, "procedure_code": "OTHER-01"}
        reused = await world.system.postal.post("/pickups", json=other, headers={"Idempotency-Key": "p-1"})
        assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"

        reference = first.json()["reference"]
        shipment = await _finished(world, reference)
        assert shipment["kind"] == "pickup" and shipment["status"] == "delivered"
        assert len(await world.bookings()) == 1


async def _figures(world: PostalWorld) -> dict[str, Any]:
    response = await world.system.postal.get("/figures/operators")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
