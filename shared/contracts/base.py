"""The envelope every published event carries.

Events that cross services are the published language of motcua. Each one names its
service, type and schema version in ``event_type`` (``intake.dossier_received.v1``), so a
consumer can refuse a version it does not know instead of misreading it.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Channel(IntEnum):
    """Kênh thực hiện — national ``KenhThucHien`` codes (Decree 118/2025 Art. 15)."""

    IN_PERSON = 1
    ONLINE = 2
    POSTAL = 3


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Contract):
    """Who did it: every command and event records the person, role, agency and channel."""

    user_id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64)
    agency: str = Field(min_length=1, max_length=64)
    channel: Channel


class PersonalData(Contract):
    """Thông tin cá nhân — the applicant's personal data, kept in this one part of a contract.

    Everything identifying a citizen lives here and nowhere else in a payload, so that it can
    be encrypted with a per-citizen key (Law 91/2025/QH15, Decree 356/2025) without touching
    the other fields of any event.
    """

    full_name: str = Field(min_length=1, max_length=200)
    citizen_id: str = Field(pattern=r"^\d{12}$", description="CCCD, 12 digits")
    phone: str | None = Field(default=None, pattern=r"^\+?\d{9,15}$")
    email: str | None = Field(default=None, max_length=200)
    address: str = Field(min_length=1, max_length=500)


class EventBase(Contract):
    """Fields every published event has, whatever its type."""

    event_id: str = Field(description="'{service}:{aggregate id}:{version}', also the Nats-Msg-Id")
    event_type: str
    dossier_id: UUID
    dossier_code: str
    occurred_at: AwareDatetime = Field(description="business time: when it happened")
    recorded_at: AwareDatetime = Field(description="when the system recorded it")
    actor: Actor
    backdate_reason: str | None = Field(
        default=None, description="why occurred_at lies before recorded_at, if it was entered late"
    )


def event_id(service: str, aggregate_id: UUID, version: int) -> str:
    return f"{service}:{aggregate_id}:{version}"


def is_backdated(occurred_at: datetime, recorded_at: datetime, tolerance_s: float = 60.0) -> bool:
    return (recorded_at - occurred_at).total_seconds() > tolerance_s
