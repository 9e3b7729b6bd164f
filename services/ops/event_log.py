"""Reading the source of truth: each service's PostgreSQL event store, as published contracts.

The stores, not JetStream, are authoritative (docs/architecture.md, "Source of truth"):
JetStream may lose acknowledged writes on a crash, the stores never lose a committed event.
Each store is decoded with its own service's ``eventsourcing`` application and translator, so
the contracts that come out are exactly those the relay publishes.

A replay can read one *partition* of the stores (``ServiceLog.partition``): the events of the
dossiers whose id hashes to it, so that worker processes can each translate and fold a share.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper
from psycopg import sql

from shared.contracts import AnyEvent
from shared.eventlog import ensure_schema, eventstore_env
from shared.eventlog.stored_json import StoredRow

SERVICES = ("intake", "processing", "postal", "payments")
# Services whose aggregate id is the dossier id: their events are partitioned without decoding.
_DOSSIER_IS_AGGREGATE = {"intake"}
# Each store's events table, as its application names it (``recorder.events_table_name``;
# tested): counted without building the applications.
STORE_TABLES = {service: f"{service}.{service}_events" for service in SERVICES}
_APPS = {
    "intake": "services.intake.application:IntakeApplication",
    "processing": "services.processing.application:ProcessingApplication",
    "postal": "services.postal.application:PostalApplication",
    "payments": "services.payments.application:PaymentsApplication",
}


# A row of a store's events table as read: notification id, aggregate id, version, topic, state.
RawRow = tuple[int, UUID, int, str, bytes]


class RowReader(Protocol):
    """How a replay turns a store's rows into contracts: a service's own fast reader
    (``replay_reader`` in its translate module), or the library's mapper and the translator."""

    def dossier_of(self, row: StoredRow) -> UUID:
        """The dossier of an aggregate, from its first row."""
        ...

    def read(self, row: StoredRow) -> AnyEvent | None:
        """The row's contract; rows come in the store's order, an aggregate's all to one reader."""
        ...


@dataclass
class LibraryReader:
    mapper: Mapper[Any]
    translate: Callable[[Any], AnyEvent | None]

    def dossier_of(self, row: StoredRow) -> UUID:
        return cast(UUID, getattr(row.domain_event(self.mapper), "dossier_id", row.originator_id))

    def read(self, row: StoredRow) -> AnyEvent | None:
        return self.translate(row.domain_event(self.mapper))


