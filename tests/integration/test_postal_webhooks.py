"""Operator webhooks refused or ignored as they should be: signed by hand, against real servers.

The simulator books but stays silent (its first notice is a minute away), so every notice here
is one the test sends itself.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.postal_sim.signing import signed_headers
from tests.integration.test_postal_support import PostalWorld, postal_world
from tests.system import eventually

SILENT = {"min_delay_s": 60.0, "max_delay_s": 60.0}
URL = "/webhooks/postal/vnpost"


def _notice(tracking: str, status: str, **extra: Any) -> bytes:
    body = {"tracking_number": tracking, "status": status, "occurred_at": datetime.now(UTC).isoformat()}
    return json.dumps({**body, **extra}).encode()


async def _post(
    world: PostalWorld, body: bytes, event_id: str, *, secret: str | None = None, ts: int | None = None
) -> httpx.Response:
    headers = signed_headers(secret or world.secret, body, event_id, timestamp=ts)
    return await world.system.postal.post(URL, content=body, headers=headers)


async def _booked(world: PostalWorld) -> tuple[str, str]:
    code = await world.result_ready_by_post()
    shipments = await eventually(lambda: world.shipments(code), lambda s: bool(s and s[0]["tracking_number"]))
    return code, shipments[0]["tracking_number"]


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]["vi"] and error["message"]["en"]
    return error


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str) -> Any:
    async with postal_world(monkeypatch, database_url, nats_url, **SILENT) as w:
        yield w


async def test_bad_calls_are_refused_with_a_reason_and_change_nothing(world: PostalWorld) -> None:
    code, tracking = await _booked(world)
    body = _notice(tracking, "delivered", delivered_to="Trần Thị Bích Ngọc")

    _refused(await _post(world, body, "e-1", secret="not-the-secret"), 401, "signature_invalid")
    stale = _refused(await _post(world, body, "e-1", ts=int(time.time()) - 301), 401, "webhook_stale")
    assert stale["age_s"] >= 301
    _refused(await _post(world, body, "e-1", ts=int(time.time()) + 3600), 401, "webhook_stale")
    unsigned = await world.system.postal.post(URL, content=body, headers={"X-Postal-Event-Id": "e-1"})
    _refused(unsigned, 401, "signature_missing")
    tampered = signed_headers(world.secret, body, "e-1")
    altered = body.replace(b"delivered", b"failed", 1)
    _refused(await world.system.postal.post(URL, content=altered, headers=tampered), 401, "signature_invalid")
    other_operator = signed_headers(world.secret, body, "e-1")
    response = await world.system.postal.post("/webhooks/postal/nobody", content=body, headers=other_operator)
    _refused(response, 404, "unknown_operator")
    _refused(await _post(world, b"{not json", "e-2"), 422, "invalid_notice")
    _refused(await _post(world, _notice(tracking, "delivered"), "e-3"), 422, "invalid_notice")  # to whom?
    _refused(await _post(world, _notice(tracking, "lost_in_space"), "e-4"), 422, "invalid_notice")
    no_id = signed_headers(world.secret, body, "")
    _refused(await world.system.postal.post(URL, content=body, headers=no_id), 400, "event_id_missing")

    (shipment,) = await world.shipments(code)
    assert shipment["status"] == "booked"  # none of the above moved it
    count = await world.system.host("postal").pool.fetchval("SELECT count(*) FROM postal.webhook_receipts")
    assert count == 0


async def test_unknown_tracking_number_is_refused_and_kept(world: PostalWorld) -> None:
    body = _notice("EB000000000VN", "in_transit")
    error = _refused(await _post(world, body, "lost-1"), 404, "unknown_tracking_number")
    assert error["tracking_number"] == "EB000000000VN"
    _refused(await _post(world, body, "lost-1"), 404, "unknown_tracking_number")  # retried by operator

    kept = (await world.system.postal.get("/webhooks/unmatched")).json()
    assert [(k["operator"], k["event_id"], k["tracking_number"]) for k in kept] == [
        ("VNPOST", "lost-1", "EB000000000VN")
    ]
    assert json.loads(kept[0]["body"])["status"] == "in_transit"


async def test_an_event_id_reused_for_other_content_is_refused(world: PostalWorld) -> None:
    code, tracking = await _booked(world)
    picked_up = _notice(tracking, "picked_up")
    assert (await _post(world, picked_up, "r-1")).json()["outcome"] == "applied"

    # the operator's bug: a new notice under an id it used already
    error = _refused(await _post(world, _notice(tracking, "in_transit"), "r-1"), 409, "event_id_reused")
    assert error["event_id"] == "r-1"
    (shipment,) = await world.shipments(code)
    assert shipment["status"] == "picked_up"  # the refused notice moved nothing
    again = await _post(world, picked_up, "r-1")  # its own redelivery is still a duplicate
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"


async def test_duplicates_are_no_ops_and_late_notices_never_move_back(world: PostalWorld) -> None:
    code, tracking = await _booked(world)

    in_transit = _notice(tracking, "in_transit")
    first = await _post(world, in_transit, "t-2")
    assert first.status_code == 200 and first.json()["outcome"] == "applied", first.text
    replay = await _post(world, in_transit, "t-2")
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    # the same notice spelt differently (keys reordered, spaced) is still the same notice
    respelt = json.dumps(dict(reversed(list(json.loads(in_transit).items()))), indent=2).encode()
    assert (await _post(world, respelt, "t-2")).json()["outcome"] == "duplicate"
    late = await _post(world, _notice(tracking, "picked_up"), "t-1")  # sent earlier, arrived later
    assert late.status_code == 200
    (shipment,) = await world.shipments(code)
    assert shipment["status"] == "in_transit"
    assert [s["status"] for s in shipment["history"]][-2:] == ["in_transit", "picked_up"]
    assert shipment["history"][-1]["late"] is True

    delivered_at = datetime.now(UTC) - timedelta(milliseconds=5)
    delivered = _notice(tracking, "delivered", delivered_to="Bà Ngọc", occurred_at=delivered_at.isoformat())
    assert (await _post(world, delivered, "t-3")).json()["outcome"] == "applied"
    failed_after = _notice(tracking, "failed", reason="nobody home")
    assert (await _post(world, failed_after, "t-4")).status_code == 200
    (shipment,) = await world.shipments(code)
    assert shipment["status"] == "delivered" and shipment["failure_reason"] is None

    case = await eventually(
        lambda: world.system.processing.get(f"/dossiers/{code}"), lambda r: r.json()["state"] == "returned"
    )
    assert case.json()["result_at_desk"] is False  # the late 'failed' sent nothing to the desk
    history = (await world.system.processing.get(f"/dossiers/{code}/history")).json()
    (returned,) = [h for h in history if h["event"] == "ResultReturned"]
    assert datetime.fromisoformat(returned["occurred_at"]) == delivered_at
    assert not [h for h in history if h["event"] == "ResultBackAtDesk"]
    receipts = await world.system.host("postal").pool.fetchval("SELECT count(*) FROM postal.webhook_receipts")
    assert receipts == 4
