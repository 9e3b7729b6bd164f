"""Payments' commands: load, act, save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from services.payments.domain import Charge, charge_id_for
from shared.eventlog.aggregates import act_and_save, find

# A callback and a desk payment on one charge conflict on its version; the loser reloads and
# finds it paid, which every command handles.
MAX_OBLIGATIONS = 50  # per dossier: a bound on the listing's probes


class ChargeNotFound(Exception):
    pass


class PaymentsApplication(Application[Any]):
    name = "payments"

    def open_charge(self, **fields: Any) -> bool:
        """Opens it once: a redelivered receipt or a retried request finds it open."""
        if self.find(charge_id_for(fields["dossier_code"], fields["kind"], fields["number"])) is not None:
            return False
        try:
            self.save(Charge(**fields))
        except IntegrityError:
            return False
        return True

    def pay(self, charge_id: UUID, **payment: Any) -> bool:
        return self._act(charge_id, lambda c: c.pay(**payment))

    def _act(self, charge_id: UUID, action: Callable[[Charge], bool]) -> bool:
        return act_and_save(self, lambda: self.charge(charge_id), action)

    def find(self, charge_id: UUID) -> Charge | None:
        found: Charge | None = find(self, charge_id)
        return found

    def charge(self, charge_id: UUID) -> Charge:
        found = self.find(charge_id)
        if found is None:
            raise ChargeNotFound(str(charge_id))
        return found

    def charges_of(self, dossier_code: str) -> list[Charge]:
        found = [c for c in [self.find(charge_id_for(dossier_code, "fee", 1))] if c is not None]
        for number in range(1, MAX_OBLIGATIONS + 1):
            obligation = self.find(charge_id_for(dossier_code, "obligation", number))
            if obligation is None:
                break
            found.append(obligation)
        return found

    def next_obligation(self, dossier_code: str) -> int:
        return 1 + sum(1 for c in self.charges_of(dossier_code) if c.kind == "obligation")
