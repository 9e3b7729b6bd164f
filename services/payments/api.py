"""Payments' HTTP API: a dossier's charges, obligations requested, payment at the desk or online."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from services.payments.application import ChargeNotFound, PaymentsApplication
from services.payments.config import PaymentsConfig
from services.payments.domain import AlreadyPaid, AmountMismatch, Charge
from services.payments.provider_client import CheckoutUnavailable, HttpPaymentProvider
from shared.auth.guard import Caller, acting_caller, authorize_dossier, dossier_not_found
from shared.contracts.base import Text
from shared.host.business_time import CommandMeta, business_time
from shared.host.errors import ApiError, not_found
from shared.host.openapi_errors import errors
from shared.host.rate_limit import RateLimiter

TrackingSecret = Annotated[
    str | None, Header(max_length=64, description="the tracking secret printed on the receipt")
]
MAX_AMOUNT_VND = 100_000_000_000  # a hundred billion đồng: anything above is a typing error


class ObligationRequest(CommandMeta):
    """Yêu cầu thực hiện nghĩa vụ tài chính: what the citizen must pay before the result."""

    amount_vnd: int = Field(gt=0, le=MAX_AMOUNT_VND)
    description: Text = Field(min_length=1, max_length=1000, examples=["Lệ phí trước bạ"])


class DeskPayment(BaseModel):
    """Paid at the desk (cash or card): the desk's receipt number and the amount taken."""

    model_config = ConfigDict(extra="forbid")

    amount_vnd: int = Field(ge=0, le=MAX_AMOUNT_VND)
    receipt_number: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")


def charge_view(c: Charge) -> dict[str, Any]:
    return {
        "charge_id": str(c.id),
        "dossier_code": c.dossier_code,
        "kind": c.kind,
        "number": c.number,
        "amount_vnd": c.amount_vnd,
        "description": c.description,
        "opened_at": c.opened_at.isoformat(),
        "paid": c.paid,
        "paid_at": c.paid_at.isoformat() if c.paid_at else None,
        "method": c.method,
        "provider": c.provider,
        "transaction_id": c.transaction_id,
    }


def citizen_view(c: Charge) -> dict[str, Any]:
    """What the tracking page shows: no officer, no transaction id."""
    return {
        "charge_id": str(c.id),
        "kind": c.kind,
        "amount_vnd": c.amount_vnd,
        "description": c.description,
        "paid": c.paid,
        "paid_at": c.paid_at.isoformat() if c.paid_at else None,
        "method": c.method,
    }


def amount_mismatch(exc: AmountMismatch) -> ApiError:
    return ApiError(
        422,
        "amount_mismatch",
        f"Số tiền {exc.given:,} đồng không khớp số phải nộp {exc.expected:,} đồng",
        f"The amount {exc.given} VND does not match the {exc.expected} VND owed",
        expected_vnd=exc.expected,
        given_vnd=exc.given,
    )


def already_paid(exc: AlreadyPaid) -> ApiError:
    return ApiError(
        409,
        "charge_already_paid",
        "Khoản này đã được thanh toán bằng một giao dịch khác",
        "The charge was already paid by another transaction",
        transaction_id=exc.transaction_id,
    )


