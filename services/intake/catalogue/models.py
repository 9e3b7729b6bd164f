"""The procedure catalogue (danh mục thủ tục hành chính) as data: departments, desks, procedures.

Pure pydantic models, no I/O. The data lives in ``procedures.json``; ``load_catalogue()`` in
``__init__.py`` reads and validates it.

Legal time. A procedure has exactly one of ``legal_days`` (working days), ``legal_hours``
(working hours) or ``same_day``. Same-day procedures ("giải quyết ngay trong ngày", e.g. chứng
thực bản sao, Decree 23/2015 Art. 7 as amended) are due at the close of the receipt's working
day, not 8 working hours later; with a ``same_day_cutoff``, a dossier received at or after it
counts from the next working day and is due at the close of that day. Turning this into a due
date is the legal clock's job (``shared/clock``), not this module's.
"""

from __future__ import annotations

import re
from datetime import date
from enum import IntEnum, StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Electronic ID code of an agency (mã định danh điện tử), shape as in "000.00.15.H56".
AGENCY_ID_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.H[0-9]{2}$"
# National procedure code (mã TTHC) as published on the National Public Service Portal.
NATIONAL_CODE_PATTERN = r"^[0-9]\.[0-9]{6}$"
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Channel(IntEnum):
    """Submission channel; values are the national ``KenhThucHien`` codes (Decree 118/2025 Art. 15)."""

    IN_PERSON = 1
    ONLINE = 2
    POSTAL = 3


class OnlineLevel(StrEnum):
    """Online service level (Decree 42/2022 Art. 11): toàn trình / một phần / none."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class SupplementPolicy(StrEnum):
    """What a supplement request does to the clock.

    ``restart``: the time limit runs again from the complete dossier (Decree 297/2025 Art. 6
    cl. 4(a), "tính lại từ đầu") - the default. ``resume``: the time already used is kept
    (a local choice some agencies make).
    """

    RESTART = "restart"
    RESUME = "resume"


class Level(StrEnum):
    """Competent level. ``district`` is kept for dossiers received before 2025-07-01, when the
    district tier was abolished (two-tier local government); new procedures are province/commune."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Department(_Frozen):
    """A competent body (sở, ban, ngành, or a class of local bodies such as the commune UBND)."""

    code: str = Field(pattern=r"^[A-Z]{2,8}$")
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    agency_id: str = Field(pattern=AGENCY_ID_PATTERN)
    level: Level = Level.PROVINCE
    supplement_policy: SupplementPolicy = SupplementPolicy.RESTART
    calendar: Literal["standard", "saturday_morning"] = Field(
        default="standard", description="office hours its legal time is counted in (shared.clock.calendars)"
    )
    note: str | None = None


class ReceivingPoint(_Frozen):
    """A one-stop desk (bộ phận một cửa) that receives dossiers; it need not be the competent body."""

    code: str = Field(pattern=r"^[A-Z0-9-]{2,16}$")
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    agency_id: str = Field(pattern=AGENCY_ID_PATTERN)
    level: Level
    until: date | None = Field(
        default=None, description="last day it received dossiers (a retired desk receives nothing after)"
    )


class DocumentForm(StrEnum):
    """The form a paper is handed in as (thành phần hồ sơ): the columns of form 01's table."""

    ORIGINAL = "original"  # bản chính
    CERTIFIED_COPY = "certified_copy"  # bản sao có chứng thực (or from the master register)
    COPY = "copy"  # bản chụp / bản sao không chứng thực


class RequiredDocument(_Frozen):
    """One line of a procedure's documents (thành phần, số lượng hồ sơ) as it is published.

    ``required: false`` marks the papers the description says are needed only in some cases
    ("nếu có", "trường hợp ủy quyền"): the desk ticks them when they apply, and their absence
    does not make the dossier incomplete."""

    id: str = Field(pattern=r"^[a-z0-9-]{1,40}$", description="stable within its procedure")
    name_vi: str = Field(min_length=1, max_length=300)
    name_en: str = Field(min_length=1, max_length=300)
    form: DocumentForm
    count: int = Field(default=1, ge=1, le=20)
    required: bool = True


