"""Shipments through the public postal service (bưu chính công ích, Decision 45/2016). No I/O.

A shipment is either a *pickup* (the postal employee collects a dossier at the citizen's
address and brings it to the centre) or a *delivery* (a result goes from the centre to the
citizen). Its addresses are personal data: they live in ``sender`` / ``recipient`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.postal.status import FAILURES, LABELS_VI, RANK, moves_forward

SHIPMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/shipment")


def shipment_id_for(dossier_code: str, kind: str) -> UUID:
    """One pickup and one delivery per dossier (or pickup reference) at most: the id says which."""
    return uuid5(SHIPMENT_NAMESPACE, f"{dossier_code}:{kind}")


class Shipment(Aggregate):
    """A pickup of a dossier from the citizen, or a delivery of a result to the citizen."""

    class Opened(Aggregate.Created):
        """Version 2 added the addresses and the procedure; version 1 events had none. Version 3
        added the back-date reason of the step that opened it (a result-ready entered late)."""

        class_version = 3
        dossier_id: UUID
        dossier_code: str
        kind: str
        operator: str
        occurred_at: datetime
        actor: dict[str, Any]
        sender: dict[str, Any] | None = None
        recipient: dict[str, Any] | None = None
        procedure_code: str | None = None
        backdate_reason: str | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("sender", None)
            state.setdefault("recipient", None)
            state.setdefault("procedure_code", None)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.setdefault("backdate_reason", None)

    @staticmethod
    def create_id(dossier_code: str, kind: str, **_: Any) -> UUID:
        return shipment_id_for(dossier_code, kind)

    @event(Opened)
    def __init__(
        self,
        *,
        dossier_id: UUID,
        dossier_code: str,
        kind: str,
        operator: str,
        occurred_at: datetime,
        actor: dict[str, Any],
        sender: dict[str, Any] | None,
        recipient: dict[str, Any] | None,
        procedure_code: str | None,
        backdate_reason: str | None,
    ) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.kind = kind
        self.operator = operator
        self.sender = sender
        self.recipient = recipient
        self.procedure_code = procedure_code
        self.opened_at = occurred_at
        self.status = "opened"
        self.tracking_number: str | None = None
        self.fee_vnd = 0
        self.booked_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.delivered_to: str | None = None
        self.failure_reason: str | None = None
        self.notice_ids: list[str] = []
        self.history: list[dict[str, Any]] = [_step("opened", occurred_at)]

    # -- booking ---------------------------------------------------------------------------
    def book(self, *, tracking_number: str, fee_vnd: int, at: datetime) -> bool:
        """Records the operator's booking once; a second booking of the same shipment is a no-op."""
        if self.status != "opened":
            return False
        self._booked(tracking_number=tracking_number, fee_vnd=fee_vnd, at=at)
        return True

    @event("Booked")
    def _booked(self, tracking_number: str, fee_vnd: int, at: datetime) -> None:
        self.tracking_number = tracking_number
        self.fee_vnd = fee_vnd
        self.booked_at = at
        self.status = "booked"
        self.history.append(_step("booked", at, tracking_number=tracking_number, fee_vnd=fee_vnd))

    # -- tracking --------------------------------------------------------------------------
    def track(
        self,
        *,
        notice_id: str,
        status: str,
        at: datetime,
        delivered_to: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Applies one tracking notice; returns whether anything was recorded.

        A notice seen before changes nothing. A notice that arrives after a later one is kept in
        the history (the control sheet shows every step) but does not move the status back.
        """
        if notice_id in self.notice_ids or status == self.status:
            return False
        self._tracked(
            notice_id=notice_id,
            status=status,
            at=at,
            delivered_to=delivered_to,
            reason=reason,
            moves=moves_forward(self.status, status),
        )
        return True

    @event("Tracked")
    def _tracked(
        self,
        notice_id: str,
        status: str,
        at: datetime,
        delivered_to: str | None,
        reason: str | None,
        moves: bool,
    ) -> None:
        self.notice_ids.append(notice_id)
        self.history.append(
            _step(status, at, delivered_to=delivered_to, reason=reason, late=not moves or None)
        )
        if not moves:
            return
        self.status = status
        if status == "delivered":
            self.delivered_to = delivered_to
            self.finished_at = at
        elif status in FAILURES:
            self.failure_reason = self.failure_reason or reason  # why it first failed
            self.finished_at = self.finished_at or at

    @property
    def rank(self) -> int:
        return RANK[self.status]


# The library makes these classes from the decorated methods; named here for isinstance checks.
BookedEvent: Any = Shipment.Booked  # type: ignore[attr-defined]
TrackedEvent: Any = Shipment.Tracked  # type: ignore[attr-defined]


def _step(status: str, at: datetime, **details: Any) -> dict[str, Any]:
    step = {"status": status, "label_vi": LABELS_VI[status], "at": at.isoformat()}
    step.update({k: v for k, v in details.items() if v is not None})
    return step
