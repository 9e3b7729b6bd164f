"""The simulator's HTTP API: ``POST /payments`` (idempotent by key), ``GET /payments``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from shared.host.dev_secrets import dev_secret
from shared.host.settings import is_development, require_secret


@dataclass(frozen=True)
class PaySimConfig:
    provider: str = "PAYGOV"
    secret: str = ""
    payments_url: str = "http://127.0.0.1:8106"
    pay_after_s: float = 1.0  # the citizen pays this long after the link was made
    duplicate_share: float = 0.2  # callbacks sent twice
    callback_attempts: int = 5
    seed: int | None = None

    @classmethod
    def from_env(cls) -> PaySimConfig:
        env = os.environ
        provider = env.get("PAYMENT_SIM_PROVIDER", "PAYGOV")
        return cls(
            provider=provider,
            secret=_secret(env.get("PAYMENT_SIM_SECRET"), provider),
            payments_url=env.get(
                "PAYMENT_SIM_PAYMENTS_URL", f"http://127.0.0.1:{env.get('PAYMENTS_PORT', '8106')}"
            ),
            pay_after_s=float(env.get("PAYMENT_SIM_PAY_AFTER_S", "1.0")),
            duplicate_share=float(env.get("PAYMENT_SIM_DUPLICATE_SHARE", "0.2")),
        )


def _secret(configured: str | None, provider: str) -> str:
    if configured:
        return configured
    if not is_development():
        return require_secret("PAYMENT_SIM_SECRET", None)
    # The same generated secret as payments' development fallback (services/payments/config.py).
    folder = Path(os.environ.get("MOTCUA_DATA_DIR") or Path(__file__).resolve().parents[2] / ".data")
    return dev_secret(folder, f"payment-callback-{provider.upper()}")


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The platform's side of the protocol, written on its own (it never imports motcua's verifier)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Payment-Timestamp": ts,
        "X-Payment-Signature": f"sha256={mac}",
    }


@dataclass
class Transaction:
    key: str
    transaction_id: str
    reference: str
    amount_vnd: int
    status: str = "pending"
    calls: int = 1
    callbacks: list[int] = field(default_factory=list)  # the HTTP statuses motcua answered


def create_app(
    config: PaySimConfig | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    config = config or PaySimConfig.from_env()
    rng = random.Random(config.seed)  # noqa: S311 - a simulation, not security
    transactions: dict[str, Transaction] = {}
    tasks: set[asyncio.Task[None]] = set()
    client = httpx.AsyncClient(base_url=config.payments_url, transport=transport, timeout=5.0)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()

    app = FastAPI(title="payment platform simulator", lifespan=lifespan)

    async def post_callback(t: Transaction, body: bytes) -> None:
        for attempt in range(config.callback_attempts):
            try:
                response = await client.post(
                    f"/webhooks/payments/{config.provider.lower()}",
                    content=body,
                    headers=signed_headers(config.secret, body),
                )
                t.callbacks.append(response.status_code)
                if response.status_code < 500:
                    return
            except httpx.HTTPError:
                t.callbacks.append(0)
            await asyncio.sleep(0.2 * 2**attempt)

    async def pay_later(t: Transaction) -> None:
        await asyncio.sleep(config.pay_after_s)
        t.status = "paid"
        body = json.dumps(
            {
                "transaction_id": t.transaction_id,
                "reference": t.reference,
                "amount_vnd": t.amount_vnd,
                "status": "paid",
                "paid_at": datetime.now(UTC).isoformat(),
                "channel": "QR",
            }
        ).encode()
        await post_callback(t, body)
        if rng.random() < config.duplicate_share:
            await post_callback(t, body)  # the same callback again, as platforms do

    @app.post("/payments", status_code=201)
    async def open_payment(body: dict[str, Any], idempotency_key: str | None = Header(default=None)) -> Any:
        if not idempotency_key:
            return JSONResponse({"error": "Idempotency-Key header required"}, status_code=400)
        known = transactions.get(idempotency_key)
        if known is not None:
            known.calls += 1
            return JSONResponse(_view(known), status_code=200)
        t = Transaction(
            key=idempotency_key,
            transaction_id=f"PG{uuid.uuid4().hex[:16].upper()}",
            reference=str(body.get("reference", "")),
            amount_vnd=int(body.get("amount_vnd", 0)),
        )
        transactions[idempotency_key] = t
        task = asyncio.create_task(pay_later(t))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return _view(t)

    @app.get("/payments")
    async def listing() -> list[dict[str, Any]]:
        return [asdict(t) for t in transactions.values()]

    return app


def _view(t: Transaction) -> dict[str, Any]:
    return {
        "transaction_id": t.transaction_id,
        "pay_url": f"https://pay.example.invalid/checkout/{t.transaction_id}",
        "status": t.status,
    }