def build_router(
    app: PaymentsApplication,
    config: PaymentsConfig,
    pool: Callable[[], asyncpg.Pool],
    providers: dict[str, HttpPaymentProvider],
) -> APIRouter:
    router = APIRouter(tags=["payments"])
    tracking_limit = RateLimiter(per_minute=30, burst=10)

    async def dossier(code: str, caller: Caller) -> asyncpg.Record:
        row = await pool().fetchrow("SELECT * FROM payments.dossiers WHERE dossier_code = $1", code)
        if row is None:
            raise dossier_not_found(code)
        authorize_dossier(caller, code, departments=(row["department_code"],), desk=row["receiving_point"])
        return row

    async def charge(charge_id: UUID, caller: Caller) -> Charge:
        try:
            found = await asyncio.to_thread(app.charge, charge_id)
        except ChargeNotFound:
            raise not_found("khoản phải nộp", "Charge", str(charge_id)) from None
        if not caller.may_see(departments=(found.department_code,), desk=found.receiving_point):
            raise not_found("khoản phải nộp", "Charge", str(charge_id))
        return found

    @router.get("/dossiers/{code}/charges", summary="Các khoản phí, lệ phí, nghĩa vụ tài chính của hồ sơ")
    async def charges(code: str) -> list[dict[str, Any]]:
        caller = acting_caller()
        await dossier(code, caller)
        return [charge_view(c) for c in await asyncio.to_thread(app.charges_of, code)]

    @router.post(
        "/dossiers/{code}/obligations",
        status_code=201,
        summary="Yêu cầu thực hiện nghĩa vụ tài chính (trạng thái 6)",
    )
    async def request_obligation(code: str, body: ObligationRequest) -> dict[str, Any]:
        caller = acting_caller()
        row = await dossier(code, caller)
        at = business_time(body.occurred_at, body.backdate_reason)
        for _ in range(5):  # two officers at once: the loser takes the next number
            number = await asyncio.to_thread(app.next_obligation, code)
            opened = await asyncio.to_thread(
                app.open_charge,
                dossier_id=UUID(str(row["dossier_id"])),  # asyncpg's own UUID type is not storable
                dossier_code=code,
                kind="obligation",
                number=number,
                amount_vnd=body.amount_vnd,
                description=body.description,
                department_code=row["department_code"],
                receiving_point=row["receiving_point"],
                occurred_at=at,
                actor=caller.actor(1),
            )
            if opened:
                charges = await asyncio.to_thread(app.charges_of, code)
                return charge_view(next(c for c in charges if c.kind == "obligation" and c.number == number))
        raise ApiError(503, "try_again", "Vui lòng thử lại", "Retry later")

    @router.post(
        "/charges/{charge_id}/desk-payment",
        summary="Thu phí, lệ phí, nghĩa vụ tài chính tại quầy",
        responses=errors(409, s409="Already paid by another transaction"),
    )
    async def pay_at_desk(charge_id: UUID, body: DeskPayment) -> dict[str, Any]:
        caller = acting_caller()
        await charge(charge_id, caller)
        try:
            changed = await asyncio.to_thread(
                app.pay,
                charge_id,
                method="desk",
                provider=None,
                transaction_id=f"desk:{body.receipt_number}",
                amount_vnd=body.amount_vnd,
                at=datetime.now(UTC),
                actor=caller.actor(1),
            )
        except AmountMismatch as exc:
            raise amount_mismatch(exc) from None
        except AlreadyPaid as exc:
            raise already_paid(exc) from None
        view = charge_view(await asyncio.to_thread(app.charge, charge_id))
        return {"outcome": "applied" if changed else "duplicate", **view}

    @router.post(
        "/charges/{charge_id}/checkout",
        summary="Tạo giao dịch thanh toán trực tuyến (đường dẫn thanh toán cho người dân)",
        responses=errors(409, s409="Already paid"),
    )
    async def checkout(charge_id: UUID) -> dict[str, Any]:
        caller = acting_caller()
        return await open_checkout(await charge(charge_id, caller))

    async def tracked(code: str, request: Request, secret: str | None) -> list[Charge]:
        """The dossier's charges, for whoever holds its tracking secret (the citizen, no account)."""
        tracking_limit.check(request.client.host if request.client else "unknown")
        row = await pool().fetchrow(
            "SELECT tracking_hash FROM payments.dossiers WHERE dossier_code = $1", code
        )
        stored = row["tracking_hash"] if row else None
        given = hashlib.sha256((secret or "").encode()).hexdigest()
        if not secret or not stored or not hmac.compare_digest(given, stored):
            raise ApiError(
                404,
                "tracking_not_found",
                "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này",
                "No dossier with this code and tracking secret",
            )
        return await asyncio.to_thread(app.charges_of, code)

    @router.get("/track/{code}/charges", summary="Các khoản phải nộp của hồ sơ (trang tra cứu của người dân)")
    async def tracked_charges(code: str, request: Request, x_tracking_secret: TrackingSecret = None) -> Any:
        return [citizen_view(c) for c in await tracked(code, request, x_tracking_secret)]

    @router.post(
        "/track/{code}/charges/{charge_id}/checkout",
        summary="Người dân thanh toán trực tuyến từ trang tra cứu",
        responses=errors(409, s409="Already paid"),
    )
    async def tracked_checkout(
        code: str, charge_id: UUID, request: Request, x_tracking_secret: TrackingSecret = None
    ) -> dict[str, Any]:
        found = next((c for c in await tracked(code, request, x_tracking_secret) if c.id == charge_id), None)
        if found is None:
            raise not_found("khoản phải nộp", "Charge", str(charge_id))
        return await open_checkout(found)

    async def open_checkout(found: Charge) -> dict[str, Any]:
        if found.paid:
            raise ApiError(409, "charge_already_paid", "Khoản này đã được thanh toán", "Already paid")
        provider = config.default_provider
        try:
            made = await providers[provider].checkout(
                found.id,
                {
                    "reference": str(found.id),
                    "amount_vnd": found.amount_vnd,
                    "description": f"{found.dossier_code}: {found.description}",
                },
            )
        except CheckoutUnavailable as exc:
            raise ApiError(
                503,
                "payment_platform_unavailable",
                "Cổng thanh toán tạm thời không phản hồi, vui lòng thử lại",
                f"The payment platform is unavailable ({exc}); retry later",
            ) from exc
        return {"provider": provider, "transaction_id": made.transaction_id, "pay_url": made.pay_url}

    return router
