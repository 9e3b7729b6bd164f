"""``POST /webhooks/payments/{provider}``: the payment platform's signed result of a transaction.

Order of checks, each with its own refusal: a known provider (404), a genuine and fresh
signature (401, two secrets during a rotation), a readable callback (422), a known charge (404),
the amount owed (422 ``amount_mismatch``: the charge's amount, which for a fee is the catalogue's).
The transaction id is the idempotency key: the same callback again answers 200 and changes
nothing, the same id with other content answers 409 (the platform's bug). The receipt and the
payment are written under one PostgreSQL transaction (the second waits on the key); a process
that dies between the two is retried by the platform and the charge ignores a transaction it has.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.payments.api import already_paid, amount_mismatch
from services.payments.application import PaymentsApplication
from services.payments.config import PaymentsConfig
from services.payments.domain import AlreadyPaid, AmountMismatch
from shared.host.business_time import BusinessDateTime
from shared.host.errors import ApiError
from shared.host.input_guard import nfc_json
from shared.host.openapi_errors import errors
from shared.host.signed_webhooks import verify_signed

SIGNATURE_HEADER = "X-Payment-Signature"
TIMESTAMP_HEADER = "X-Payment-Timestamp"
MAX_BODY_BYTES = 16 * 1024


class PaymentCallback(BaseModel):
    model_config = ConfigDict(extra="ignore")  # platforms add fields of their own

    transaction_id: str = Field(min_length=1, max_length=128)
    reference: UUID = Field(description="the charge id given at checkout")
    amount_vnd: int = Field(ge=0)
    status: Literal["paid", "failed"]
    paid_at: BusinessDateTime


def build_callback_router(app: PaymentsApplication, config: PaymentsConfig, pool: Any) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/webhooks/payments/{provider}",
        summary="Kết quả giao dịch từ nền tảng thanh toán",
        responses=errors(401, 409, s401="The signature is missing, wrong or stale (HMAC of the body)"),
    )
    async def receive(provider: str, request: Request) -> dict[str, Any]:
        code = provider.upper()
        secrets = config.secrets.get(code)
        if not secrets:
            raise ApiError(
                404, "unknown_provider", f"Không có nền tảng thanh toán {provider}", f"No provider {provider}"
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, "body_too_large", "Nội dung quá lớn", "The body is too large")
        verify_signed(
            secret=secrets,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            body=body,
            now=time.time(),
            tolerance_s=config.tolerance_s,
            signature_header=SIGNATURE_HEADER,
            timestamp_header=TIMESTAMP_HEADER,
        )
        callback = _parse(body)
        content = hashlib.sha256(callback.model_dump_json().encode()).hexdigest()
        try:
            return await _apply(app, pool, code, callback, content)
        except (asyncpg.PostgresError, OSError) as exc:
            raise ApiError(
                503, "try_again", "Hệ thống tạm thời chưa ghi nhận được, vui lòng gửi lại", "Retry later"
            ) from exc

    return router


async def _apply(
    app: PaymentsApplication, pool: Any, provider: str, callback: PaymentCallback, content: str
) -> dict[str, Any]:
    tx = callback.transaction_id
    conn: asyncpg.Connection
    async with pool().acquire() as conn, conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO payments.callback_receipts"
            " (provider, transaction_id, charge_id, status, content_hash)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
            provider,
            tx,
            callback.reference,
            callback.status,
            content,
        )
        if not fresh:
            held = await conn.fetchval(
                "SELECT content_hash FROM payments.callback_receipts"
                " WHERE provider = $1 AND transaction_id = $2",
                provider,
                tx,
            )
            if held != content:
                raise ApiError(
                    409,
                    "transaction_reused",
                    f"Mã giao dịch {tx} đã được dùng cho một thông báo có nội dung khác",
                    f"Transaction id {tx} was already used for a callback with different content",
                    transaction_id=tx,
                )
            return {"outcome": "duplicate", "charge_id": str(callback.reference), "transaction_id": tx}
        charge = await asyncio.to_thread(app.find, callback.reference)
        if charge is None:  # raising rolls the receipt back: a corrected callback may come
            raise ApiError(
                404,
                "unknown_charge",
                f"Không có khoản phải nộp {callback.reference}",
                f"No charge {callback.reference}",
            )
        if callback.status != "paid":
            return {"outcome": "not_paid", "charge_id": str(charge.id), "transaction_id": tx}
        try:
            changed = await asyncio.to_thread(
                app.pay,
                charge.id,
                method="online",
                provider=provider,
                transaction_id=tx,
                amount_vnd=callback.amount_vnd,
                at=callback.paid_at,
                actor={"user_id": provider, "role": "payment_platform", "agency": provider, "channel": 2},
            )
        except AmountMismatch as exc:
            raise amount_mismatch(exc) from None
        except AlreadyPaid as exc:
            raise already_paid(exc) from None
    return {
        "outcome": "applied" if changed else "no_change",
        "charge_id": str(charge.id),
        "transaction_id": tx,
    }


def _parse(body: bytes) -> PaymentCallback:
    try:
        return PaymentCallback.model_validate_json(nfc_json(body))
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "<body>", "problem": e["msg"]}
            for e in exc.errors()
        ]
        raise ApiError(
            422,
            "invalid_callback",
            "Thông báo thanh toán không hợp lệ",
            "The callback is not valid",
            problems=problems,
        ) from None