class Procedure(_Frozen):
    """One administrative procedure (thủ tục hành chính) as the province publishes it."""

    code: str = Field(pattern=r"^[A-Z0-9-]{2,24}$", description="our catalogue key")
    national_code: str | None = Field(
        default=None, pattern=NATIONAL_CODE_PATTERN, description="mã TTHC; None when not confirmed"
    )
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    sector: str = Field(min_length=1, description="lĩnh vực")
    department: str = Field(description="code of the competent Department")
    level: Level
    legal_days: int | None = Field(default=None, gt=0)
    legal_hours: int | None = Field(default=None, gt=0)
    same_day: bool = Field(default=False, description="due by the close of the receipt's working day")
    same_day_cutoff: str | None = Field(default=None, description='"HH:MM"')
    channels: tuple[Channel, ...] = Field(min_length=1)
    online_level: OnlineLevel
    electronic_result: bool
    fee_vnd: int = Field(ge=0, description="fees + charges for a standard in-person filing")
    fee_note: str | None = None
    agency_shares: dict[str, int] | None = Field(
        default=None, description="liên thông: working days per department code"
    )
    supplement_policy: SupplementPolicy | None = Field(
        default=None, description="None: use the department's policy"
    )
    effective_from: date | None = Field(
        default=None, description="date from which this legal time applies, when known"
    )
    legal_basis: str = Field(min_length=1)
    source: str = Field(min_length=1)
    documents: tuple[RequiredDocument, ...] = Field(
        default=(), description="the papers to hand in, as the procedure's description lists them"
    )
    documents_basis: str | None = Field(default=None, description="the article that lists them")

    @field_validator("same_day_cutoff")
    @classmethod
    def _check_cutoff(cls, value: str | None) -> str | None:
        if value is not None and not _HHMM.match(value):
            raise ValueError(f"same_day_cutoff must be HH:MM, got {value!r}")
        return value

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, value: tuple[Channel, ...]) -> tuple[Channel, ...]:
        if len(set(value)) != len(value):
            raise ValueError("channels must not repeat")
        return tuple(sorted(value))

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        given = (self.legal_days is not None) + (self.legal_hours is not None) + self.same_day
        if given != 1:
            raise ValueError(f"{self.code}: set exactly one of legal_days, legal_hours, same_day")
        if self.same_day_cutoff is not None and not self.same_day:
            raise ValueError(f"{self.code}: same_day_cutoff applies to same-day procedures only")
        online = Channel.ONLINE in self.channels
        if online != (self.online_level is not OnlineLevel.NONE):
            raise ValueError(f"{self.code}: online_level and the ONLINE channel disagree")
        if self.agency_shares is not None:
            self._check_shares(self.agency_shares)
        ids = [d.id for d in self.documents]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.code}: document ids must not repeat")
        return self

    def missing_documents(self, handed_in: set[str]) -> list[RequiredDocument]:
        """The required papers not among ``handed_in`` (document ids): what makes it incomplete."""
        return [d for d in self.documents if d.required and d.id not in handed_in]

    def _check_shares(self, shares: dict[str, int]) -> None:
        if self.legal_days is None:
            raise ValueError(f"{self.code}: agency_shares are in days; legal_days must be set")
        if len(shares) < 2:
            raise ValueError(f"{self.code}: an inter-agency split needs at least two agencies")
        if any(days <= 0 for days in shares.values()):
            raise ValueError(f"{self.code}: every agency share must be positive")
        if self.department not in shares:
            raise ValueError(f"{self.code}: the competent department must have a share")
        total = sum(shares.values())
        if total != self.legal_days:
            raise ValueError(f"{self.code}: agency shares sum to {total}, legal_days is {self.legal_days}")
