"""The booking loop: books every open shipment with its operator, off the consumer's path.

A handler only *opens* a shipment (fast, idempotent); this loop, started with the service,
books it. An operator that is down therefore never holds up the event consumers: the shipment
waits as ``opened`` and is retried with growing pauses until the operator answers. A refused
booking fails the shipment, which sends a result back to the desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.postal.application import PostalApplication
from services.postal.domain import Shipment
from services.postal.operator_client import BookingRejected, BookingUnavailable, OperatorClient
from services.postal.shipments_view import ShipmentsView
from shared.pii import KeyRing, SealBroken, is_sealed

log = logging.getLogger(__name__)
MAX_PAUSE_S = 60.0
CONCURRENT_BOOKINGS = 8


class BookingLoop:
    def __init__(
        self,
        app: PostalApplication,
        shipments: ShipmentsView,
        clients: dict[str, OperatorClient],
        pool: Any,
        keyring: KeyRing,
        *,
        idle_s: float = 0.5,
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.shipments = shipments
        self.clients = clients
        self._pool = pool
        self.idle_s = idle_s
        self._wake = asyncio.Event()
        self._not_before: dict[UUID, tuple[float, int]] = {}  # retry pause per shipment
        self._slots = asyncio.Semaphore(CONCURRENT_BOOKINGS)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.book_open()
            except Exception:  # any outage (asyncpg, the event store's psycopg, NATS): never stop
                log.exception("booking round failed; next round retries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_s)

    async def book_open(self) -> None:
        await self.shipments.catch_up()
        rows = await self._pool().fetch(
            "SELECT shipment_id FROM postal.shipments WHERE status = 'opened' ORDER BY opened_at LIMIT 100"
        )
        now = time.monotonic()
        due = [r["shipment_id"] for r in rows if self._not_before.get(r["shipment_id"], (0.0, 0))[0] <= now]
        await asyncio.gather(*(self._book_one(shipment_id) for shipment_id in due))
        if due:
            await self.shipments.catch_up()

    async def _book_one(self, shipment_id: UUID) -> None:
        async with self._slots:
            shipment = await asyncio.to_thread(self.app.shipment, shipment_id)
            if shipment.status != "opened":
                return
            client = self.clients.get(shipment.operator)
            try:
                if client is None:
                    raise BookingRejected(f"no operator {shipment.operator} configured")
                request = await self._in_clear(booking_request(shipment))
                booking = await client.book(shipment_id, request)
            except BookingUnavailable as exc:
                self._pause(shipment_id, str(exc))
                return
            except BookingRejected as exc:
                await asyncio.to_thread(
                    self.app.track,
                    shipment_id,
                    notice_id="booking-rejected",
                    status="failed",
                    at=datetime.now(UTC),
                    reason=f"bưu chính từ chối / booking refused: {exc}",
                )
                return
            await asyncio.to_thread(
                self.app.record_booking,
                shipment_id,
                tracking_number=booking.tracking_number,
                fee_vnd=booking.fee_vnd,
                at=datetime.now(UTC),
            )
            self._not_before.pop(shipment_id, None)

    async def _in_clear(self, request: dict[str, Any]) -> dict[str, Any]:
        """The operator needs the addresses in clear: opened here, at the edge, and only here."""
        for side in ("sender", "recipient"):
            if is_sealed(request[side]):
                try:
                    person = await self.keyring.open(self._pool(), request[side])
                except SealBroken as exc:
                    raise BookingRejected("the address does not authenticate") from exc
                if person is None:
                    raise BookingRejected("dữ liệu cá nhân đã bị xóa / the personal data was erased")
                request[side] = person
        return request

    def _pause(self, shipment_id: UUID, why: str) -> None:
        _, failures = self._not_before.get(shipment_id, (0.0, 0))
        pause = min(MAX_PAUSE_S, 0.5 * 2**failures)
        self._not_before[shipment_id] = (time.monotonic() + pause, failures + 1)
        log.warning("booking %s unavailable (%s); retry in %.1fs", shipment_id, why, pause)


def booking_request(shipment: Shipment) -> dict[str, Any]:
    """What the operator needs to carry the parcel: addresses and a reference, nothing more."""
    return {
        "reference": str(shipment.id),
        "kind": shipment.kind,
        "dossier_code": shipment.dossier_code,
        "sender": shipment.sender,
        "recipient": shipment.recipient,
    }
