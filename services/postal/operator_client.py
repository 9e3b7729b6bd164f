"""The adapter to a postal operator's booking API.

Every call carries ``Idempotency-Key`` = the shipment id: an operator that already booked that
key answers with the same booking, so a call that timed out after the operator acted can be
retried without booking twice. Transient failures (timeouts, connection errors, 5xx, 429) are
retried with exponential back-off; a 4xx is the operator refusing the booking for good.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Booking:
    tracking_number: str
    fee_vnd: int


class BookingUnavailable(Exception):
    """The operator could not be reached or failed; try again later."""


class BookingRejected(Exception):
    """The operator refused the booking (e.g. an address it does not serve)."""


class OperatorClient(Protocol):
    async def book(self, shipment_id: UUID, request: dict[str, Any]) -> Booking: ...


class HttpOperatorClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        attempts: int = 4,
        backoff_s: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)
        self.attempts = attempts
        self.backoff_s = backoff_s

    async def book(self, shipment_id: UUID, request: dict[str, Any]) -> Booking:
        last = "no attempt made"
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = await self._client.post(
                    "/bookings", json=request, headers={"Idempotency-Key": str(shipment_id)}
                )
            except httpx.HTTPError as exc:  # timeouts and connection errors alike
                last = f"{type(exc).__name__}: {exc}"
                log.info("booking %s attempt %d failed: %s", shipment_id, attempt + 1, last)
                continue
            if response.status_code in (200, 201):
                return _booking(response)
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            raise BookingRejected(f"HTTP {response.status_code}: {response.text[:500]}")
        raise BookingUnavailable(last)

    async def aclose(self) -> None:
        await self._client.aclose()


def _booking(response: httpx.Response) -> Booking:
    try:
        body = response.json()
        return Booking(tracking_number=str(body["tracking_number"]), fee_vnd=int(body.get("fee_vnd", 0)))
    except (ValueError, KeyError, TypeError) as exc:
        raise BookingUnavailable(f"unreadable booking answer: {response.text[:200]}") from exc
