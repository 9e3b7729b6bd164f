"""Reading the source of truth: each service's PostgreSQL event store, as published contracts.

The stores, not JetStream, are authoritative (DESIGN §2): JetStream may lose acknowledged
writes on a crash, the stores never lose a committed event. Each store is decoded with its
own service's ``eventsourcing`` application and translator, so the contracts that come out
are exactly those the relay publishes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from shared.contracts import AnyEvent
from shared.eventlog import ensure_schema, eventstore_env
from shared.eventlog.translator import ReplayingTranslator

SERVICES = ("intake", "processing", "postal")
_APPS = {
    "intake": "services.intake.application:IntakeApplication",
    "processing": "services.processing.application:ProcessingApplication",
    "postal": "services.postal.application:PostalApplication",
}


@dataclass
class ServiceLog:
    name: str
    app: Application[Any]
    translate: Callable[[Any], AnyEvent | None]

    def size(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def batches(self, batch_size: int = 2000) -> Iterator[tuple[int, list[AnyEvent]]]:
        """(notifications read, contracts) per batch, in the store's commit order."""
        after = 0
        while True:
            notifications = self.app.recorder.select_notifications(
                start=after, limit=batch_size, inclusive_of_start=False
            )
            if not notifications:
                return
            contracts = []
            for n in notifications:
                contract = self.translate(self.app.mapper.to_domain_event(n))
                if contract is not None:
                    contracts.append(contract)
            after = notifications[-1].id
            yield len(notifications), contracts

    def close(self) -> None:
        self.app.close()


def _translator(service: str, app: Application[Any]) -> Callable[[Any], AnyEvent | None]:
    """The service's own translator: a factory, or a function of (event) or (event, aggregate)."""
    module = importlib.import_module(f"services.{service}.translate")
    if hasattr(module, "translator"):
        made: Callable[[Any], AnyEvent | None] = module.translator(app)
        return made
    if len(inspect.signature(module.to_contract).parameters) == 2:
        return ReplayingTranslator(app, module.to_contract)
    plain: Callable[[Any], AnyEvent | None] = module.to_contract
    return plain


def open_logs(database_url: str, services: tuple[str, ...] = SERVICES) -> list[ServiceLog]:
    logs = []
    for service in services:
        ensure_schema(database_url, service)
        module_name, _, class_name = _APPS[service].partition(":")
        app_class = getattr(importlib.import_module(module_name), class_name)
        env = eventstore_env(database_url, service, pool_size=2)
        env.pop("IS_SNAPSHOTTING_ENABLED")  # reading only: never write snapshots from a tool
        app = app_class(env=env)
        logs.append(ServiceLog(service, app, _translator(service, app)))
    return logs


def _aggregate_ids(service: str, dossier_code: str) -> list[UUID]:
    # Every service derives its aggregate ids from the dossier code, so no index is needed.
    if service == "intake":
        from services.intake.domain import dossier_id_for

        return [dossier_id_for(dossier_code)]
    if service == "processing":
        from services.processing.domain import case_id_for

        return [case_id_for(dossier_code)]
    from services.postal.domain import shipment_id_for

    return [shipment_id_for(dossier_code, kind) for kind in ("pickup", "delivery")]


def dossier_history(logs: list[ServiceLog], dossier_code: str) -> list[AnyEvent]:
    """Every published event of one dossier across services, in business-time order."""
    found: list[AnyEvent] = []
    for log in logs:
        for aggregate_id in _aggregate_ids(log.name, dossier_code):
            for stored in log.app.recorder.select_events(aggregate_id):
                contract = log.translate(log.app.mapper.to_domain_event(stored))
                if contract is not None:
                    found.append(contract)
    return sorted(found, key=lambda e: (e.occurred_at, e.event_id))
