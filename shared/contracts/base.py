"""The envelope every published event carries.

Events that cross services are the published language of motcua. Each one names its
service, type and schema version in ``event_type`` (``intake.dossier_received.v1``), so a
consumer can refuse a version it does not know instead of misreading it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Business times outside these years are typing errors, and near the ends of Python's range an
# offset can no longer be converted to UTC (OverflowError in every clock computation).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199


# Digits are ASCII digits: ``\\d`` would also take full-width (０１２) and Arabic-Indic (٠١٢)
# digits, which no register, printer or partner system reads as the same number.
CITIZEN_ID_PATTERN = r"^[0-9]{12}$"
PHONE_PATTERN = r"^\+?[0-9]{9,15}$"
# Somewhere a character that is not whitespace (documented in the schema; checked after strip).
NOT_BLANK = r"\S"
# Text a person must fill in (a name, an address, a reason): the whitespace around it is dropped
# and something must remain, so "   " is refused instead of stored as a name.
Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=NOT_BLANK)]


class Channel(IntEnum):
    """Kênh thực hiện — national ``KenhThucHien`` codes (Decree 118/2025 Art. 15)."""

    IN_PERSON = 1
    ONLINE = 2
    POSTAL = 3


class Contract(BaseModel):
    """Every contract holds only what can be stored: no NUL in text, no time outside the era.

    PostgreSQL text cannot hold U+0000; a contract that carried one would be accepted here and
    refused by every consumer's database, redelivered for ever instead of dead-lettered.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> Self:
        # Every message a consumer takes is checked here: the common kinds first, by exact type
        # (nested contracts were checked when they were made; numbers, UUIDs and enums hold
        # nothing unstorable), and only then the general walk.
        for name, value in self.__dict__.items():
            kind = type(value)
            if kind is str:
                if "\x00" not in value:
                    continue
            elif kind is datetime:
                if in_era(value):
                    continue
            elif kind not in _WALKED:
                continue
            problem = unstorable(value)
            if problem:
                raise ValueError(f"{name}: {problem}")
        return self


_WALKED = (dict, list, tuple)


def unstorable(value: Any) -> str | None:
    """Why ``value`` cannot be stored or computed with, or None."""
    if isinstance(value, str):
        return "contains the NUL character (U+0000)" if "\x00" in value else None
    if isinstance(value, datetime):
        return None if in_era(value) else f"lies outside the years {EARLIEST_YEAR}-{LATEST_YEAR}"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable(key) or unstorable(item)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = unstorable(item)
            if problem:
                return problem
    return None


def in_era(value: datetime) -> bool:
    if EARLIEST_YEAR < value.year < LATEST_YEAR:
        return True  # an offset moves a moment by less than a day: it stays inside
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value
    except OverflowError:
        return False
    return EARLIEST_YEAR <= utc.year <= LATEST_YEAR


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

    full_name: Text = Field(min_length=1, max_length=200)
    citizen_id: str = Field(pattern=CITIZEN_ID_PATTERN, description="CCCD, 12 ASCII digits")
    date_of_birth: date | None = None
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    email: str | None = Field(default=None, max_length=200)
    address: Text = Field(min_length=1, max_length=500)


class SealedPersonalData(Contract):
    """Personal data as it travels and is stored: AES-256-GCM under the data subject's key.

    ``key_ref`` names the subject's data key (kept wrapped by the master key in ``pii.data_keys``);
    ``ciphertext`` is base64 of nonce + ciphertext + tag. Deleting the key makes every copy of the
    ciphertext unreadable (crypto-shredding): readers then show a placeholder.
    """

    key_ref: UUID
    ciphertext: str = Field(min_length=1, max_length=8000)


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
