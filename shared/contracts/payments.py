"""Events published by the payments service (phí, lệ phí and financial obligations).

A *charge* is one amount a dossier owes: the fee and charges of its procedure at receipt
(``kind`` ``fee``, the catalogue's amount), or a financial obligation the department requests
during processing (``kind`` ``obligation``: taxes, land use levies …; national status 6 while it
is unpaid). A charge is paid once, online through the payment platform's signed callback or in
cash / by card at the desk.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import EventBase

ChargeKind = Literal["fee", "obligation"]
PaymentMethod = Literal["online", "desk"]


class ChargeEvent(EventBase):
    charge_id: UUID
    kind: ChargeKind
    number: int = Field(ge=1, description="1 for the fee; obligations of one dossier count 1, 2, …")
    amount_vnd: int = Field(ge=0)
    department_code: str = Field(description="the competent agency, for the figures")


class ChargeOpened(ChargeEvent):
    """A dossier owes this amount: its fee at receipt, or an obligation requested in processing."""

    event_type: Literal["payments.charge_opened.v1"] = "payments.charge_opened.v1"
    description: str = Field(max_length=1000)


class PaymentReceived(ChargeEvent):
    """The charge is paid in full: ``online`` through the payment platform, or at the ``desk``."""

    event_type: Literal["payments.payment_received.v1"] = "payments.payment_received.v1"
    method: PaymentMethod
    provider: str | None = Field(default=None, description="online: the payment platform's code")
    transaction_id: str = Field(description="the platform's transaction id, or the desk's receipt number")


PaymentsEvent = ChargeOpened | PaymentReceived
