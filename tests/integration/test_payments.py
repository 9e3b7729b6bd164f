"""Payments against the real servers: fees at receipt, obligations (status 6), the platform's
signed callbacks (bad signatures, rotation, replays, duplicates, reused ids, wrong amounts), the
desk, the platform simulator, and what scoring makes of them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn

from services.payments_sim.app import PaySimConfig, signed_headers
from services.payments_sim.app import create_app as create_sim_app
from shared.host.settings import Settings
from tests.identity import auth
from tests.system import System, eventually, receive_body, running_system

NAMES = ("intake", "processing", "payments", "scoring")
URL = "/webhooks/payments/paygov"


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]["vi"] and error["message"]["en"]
    return error


def _callback(charge_id: str, amount: int, tx: str, **extra: Any) -> bytes:
    body = {
        "transaction_id": tx,
        "reference": charge_id,
        "amount_vnd": amount,
        "status": "paid",
        "paid_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps({**body, **extra}).encode()


@contextlib.asynccontextmanager
async def payments_world(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> AsyncIterator[tuple[System, httpx.AsyncClient, str, str]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    new, old = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    monkeypatch.setenv("PAYMENT_PROVIDERS", f"PAYGOV=http://127.0.0.1:{port}")
    monkeypatch.setenv("PAYMENT_CALLBACK_SECRETS", f"PAYGOV={new}|{old}")  # a rotation under way
    async with running_system(Settings(nats_url=nats_url, database_url=database_url), NAMES) as system:
        sim_app = create_sim_app(
            PaySimConfig(secret=new, payments_url="http://payments", pay_after_s=0.05, duplicate_share=1.0),
            httpx.ASGITransport(app=system.apps["payments"]),
        )
        server = uvicorn.Server(uvicorn.Config(sim_app, log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(500):
                if server.started:
                    break
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as sim:
                yield system, sim, new, old
        finally:
            server.should_exit = True
            await serving
            sock.close()


async def _received(system: System, procedure: str = "LLTP") -> tuple[str, dict[str, Any]]:
    received = await system.intake.post("/dossiers", json=receive_body(procedure))
    assert received.status_code == 201, received.text
    code: str = received.json()["code"]
    charges = await eventually(
        lambda: system.payments.get(f"/dossiers/{code}/charges"),
        lambda r: r.status_code == 200 and len(r.json()) == 1,
    )
    return code, charges.json()[0]


async def _status(system: System, code: str) -> int:
    facts = await system.scoring.get(f"/dossiers/{code}")
    return int(facts.json()["national_status"]) if facts.status_code == 200 else 0


async def test_payments_from_receipt_to_scoring(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    async with payments_world(monkeypatch, database_url, nats_url) as (system, sim, new, old):
        pay = system.payments
        code, fee = await _received(system)
        assert (fee["kind"], fee["amount_vnd"], fee["paid"]) == ("fee", 200_000, False)  # the catalogue's
        charge_id = fee["charge_id"]
        body = _callback(charge_id, 200_000, "TX-1")

        # Refused, and nothing paid: wrong secret, tampered body, stale, unsigned, unknown platform.
        _refused(
            await pay.post(URL, content=body, headers=signed_headers("nope", body)), 401, "signature_invalid"
        )
        altered = body.replace(b"200000", b"100000")
        _refused(
            await pay.post(URL, content=altered, headers=signed_headers(new, body)), 401, "signature_invalid"
        )
        stale = signed_headers(new, body, timestamp=int(time.time()) - 301)
        _refused(await pay.post(URL, content=body, headers=stale), 401, "webhook_stale")
        _refused(await pay.post(URL, content=body), 401, "signature_missing")
        other = await pay.post("/webhooks/payments/nobody", content=body, headers=signed_headers(new, body))
        _refused(other, 404, "unknown_provider")
        _refused(
            await pay.post(URL, content=b"{nope", headers=signed_headers(new, b"{nope")),
            422,
            "invalid_callback",
        )
        short = _callback(charge_id, 150_000, "TX-0")
        error = _refused(
            await pay.post(URL, content=short, headers=signed_headers(new, short)), 422, "amount_mismatch"
        )
        assert (error["expected_vnd"], error["given_vnd"]) == (200_000, 150_000)
        assert not (await pay.get(f"/dossiers/{code}/charges")).json()[0]["paid"]

        # The old secret still works during the rotation; the same callback again is a duplicate.
        first = await pay.post(URL, content=body, headers=signed_headers(old, body))
        assert first.status_code == 200 and first.json()["outcome"] == "applied", first.text
        again = await pay.post(URL, content=body, headers=signed_headers(new, body))
        assert again.json()["outcome"] == "duplicate"
        reused = _callback(charge_id, 200_000, "TX-1", paid_at="2020-01-01T00:00:00+07:00")
        _refused(
            await pay.post(URL, content=reused, headers=signed_headers(new, reused)),
            409,
            "transaction_reused",
        )
        second = _callback(charge_id, 200_000, "TX-2")
        _refused(
            await pay.post(URL, content=second, headers=signed_headers(new, second)),
            409,
            "charge_already_paid",
        )
        (paid,) = (await pay.get(f"/dossiers/{code}/charges")).json()
        assert (paid["paid"], paid["method"], paid["transaction_id"]) == (True, "online", "TX-1")

        # An obligation during processing: status 6 until paid at the desk.
        officer = auth("canbo.stp")
        await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
        asked = await pay.post(
            f"/dossiers/{code}/obligations",
            json={"amount_vnd": 500_000, "description": "Lệ phí trước bạ"},
            headers=officer,
        )
        assert asked.status_code == 201, asked.text
        _refused(
            await pay.post(f"/dossiers/{code}/obligations", json={"amount_vnd": 1, "description": "x"}),
            403,
            "forbidden_role",
        )  # the desk may not ask for obligations
        await eventually(lambda: _status(system, code), lambda s: s == 6)
        obligation = asked.json()["charge_id"]
        wrong = await pay.post(
            f"/charges/{obligation}/desk-payment", json={"amount_vnd": 5, "receipt_number": "BL-1"}
        )
        _refused(wrong, 422, "amount_mismatch")
        desk = await pay.post(
            f"/charges/{obligation}/desk-payment", json={"amount_vnd": 500_000, "receipt_number": "BL-1"}
        )
        assert desk.status_code == 200 and desk.json()["outcome"] == "applied", desk.text
        again_desk = await pay.post(
            f"/charges/{obligation}/desk-payment", json={"amount_vnd": 500_000, "receipt_number": "BL-1"}
        )
        assert again_desk.json()["outcome"] == "duplicate"
        await eventually(lambda: _status(system, code), lambda s: s == 4)

        # Through the simulator: a payment link, then its (duplicated) signed callback.
        code2, fee2 = await _received(system, "CT-BANSAO")
        link = await pay.post(f"/charges/{fee2['charge_id']}/checkout")
        assert link.status_code == 200 and link.json()["pay_url"], link.text
        relink = await pay.post(f"/charges/{fee2['charge_id']}/checkout")
        assert relink.json()["transaction_id"] == link.json()["transaction_id"]  # idempotent by charge
        done = await eventually(
            lambda: pay.get(f"/dossiers/{code2}/charges"), lambda r: r.json()[0]["paid"], timeout=15
        )
        assert done.json()[0]["transaction_id"] == link.json()["transaction_id"]
        # The simulator sends every callback twice here: the second is a duplicate, not a payment.
        sent = await eventually(lambda: sim.get("/payments"), lambda r: len(r.json()[0]["callbacks"]) >= 2)
        assert sent.json()[0]["callbacks"][:2] == [200, 200]

        # Scoring: paid online counts; the payment indicators are no longer unsupported.
        unsupported = (await system.scoring.get("/indicators/unsupported")).json()
        assert not [u for u in unsupported if "payment" in u["indicator"] or "status 6" in u["indicator"]]
        facts = await eventually(
            lambda: system.scoring.get(f"/dossiers/{code2}"),
            lambda r: r.status_code == 200 and r.json()["paid_online"],
        )
        assert facts.json()["national_status"] == 4


async def test_the_citizen_pays_from_the_tracking_page_through_the_simulator(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str
) -> None:
    """Issue 14 point 3: the tracking page lists the charges, its button opens the platform's
    checkout (the simulator pays and calls back, signed), and the page then says paid."""
    from tests.browser.conftest import web_app

    async with payments_world(monkeypatch, database_url, nats_url) as (system, _sim, _, _):
        received = await system.intake.post("/dossiers", json=receive_body("CT-BANSAO"))
        code, secret = received.json()["code"], received.json()["tracking_secret"]
        await eventually(
            lambda: system.processing.get(f"/track/{code}", headers={"X-Tracking-Secret": secret}),
            lambda r: r.status_code == 200,
        )
        # the citizen's own routes: the secret is the key, a wrong one finds nothing
        wrong = await system.payments.get(f"/track/{code}/charges", headers={"X-Tracking-Secret": "sai"})
        assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "tracking_not_found"
        mine = await eventually(
            lambda: system.payments.get(f"/track/{code}/charges", headers={"X-Tracking-Secret": secret}),
            lambda r: r.status_code == 200 and len(r.json()) == 1,
        )
        charge = mine.json()[0]
        assert "transaction_id" not in charge and charge["paid"] is False

        transport = httpx.ASGITransport(app=web_app("http://web.test", system.apps))
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as web:
            page = await web.get(f"/track/{code}", params={"s": secret})
            assert 'id="charges"' in page.text and "Thanh toán trực tuyến" in page.text
            refused = await web.post(f"/track/{code}/charges/{charge['charge_id']}/pay", data={"s": "sai"})
            assert refused.status_code == 404
            sent = await web.post(f"/track/{code}/charges/{charge['charge_id']}/pay", data={"s": secret})
            assert sent.status_code == 303 and "/checkout/" in sent.headers["location"]  # the platform's page
            paid = await eventually(
                lambda: web.get(f"/track/{code}", params={"s": secret}),
                lambda r: "Đã nộp" in r.text,
                timeout=15,
            )
            assert "Thanh toán trực tuyến" not in paid.text
        again = await system.payments.post(
            f"/track/{code}/charges/{charge['charge_id']}/checkout", headers={"X-Tracking-Secret": secret}
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "charge_already_paid"
        facts = await eventually(
            lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.json().get("paid_online") is True
        )
        assert facts.json()["paid_online"]
