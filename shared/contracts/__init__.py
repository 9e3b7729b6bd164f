"""Published events: the contracts between services. Consumers import only these."""

from shared.contracts.base import Actor, Channel, EventBase, PersonalData, event_id
from shared.contracts.intake import DossierReceived
from shared.contracts.postal import ShipmentOpened
from shared.contracts.processing import CaseOpened, DossierDecided, ResultReady
from shared.contracts.registry import AnyEvent, dump_event, parse_event

__all__ = [
    "Actor",
    "AnyEvent",
    "CaseOpened",
    "Channel",
    "DossierDecided",
    "DossierReceived",
    "EventBase",
    "PersonalData",
    "ResultReady",
    "ShipmentOpened",
    "dump_event",
    "event_id",
    "parse_event",
]
