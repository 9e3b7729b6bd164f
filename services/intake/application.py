"""Intake's commands: load, act, save (the service layer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Recording

from services.intake.domain import Dossier, dossier_id_for


class DossierNotFound(Exception):
    pass


class IntakeApplication(Application[Any]):
    name = "intake"

    def register_many(self, registrations: list[dict[str, Any]]) -> list[Dossier | Exception]:
        """Registers many dossiers in one transaction (group commit), in the given order.

        The events table is locked for every insert (gap-free notification ids), so one
        transaction for many dossiers is what lets intake take more than a few hundred a
        second. A registration the domain rejects gets its exception back and is left out;
        if the save itself fails, every dossier in it fails together and none is stored.
        """
        return self.register_many_recorded(registrations)[0]

    def register_many_recorded(
        self, registrations: list[dict[str, Any]]
    ) -> tuple[list[Dossier | Exception], list[Recording[UUID]]]:
        """``register_many``, and the recordings of the events saved (their notification ids)."""
        results: list[Dossier | Exception] = []
        for fields in registrations:
            try:
                results.append(Dossier(**fields))
            except Exception as exc:  # noqa: BLE001 - handed back to its own request
                results.append(exc)
        recordings = self.save(*(r for r in results if isinstance(r, Dossier)))
        return results, recordings

    def complete(
        self,
        code: str,
        *,
        terms: dict[str, Any],
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> Dossier:
        dossier = self.dossier(code)
        dossier.complete(terms=terms, occurred_at=occurred_at, backdate_reason=backdate_reason, actor=actor)
        self.save(dossier)
        return dossier

    def check(self, code: str, **fields: Any) -> Dossier:
        """The desk's verdict on a dossier filed online (``Dossier.check``)."""
        dossier = self.dossier(code)
        dossier.check(**fields)
        self.save(dossier)
        return dossier

    def complete_online(self, code: str, **fields: Any) -> Dossier:
        """The citizen's online completion of a filing the desk asked to complete."""
        dossier = self.dossier(code)
        dossier.complete_online(**fields)
        self.save(dossier)
        return dossier

    def record_erasure(self, code: str, **fields: Any) -> Dossier:
        dossier = self.dossier(code)
        dossier.record_erasure(**fields)
        self.save(dossier)
        return dossier

    def dossier(self, code: str) -> Dossier:
        try:
            found: Dossier = self.repository.get(dossier_id_for(code))
        except AggregateNotFoundError as exc:
            raise DossierNotFound(code) from exc
        return found

    def history(self, code: str) -> list[Any]:
        return list(self.events.get(dossier_id_for(code)))

    def dossier_and_history(self, code: str) -> tuple[Dossier, list[Any]]:
        """The dossier and every event it was folded from, read once."""
        events = self.history(code)
        dossier: Dossier | None = None
        for e in events:
            dossier = e.mutate(dossier)
        if dossier is None:
            raise DossierNotFound(code)
        return dossier, events
