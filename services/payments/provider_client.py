"""The adapter to a payment platform's checkout API (the national payment platform, PayGov-like).

A checkout carries ``Idempotency-Key`` = the charge id: asking twice for the same charge gets the
same transaction and payment link, so a timed-out call may be retried without a second payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx


@dataclass(frozen=True)
class Checkout:
    transaction_id: str
    pay_url: str


class CheckoutUnavailable(Exception):
    """The platform could not be reached or failed: the citizen may try again later."""


class HttpPaymentProvider:
    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def checkout(self, charge_id: UUID, request: dict[str, Any]) -> Checkout:
        try:
            response = await self._client.post(
                "/payments", json=request, headers={"Idempotency-Key": str(charge_id)}
            )
        except httpx.HTTPError as exc:
            raise CheckoutUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code not in (200, 201):
            raise CheckoutUnavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
            return Checkout(transaction_id=str(body["transaction_id"]), pay_url=str(body["pay_url"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckoutUnavailable("unreadable checkout answer") from exc

    async def aclose(self) -> None:
        await self._client.aclose()