@dataclass
class ServiceLog:
    name: str
    app: Application[Any]
    translate: Callable[[Any], AnyEvent | None]
    database_url: str
    reader: RowReader

    def partition(
        self,
        part: int,
        parts: int,
        batch_size: int = 5000,
        on_rows: Callable[[int], None] | None = None,
        *,
        snapshot: str | None = None,
    ) -> Iterator[list[AnyEvent]]:
        """The contracts of the dossiers in ``part`` of ``parts``, in the store's commit order
        (as ``snapshot`` saw the store, when an audit gives one: ``rows``).

        Each row is read by one part only (``_rows_of``): an aggregate's events all go to one
        part, in order, as the readers need. ``on_rows`` hears of every batch of rows read.
        """
        for batch in self.rows(part, parts, batch_size, on_rows, snapshot=snapshot):
            yield self.contracts(row for row, _ in batch)

    def contracts(self, rows: Iterable[RawRow]) -> list[AnyEvent]:
        """The rows' contracts; an aggregate's rows must come in their order, all to this log.

        Each row is made a ``StoredRow`` only as it is read, and let go of at once: a batch of
        rows each keeping its parsed state until the batch was done cost ~6 µs a row more."""
        read = self.reader.read
        contracts = []
        for notification_id, originator_id, version, topic, state in rows:
            contract = read(StoredRow(notification_id, originator_id, version, topic, bytes(state)))
            if contract is not None:  # None: an internal event, nothing crosses the boundary
                contracts.append(contract)
        return contracts

    def rows(
        self,
        part: int,
        parts: int,
        batch_size: int = 5000,
        on_rows: Callable[[int], None] | None = None,
        *,
        with_dossiers: bool = False,
        snapshot: str | None = None,
    ) -> Iterator[list[tuple[RawRow, UUID | None]]]:
        """The stored rows of the dossiers in ``part`` of ``parts``, in the store's commit order;
        ``with_dossiers``: each with its dossier (a replay folding in buckets puts each row in
        its dossier's), else with None where the dossier is not its aggregate. ``snapshot``: read
        as that exported snapshot saw the store (an audit's cut), in one read-only transaction."""
        table = f"{self.name}.{self.app.recorder.events_table_name}"  # type: ignore[attr-defined]
        with psycopg.connect(self.database_url) as conn:
            if snapshot is not None:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            dossiers: dict[UUID, UUID] | None = None
            is_dossier = self.name in _DOSSIER_IS_AGGREGATE
            # The aggregates' dossiers, from their first rows, where the parts or buckets need
            # them (where the aggregate is the dossier, the parts use its id's last byte if they can).
            needed = 256 % parts != 0 if is_dossier else parts > 1 or with_dossiers
            if needed:
                dossiers = self._dossiers_of(conn, table)
            where, params = self._rows_of(table, part, parts, dossiers)
            query = (
                f"SELECT notification_id, originator_id, originator_version, topic, state FROM {table}{where}"
                " ORDER BY notification_id"
            )
            with conn.cursor(name="replay_partition") as cursor:
                cursor.itersize = batch_size
                # binary: the stored state comes as its bytes (as text, bytea is hex to parse)
                cursor.execute(query, params, binary=True)
                while fetched := cursor.fetchmany(batch_size):
                    batch: list[tuple[RawRow, UUID | None]] = []
                    for row in fetched:
                        if is_dossier:
                            batch.append((row, row[1]))
                        else:  # an aggregate with no first row (none yet) is in no part's list
                            batch.append((row, None if dossiers is None else dossiers.get(row[1])))
                    if on_rows is not None:
                        on_rows(len(fetched))
                    yield batch

    def _rows_of(
        self, table: str, part: int, parts: int, dossiers: dict[UUID, UUID] | None
    ) -> tuple[str, tuple[Any, ...] | None]:
        """The condition that selects the part's rows, so PostgreSQL sends no other part's.

        Where the aggregate is the dossier and its id's last byte decides the part (``parts``
        divides 256), the condition is on the id itself. Otherwise the part's aggregates (their
        dossiers known from their first rows, ``dossiers``) are asked for by id.
        """
        if parts == 1:
            return "", None
        if dossiers is None:  # the aggregate is the dossier, and ``parts`` divides 256
            return f" WHERE get_byte(uuid_send(originator_id), 15) % {parts} = {part}", None
        mine = [aggregate for aggregate, dossier in dossiers.items() if partition_of(dossier, parts) == part]
        return " WHERE originator_id = ANY(%s)", (mine,)

    def _dossiers_of(self, conn: psycopg.Connection[Any], table: str) -> dict[UUID, UUID]:
        """Each aggregate's dossier, from its first row (``RowReader.dossier_of``)."""
        found: dict[UUID, UUID] = {}
        with conn.cursor(name="replay_first_rows") as cursor:
            cursor.execute(
                f"SELECT notification_id, originator_id, originator_version, topic, state FROM {table}"
                " WHERE originator_version = 1",
                binary=True,
            )
            while rows := cursor.fetchmany(5000):
                for notification_id, originator_id, version, topic, state in rows:
                    row = StoredRow(notification_id, originator_id, version, topic, bytes(state))
                    found[originator_id] = self.reader.dossier_of(row)
        return found

    def close(self) -> None:
        self.app.close()


def _reader(service: str, app: Application[Any], translate: Callable[[Any], AnyEvent | None]) -> RowReader:
    module = importlib.import_module(f"services.{service}.translate")
    if hasattr(module, "replay_reader"):
        made: RowReader = module.replay_reader(app)
        return made
    return LibraryReader(app.mapper, translate)


def _translator(service: str, app: Application[Any]) -> Callable[[Any], AnyEvent | None]:
    """The service's own ``translate.translator``, told that it reads its own store: what was
    validated when written need not be validated again (``trusted``)."""
    module = importlib.import_module(f"services.{service}.translate")
    made: Callable[[Any], AnyEvent | None] = module.translator(app, trusted=True)
    return made


def open_logs(
    database_url: str, services: tuple[str, ...] = SERVICES, *, create: bool = True
) -> list[ServiceLog]:
    """The services' logs; ``create=False`` when another process made sure the tables exist
    (concurrent ``CREATE ... IF NOT EXISTS`` of the same table fails in PostgreSQL)."""
    logs = []
    for service in services:
        if create:
            ensure_schema(database_url, service)
        module_name, _, class_name = _APPS[service].partition(":")
        app_class = getattr(importlib.import_module(module_name), class_name)
        env = eventstore_env(database_url, service, pool_size=2)
        env.pop("IS_SNAPSHOTTING_ENABLED")  # reading only: never write snapshots from a tool
        env["CREATE_TABLE"] = "y" if create else "n"
        app = app_class(env=env)
        translate = _translator(service, app)
        logs.append(ServiceLog(service, app, translate, database_url, _reader(service, app, translate)))
    return logs


def partition_of(dossier_id: UUID, parts: int) -> int:
    # A UUID's own bits: the same in every process (``hash()`` of a str is salted per process).
    return dossier_id.int % parts


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
