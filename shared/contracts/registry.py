"""Parsing any published event by its ``event_type``.

A payload whose type is unknown or whose fields do not validate raises
``pydantic.ValidationError``: consumers dead-letter it with that reason.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from shared.contracts.catalogue import CatalogueEventType
from shared.contracts.intake import IntakeEvent
from shared.contracts.json_text import contract_json_bytes
from shared.contracts.payments import PaymentsEvent
from shared.contracts.postal import PostalEvent
from shared.contracts.processing import ProcessingEvent

AnyEvent = Annotated[
    IntakeEvent | ProcessingEvent | PostalEvent | CatalogueEventType | PaymentsEvent,
    Field(discriminator="event_type"),
]

_adapter: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(data: bytes | str) -> AnyEvent:
    return _adapter.validate_json(data)


def dump_event(event: AnyEvent) -> bytes:
    return contract_json_bytes(event)
