"""Published events: the contracts between services. Consumers import only these."""

from shared.contracts.base import Actor, Channel, EventBase, PersonalData, SealedPersonalData, event_id
from shared.contracts.intake import CompletionRequested, DossierReceived, DossierRefused
from shared.contracts.payments import ChargeOpened, PaymentReceived
from shared.contracts.postal import (
    ShipmentBooked,
    ShipmentDelivered,
    ShipmentFailed,
    ShipmentOpened,
    ShipmentProgressed,
)
from shared.contracts.processing import (
    ApologyIssued,
    CaseOpened,
    CaseTransferred,
    ClosedForNoSupplement,
    DossierDecided,
    LeadershipAcknowledged,
    LeadershipReported,
    MarkedOverdue,
    OfficerAssigned,
    ProcessingStopped,
    ResultBackAtDesk,
    ResultReady,
    ResultReturned,
    SupplementReceived,
    SupplementRequested,
)
from shared.contracts.registry import AnyEvent, dump_event, parse_event

__all__ = [
    "Actor",
    "AnyEvent",
    "ApologyIssued",
    "CaseOpened",
    "CaseTransferred",
    "Channel",
    "ChargeOpened",
    "ClosedForNoSupplement",
    "CompletionRequested",
    "DossierDecided",
    "DossierReceived",
    "DossierRefused",
    "EventBase",
    "LeadershipAcknowledged",
    "LeadershipReported",
    "MarkedOverdue",
    "OfficerAssigned",
    "PaymentReceived",
    "PersonalData",
    "ProcessingStopped",
    "ResultBackAtDesk",
    "ResultReady",
    "ResultReturned",
    "SealedPersonalData",
    "ShipmentBooked",
    "ShipmentDelivered",
    "ShipmentFailed",
    "ShipmentOpened",
    "ShipmentProgressed",
    "SupplementReceived",
    "SupplementRequested",
    "dump_event",
    "event_id",
    "parse_event",
]
