"""Charges and their payment. No I/O.

A charge is one amount a dossier owes (its fee at receipt, or a financial obligation requested
during processing). Its id is derived from the dossier and its place among the dossier's charges,
so opening it twice (a redelivered event, a retried request) finds the one already open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

CHARGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/charge")


def charge_id_for(dossier_code: str, kind: str, number: int) -> UUID:
    return uuid5(CHARGE_NAMESPACE, f"{dossier_code}:{kind}:{number}")


class AmountMismatch(Exception):
    def __init__(self, expected: int, given: int) -> None:
        super().__init__(f"expected {expected} VND, given {given} VND")
        self.expected = expected
        self.given = given


class AlreadyPaid(Exception):
    """Paid before by another transaction: a second payment is a refund case, not ours to book."""

    def __init__(self, transaction_id: str) -> None:
        super().__init__(transaction_id)
        self.transaction_id = transaction_id


class Charge(Aggregate):
    class Opened(Aggregate.Created):
        dossier_id: UUID
        dossier_code: str
        kind: str
        number: int
        amount_vnd: int
        description: str
        department_code: str
        receiving_point: str
        occurred_at: datetime
        actor: dict[str, Any]

    @staticmethod
    def create_id(dossier_code: str, kind: str, number: int, **_: Any) -> UUID:
        return charge_id_for(dossier_code, kind, number)

    @event(Opened)
    def __init__(
        self,
        *,
        dossier_id: UUID,
        dossier_code: str,
        kind: str,
        number: int,
        amount_vnd: int,
        description: str,
        department_code: str,
        receiving_point: str,
        occurred_at: datetime,
        actor: dict[str, Any],
    ) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.kind = kind
        self.number = number
        self.amount_vnd = amount_vnd
        self.description = description
        self.department_code = department_code
        self.receiving_point = receiving_point
        self.opened_at = occurred_at
        self.actor = actor
        self.paid_at: datetime | None = None
        self.method: str | None = None
        self.provider: str | None = None
        self.transaction_id: str | None = None

    @property
    def paid(self) -> bool:
        return self.paid_at is not None

    def pay(
        self,
        *,
        method: str,
        provider: str | None,
        transaction_id: str,
        amount_vnd: int,
        at: datetime,
        actor: dict[str, Any],
    ) -> bool:
        """Records the payment once; the same transaction again changes nothing (False).

        A charge is paid in full or not at all: a partial or excess amount is refused, since the
        platform then owes the citizen a refund and the desk a correction, neither of which is a
        payment of this charge.
        """
        if self.paid:
            if self.transaction_id == transaction_id:
                return False
            raise AlreadyPaid(self.transaction_id or "")
        if amount_vnd != self.amount_vnd:
            raise AmountMismatch(self.amount_vnd, amount_vnd)
        self._paid(
            method=method,
            provider=provider,
            transaction_id=transaction_id,
            amount_vnd=amount_vnd,
            at=at,
            actor=actor,
        )
        return True

    @event("Paid")
    def _paid(
        self,
        method: str,
        provider: str | None,
        transaction_id: str,
        amount_vnd: int,
        at: datetime,
        actor: dict[str, Any],
    ) -> None:
        self.paid_at = at
        self.method = method
        self.provider = provider
        self.transaction_id = transaction_id


PaidEvent: Any = Charge.Paid  # type: ignore[attr-defined]
